/* str_server.c - the lws context, the listener, routing of requests the
 * HTTP core (str_conn.c) hands over, request bodies, the cross-thread
 * outbox and graceful shutdown.
 *
 * Threads: str_server_run()'s caller becomes the lws service thread and is
 * the only thread that calls lws (except lws_cancel_service(), which any
 * thread and the signal handler may call). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_fs.h"
#include "streamer/str_api.h"
#include "streamer/str_fcache.h"
#include "streamer/str_internal.h"
#include "streamer/str_fanout.h"
#include "streamer/str_route.h"
#include "streamer/str_livews.h"
#include "streamer/str_ws.h"

#ifndef YL_SRCDIR
#define YL_SRCDIR "."
#endif

#define TICK_US (200 * LWS_US_PER_MS)
/* accept()s per loop round. On lws's poll loop the listener is served
 * once per round (64 accepts); on libuv one round may read up to 48 x
 * 1,024 epoll events, and lws closes descriptors only when libuv runs its
 * close callbacks at the round's end: without a bound, a reconnect storm
 * (16,147 clients gone and back at once) accepted the new connections
 * while the old ones still held their descriptors, and ran out of them.
 * Each accept holds at most two descriptors until the round ends (the
 * socket and its dup() for a websocket handoff). */
#define ACCEPT_ROUND 256
/* Descriptors kept free of connections: the catalog's files, pipes to
 * children, the reserve, a handoff's dup(). */
#define FD_SPARE 256

/* Shared fan-out buffers keep this much room for lws_write(). */
_Static_assert(LWS_PRE <= STR_FAN_PRE, "STR_FAN_PRE below LWS_PRE");

/* The one server of this process, for the signal handler only. */
static str_server *volatile sig_srv;

/* ---- outbox: other threads → loop ---- */

void str_outbox_post(str_server *srv, str_msg *m)
{
    struct lws_context *ctx;
    bool wake;

    m->next = NULL;
    pthread_mutex_lock(&srv->ob_lock);
    wake = srv->ob_head == NULL;
    if (srv->ob_tail)
        srv->ob_tail->next = m;
    else
        srv->ob_head = m;
    srv->ob_tail = m;
    pthread_mutex_unlock(&srv->ob_lock);
    /* The one thread-safe lws call. A non-empty queue already has a wake
     * pending (the loop takes the whole queue when it wakes), so a burst
     * of writer results costs one wake, not one per result. */
    /* No context yet (or any more): the loop drains the queue when it
     * runs, or str_server_run() does at the end. */
    ctx = atomic_load(&srv->ctx_live) ? srv->ctx : NULL;
    if (wake && ctx != NULL)
        lws_cancel_service(ctx);
}

/* Service thread: runs every queued message. Wake-ups coalesce, so this
 * takes the whole list each time. */
static void outbox_drain(str_server *srv)
{
    str_msg *m, *next;

    pthread_mutex_lock(&srv->ob_lock);
    m = srv->ob_head;
    srv->ob_head = srv->ob_tail = NULL;
    pthread_mutex_unlock(&srv->ob_lock);
    for (; m != NULL; m = next) {
        next = m->next;
        if (m->run)
            m->run(srv, m);
        if (m->free_fn)
            m->free_fn(m);
    }
}

/* ---- requests waiting for a deferred result ---- */

/* Waiting requests hang in buckets by serial: many thousand can wait on a
 * busy writer, and every result looks its request up. */
static str_req **bucket_of(str_server *srv, uint64_t serial)
{
    return &srv->waiting[serial % STR_WAIT_BUCKETS];
}

void str_waiting_add(str_server *srv, str_req *r)
{
    str_req **b = bucket_of(srv, r->serial);

    r->wprev = NULL;
    r->wnext = *b;
    if (*b)
        (*b)->wprev = r;
    *b = r;
    r->waiting = true;
}

void str_waiting_remove(str_server *srv, str_req *r)
{
    if (!r->waiting)
        return;
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        *bucket_of(srv, r->serial) = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->wnext = r->wprev = NULL;
    r->waiting = false;
}

str_req *str_waiting_find(str_server *srv, uint64_t serial)
{
    str_req *r;

    for (r = *bucket_of(srv, serial); r != NULL; r = r->wnext)
        if (r->serial == serial)
            return r;
    return NULL;
}

/* ---- request lifecycle ---- */

/* The transaction is over (answered, or its connection closed). */
static void req_cleanup(str_req *r)
{
    if (r->srv == NULL)
        return;
    str_reply_file_close(r);
    str_waiting_remove(r->srv, r);
    str_api_req_cleanup(r);
    free(r->body);
    r->body = NULL;
}

static int reply_preflight(str_req *r)
{
    return str_reply(r, 204, NULL, NULL, 0,
                     "access-control-allow-methods: GET, HEAD, POST, "
                     "DELETE, OPTIONS\x0d\x0a"
                     "access-control-allow-headers: Authorization, "
                     "Content-Type, Range, If-None-Match\x0d\x0a"
                     "access-control-max-age: 86400\x0d\x0a");
}

