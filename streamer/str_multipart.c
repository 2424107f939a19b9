/* str_multipart.c - see str_multipart.h. */
#include "streamer/str_multipart.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/yl_err.h"

#define BOUNDARY_MAX 70 /* RFC 2046 5.1.1 */
#define PARTS_MAX    64

enum mp_state {
    MP_PREAMBLE,         /* before the first delimiter */
    MP_AFTER_DELIM,      /* just matched a delimiter: "--" or CRLF follows */
    MP_AFTER_DELIM_DASH, /* saw one '-' after a delimiter */
    MP_DELIM_LWSP,       /* transport padding before the CRLF */
    MP_DELIM_CR,         /* saw CR after a delimiter */
    MP_HEADERS,          /* collecting a part's header block */
    MP_BODY,             /* part data, scanning for the next delimiter */
    MP_END,              /* closing delimiter seen: ignore the epilogue */
    MP_FAILED,
};

struct str_mp {
    str_mp_cbs cbs;
    void *ud;
    char delim[BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
    size_t dlen;
    size_t match; /* bytes of delim matched so far */
    enum mp_state state;
    char hdr[STR_MP_HDR_MAX];
    size_t hlen;
    int parts;
    int in_part; /* part_begin called, part_end not yet */
    char err[192];
};

static int fail(str_mp *mp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(str_mp *mp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(mp->err, sizeof(mp->err), fmt, ap);
    va_end(ap);
    mp->state = MP_FAILED;
    return YL_EINVAL;
}

int str_mp_boundary(const char *ct, char *out, size_t outlen)
{
    const char *p;
    size_t n = 0;

    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return YL_EINVAL;
    p = ct + 19;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            int quoted;

            p += 9;
            quoted = *p == '"';
            if (quoted)
                p++;
            while (*p && (quoted ? *p != '"' : (*p != ';' && *p != ' '))) {
                if (n + 1 >= outlen || n >= BOUNDARY_MAX)
                    return YL_EINVAL;
                out[n++] = *p++;
            }
            out[n] = '\0';
            return n > 0 ? 0 : YL_EINVAL;
        }
        while (*p && *p != ';')
            p++;
    }
    return YL_EINVAL;
}

int str_mp_new(const char *boundary, const str_mp_cbs *cbs, void *ud,
               str_mp **out)
{
    size_t blen = boundary ? strlen(boundary) : 0;
    str_mp *mp;

    if (blen == 0 || blen > BOUNDARY_MAX || memchr(boundary, '\r', blen) ||
        memchr(boundary, '\n', blen))
        return YL_EINVAL;
    mp = calloc(1, sizeof(*mp));
    if (mp == NULL)
        return -ENOMEM;
    mp->cbs = *cbs;
    mp->ud = ud;
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, blen);
    mp->dlen = blen + 4;
    /* The first delimiter may open the body without a CRLF before it:
     * act as if the body began with one. */
    mp->match = 2;
    mp->state = MP_PREAMBLE;
    *out = mp;
    return 0;
}

void str_mp_free(str_mp *mp)
{
    free(mp);
}

const char *str_mp_error(const str_mp *mp)
{
    return mp->err;
}

int str_mp_parts(const str_mp *mp)
{
    return mp->parts;
}

/* Extracts the value of param (name= / filename=) from a
 * Content-Disposition value; quoted strings may hold "\x" escapes.
 * Returns 1 when found, 0 when absent, -1 when too long. */
static int disp_param(const char *v, const char *param, char *out,
                      size_t outlen)
{
    size_t plen = strlen(param);
    const char *p = v;

    while ((p = strchr(p, ';')) != NULL) {
        size_t n = 0;

        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, param, plen) != 0 || p[plen] != '=')
            continue;
        p += plen + 1;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (n + 1 >= outlen)
                    return -1;
                out[n++] = *p++;
            }
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                if (n + 1 >= outlen)
                    return -1;
                out[n++] = *p++;
            }
        }
        out[n] = '\0';
        return 1;
    }
    return 0;
}

/* The header block of a part is complete (hdr holds it, NUL-terminated,
 * CRLF-separated lines). */
static int headers_done(str_mp *mp)
{
    char name[STR_MP_NAME_MAX], file[STR_MP_FILE_MAX], ctype[128];
    int have_disp = 0, have_file = 0, r;
    char *line = mp->hdr, *next;

    ctype[0] = '\0';
    name[0] = '\0';
    for (; line && *line; line = next) {
        char *colon, *v;

        next = strstr(line, "\r\n");
        if (next) {
            *next = '\0';
            next += 2;
        }
        colon = strchr(line, ':');
        if (colon == NULL)
            return fail(mp, "multipart part %d: header line without ':'",
                        mp->parts + 1);
        *colon = '\0';
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Disposition") == 0) {
            if (strncasecmp(v, "form-data", 9) != 0)
                return fail(mp,
                            "multipart part %d: Content-Disposition "
                            "is not form-data",
                            mp->parts + 1);
            r = disp_param(v, "name", name, sizeof(name));
            if (r <= 0 || name[0] == '\0')
                return fail(mp, "multipart part %d: %s", mp->parts + 1,
                            r < 0 ? "field name too long"
                                  : "Content-Disposition has no name");
            r = disp_param(v, "filename", file, sizeof(file));
            if (r < 0)
                return fail(mp, "multipart part %d: file name too long",
                            mp->parts + 1);
            have_file = r > 0;
            have_disp = 1;
        } else if (strcasecmp(line, "Content-Type") == 0) {
            snprintf(ctype, sizeof(ctype), "%s", v);
        }
    }
    if (!have_disp)
        return fail(mp, "multipart part %d: no Content-Disposition header",
                    mp->parts + 1);
    if (++mp->parts > PARTS_MAX)
        return fail(mp, "multipart: more than %d parts", PARTS_MAX);
    mp->in_part = 1;
    if (mp->cbs.part_begin)
        return mp->cbs.part_begin(mp->ud, name, have_file ? file : NULL,
                                  ctype[0] ? ctype : NULL);
    return 0;
}

