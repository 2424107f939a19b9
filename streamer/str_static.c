/* str_static.c - HLS and static web files: MIME types, byte ranges,
 * ETag / If-None-Match, Last-Modified, CORS and cache headers, and paths
 * that never leave their root. Service thread only.
 *
 * Debian's lws 4.1.6 has no LWS_WITH_RANGES and no per-type cache headers
 * in its file mounts, so delivery is ours. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/yl_log.h"
#include "common/yl_fs.h"
#include "streamer/str_fcache.h"
#include "streamer/str_httputil.h"
#include "streamer/str_internal.h"
#include "streamer/str_path.h"

#define SMALL_FILE (64 * 1024) /* sent with its headers in one write */
#define HDR_SPACE  2048

/* Our own CSP (not lws's "security best practices", which blocks the blob:
 * media and workers hls.js needs; connect-src blob: lets hls.js load the
 * player's own audio-only master playlist). */
static const char csp[] =
    "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; worker-src 'self' blob:; "
    "connect-src 'self' blob:; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'self'";

/* ---- lesson holds ---- */

static str_hold *hold_find(str_server *srv, int64_t lesson)
{
    int i;

    for (i = 0; i < srv->n_holds; i++)
        if (srv->holds[i].lesson == lesson)
            return &srv->holds[i];
    return NULL;
}

void str_hold_ref(str_server *srv, int64_t lesson)
{
    str_hold *h = hold_find(srv, lesson);

    if (h == NULL) {
        if (srv->n_holds == srv->cap_holds) {
            int cap = srv->cap_holds ? srv->cap_holds * 2 : 16;
            str_hold *nh = realloc(srv->holds, (size_t)cap * sizeof(*nh));

            if (nh == NULL)
                return; /* no hold: the worst case is an early unlink,
                         * which open fds survive anyway */
            srv->holds = nh;
            srv->cap_holds = cap;
        }
        h = &srv->holds[srv->n_holds++];
        h->lesson = lesson;
        h->refs = 0;
        h->trash = NULL;
    }
    h->refs++;
}

void str_hold_unref(str_server *srv, int64_t lesson)
{
    str_hold *h = hold_find(srv, lesson);

    if (h == NULL || --h->refs > 0)
        return;
    if (h->trash != NULL) {
        int r = yl_rmtree(h->trash);

        if (r < 0)
            YL_LOGW("str", "remove %s: %s", h->trash, strerror(-r));
        else
            YL_LOGI("str",
                    "[lesson=%" PRId64 "] files removed after the "
                    "last reader",
                    lesson);
        free(h->trash);
    }
    *h = srv->holds[--srv->n_holds];
}

int str_hls_remove(str_server *srv, int64_t lesson)
{
    char from[PATH_MAX], to[PATH_MAX], trash[40];
    str_hold *h;
    int r, tries = 0;

    snprintf(trash, sizeof(trash), ".trash-%" PRId64, lesson);
    if (str_pathf(from, sizeof(from), "%s/%" PRId64, srv->hls_root, lesson) < 0)
        return -ENAMETOOLONG;
    /* After the rename no new request can open the lesson's files, nor
     * find them in memory. A trash name no earlier run used, and never
     * over an existing path (rename() would replace an empty dir and fail
     * on a full one). */
    for (;;) {
        if (str_unique_name(to, sizeof(to), srv->hls_root, trash,
                            srv->next_serial++) < 0)
            return -ENAMETOOLONG;
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
            break;
        if (errno != EEXIST || ++tries == 8)
            return -errno;
    }
    if (srv->fcache != NULL) {
        char prefix[32];

        snprintf(prefix, sizeof(prefix), "%" PRId64 "/", lesson);
        str_fcache_drop_prefix(srv->fcache, prefix);
    }
    h = hold_find(srv, lesson);
    if (h != NULL && h->refs > 0 && h->trash == NULL) {
        h->trash = strdup(to);
        if (h->trash != NULL) {
            YL_LOGI("str",
                    "[lesson=%" PRId64 "] %d response(s) still "
                    "reading: removal deferred",
                    lesson, h->refs);
            return 0;
        }
    }
    r = yl_rmtree(to);
    return r;
}

/* ---- responses ---- */