static int healthz(str_req *r)
{
    if (r->srv->draining)
        return str_reply(r, 503, "text/plain; charset=utf-8", "stopping\n", 9,
                         "cache-control: no-store\r\n");
    return str_reply(r, 200, "text/plain; charset=utf-8", "ok\n", 3,
                     "cache-control: no-store\r\n");
}

static int hls(str_req *r)
{
    return str_static_hls(r, r->arg);
}

static int live(str_req *r)
{
    return str_static_live(r, r->arg);
}

static int web(str_req *r)
{
    return str_static_web(r, r->arg);
}

#define GH  (STR_MB(STR_M_GET) | STR_MB(STR_M_HEAD))
#define P   STR_MB(STR_M_POST)
#define D   STR_MB(STR_M_DELETE)
#define ALL (GH | P | D)
#define API STR_RF_API

/* Every endpoint: one row and one handler. Rows are tried in order; a
 * "**" row is a fallback (str_route.h). The API's rows share their
 * preparation (catalog up, query checked, token read: str_api_prepare). */
static const str_route routes[] = {
    {"/healthz", GH, 0, healthz, NULL, STR_R_HEALTHZ},
    {"/metrics", GH, 0, str_metrics_reply, NULL, STR_R_METRICS},
    {"/hls/**", GH, 0, hls, NULL, STR_R_HLS},
    {"/live/**", GH, 0, live, NULL, STR_R_LIVE},
    {"/api/v1/lessons", GH, API, str_api_lessons_list, NULL, STR_R_LESSONS},
    {"/api/v1/lessons", P, API, str_api_lesson_upload, NULL, STR_R_LESSONS},
    {"/api/v1/lessons/{id}", GH, API, str_api_lesson_get, NULL, STR_R_LESSONS},
    {"/api/v1/lessons/{id}", P, API, str_api_lesson_edit_begin,
     str_api_lesson_edit_done, STR_R_LESSONS},
    {"/api/v1/lessons/{id}", D, API, str_api_lesson_delete, NULL,
     STR_R_LESSONS},
    {"/api/v1/lessons/{id}/course", P, API, str_api_lesson_course_begin,
     str_api_lesson_course_done, STR_R_LESSONS},
    {"/api/v1/jobs/{id}", GH, API, str_api_job_get, NULL, STR_R_JOBS},
    {"/api/v1/jobs/{id}/retry", P, API, str_api_job_retry, NULL, STR_R_JOBS},
    {"/api/v1/courses", GH, API, str_api_courses_list, NULL, STR_R_COURSES},
    {"/api/v1/courses/{id}", GH, API, str_api_course_get, NULL, STR_R_COURSES},
    {"/api/v1/sites", GH, API, str_api_sites_list, NULL, STR_R_SITES},
    {"/api/v1/sites/{code}", GH, API, str_api_site_get, NULL, STR_R_SITES},
    {"/api/v1/sites/{code}/lang", P, API, str_api_site_lang_begin,
     str_api_site_lang_done, STR_R_SITES},
    {"/api/v1/sites/{code}/tokens", P, API, str_api_site_tokens, NULL,
     STR_R_SITES},
    {"/api/v1/sites/{code}/tokens", D, API, str_api_site_tokens_revoke, NULL,
     STR_R_SITES},
    {"/api/v1/whoami", GH, API, str_api_whoami, NULL, STR_R_SITES},
    {"/api/v1/session", GH, API, str_session_get, NULL, STR_R_SESSION},
    {"/api/v1/session", P, API | STR_RF_NO_COOKIE, str_session_post,
     str_session_post_body, STR_R_SESSION},
    {"/api/v1/session", D, API, str_session_delete, NULL, STR_R_SESSION},
    {"/api/v1/views", P, API, str_api_views_begin, str_api_views_done,
     STR_R_VIEWS},
    {"/api/v1/stats/now", GH, API, str_api_stats_now, NULL, STR_R_STATS},
    {"/api/v1/stats/ranking", GH, API, str_api_stats_ranking, NULL,
     STR_R_STATS},
    {"/api/v1/stats/sites/{code}", GH, API, str_api_stats_site, NULL,
     STR_R_STATS},
    {"/api/v1/notices", GH, API, str_notices_list, NULL, STR_R_NOTICES},
    {"/api/v1/notices", P, API, str_notices_post, str_notices_post_body,
     STR_R_NOTICES},
    {"/api/v1/notices/{id}", GH, API, str_notices_get, NULL, STR_R_NOTICES},
    {"/api/v1/notices/{id}", D, API, str_notices_withdraw, NULL, STR_R_NOTICES},
    {"/api/v1/notices/{id}/read", P, API, str_notices_read, NULL,
     STR_R_NOTICES},
    {"/api/v1/meetings", GH, API, str_meetings_list, NULL, STR_R_MEETINGS},
    {"/api/v1/meetings", P, API, str_meetings_post, str_meetings_post_body,
     STR_R_MEETINGS},
    {"/api/v1/meetings/current", GH, API, str_meetings_current, NULL,
     STR_R_MEETINGS},
    {"/api/v1/meetings/{id}", GH, API, str_meetings_get, NULL, STR_R_MEETINGS},
    {"/api/v1/meetings/{id}/start", P, API, str_meetings_start, NULL,
     STR_R_MEETINGS},
    {"/api/v1/meetings/{id}/stop", P, API, str_meetings_stop, NULL,
     STR_R_MEETINGS},
    {"/api/v1/meetings/{id}/attendance", GH, API, str_meetings_attendance, NULL,
     STR_R_MEETINGS},
    {"/api/v1/meetings/{id}/headcount", P, API, str_meetings_headcount,
     str_meetings_headcount_body, STR_R_MEETINGS},
    {"/api/v1/attachments", P, API, str_attach_post, str_attach_post_body,
     STR_R_NOTICES},
    {"/api/v1/attachments/{id}", GH, API, str_attach_get, NULL, STR_R_NOTICES},
    {"/api/**", ALL, API, str_api_not_found, NULL, STR_R_API_OTHER},
    {"/**", GH, 0, web, NULL, STR_R_WEB},
};

