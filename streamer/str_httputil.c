/* str_httputil.c - see str_httputil.h. Pure functions, any thread. */
#include "streamer/str_httputil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mime_ent {
    const char *ext;
    const char *type;
};

/* Kept short: what HLS, WebVTT and the player's build output use. */
static const struct mime_ent mime_tab[] = {
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4s", "video/iso.segment"},
    {"mp4", "video/mp4"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"ts", "video/mp2t"},
    {"aac", "audio/aac"},
    {"vtt", "text/vtt; charset=utf-8"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"png", "image/png"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
};

static const char *ext_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(name, '.');

    if (dot == NULL || (slash != NULL && dot < slash) || dot[1] == '\0')
        return NULL;
    return dot + 1;
}

const char *str_mime_for(const char *name)
{
    const char *ext = ext_of(name);
    size_t i;

    if (ext != NULL)
        for (i = 0; i < sizeof(mime_tab) / sizeof(mime_tab[0]); i++)
            if (strcasecmp(ext, mime_tab[i].ext) == 0)
                return mime_tab[i].type;
    return "application/octet-stream";
}

int str_cache_class_hls(const char *name)
{
    const char *ext = ext_of(name);

    if (ext == NULL)
        return STR_CACHE_SHORT;
    if (strcasecmp(ext, "m3u8") == 0)
        return STR_CACHE_PLAYLIST;
    /* A published lesson never changes (a new upload gets a new id), so
     * its media can be cached for good by browsers and edge nginx. */
    if (strcasecmp(ext, "m4s") == 0 || strcasecmp(ext, "ts") == 0 ||
        strcasecmp(ext, "mp4") == 0 || strcasecmp(ext, "m4a") == 0 ||
        strcasecmp(ext, "aac") == 0 || strcasecmp(ext, "vtt") == 0)
        return STR_CACHE_IMMUTABLE;
    return STR_CACHE_SHORT;
}

int str_cache_class_web(const char *name)
{
    const char *ext = ext_of(name);
    const char *base = strrchr(name, '/');

    base = base != NULL ? base + 1 : name;
    /* The player's service worker (sw.js at the root) is revalidated on
     * every check, so a new build reaches a phone on its next online start
     * rather than five minutes later. */
    if (ext == NULL || strcasecmp(ext, "html") == 0 ||
        strcasecmp(ext, "htm") == 0 || strcmp(base, "sw.js") == 0)
        return STR_CACHE_REVALIDATE;
    return STR_CACHE_SHORT;
}

const char *str_cache_control(int cls)
{
    switch (cls) {
    case STR_CACHE_IMMUTABLE:
        return "public, max-age=31536000, immutable";
    case STR_CACHE_PLAYLIST:
        return "public, max-age=2";
    case STR_CACHE_SHORT:
        return "public, max-age=300";
    case STR_CACHE_LIVE:
        /* Shared caches (the nginx edges) keep a live playlist for a
         * second; a browser asks again each time (If-None-Match): with
         * max-age=1 Chromium answered hls.js's reload from its own cache,
         * up to a second old (docs/performance.md). */
        return "public, max-age=0, s-maxage=1";
    default:
        return "no-cache";
    }
}

/* Reads a non-negative decimal; returns chars consumed, 0 if none. A
 * value past INT64_MAX saturates there: every such offset lies beyond any
 * file, which is what it means ("bytes=0-99999999999999999999" is the
 * whole file, "bytes=99999999999999999999-" is unsatisfiable), not a
 * reason to ignore the header. */
static int read_dec(const char *s, int64_t *v)
{
    int64_t x = 0;
    int n = 0;

    while (isdigit((unsigned char)s[n])) {
        int d = s[n] - '0';

        x = x > (INT64_MAX - d) / 10 ? INT64_MAX : x * 10 + d;
        n++;
    }
    *v = x;
    return n;
}