static int reply_304(str_req *r, const char *etag, const char *lastmod,
                     const char *cache)
{
    unsigned char buf[LWS_PRE + HDR_SPACE], *start = buf + LWS_PRE, *p = start,
                                            *end = buf + sizeof(buf) - 1;

    if (str_hdr_begin(r, 304, NULL, -1, &p, end) < 0 ||
        str_hdr_add(r, "etag:", etag, &p, end) < 0 ||
        str_hdr_add(r, "last-modified:", lastmod, &p, end) < 0 ||
        str_hdr_add(r, "cache-control:", cache, &p, end) < 0 ||
        str_hdr_end(r, &p, end) < 0)
        return -1;
    return str_send_final(r, start, (size_t)(p - start));
}

/* Reads a header into buf (NUL-terminated); returns its length or 0. */
static int hdr(str_req *r, const char *name, char *buf, int len)
{
    int n = str_req_hdr(r, name, buf, (size_t)len);

    return n > 0 ? n : 0;
}

/* serve_fd flags */
#define SF_WEB   1 /* static web file: CSP on html */
#define SF_GZIP  2 /* fd is the precompressed name.gz of name */
#define SF_VARY  4 /* a .gz sibling exists: the answer varies */
#define SF_CACHE 8 /* a small whole file read from fd goes into srv->fcache */

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* One answer of serve_fd(): the file's validators, the range sent and
 * the status. */
typedef struct file_answer {
    const char *name, *etag, *lastmod, *cache;
    int flags, status;
    int64_t size, first, last, len;
    char cr[96]; /* content-range of a 206 */
} file_answer;

/* True: the client's copy is current (304). */
static bool not_modified(str_req *r, const struct stat *st, const char *etag)
{
    char h[256];
    time_t ims;

    if (hdr(r, "if-none-match", h, sizeof(h)))
        return str_etag_match_list(h, etag);
    return hdr(r, "if-modified-since", h, sizeof(h)) &&
           str_http_date_parse(h, &ims) == 0 && st->st_mtim.tv_sec <= ims;
}

/* The request's Range (and If-Range) into fa->first..fa->last. Returns
 * STR_RANGE_*. */
static int range_of(str_req *r, file_answer *fa)
{
    char h[256];
    int rk = STR_RANGE_NONE;

    if (hdr(r, "range", h, sizeof(h))) {
        char ir[128];

        rk = str_range_parse(h, fa->size, &fa->first, &fa->last);
        /* If-Range with another validator: the client's copy is stale,
         * send the whole file. */
        if (rk != STR_RANGE_NONE && hdr(r, "if-range", ir, sizeof(ir)) &&
            strcmp(ir, fa->etag) != 0 && strcmp(ir, fa->lastmod) != 0) {
            rk = STR_RANGE_NONE;
            fa->first = 0;
            fa->last = fa->size - 1;
        }
    }
    return rk;
}

/* 416 for a range past the file's end; closes fd. */
static int range_unsatisfiable(str_req *r, int fd, const file_answer *fa)
{
    char extra[96];

    close_fd(fd);
    snprintf(extra, sizeof(extra), "content-range: bytes */%" PRId64 "\r\n",
             fa->size);
    /* The name goes through the one error writer (escaped, bounded). */
    return str_reply_error_hdrs(r, 416, "range_not_satisfiable", extra,
                                "%s has %" PRId64 " bytes", fa->name, fa->size);
}

/* The response head at *p (up to end). -1: it did not fit. */
static int file_headers(str_req *r, const file_answer *fa, unsigned char **p,
                        unsigned char *end)
{
    bool web = fa->flags & SF_WEB;

    if (str_hdr_begin(r, fa->status, str_mime_for(fa->name), fa->len, p, end) <
            0 ||
        str_hdr_add(r, "accept-ranges:", "bytes", p, end) < 0 ||
        str_hdr_add(r, "etag:", fa->etag, p, end) < 0 ||
        str_hdr_add(r, "last-modified:", fa->lastmod, p, end) < 0 ||
        str_hdr_add(r, "cache-control:", fa->cache, p, end) < 0 ||
        (fa->status == 206 &&
         str_hdr_add(r, "content-range:", fa->cr, p, end) < 0) ||
        (!web && str_hdr_add(r, "access-control-expose-headers:",
                             "Content-Length, Content-Range, ETag, "
                             "Accept-Ranges",
                             p, end) < 0) ||
        ((fa->flags & SF_GZIP) &&
         str_hdr_add(r, "content-encoding:", "gzip", p, end) < 0) ||
        ((fa->flags & (SF_GZIP | SF_VARY)) &&
         str_hdr_add(r, "vary:", "Accept-Encoding", p, end) < 0) ||
        (web && str_cache_class_web(fa->name) == STR_CACHE_REVALIDATE &&
         (str_hdr_add(r, "content-security-policy:", csp, p, end) < 0 ||
          str_hdr_add(r, "referrer-policy:", "same-origin", p, end) < 0)) ||
        str_hdr_end(r, p, end) < 0)
        return -1;
    return 0;
}