#undef GH
#undef P
#undef D
#undef ALL
#undef API

/* The HTTP core has the request's head: route it. */
static int on_http(str_req *r)
{
    str_route_match m;
    char allow[64], extra[96];
    int st, ret;

    st = str_route_find(routes, sizeof(routes) / sizeof(routes[0]), r->path,
                        r->method, &m);
    r->route = m.route  ? m.route->metric
               : m.near ? m.near->metric
                        : STR_R_OTHER;
    if (r->method == STR_M_OPTIONS)
        return reply_preflight(r);
    if (r->method == STR_M_OTHER)
        return str_reply_error(r, 405, "method_not_allowed",
                               "method not supported");
    if (st == 405) {
        str_route_allow(m.allowed, allow, sizeof(allow));
        snprintf(extra, sizeof(extra), "allow: %s\r\n", allow);
        return str_reply_error_hdrs(r, 405, "method_not_allowed", extra,
                                    "%s allows %s", r->path, allow);
    }
    if (st == 404)
        return str_reply_error(r, 404, "not_found", "%s not found", r->path);
    r->rt = m.route;
    r->id = m.id;
    r->arg = m.arg;
    if ((m.route->flags & STR_RF_API) && str_api_prepare(r, &ret))
        return ret;
    return m.route->handler(r);
}

/* ---- request bodies ---- */

int64_t str_req_content_length(str_req *r)
{
    char buf[32];
    char *end;
    long long v;

    if (str_req_hdr(r, "content-length", buf, sizeof(buf)) <= 0)
        return -1;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno || end == buf || *end != '\0' || v < 0)
        return -1;
    return v;
}

/* Sends "100 Continue" when the client waits for it (curl does for
 * bodies over 1 MB); we only get here once the request is acceptable. */
static int send_continue(str_req *r)
{
    static const char cont[] = "HTTP/1.1 100 Continue\x0d\x0a\x0d\x0a";
    char exp[32];

    if (str_req_hdr(r, "expect", exp, sizeof(exp)) <= 0 ||
        strcasecmp(exp, "100-continue") != 0)
        return 0;
    return str_conn_write(r, cont, sizeof(cont) - 1);
}

int str_body_refused(str_req *r, int64_t limit, int *ret)
{
    int64_t cl = str_req_content_length(r);

    if (cl < 0) {
        *ret = str_reply_error(r, 411, "length_required",
                               "a request body needs a Content-Length "
                               "(chunked uploads are not accepted)");
        return 1;
    }
    if (cl > limit) {
        *ret = str_reply_error(r, 413, "body_too_large",
                               "request body of %" PRId64
                               " bytes is over the limit of %" PRId64,
                               cl, limit);
        return 1;
    }
    return 0;
}

int str_body_begin(str_req *r, int kind, int64_t limit)
{
    int64_t cl = str_req_content_length(r);
    int ret;

    if (str_body_refused(r, limit, &ret))
        return ret;
    r->body_kind = kind;
    r->body_expected = cl;
    r->body_limit = (size_t)limit;
    str_req_body_taken(r);
    if (send_continue(r) < 0)
        return -1;
    return 0;
}

