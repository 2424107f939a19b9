/* str_reply.c - formatting HTTP responses. Service thread only.
 *
 * Small responses (API JSON, playlists, errors) leave in one write of
 * headers and body together; the connection (str_conn.c) keeps whatever
 * the socket does not take. File bodies follow the headers with
 * sendfile() from the connection's WRITEABLE, one call per callback. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/yl_log.h"
#include "common/yl_utf8.h"
#include "streamer/str_internal.h"

#define HDR_SPACE 2048 /* room for any of our header blocks */

int str_status_index(int status)
{
    int i;

    for (i = 0; i < STR_NSTATUS - 1; i++)
        if (str_status_codes[i] == status)
            return i;
    return STR_NSTATUS - 1; /* "other" */
}

void str_req_count(str_req *r, int status)
{
    if (r->status != 0)
        return;
    r->status = status;
    r->srv->m.req[r->route][str_status_index(status)]++;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return status < 300 ? "OK" : status < 500 ? "Error" : "Error";
    }
}

/* Appends printf output to [*p, end); -1 when it does not fit. */
static int put(unsigned char **p, unsigned char *end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int put(unsigned char **p, unsigned char *end, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*p >= end)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf((char *)*p, (size_t)(end - *p), fmt, ap);
    va_end(ap);
    /* vsnprintf says what it wanted: past the end means it was cut. */
    if (n < 0 || n >= end - *p)
        return -1;
    *p += n;
    return 0;
}

int str_hdr_begin(str_req *r, int status, const char *ctype, int64_t clen,
                  unsigned char **p, unsigned char *end)
{
    str_req_count(r, status);
    r->responded = true;
    /* Every response, errors included, carries CORS and nosniff. */
    if (put(p, end,
            "HTTP/1.1 %d %s\r\n"
            "access-control-allow-origin: *\r\n"
            "x-content-type-options: nosniff\r\n"
            "server: yunling\r\n",
            status, reason_of(status)) < 0)
        return -1;
    if (ctype != NULL && put(p, end, "content-type: %s\r\n", ctype) < 0)
        return -1;
    if (clen >= 0 && put(p, end, "content-length: %lld\r\n", (long long)clen))
        return -1;
    if (str_req_close_after(r) && put(p, end, "connection: close\r\n") < 0)
        return -1;
    return 0;
}

int str_hdr_add(str_req *r, const char *name, const char *value,
                unsigned char **p, unsigned char *end)
{
    (void)r;
    /* name comes with its colon ("etag:"), as lws spelled it. */
    return put(p, end, "%s %s\r\n", name, value);
}

int str_hdr_end(str_req *r, unsigned char **p, unsigned char *end)
{
    (void)r;
    return put(p, end, "\r\n");
}

int str_send_final(str_req *r, const unsigned char *buf, size_t len)
{
    if (str_conn_write(r, buf, len) < 0)
        return -1;
    return str_req_complete(r);
}

static const char *api_extra =
    "cache-control: no-store\x0d\x0a"
    "access-control-expose-headers: Content-Length, ETag\x0d\x0a";

int str_reply(str_req *r, int status, const char *ctype, const char *body,
              size_t len, const char *extra)
{
    unsigned char stackbuf[LWS_PRE + HDR_SPACE + 4096];
    unsigned char *buf = stackbuf, *start, *p, *end;
    size_t cap = sizeof(stackbuf);
    int n;

    if (r->responded) {
        /* A handler answered twice: a bug; never send a second response
         * into the same transaction. */
        YL_LOGE("str", "double response on %s (status %d then %d)", r->path,
                r->status, status);
        return -1;
    }
    if (len > sizeof(stackbuf) - LWS_PRE - HDR_SPACE) {
        cap = LWS_PRE + HDR_SPACE + len;
        buf = malloc(cap);
        if (buf == NULL)
            return -1;
    }
    start = p = buf + LWS_PRE;
    end = buf + cap - len - 1;
    if (str_hdr_begin(r, status, ctype, (int64_t)len, &p, end) < 0)
        goto fail;
    if (extra != NULL) {
        size_t el = strlen(extra);

        if ((size_t)(end - p) < el + 8)
            goto fail;
        memcpy(p, extra, el);
        p += el;
    }
    if (str_hdr_end(r, &p, end) < 0)
        goto fail;
    if (!r->head_only && len > 0) {
        memcpy(p, body, len);
        p += len;
    }
    n = str_send_final(r, start, (size_t)(p - start));
    if (buf != stackbuf)
        free(buf);
    return n;
fail:
    YL_LOGE("str", "response headers for %s do not fit", r->path);
    if (buf != stackbuf)
        free(buf);
    return -1;
}