/* The body after the head at start..p, in the same write: from the cache
 * (mem) or read from fd (closed here, and the file cached if flagged). */
static int send_small(str_req *r, int fd, const str_fview *mem,
                      const struct stat *st, const file_answer *fa,
                      unsigned char *start, unsigned char *p)
{
    if (mem != NULL) {
        memcpy(p, mem->data + fa->first, (size_t)fa->len);
    } else {
        ssize_t got = pread(fd, p, (size_t)fa->len, fa->first);

        close_fd(fd);
        if (got != fa->len) {
            YL_LOGW("str", "read %s: %s", r->path,
                    got < 0 ? strerror(errno) : "file changed size");
            return -1;
        }
        if ((fa->flags & SF_CACHE) && fa->first == 0 && fa->len == fa->size &&
            r->srv->fcache != NULL)
            str_fcache_put(r->srv->fcache, fa->name, st, (const char *)p,
                           (size_t)fa->len, lws_now_usecs(), time(NULL));
    }
    p += fa->len;
    r->srv->m.bytes_file += (uint64_t)fa->len;
    return str_send_final(r, start, (size_t)(p - start));
}

/* A larger file: the connection takes fd and sends the range after the
 * head at start..p. */
static int send_file(str_req *r, int fd, const file_answer *fa, int64_t hold,
                     unsigned char *start, unsigned char *p)
{
    r->fd = fd;
    r->has_fd = true;
    r->off = fa->first;
    r->end = fa->last + 1;
    if (hold > 0) {
        str_hold_ref(r->srv, hold);
        r->hold = hold;
    }
    /* Headers straight to the socket, corked (MSG_MORE) so they leave in
     * one packet with the body that sendfile() sends right after, in this
     * same callback: no extra trip through poll() per response. What the
     * socket does not take waits in the connection for WRITEABLE. */
    return str_reply_start_file(r, start, (size_t)(p - start));
}

/* Serves one regular file: opened (fd, whose ownership it takes) or from
 * the small-file cache (fd -1, mem). name gives the type and cache
 * class (and is the cache key). */
static int serve_fd(str_req *r, int fd, const str_fview *mem,
                    const struct stat *st, const char *name, int cache_cls,
                    int flags, int64_t hold)
{
    unsigned char hbuf[LWS_PRE + HDR_SPACE + SMALL_FILE];
    unsigned char *start = hbuf + LWS_PRE, *p = start,
                  *end = hbuf + LWS_PRE + HDR_SPACE;
    char etag_buf[STR_ETAG_MAX], lastmod_buf[STR_HTTP_DATE_MAX];
    file_answer fa = {
        .name = name,
        .etag = etag_buf,
        .lastmod = lastmod_buf,
        .cache = str_cache_control(cache_cls),
        .flags = flags,
        .status = 200,
        .size = st->st_size,
        .first = 0,
        .last = st->st_size - 1,
    };
    int rk;

    if (mem != NULL) {
        fa.etag = mem->etag;
        fa.lastmod = mem->lastmod;
    } else {
        str_etag_make(st, etag_buf, sizeof(etag_buf));
        str_http_date(st->st_mtim.tv_sec, lastmod_buf, sizeof(lastmod_buf));
    }

    /* Conditional GET: If-None-Match wins over If-Modified-Since. */
    if (not_modified(r, st, fa.etag)) {
        close_fd(fd);
        return reply_304(r, fa.etag, fa.lastmod, fa.cache);
    }

    rk = range_of(r, &fa);
    if (rk == STR_RANGE_UNSAT)
        return range_unsatisfiable(r, fd, &fa);
    if (rk == STR_RANGE_OK) {
        fa.status = 206;
        snprintf(fa.cr, sizeof(fa.cr), "bytes %" PRId64 "-%" PRId64 "/%" PRId64,
                 fa.first, fa.last, fa.size);
    }
    fa.len = fa.size == 0 ? 0 : fa.last - fa.first + 1;

    if (file_headers(r, &fa, &p, end) < 0) {
        close_fd(fd);
        return -1;
    }

    if (r->head_only || fa.len == 0) {
        close_fd(fd);
        return str_send_final(r, start, (size_t)(p - start));
    }
    /* Playlists and small files: headers and body in one write. */
    if (fa.len <= SMALL_FILE)
        return send_small(r, fd, mem, st, &fa, start, p);
    return send_file(r, fd, &fa, hold, start, p);
}