static int on_body(str_req *r, const char *in, size_t len)
{
    if (r->body_kind == STR_BODY_UPLOAD)
        return str_upload_feed(r, in, len);
    if (r->body_kind != STR_BODY_JSON)
        return 0;
    if (r->body_len + len > r->body_limit) {
        /* Content-Length lied: stop reading, answer and close. */
        str_reply_error(r, 413, "body_too_large",
                        "request body over the limit of %zu bytes",
                        r->body_limit);
        return -1;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        char *b;

        while (cap < r->body_len + len + 1)
            cap *= 2;
        b = realloc(r->body, cap);
        if (b == NULL)
            return -1;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_body_done(str_req *r)
{
    if (r->body_kind == STR_BODY_UPLOAD)
        return str_upload_done(r);
    if (r->body_kind == STR_BODY_JSON) {
        if (r->body == NULL) {
            r->body = calloc(1, 1);
            if (r->body == NULL)
                return -1;
        }
        if (r->rt == NULL || r->rt->body_done == NULL)
            return str_reply_error(r, 404, "not_found", "no such endpoint: %s",
                                   r->path);
        return r->rt->body_done(r);
    }
    return 0;
}

/* ---- shutdown ---- */

static void on_signal(int sig)
{
    str_server *srv = sig_srv;

    (void)sig;
    if (srv == NULL)
        return;
    atomic_store(&srv->stop, true);
    if (srv->ctx)
        lws_cancel_service(srv->ctx); /* writes to lws's event pipe */
}

static void begin_drain(str_server *srv)
{
    if (srv->draining)
        return;
    srv->draining = true;
    srv->drain_deadline_us =
        lws_now_usecs() +
        (lws_usec_t)srv->cfg.shutdown_grace_s * LWS_US_PER_SEC;
    YL_LOGI("str", "stopping: listener closed, finishing %d request(s)",
            srv->inflight);
    /* Closes the listen socket (lws owns its fd since the adoption): new
     * connections are refused from here on. lws_context_deprecate() would
     * do this but touches the freed listen wsi in lws 4.1.6. */
    if (srv->listen_wsi != NULL) {
        lws_set_timeout(srv->listen_wsi, PENDING_TIMEOUT_USER_OK,
                        LWS_TO_KILL_ASYNC);
        srv->listen_wsi = NULL;
    }
    str_conn_drain(srv);
    str_ws_drain(srv);
    str_livews_drain(srv);
    str_api_stopping(srv);
}

static const str_http_handlers handlers = {
    .request = on_http,
    .body = on_body,
    .body_done = on_body_done,
    .writeable = str_api_writeable,
    .cleanup = req_cleanup,
};

/* Hands an accepted socket to lws as a plain descriptor; the HTTP core
 * (str_conn.c) frames it. */
static void adopt(str_server *srv, int fd)
{
    lws_sock_file_fd_type d;
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    d.filefd = fd;
    if (srv->draining ||
        lws_adopt_descriptor_vhost(srv->vh, LWS_ADOPT_RAW_FILE_DESC, d,
                                   "yl-http", NULL) == NULL)
        close(fd);
}

/* Room for one more connection and its handoff's dup(): srv->wsis counts
 * lws's connections until their descriptor is really closed (WSI_DESTROY;
 * on libuv at the end of the round), so in a reconnect storm the new
 * connections wait in the backlog until the old ones' descriptors are
 * back instead of taking the last ones. */
static bool fd_headroom(const str_server *srv)
{
    int spare = srv->fd_limit / 8 < FD_SPARE ? srv->fd_limit / 8 : FD_SPARE;

    return srv->fd_limit <= 0 || srv->wsis + 2 + spare < srv->fd_limit;
}

/* accept() failed with EMFILE/ENFILE: every descriptor is in use. Retrying
 * at once would spin (the backlog stays readable), so accepting pauses for
 * a tick, the failure is logged once per 10 s with a count, and one
 * waiting client gets a 503 through the reserve descriptor instead of
 * hanging in the backlog. */
static void accept_exhausted(str_server *srv, struct lws *lwsi, int err)
{
    static const char busy[] =
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        "content-length: 83\r\n"
        "retry-after: 5\r\n"
        "connection: close\r\n\r\n"
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"server at its "
        "connection limit\"}}\n";
    int64_t now = lws_now_usecs();
    ssize_t wr;
    int fd;

    srv->m.accept_errors++;
    srv->accept_fail_since_log++;
    if (now - srv->accept_log_us > 10 * LWS_US_PER_SEC) {
        YL_LOGW("str",
                "accept: %s (%" PRIu64 " time(s) in 10 s, %d connections): "
                "pausing accept, answering 503",
                strerror(err), srv->accept_fail_since_log, srv->nconns);
        srv->accept_log_us = now;
        srv->accept_fail_since_log = 0;
    }
    if (srv->reserve_fd >= 0) {
        close(srv->reserve_fd);
        srv->reserve_fd = -1;
        fd = accept4(lws_get_socket_fd(lwsi), NULL, NULL,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            wr = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)wr;
            close(fd);
            srv->m.accept_503++;
        }
        srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    srv->accept_paused_until_us = now + TICK_US;
    lws_rx_flow_control(lwsi, 0);
}

/* Our listen socket, adopted as a raw descriptor: readable means
 * connections wait in the backlog. */
static int listen_cb(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
    str_server *srv = lws_context_user(lws_get_context(wsi));
    int i;

    (void)user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Another thread (or the signal handler) woke the loop. This
         * reaches every protocol once: it is handled here only. */
        if (srv == NULL)
            return 0;
        outbox_drain(srv);
        if (atomic_load(&srv->stop))
            begin_drain(srv);
        return 0;
    case LWS_CALLBACK_RAW_RX_FILE:
        for (i = 0; i < 64; i++) {
            int fd;

            if (srv->accepted_round >= ACCEPT_ROUND) {
                /* Again after this round (accept_round_end()). */
                srv->accept_round_paused = true;
                lws_rx_flow_control(wsi, 0);
                break;
            }
            if (!fd_headroom(srv)) {
                /* Descriptors still closing (on libuv they go at the
                 * round's end): the backlog waits for them. Still short
                 * after a tick, the limit is real: as at EMFILE. */
                int64_t now = lws_now_usecs();

                if (srv->headroom_short_us == 0)
                    srv->headroom_short_us = now;
                if (now - srv->headroom_short_us > TICK_US) {
                    srv->headroom_short_us = 0;
                    accept_exhausted(srv, wsi, EMFILE);
                    break;
                }
                srv->accept_round_paused = true;
                srv->headroom_wsis = srv->wsis;
                lws_rx_flow_control(wsi, 0);
                break;
            }
            srv->headroom_short_us = 0;
            fd = accept4(lws_get_socket_fd(wsi), NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                    errno == ENOMEM)
                    accept_exhausted(srv, wsi, errno);
                else if (errno != EAGAIN && errno != EINTR &&
                         errno != ECONNABORTED)
                    YL_LOGW("str", "accept: %s", strerror(errno));
                break;
            }
            srv->accepted_round++;
            adopt(srv, fd);
        }
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (srv->listen_wsi == wsi)
            srv->listen_wsi = NULL;
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return -1; /* a websocket is never the listener's */
    default:
        return 0;
    }
}