static int emit(str_mp *mp, const char *d, size_t n)
{
    if (n == 0 || mp->state != MP_BODY || mp->cbs.part_data == NULL)
        return 0;
    return mp->cbs.part_data(mp->ud, d, n);
}

/* A full delimiter was matched in PREAMBLE or BODY. */
static int delim_found(str_mp *mp)
{
    int r = 0;

    mp->match = 0;
    if (mp->state == MP_BODY) {
        mp->in_part = 0;
        if (mp->cbs.part_end)
            r = mp->cbs.part_end(mp->ud);
    }
    mp->state = MP_AFTER_DELIM;
    return r;
}

/* PREAMBLE / BODY: scans for the delimiter. Returns bytes consumed. */
static int scan(str_mp *mp, const char *d, size_t len, size_t *used)
{
    size_t i = 0, run = 0; /* run: start of pending data in d */
    int r;

    while (i < len) {
        if (mp->match == 0) {
            /* Fast path: data up to the next CR cannot hold a delimiter. */
            const char *cr = memchr(d + i, '\r', len - i);

            if (cr == NULL) {
                i = len;
                break;
            }
            i = (size_t)(cr - d);
        }
        if (d[i] == mp->delim[mp->match]) {
            if (mp->match == 0) {
                r = emit(mp, d + run, i - run);
                if (r < 0)
                    return r;
            }
            mp->match++;
            i++;
            run = i;
            if (mp->match == mp->dlen) {
                *used = i;
                return delim_found(mp);
            }
            continue;
        }
        /* Mismatch: the matched prefix was data. The boundary holds no CR,
         * so only a CR can start a new match (KMP is trivial here). */
        if (mp->match > 0) {
            r = emit(mp, mp->delim, mp->match);
            if (r < 0)
                return r;
            mp->match = 0;
            run = i;
            if (d[i] == '\r')
                continue; /* re-examine this byte as a new start */
        }
        i++;
    }
    if (mp->match == 0) {
        r = emit(mp, d + run, len - run);
        if (r < 0)
            return r;
    }
    *used = len;
    return 0;
}

int str_mp_feed(str_mp *mp, const char *data, size_t len)
{
    size_t i = 0, used;
    int r;

    if (mp->state == MP_FAILED)
        return YL_EINVAL; /* even for no bytes: the parse is over */
    while (i < len) {
        char c = data[i];

        switch (mp->state) {
        case MP_PREAMBLE:
        case MP_BODY:
            used = 0;
            r = scan(mp, data + i, len - i, &used);
            if (r < 0) {
                if (mp->state != MP_FAILED && mp->err[0] == '\0')
                    snprintf(mp->err, sizeof(mp->err), "stopped by handler");
                mp->state = MP_FAILED;
                return r;
            }
            i += used;
            continue;
        case MP_AFTER_DELIM:
            if (c == '-')
                mp->state = MP_AFTER_DELIM_DASH;
            else if (c == '\r')
                mp->state = MP_DELIM_CR;
            else if (c == ' ' || c == '\t')
                mp->state = MP_DELIM_LWSP;
            else
                return fail(mp, "multipart: junk after a boundary");
            break;
        case MP_AFTER_DELIM_DASH:
            if (c != '-')
                return fail(mp, "multipart: junk after a boundary");
            mp->state = MP_END;
            break;
        case MP_DELIM_LWSP:
            if (c == '\r')
                mp->state = MP_DELIM_CR;
            else if (c != ' ' && c != '\t')
                return fail(mp, "multipart: junk after a boundary");
            break;
        case MP_DELIM_CR:
            if (c != '\n')
                return fail(mp, "multipart: boundary line not ended by CRLF");
            mp->state = MP_HEADERS;
            mp->hlen = 0;
            break;
        case MP_HEADERS:
            if (mp->hlen + 1 >= sizeof(mp->hdr))
                return fail(mp, "multipart part %d: headers over %d bytes",
                            mp->parts + 1, STR_MP_HDR_MAX);
            mp->hdr[mp->hlen++] = c;
            if (mp->hlen == 2 && memcmp(mp->hdr, "\r\n", 2) == 0)
                return fail(mp, "multipart part %d: no headers", mp->parts + 1);
            if (mp->hlen >= 4 &&
                memcmp(mp->hdr + mp->hlen - 4, "\r\n\r\n", 4) == 0) {
                mp->hdr[mp->hlen - 4] = '\0';
                mp->state = MP_BODY;
                mp->match = 0;
                r = headers_done(mp);
                if (r < 0) {
                    if (mp->err[0] == '\0')
                        snprintf(mp->err, sizeof(mp->err),
                                 "stopped by handler");
                    mp->state = MP_FAILED;
                    return r;
                }
            }
            break;
        case MP_END:
            return 0; /* epilogue: ignored */
        case MP_FAILED:
            return YL_EINVAL;
        }
        i++;
    }
    return 0;
}

int str_mp_finish(str_mp *mp)
{
    if (mp->state == MP_END)
        return 0;
    if (mp->state == MP_FAILED)
        return YL_EINVAL;
    snprintf(mp->err, sizeof(mp->err),
             "multipart body ends before its closing boundary%s",
             mp->in_part ? " (inside a part)" : "");
    return YL_ETRUNC;
}