static int not_found(str_req *r, const char *what)
{
    return str_reply_error(r, 404, "not_found", "%s not found", what);
}

static int open_error(str_req *r, int err, const char *shown)
{
    switch (err) {
    case -ENOENT:
    case -ENOTDIR:
        return not_found(r, shown);
    case -EACCES:
    case -ELOOP:
    case -EXDEV:
        return str_reply_error(r, 403, "forbidden",
                               "%s is outside the served directory", shown);
    case -ENAMETOOLONG:
        return str_reply_error(r, 414, "uri_too_long", "path too long");
    default:
        return str_reply_error(r, 500, "io_error", "cannot open %s: %s", shown,
                               strerror(-err));
    }
}

/* Text worth sending compressed (media and fonts are compressed already). */
static bool compressible(const char *name)
{
    const char *t = str_mime_for(name);

    return strncmp(t, "text/", 5) == 0 ||
           strncmp(t, "application/json", 16) == 0 ||
           strncmp(t, "application/vnd.apple.mpegurl", 29) == 0 ||
           strncmp(t, "image/svg+xml", 13) == 0 ||
           strncmp(t, "application/manifest+json", 25) == 0;
}

/* Accept-Encoding names gzip with a non-zero q. */
static bool accepts_gzip(str_req *r)
{
    char h[256];
    const char *g;

    if (!hdr(r, "accept-encoding", h, sizeof(h)))
        return false;
    for (g = strstr(h, "gzip"); g != NULL; g = strstr(g + 4, "gzip")) {
        const char *q = g + 4;

        while (*q == ' ')
            q++;
        if (*q == ';') {
            q++;
            while (*q == ' ')
                q++;
            if (strncmp(q, "q=0", 3) == 0 &&
                strspn(q + 3, ".0") == strcspn(q + 3, ", "))
                return false;
        }
        return true;
    }
    return false;
}

static int check_method(str_req *r)
{
    if (r->method == STR_M_GET || r->method == STR_M_HEAD)
        return 0;
    return -1;
}

int str_static_hls(str_req *r, const char *rel)
{
    str_server *srv = r->srv;
    struct stat st;
    const char *slash;
    int64_t id = 0;
    int fd, i;

    if (check_method(r) < 0)
        return str_reply_error(r, 405, "method_not_allowed",
                               "/hls/ serves GET and HEAD only");
    if (srv->hls_fd < 0)
        return not_found(r, r->path);
    /* "<lesson-id>/<file>": the id is a positive decimal integer. */
    slash = strchr(rel, '/');
    if (slash == NULL || slash == rel || slash - rel > 18)
        return not_found(r, r->path);
    for (i = 0; rel + i < slash; i++) {
        if (!isdigit((unsigned char)rel[i]))
            return not_found(r, r->path);
        id = id * 10 + (rel[i] - '0');
    }
    if (rel[strlen(rel) - 1] == '/') /* no directory listings */
        return not_found(r, r->path);
    if (str_path_check(rel) < 0)
        return str_reply_error(r, 403, "forbidden", "%s: path not allowed",
                               r->path);
    if (srv->fcache != NULL) {
        int64_t now = lws_now_usecs();
        bool stale = false;
        const str_fview *v = str_fcache_get(srv->fcache, rel, now, &stale);

        if (v != NULL && stale) {
            /* Checked through the same path-safe open as a miss. */
            fd = str_path_open(srv->hls_fd, srv->hls_root, rel, &st);
            if (fd >= 0 && str_fcache_same(&st, &v->st)) {
                close(fd);
                str_fcache_checked(srv->fcache, v, now);
            } else {
                str_fcache_drop(srv->fcache, rel);
                if (fd < 0)
                    return open_error(r, fd == -EISDIR ? -ENOENT : fd, r->path);
                return serve_fd(r, fd, NULL, &st, rel, str_cache_class_hls(rel),
                                SF_CACHE, id);
            }
        }
        /* (Cached files are at most SMALL_FILE: they never need the
         * sendfile path, which needs an fd.) */
        if (v != NULL && v->len <= SMALL_FILE)
            return serve_fd(r, -1, v, &v->st, rel, str_cache_class_hls(rel), 0,
                            0);
    }
    fd = str_path_open(srv->hls_fd, srv->hls_root, rel, &st);
    if (fd < 0)
        return open_error(r, fd == -EISDIR ? -ENOENT : fd, r->path);
    return serve_fd(r, fd, NULL, &st, rel, str_cache_class_hls(rel), SF_CACHE,
                    id);
}