/* Service thread, after each loop round: the descriptors of the
 * connections closed in it are closed now; the listener may go on. */
static void accept_round_end(str_server *srv)
{
    srv->accepted_round = 0;
    if (!srv->accept_round_paused)
        return;
    srv->accept_round_paused = false;
    /* Paused for headroom and no descriptor was given back this round:
     * turning the listener on would only wake the next round at once
     * (the backlog is still readable); the tick tries again. */
    if (srv->headroom_short_us != 0 && srv->wsis >= srv->headroom_wsis &&
        srv->accept_paused_until_us == 0) {
        srv->accept_paused_until_us = lws_now_usecs() + 1;
        return;
    }
    if (srv->listen_wsi != NULL && !srv->draining &&
        srv->accept_paused_until_us == 0)
        lws_rx_flow_control(srv->listen_wsi, 1);
}

/* protocols[0] carries every HTTP connection; its per-connection size is
 * the HTTP core's, set in str_server_run(). Websocket protocols go after
 * these two. */
/* lws's own HTTP phase of a handed-over websocket upgrade (str_ws.c):
 * lws parses the request head we give it and upgrades; nothing else is
 * ever served here. */
static int upgrade_cb(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len)
{
    str_server *srv = lws_context_user(lws_get_context(wsi));

    /* lws tells protocols[0] of every connection it makes and of every
     * one whose descriptor it has closed (lws 4.1's close.c: after
     * compatible_close()), whatever its protocol: the count of open
     * connection descriptors, for accept's headroom. */
    if (reason == LWS_CALLBACK_WSI_CREATE && srv != NULL)
        srv->wsis++;
    if (reason == LWS_CALLBACK_WSI_DESTROY && srv != NULL)
        srv->wsis--;
    if (reason == LWS_CALLBACK_HTTP)
        return -1; /* not an upgrade after all: close */
    if (reason == LWS_CALLBACK_ESTABLISHED)
        return -1; /* a websocket bound here by its subprotocol's name */
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* protocols[0] is lws's HTTP phase of upgrades handed over from the HTTP
 * core; "yl-http" carries every HTTP connection (adopted by name, its
 * per-connection size set in str_server_run()); yunling.v1 is the
 * channel, chosen by lws from Sec-WebSocket-Protocol. The channel's rx
 * buffer is small (1 KB per connection: 16,000 idle villages); longer
 * messages arrive in pieces (str_ws.c joins them). */
static struct lws_protocols protocols[] = {
    {"yl-upgrade", upgrade_cb, 0, 0, 0, NULL, 0},
    {"yl-http", str_conn_cb, 0, 0, 0, NULL, 0},
    {"yl-listen", listen_cb, 0, 0, 0, NULL, 0},
    {STR_WS_PROTOCOL, str_ws_cb, 0, 1024, 0, NULL, 0},
    /* /ws/live viewers: mpegts.js sends no subprotocol, so this is the
     * vhost's default (pvo "default" below); /ws insists on yunling.v1
     * before the handoff, so nothing else arrives here without one.
     * tx_packet_size: with 0, lws 4.1.6 caps each send() at rx_buffer_size
     * (512) + 20 and buffers the rest of a frame in its buflist for later
     * rounds: a 5 KB picture took ~10 sends, a copy and ~10 loop rounds.
     * A frame now goes out in one send() as far as the socket takes it. */
    {"yl-live", str_livews_cb, 0, 512, 0, NULL, STR_LIVEWS_TX},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* Every field 0: no validity pings or hang-ups by lws (see the vhost). */
static const lws_retry_bo_t no_validity = {.secs_since_valid_hangup = 0};

static const struct lws_protocol_vhost_options pvo_live_default = {
    NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo_live = {
    NULL, &pvo_live_default, "yl-live", ""};

/* Binds and listens on addr:port (port 0: any free one). Returns the fd
 * and the bound port, or -errno. */
static int open_listener(const char *addr, int port, int *bound)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1, af;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;

        af = a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        sl = sizeof(*a);
    } else if (inet_pton(AF_INET6, addr,
                         &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

        af = a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        sl = sizeof(*a);
    } else {
        return -EINVAL;
    }
    fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        int e = -errno;

        close(fd);
        return e;
    }
    *bound = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                 : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* Headers on every response, lws's own error pages included. */
static const struct lws_protocol_vhost_options hdr_nosniff = {
    NULL, NULL, "x-content-type-options:", "nosniff"};
static const struct lws_protocol_vhost_options hdr_cors = {
    &hdr_nosniff, NULL, "access-control-allow-origin:", "*"};

static void lws_log_emit(int level, const char *line)
{
    /* lws 4.1.6 reports every adoption with a first read (our websocket
     * handoff, str_ws.c) at error level: not an error. */
    if (strstr(line, "adopt_socket_readbuf: calling service") != NULL)
        return;
    int l = level & LLL_ERR    ? YL_LOG_ERR
            : level & LLL_WARN ? YL_LOG_WARN
                               : YL_LOG_INFO;

    yl_log(l, "lws", "%s", line);
}

static void tick(lws_sorted_usec_list_t *sul);
static lws_sorted_usec_list_t tick_sul;
static str_server *tick_srv;

static void tick(lws_sorted_usec_list_t *sul)
{
    str_server *srv = tick_srv;
    static int64_t swept;
    int64_t now = lws_now_usecs();

    if (atomic_load(&srv->stop))
        begin_drain(srv);
    if (now - swept >= LWS_US_PER_SEC) {
        swept = now;
        str_conn_sweep(srv);
    }
    str_ws_tick(srv);
    str_livews_tick(srv);
    if (srv->accept_paused_until_us != 0 &&
        now >= srv->accept_paused_until_us) {
        srv->accept_paused_until_us = 0;
        if (srv->listen_wsi != NULL && !srv->draining)
            lws_rx_flow_control(srv->listen_wsi, 1);
    }
    lws_sul_schedule(srv->ctx, 0, sul, tick, TICK_US);
}

static int open_root(const char *dir, char *real, size_t reallen, int *fd)
{
    char buf[PATH_MAX];

    if (realpath(dir, buf) == NULL)
        return -errno;
    snprintf(real, reallen, "%s", buf);
    *fd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return *fd < 0 ? -errno : 0;
}

/* One server per data directory: a second one would run every job twice
 * and, with its own caches of the catalog's sessions, could store a
 * viewing event twice. DATA/serve.lock holds the running server's pid. */
static int lock_data(str_server *srv)
{
    char path[PATH_MAX], pid[32] = "";
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/serve.lock", srv->cfg.cat.data_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        YL_LOGE("str", "open %s: %s", path, strerror(errno));
        return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        YL_LOGE("str",
                "%s is in use by another yunling serve (pid %s): one server "
                "per data directory",
                srv->cfg.cat.data_dir, pid[0] ? pid : "?");
        close(fd);
        return e == EWOULDBLOCK ? YL_EEXIST : -e;
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        YL_LOGW("str", "write %s: %s", path, strerror(errno));
    srv->lock_fd = fd;
    return 0;
}

static int prepare_dirs(str_server *srv)
{
    static const char *const sub[] = {"hls", "uploads", "jobs", "live"};
    char path[PATH_MAX];
    size_t i;
    int r;

    for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", srv->cfg.cat.data_dir, sub[i]);
        r = yl_mkdirs(path);
        if (r < 0) {
            YL_LOGE("str", "create %s: %s", path, strerror(-r));
            return r;
        }
    }
    r = lock_data(srv);
    if (r < 0)
        return r;
    str_sweep_leftovers(srv); /* under serve.lock: a killed run's leftovers */
    /* 64 MiB of small files: ~10,000 media playlists of 10-minute lessons. */
    srv->fcache = str_fcache_new(64u << 20, 64 * 1024);
    if (srv->fcache == NULL)
        return -ENOMEM;
    snprintf(path, sizeof(path), "%s/hls", srv->cfg.cat.data_dir);
    r = open_root(path, srv->hls_root, sizeof(srv->hls_root), &srv->hls_fd);
    if (r < 0) {
        YL_LOGE("str", "open %s: %s", path, strerror(-r));
        return r;
    }
    snprintf(path, sizeof(path), "%s/live", srv->cfg.cat.data_dir);
    r = open_root(path, srv->live_root, sizeof(srv->live_root), &srv->live_fd);
    if (r < 0) {
        YL_LOGE("str", "open %s: %s", path, strerror(-r));
        return r;
    }
    if (srv->cfg.cat.web_dir[0] == '\0')
        snprintf(srv->cfg.cat.web_dir, sizeof(srv->cfg.cat.web_dir),
                 "%s/player-web/dist", YL_SRCDIR);
    if (open_root(srv->cfg.cat.web_dir, srv->web_root, sizeof(srv->web_root),
                  &srv->web_fd) == 0)
        srv->have_web = true;
    else
        YL_LOGW("str",
                "no player-web at %s: / answers 404 until it is "
                "built",
                srv->cfg.cat.web_dir);
    return 0;
}

/* What str_server_run()'s phases share: lws's creation info serves the
 * context and then the vhost. */
typedef struct run_state {
    struct lws_context_creation_info info;
    /* libuv: lws runs on our loop (a "foreign" one), so that this thread
     * keeps its own turn of the loop below, as with poll. */
    uv_loop_t *uv;
    void *foreign[1];
} run_state;

/* The server's fields before anything is opened. NULL: out of memory. */
static str_server *server_new(const str_config *cfg)
{
    str_server *srv;

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    srv->cfg = *cfg;
    srv->hls_fd = srv->web_fd = srv->lock_fd = srv->live_fd = -1;
    srv->http = handlers;
    /* The head of one request: a few headers at their limit together. */
    srv->header_space =
        cfg->max_header * 4 > 65000 ? 65000 : cfg->max_header * 4;
    {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
            rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)INT_MAX)
            srv->fd_limit = (int)rl.rlim_cur;
    }
    /* A spare descriptor: at the fd limit it is closed to answer 503. */
    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&srv->ob_lock, NULL);
    atomic_init(&srv->stop, false);
    return srv;
}