int str_range_parse(const char *hdr, int64_t size, int64_t *first,
                    int64_t *last)
{
    const char *p = hdr;
    int64_t a = -1, b = -1;
    int n;

    if (hdr == NULL)
        return STR_RANGE_NONE;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "bytes", 5) != 0)
        return STR_RANGE_NONE;
    p += 5;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return STR_RANGE_NONE;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '-') { /* suffix: the last N bytes */
        p++;
        n = read_dec(p, &b);
        if (n == 0)
            return STR_RANGE_NONE;
        p += n;
    } else {
        n = read_dec(p, &a);
        if (n == 0)
            return STR_RANGE_NONE;
        p += n;
        if (*p++ != '-')
            return STR_RANGE_NONE;
        n = read_dec(p, &b);
        if (n == 0)
            b = -1;
        p += n;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0') /* several ranges or junk: serve the whole file */
        return STR_RANGE_NONE;

    if (a < 0) { /* suffix range */
        if (b == 0 || size == 0)
            return STR_RANGE_UNSAT;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return STR_RANGE_OK;
    }
    if (b >= 0 && b < a)
        return STR_RANGE_NONE; /* invalid: ignore as RFC 9110 14.1.1 says */
    if (a >= size)
        return STR_RANGE_UNSAT;
    *first = a;
    *last = (b < 0 || b >= size) ? size - 1 : b;
    return STR_RANGE_OK;
}

void str_etag_make(const struct stat *st, char *out, size_t outlen)
{
    uint64_t ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u +
                  (uint64_t)st->st_mtim.tv_nsec;

    snprintf(out, outlen, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
             (uint64_t)st->st_size, ns, (uint64_t)st->st_ino);
}

int str_etag_match_list(const char *hdr, const char *etag)
{
    const char *p = hdr;
    size_t elen = strlen(etag);

    if (hdr == NULL)
        return 0;
    while (*p) {
        const char *tag;
        size_t len;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/') /* weak comparison */
            p += 2;
        tag = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"')
                p++;
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != ' ')
                p++;
        }
        len = (size_t)(p - tag);
        if (len == elen && memcmp(tag, etag, len) == 0)
            return 1;
    }
    return 0;
}

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                 "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void str_http_date(time_t t, char *out, size_t outlen)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             wdays[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int str_http_date_parse(const char *s, time_t *t)
{
    char wd[4], mon[4];
    struct tm tm;
    int i, n = 0;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%3[A-Za-z], %d %3[A-Za-z] %d %d:%d:%d GMT%n", wd,
               &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 7 ||
        n == 0)
        return -1;
    for (i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            break;
    if (i == 12 || tm.tm_year < 1970 || tm.tm_mday < 1 || tm.tm_mday > 31)
        return -1;
    tm.tm_mon = i;
    tm.tm_year -= 1900;
    *t = timegm(&tm);
    return *t == (time_t)-1 ? -1 : 0;
}

static int unhex(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int str_url_decode(const char *s, size_t n, char *out, size_t outlen, bool plus)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];

        if (ch == '%' && i + 2 < n && unhex((unsigned char)s[i + 1]) >= 0 &&
            unhex((unsigned char)s[i + 2]) >= 0) {
            ch = unhex((unsigned char)s[i + 1]) * 16 +
                 unhex((unsigned char)s[i + 2]);
            i += 2;
            if (ch == 0)
                return -EINVAL; /* %00: never part of a name */
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        if (o + 1 >= outlen)
            return -ENAMETOOLONG;
        out[o++] = (char)ch;
    }
    if (outlen == 0)
        return -ENAMETOOLONG;
    out[o] = '\0';
    return (int)o;
}

int str_query_get(const char *query, const char *name, char *buf, size_t len)
{
    const char *q = query, *amp, *eq;
    size_t nl = strlen(name);

    while (*q) {
        amp = strchr(q, '&');
        if (amp == NULL)
            amp = q + strlen(q);
        eq = memchr(q, '=', (size_t)(amp - q));
        if (eq != NULL && (size_t)(eq - q) == nl && memcmp(q, name, nl) == 0) {
            int n =
                str_url_decode(eq + 1, (size_t)(amp - eq - 1), buf, len, true);

            return n == -ENAMETOOLONG ? -2 : n < 0 ? -3 : n;
        }
        q = *amp ? amp + 1 : amp;
    }
    return -1;
}