/* /live/<meeting-id>/<file>: live HLS as the pipeline writes it. Never
 * from the small-file cache (playlists change every second); playlists
 * live for a second in caches, segments for good. */
int str_static_live(str_req *r, const char *rel)
{
    str_server *srv = r->srv;
    struct stat st;
    const char *slash = strchr(rel, '/');
    int cls, fd, i;

    if (check_method(r) < 0)
        return str_reply_error(r, 405, "method_not_allowed",
                               "/live/ serves GET and HEAD only");
    if (srv->live_fd < 0 || slash == NULL || slash == rel || slash - rel > 18)
        return not_found(r, r->path);
    for (i = 0; rel + i < slash; i++)
        if (!isdigit((unsigned char)rel[i]))
            return not_found(r, r->path);
    if (rel[strlen(rel) - 1] == '/')
        return not_found(r, r->path);
    if (str_path_check(rel) < 0)
        return str_reply_error(r, 403, "forbidden", "%s: path not allowed",
                               r->path);
    fd = str_path_open(srv->live_fd, srv->live_root, rel, &st);
    if (fd < 0)
        return open_error(r, fd == -EISDIR ? -ENOENT : fd, r->path);
    cls = str_cache_class_hls(rel);
    if (cls == STR_CACHE_PLAYLIST)
        cls = STR_CACHE_LIVE;
    return serve_fd(r, fd, NULL, &st, rel, cls, 0, 0);
}

int str_static_web(str_req *r, const char *rel)
{
    str_server *srv = r->srv;
    char path[PATH_MAX];
    struct stat st;
    size_t len;
    int fd;

    if (check_method(r) < 0)
        return str_reply_error(r, 405, "method_not_allowed",
                               "static files are GET and HEAD only");
    if (!srv->have_web)
        return str_reply_error(r, 404, "not_found",
                               "player-web is not built (run "
                               "player-web/build.sh or pass --web DIR)");
    len = strlen(rel);
    if (len + 11 >= sizeof(path))
        return str_reply_error(r, 414, "uri_too_long", "path too long");
    /* "" and "dir/" serve the directory's index.html. */
    if (len == 0 || rel[len - 1] == '/')
        snprintf(path, sizeof(path), "%sindex.html", rel);
    else
        snprintf(path, sizeof(path), "%s", rel);
    if (str_path_check(path) < 0)
        return str_reply_error(r, 403, "forbidden", "%s: path not allowed",
                               r->path);
    fd = str_path_open(srv->web_fd, srv->web_root, path, &st);
    if (fd == -EISDIR) {
        /* "/wall" → "/wall/" so relative URLs in its page resolve. */
        char loc[PATH_MAX + 8];
        unsigned char buf[LWS_PRE + HDR_SPACE + PATH_MAX];
        unsigned char *start = buf + LWS_PRE, *p = start,
                      *end = buf + sizeof(buf) - 1;

        snprintf(loc, sizeof(loc), "/%s/", path);
        if (str_hdr_begin(r, 301, NULL, 0, &p, end) < 0 ||
            str_hdr_add(r, "location:", loc, &p, end) < 0 ||
            str_hdr_end(r, &p, end) < 0)
            return -1;
        return str_send_final(r, start, (size_t)(p - start));
    }
    if (fd < 0)
        return open_error(r, fd, r->path);
    /* A precompressed sibling (player-web's build may write name.gz next
     * to name, as nginx's gzip_static reads it): lws has no compression
     * of its own, and text shrinks ~3x for slow village links. */
    if (compressible(path)) {
        char gz[PATH_MAX];
        struct stat gst;
        int gfd, n;

        /* A name too long for ".gz" simply has no compressed sibling. */
        n = snprintf(gz, sizeof(gz), "%s.gz", path);
        if (n < 0 || (size_t)n >= sizeof(gz))
            return serve_fd(r, fd, NULL, &st, path, str_cache_class_web(path),
                            SF_WEB, 0);
        gfd = str_path_open(srv->web_fd, srv->web_root, gz, &gst);
        if (gfd >= 0) {
            if (accepts_gzip(r)) {
                close(fd);
                return serve_fd(r, gfd, NULL, &gst, path,
                                str_cache_class_web(path), SF_WEB | SF_GZIP, 0);
            }
            close(gfd);
            return serve_fd(r, fd, NULL, &st, path, str_cache_class_web(path),
                            SF_WEB | SF_VARY, 0);
        }
    }
    return serve_fd(r, fd, NULL, &st, path, str_cache_class_web(path), SF_WEB,
                    0);
}