/* Trusted proxies, the data directory, the catalog and the channels:
 * everything the server needs before lws. */
static int open_parts(str_server *srv)
{
    const str_config *cfg = &srv->cfg;
    int ret;

    if (cfg->trusted_proxies[0] != '\0') {
        char err[160];

        srv->nproxies = str_proxy_parse(cfg->trusted_proxies, srv->proxies,
                                        STR_PROXIES_MAX, err, sizeof(err));
        if (srv->nproxies < 0) {
            YL_LOGE("str", "%s", err);
            ret = srv->nproxies;
            srv->nproxies = 0;
            return ret;
        }
    }
    ret = prepare_dirs(srv);
    if (ret < 0)
        return ret;
    ret = str_api_open(srv);
    if (ret < 0)
        return ret;
    ret = str_ws_open(srv);
    if (ret < 0)
        return ret;
    ret = str_livews_open(srv);
    if (ret < 0)
        return ret;
    str_sweep_deleted(srv); /* a delete killed between commit and files */
    return 0;
}

/* lws's log, the protocols' sizes and the context (on libuv or poll). */
static int create_context(str_server *srv, run_state *rs)
{
    const str_config *cfg = &srv->cfg;
    struct lws_context_creation_info *info = &rs->info;

    /* YL_LWS_LOG=<lws level mask> (e.g. 15 adds notices and info) for
     * debugging lws itself; errors and warnings otherwise. */
    lws_set_log_level(getenv("YL_LWS_LOG") != NULL ? atoi(getenv("YL_LWS_LOG"))
                                                   : LLL_ERR | LLL_WARN,
                      lws_log_emit);
    protocols[1].per_session_data_size = str_conn_size();
    protocols[3].per_session_data_size = str_ws_size();
    protocols[4].per_session_data_size = str_livews_size();
    memset(info, 0, sizeof(*info));
    info->options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (strchr(cfg->listen_addr, ':') == NULL)
        info->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info->user = srv;
    info->server_string = "yunling";
    info->timeout_secs = 30;
    if (strcmp(cfg->event_loop, "libuv") == 0) {
        rs->uv = calloc(1, sizeof(*rs->uv));
        if (rs->uv == NULL || uv_loop_init(rs->uv) != 0) {
            free(rs->uv);
            rs->uv = NULL;
            return -ENOMEM;
        }
        rs->foreign[0] = rs->uv;
        info->foreign_loops = rs->foreign;
        info->options |= LWS_SERVER_OPTION_LIBUV;
    }
    srv->ctx = lws_create_context(info);
    if (srv->ctx == NULL) {
        YL_LOGE("str", "lws_create_context failed");
        return YL_EINVAL;
    }
    return 0;
}