/* A 401 says how to authenticate (RFC 9110 §11.6.1) and is never cached,
 * whether it is answered at once or later by a pool thread's check. */
static const char unauth_extra[] =
    "cache-control: no-store\x0d\x0a"
    "access-control-expose-headers: Content-Length, ETag\x0d\x0a"
    "www-authenticate: Bearer realm=\"yunling\"\x0d\x0a";

int str_reply_json(str_req *r, int status, const char *json, size_t len)
{
    return str_reply(r, status, "application/json", json, len,
                     status == 401 ? unauth_extra : api_extra);
}

/* Escapes s into a JSON string body (no quotes) in out. Bytes that are not
 * UTF-8 (a path may hold any decoded %XX) become '?', so the error body
 * stays valid JSON. */
static void json_escape(const char *s, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, n, left = strlen(s);

    while (left > 0 && o + 7 < outlen) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p++;
            left--;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", *p++);
            left--;
        } else if ((n = yl_utf8_seq(p, left)) == 0) {
            out[o++] = '?';
            p++;
            left--;
        } else {
            if (o + n + 1 >= outlen)
                break;
            memcpy(out + o, p, n);
            o += n;
            p += n;
            left -= n;
        }
    }
    out[o] = '\0';
}

/* The one writer of error bodies: the message is escaped into a JSON
 * string and the length sent is the length written, never what snprintf
 * wanted. extra: more header lines or NULL. */
static int reply_error_v(str_req *r, int status, const char *code,
                         const char *extra, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static int reply_error_v(str_req *r, int status, const char *code,
                         const char *extra, const char *fmt, va_list ap)
{
    char msg[512], emsg[1100], body[1300], hdrs[512];
    const char *base = status == 401 ? unauth_extra : api_extra;
    int n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_escape(msg, emsg, sizeof(emsg));
    n = snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code,
                 emsg);
    if (n < 0)
        return -1;
    if ((size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1; /* cannot happen: emsg is bounded */
    if (status >= 500)
        YL_LOGW("str", "%s -> %d %s: %s", r->path, status, code, msg);
    else
        YL_LOGD("str", "%s -> %d %s: %s", r->path, status, code, msg);
    if (extra != NULL) {
        int h = snprintf(hdrs, sizeof(hdrs), "%s%s", base, extra);

        if (h < 0 || (size_t)h >= sizeof(hdrs))
            return -1;
        base = hdrs;
    }
    return str_reply(r, status, "application/json", body, (size_t)n, base);
}

int str_reply_error(str_req *r, int status, const char *code, const char *fmt,
                    ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = reply_error_v(r, status, code, NULL, fmt, ap);
    va_end(ap);
    return ret;
}

int str_reply_error_hdrs(str_req *r, int status, const char *code,
                         const char *extra, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = reply_error_v(r, status, code, extra, fmt, ap);
    va_end(ap);
    return ret;
}

void str_reply_file_close(str_req *r)
{
    if (r->has_fd) {
        close(r->fd);
        r->has_fd = false;
    }
    if (r->hold != 0) {
        str_hold_unref(r->srv, r->hold);
        r->hold = 0;
    }
}

int str_reply_start_file(str_req *r, const unsigned char *hdr, size_t len)
{
    /* The headers wait, corked, for the first sendfile() of the body. */
    if (str_conn_write(r, hdr, len) < 0) {
        str_reply_file_close(r);
        return -1;
    }
    return str_conn_send_file(r);
}
