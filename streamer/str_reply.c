/* str_reply.c - writing HTTP responses. Service thread only.
 *
 * Small responses (API JSON, playlists, errors) leave in one lws_write of
 * headers and body together; lws keeps whatever the socket does not take
 * and finishes it before the next WRITEABLE. File bodies go out with
 * sendfile() from WRITEABLE, one call per callback. */
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

#define HDR_SPACE  2048       /* room for any of our header blocks */
#define FILE_CHUNK (1u << 20) /* bytes per sendfile() call */

int str_status_index(int status)
{
    static const int known[STR_NSTATUS - 1] = {
        200, 202, 204, 206, 304, 400, 401, 403, 404, 405,
        409, 411, 413, 414, 415, 416, 431, 500, 503};
    int i;

    for (i = 0; i < STR_NSTATUS - 1; i++)
        if (known[i] == status)
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

int str_hdr_begin(str_req *r, int status, const char *ctype, int64_t clen,
                  unsigned char **p, unsigned char *end)
{
    struct lws *wsi = r->wsi;

    str_req_count(r, status);
    r->responded = true;
    if (lws_add_http_header_status(wsi, (unsigned)status, p, end))
        return -1;
    if (ctype != NULL &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                     (const unsigned char *)ctype,
                                     (int)strlen(ctype), p, end))
        return -1;
    if (clen >= 0 &&
        lws_add_http_header_content_length(wsi, (lws_filepos_t)clen, p, end))
        return -1;
    return 0;
}

int str_hdr_add(str_req *r, const char *name, const char *value,
                unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(r->wsi, (const unsigned char *)name,
                                       (const unsigned char *)value,
                                       (int)strlen(value), p, end)
               ? -1
               : 0;
}

int str_req_complete(str_req *r)
{
    if (r->counted) {
        r->counted = false;
        r->srv->inflight--;
    }
    if (lws_http_transaction_completed(r->wsi))
        return -1;
    return 0;
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
    if (lws_finalize_http_header(r->wsi, &p, end))
        goto fail;
    if (!r->head_only && len > 0) {
        memcpy(p, body, len);
        p += len;
    }
    n = lws_write(r->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL);
    if (buf != stackbuf)
        free(buf);
    if (n < (int)(p - start))
        return -1;
    return str_req_complete(r);
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

int str_reply_error(str_req *r, int status, const char *code, const char *fmt,
                    ...)
{
    char msg[512], emsg[1100], body[1300];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_escape(msg, emsg, sizeof(emsg));
    n = snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code,
                 emsg);
    if (status >= 500)
        YL_LOGW("str", "%s -> %d %s: %s", r->path, status, code, msg);
    else
        YL_LOGD("str", "%s -> %d %s: %s", r->path, status, code, msg);
    return str_reply_json(r, status, body, (size_t)n);
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

/* Sends what is left of r->out (file response headers) without blocking.
 * 1 when all of it is out, 0 when the socket is full, -1 on error. */
static int flush_out(str_req *r, int sock)
{
    while (r->out_off < r->out_len) {
        ssize_t n = send(sock, r->out + r->out_off, r->out_len - r->out_off,
                         MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0)
            return -1;
        r->out_off += (size_t)n;
    }
    free(r->out);
    r->out = NULL;
    r->out_len = r->out_off = 0;
    return 1;
}

int str_reply_start_file(str_req *r, const unsigned char *hdr, size_t len)
{
    r->out = malloc(len);
    if (r->out == NULL) {
        str_reply_file_close(r);
        return -1;
    }
    memcpy(r->out, hdr, len);
    r->out_len = len;
    r->out_off = 0;
    return str_reply_writeable(r);
}

int str_reply_writeable(str_req *r)
{
    int sock;
    ssize_t n;
    size_t want;

    if (r->has_fd) {
        sock = lws_get_socket_fd(r->wsi);
        if (r->out != NULL) {
            int f = flush_out(r, sock);

            if (f < 0) {
                str_reply_file_close(r);
                return -1;
            }
            if (f == 0) {
                lws_callback_on_writable(r->wsi);
                return 0;
            }
        }
        want = (size_t)(r->end - r->off);
        if (want > FILE_CHUNK)
            want = FILE_CHUNK;
        /* Plain HTTP/1.1 only (no TLS in this server): bytes can go
         * straight from the page cache to the socket. lws has flushed its
         * own buffered output before calling WRITEABLE, so order holds. */
        n = sendfile(sock, r->fd, &r->off, want);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                lws_callback_on_writable(r->wsi);
                return 0;
            }
            YL_LOGD("str", "sendfile %s: %s", r->path, strerror(errno));
            str_reply_file_close(r);
            return -1;
        }
        if (n == 0) { /* file shrank under us: cannot keep the length */
            YL_LOGW("str", "%s: file ended early", r->path);
            str_reply_file_close(r);
            return -1;
        }
        r->srv->m.bytes_file += (uint64_t)n;
        if (r->off < r->end) {
            lws_callback_on_writable(r->wsi);
            return 0;
        }
        str_reply_file_close(r);
        return str_req_complete(r);
    }
    return 0;
}