/* The vhost (on the context's creation info), our listen socket and its
 * adoption. */
static int create_vhost(str_server *srv, run_state *rs)
{
    const str_config *cfg = &srv->cfg;
    struct lws_context_creation_info *info = &rs->info;
    int lfd;

    /* We listen ourselves (so SIGTERM can close the listener, see
     * begin_drain()) and adopt each accepted socket. */
    info->port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info->protocols = protocols;
    info->vhost_name = "yunling";
    info->keepalive_timeout = cfg->keepalive_s;
    info->headers = &hdr_cors;
    info->pvo = &pvo_live;
    /* No lws validity timers (its default: a ping after 300 s idle): the
     * channel pings its own connections (ws_ping, str_ws_tick), and lws
     * files each connection's timer in one sorted list, walked from its
     * head on every websocket established and every pong: at 16,000
     * connections, 16,000 steps each (lws_dll2_add_sorted). */
    info->retry_and_idle_policy = &no_validity;
    srv->vh = lws_create_vhost(srv->ctx, info);
    if (srv->vh == NULL) {
        YL_LOGE("str", "lws_create_vhost failed");
        return YL_EINVAL;
    }
    lfd = open_listener(cfg->listen_addr, cfg->port, &srv->port);
    if (lfd < 0) {
        YL_LOGE("str", "cannot listen on %s:%d: %s", cfg->listen_addr,
                cfg->port,
                lfd == -EINVAL ? "not an IP address" : strerror(-lfd));
        return lfd;
    }
    {
        lws_sock_file_fd_type d;

        d.filefd = lfd;
        srv->listen_wsi = lws_adopt_descriptor_vhost(
            srv->vh, LWS_ADOPT_RAW_FILE_DESC, d, "yl-listen", NULL);
        if (srv->listen_wsi == NULL) {
            YL_LOGE("str", "cannot adopt the listen socket");
            close(lfd);
            return YL_EINVAL;
        }
    }
    return 0;
}

static void install_signals(str_server *srv)
{
    struct sigaction sa;

    sig_srv = srv;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void announce(const str_server *srv)
{
    const str_config *cfg = &srv->cfg;

    /* Tests and scripts read the port from this line (port 0 = any). */
    printf("listening on %s:%d\n", cfg->listen_addr, srv->port);
    fflush(stdout);
    YL_LOGI("str", "listening on %s:%d, data %s, web %s", cfg->listen_addr,
            srv->port, cfg->cat.data_dir, srv->have_web ? srv->web_root : "-");
}

/* The service loop: until it fails, or a drain has finished or run out
 * of time. */
static void serve(str_server *srv, uv_loop_t *uv)
{
    int n = 0;

    atomic_store(&srv->ctx_live, true);
    /* Meetings live when the last run stopped start again: after the
     * context exists, since their threads wake the loop. */
    str_meetings_open(srv);
    tick_srv = srv;
    lws_sul_schedule(srv->ctx, 0, &tick_sul, tick, TICK_US);
    while (n >= 0) {
        /* One turn: wait for events (or the next lws timer), run them. */
        if (uv != NULL)
            n = uv_run(uv, UV_RUN_ONCE) != 0 ? 0 : -1;
        else
            n = lws_service(srv->ctx, 0);
        str_conn_rearm(srv);
        accept_round_end(srv);
        str_ws_round(srv);
        /* Requests this round queued for the pool threads: one wake each. */
        str_query_kick(srv->vpool);
        str_query_kick(srv->qpool);
        if (srv->draining) {
            /* Channel and live viewers were told 1001 (str_ws_drain,
             * str_livews_drain): their close handshakes finish before
             * the context goes. */
            if (srv->inflight <= 0 && str_api_idle(srv) &&
                str_ws_count(srv) == 0 && str_livews_count(srv) == 0)
                break;
            if (lws_now_usecs() > srv->drain_deadline_us) {
                YL_LOGW("str",
                        "stopping: %d request(s) still open after "
                        "%d s, closing them",
                        srv->inflight, srv->cfg.shutdown_grace_s);
                break;
            }
        }
    }
}

/* Stops whatever was started, in order, and frees the server. */
static void shut_down(str_server *srv, uv_loop_t *uv, int ret)
{
    int i;

    sig_srv = NULL;
    /* Order: pipelines, jobs and writer first (they post to the loop and
     * wake it), lws last. */
    str_meetings_close(srv); /* before ctx_live goes: their last events */
    str_api_close(srv);
    atomic_store(&srv->ctx_live, false);
    if (srv->ctx) {
        lws_sul_cancel(&tick_sul);
        lws_context_destroy(srv->ctx);
        if (uv != NULL) {
            /* lws closes its libuv handles asynchronously: the loop runs
             * until they are closed, then lws frees the context. */
            uv_run(uv, UV_RUN_DEFAULT);
            lws_context_destroy(srv->ctx);
        }
    }
    if (uv != NULL) {
        uv_run(uv, UV_RUN_DEFAULT);
        if (uv_loop_close(uv) != 0)
            YL_LOGW("str", "libuv loop closed with handles still open");
        free(uv);
    }
    outbox_drain(srv); /* frees what threads posted at the very end */
    str_ws_close(srv);
    str_livews_close(srv);
    free(srv->acks);
    str_fcache_free(srv->fcache);
    if (srv->hls_fd >= 0)
        close(srv->hls_fd);
    if (srv->web_fd >= 0)
        close(srv->web_fd);
    if (srv->live_fd >= 0)
        close(srv->live_fd);
    if (srv->reserve_fd >= 0)
        close(srv->reserve_fd);
    if (srv->lock_fd >= 0)
        close(srv->lock_fd); /* the last: everything else has stopped */
    for (i = 0; i < srv->n_holds; i++)
        free(srv->holds[i].trash);
    free(srv->holds);
    pthread_mutex_destroy(&srv->ob_lock);
    if (ret == 0)
        YL_LOGI("str", "stopped");
    free(srv);
}

int str_server_run(const str_config *cfg)
{
    run_state rs = {.uv = NULL};
    str_server *srv;
    int ret;

    srv = server_new(cfg);
    if (srv == NULL)
        return -ENOMEM;
    ret = open_parts(srv);
    if (ret < 0)
        goto out;
    ret = create_context(srv, &rs);
    if (ret < 0)
        goto out;
    ret = create_vhost(srv, &rs);
    if (ret < 0)
        goto out;
    install_signals(srv);
    ret = str_api_start(srv);
    if (ret < 0)
        goto out;
    announce(srv);
    serve(srv, rs.uv);
    ret = 0;
out:
    shut_down(srv, rs.uv, ret);
    return ret;
}
