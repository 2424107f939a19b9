/* str_internal.h - declarations shared inside streamer/ only.
 *
 * Threads: everything here belongs to the lws service thread (the main
 * thread of `yunling serve`) unless a comment says otherwise. Other
 * threads reach the loop only through str_outbox_post(). */
#ifndef YL_STR_INTERNAL_H
#define YL_STR_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libwebsockets.h>

#include "catalog/cat_db.h"
#include "catalog/cat_tokens.h"
#include "catalog/cat_users.h"
#include "catalog/cat_writer.h"
#include "streamer/str_server.h"

struct str_upload;
struct str_signin_limits;
struct str_jobs;
struct str_wsreg;
struct str_livews;
struct cat_notice_ack;

/* Routes, for dispatch and for the request counters in /metrics. */
enum str_route_label {
    STR_R_WEB,
    STR_R_HLS,
    STR_R_LESSONS,
    STR_R_JOBS,
    STR_R_COURSES,
    STR_R_SITES,
    STR_R_VIEWS,
    STR_R_STATS,
    STR_R_NOTICES,
    STR_R_SESSION,
    STR_R_MEETINGS,
    STR_R_LIVE,
    STR_R_WS,
    STR_R_LIVE_WS,
    STR_R_API_OTHER,
    STR_R_METRICS,
    STR_R_HEALTHZ,
    STR_R_OTHER,
    STR_R_COUNT
};

enum str_method {
    STR_M_GET,
    STR_M_HEAD,
    STR_M_POST,
    STR_M_DELETE,
    STR_M_OPTIONS,
    STR_M_OTHER
};

/* What an incoming request body is for. */
enum str_body_kind {
    STR_BODY_NONE,
    STR_BODY_JSON,   /* collected in memory up to max_body, then parsed */
    STR_BODY_UPLOAD, /* streamed to disk by str_upload */
};

typedef struct str_conn str_conn; /* str_conn.c: one client connection */

/* One HTTP transaction, inside its connection (str_conn.c), which zeroes
 * it when the request's headers are in and cleans it up when the response
 * is out. Service thread only. */
typedef struct str_req {
    struct str_server *srv;
    struct str_conn *conn;
    uint64_t serial; /* unique per request: outbox lookups use this */
    int method;
    int route;
    int status;     /* first status sent; 0 before */
    bool started;   /* LWS_CALLBACK_HTTP ran for this pss */
    bool counted;   /* included in srv->inflight */
    bool responded; /* headers are out; body may still follow */
    bool head_only; /* HEAD: headers, no body */
    bool has_body;  /* Content-Length > 0 or chunked */

    /* File body, sent with sendfile() from WRITEABLE. */
    int fd;
    bool has_fd;
    off_t off, end; /* next byte to send, one past the last */
    int64_t hold;   /* lesson id held while its files are read; 0 none */

    /* Request body. */
    int body_kind;
    char *body;
    size_t body_len, body_cap, body_limit;
    int64_t body_expected; /* Content-Length */
    struct str_upload *up;

    /* Deferred response: waiting for a writer commit (views). */
    struct str_req *wnext, *wprev;
    bool waiting;
    int pend_status; /* deferred response ready to send, or 0 */
    char *pend_body; /* JSON, malloc'd */
    size_t pend_len;

    bool has_token;     /* Authorization checked and valid */
    cat_token_info tok; /* the caller, when has_token */
    /* A person signed in with a session cookie (no Authorization header):
     * tok holds the user's role and scope; state-changing requests must
     * carry X-CSRF-Token equal to csrf. */
    bool via_session;
    int session_state; /* enum str_session_state */
    char sid[CAT_SESSION_LEN + 1];
    char csrf[CAT_CSRF_LEN + 1];
    char *pend_extra;  /* deferred answer: more header lines, malloc'd */
    const char *query; /* raw query string (after '?'), or NULL */
    const struct str_route *rt; /* the route table row answering it */
    int64_t id;                 /* the row's {id} */
    const char *arg;            /* the row's {code} or "**" (in path) */
    char path[512];             /* URL path (decoded) for handlers and logs */
} str_req;

/* What the HTTP core calls on the layer above it (str_server.c's
 * dispatch). Each returns 0, or -1 to close the connection once what was
 * answered is out. */
typedef struct str_http_handlers {
    int (*request)(str_req *r); /* headers complete */
    int (*body)(str_req *r, const char *in, size_t len);
    int (*body_done)(str_req *r);
    int (*writeable)(str_req *r); /* a deferred answer may be ready */
    void (*cleanup)(str_req *r);  /* the transaction is over */
} str_http_handlers;

/* Counters behind /metrics. Service thread only. */
#define STR_NSTATUS 22
typedef struct str_metrics {
    uint64_t req[STR_R_COUNT][STR_NSTATUS];
    uint64_t events_accepted, events_duplicate, events_rejected;
    uint64_t bytes_file;
    uint64_t uploads_ok, uploads_failed;
    uint64_t timeouts;      /* connections cut in headers or body */
    uint64_t bad_requests;  /* malformed HTTP, refused framing */
    uint64_t accept_errors; /* accept() failures (EMFILE...) */
    uint64_t accept_503;    /* answered 503 from the reserve fd */
} str_metrics;

/* A message from another thread to the loop. */
typedef struct str_msg {
    struct str_msg *next;
    int kind;                                           /* STR_MSG_* */
    void (*run)(struct str_server *, struct str_msg *); /* service thread */
    void (*free_fn)(struct str_msg *);
} str_msg;

/* Lesson files held by in-flight responses, and deleted lesson dirs that
 * wait for their last reader. */
typedef struct str_hold {
    int64_t lesson;
    int refs;
    char *trash; /* renamed dir to remove when refs drops to 0, or NULL */
} str_hold;

/* A trusted proxy's network (str_proxy.c). */
#define STR_PROXIES_MAX 32
typedef struct str_net {
    unsigned char a[16];
    int len;  /* 4 or 16 */
    int bits; /* prefix length */
} str_net;

typedef struct str_server {
    str_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws *listen_wsi; /* our adopted listen socket; NULL once closed */
    int port;               /* actually bound */

    char hls_root[PATH_MAX];          /* realpath of DATA/hls */
    char web_root[PATH_MAX];          /* realpath of the player-web dist dir */
    char live_root[PATH_MAX];         /* realpath of DATA/live */
    int hls_fd, web_fd;               /* O_PATH dir fds; -1 when absent */
    int live_fd;                      /* O_PATH fd of DATA/live; -1 */
    int lock_fd;                      /* DATA/serve.lock, flock'ed; -1 */
    str_net proxies[STR_PROXIES_MAX]; /* cfg.trusted_proxies, parsed */
    int nproxies;
    struct str_fcache *fcache; /* small HLS files in memory */
    bool have_web;

    cat_writer *w; /* the catalog writer thread (any thread submits) */
    cat_db *rd;    /* reader connection of the service thread */
    int64_t tree_checked_us; /* last on-demand site tree reload (stats) */
    bool catalog_ok;         /* false: the API answers 503 */
    struct str_jobs *jobs;
    struct str_qpool *qpool; /* reader thread for slow queries */
    struct str_qpool *vpool; /* ingest thread: parses viewing batches */
    struct str_tokcache *tokcache;
    struct str_signin_limits *limits; /* failed sign-ins (str_session.c) */

    str_metrics m;
    str_http_handlers http;
    int header_space;       /* bytes for one request's head */
    struct str_conn *conns; /* every HTTP connection */
    struct str_conn *rearm; /* want POLLOUT after this service round */
    int nconns;
    int reserve_fd; /* spare descriptor for a 503 at EMFILE */
    int64_t accept_paused_until_us;
    int accepted_round;       /* accept()s in this loop round */
    bool accept_round_paused; /* listener off until the round ends */
    int wsis;     /* lws connections whose descriptor is not closed yet */
    int fd_limit; /* RLIMIT_NOFILE's soft limit at start-up */
    int64_t headroom_short_us; /* accept found no headroom since */
    int headroom_wsis;         /* wsis when it paused for headroom */
    int64_t accept_log_us;
    uint64_t accept_fail_since_log;
    uint64_t next_serial;
    int inflight; /* transactions between HTTP and completion */

    /* Cross-thread queue: any thread posts, the loop drains. */
    pthread_mutex_t ob_lock;
    str_msg *ob_head, *ob_tail;

    /* requests waiting for a deferred result, by serial */
#define STR_WAIT_BUCKETS 1024
    str_req *waiting[STR_WAIT_BUCKETS];

    str_hold *holds;
    int n_holds, cap_holds;

    struct str_wsreg *ws;      /* the websocket channel (str_ws.c) */
    struct str_live *live;     /* running meetings (str_meetings.c) */
    struct str_livews *livews; /* /ws/live viewers (str_livews.c) */
    /* Chunks streaming threads posted that the loop has not run yet, and
     * how often one was not posted for that (str_livews.c). */
    atomic_int livews_inflight;
    atomic_uint livews_gap;
    struct cat_notice_ack *acks; /* receipts for the next writer batch */
    int nacks, cap_acks;

    atomic_bool stop; /* SIGTERM/SIGINT seen (set from the handler) */

    atomic_bool ctx_live; /* ctx may be woken (str_outbox_post) */
    bool draining;        /* listen socket closed, finishing requests */
    int64_t drain_deadline_us;
} str_server;

/* ---- str_server.c ---- */
/* Any thread: queue m for the loop and wake it. Takes ownership of m. */
void str_outbox_post(str_server *srv, str_msg *m);
/* Looks up a request waiting for a deferred result by serial; NULL when
 * the client has gone away. */
str_req *str_waiting_find(str_server *srv, uint64_t serial);
void str_waiting_add(str_server *srv, str_req *r);
void str_waiting_remove(str_server *srv, str_req *r);

/* ---- str_conn.c: the HTTP/1.1 core ---- */
/* The lws callback of accepted sockets (adopted as raw descriptors). */
int str_conn_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                void *in, size_t len);
size_t str_conn_size(void);
/* Cuts connections past their deadline (call about once a second). */
void str_conn_sweep(str_server *srv);
/* Arms POLLOUT for connections that asked from inside WRITEABLE; called
 * after each lws_service() round. */
void str_conn_rearm(str_server *srv);
/* SIGTERM: closes idle connections, the others after their answer. */
void str_conn_drain(str_server *srv);
/* Queues response bytes and sends what the socket takes now. 0 or -1. */
int str_conn_write(str_req *r, const void *buf, size_t len);
/* Sends the queued headers and the first part of r's file body now, the
 * rest from WRITEABLE. Returns 0 or -1. */
int str_conn_send_file(str_req *r);
/* Asks for a WRITEABLE step (a deferred answer is ready). */
void str_conn_wake(str_req *r);
/* The response is complete (maybe not yet sent): the connection moves on
 * to the next request. Returns 0. */
int str_req_complete(str_req *r);
/* Whether this response ends the connection ("connection: close"). */
bool str_req_close_after(str_req *r);
/* The handler reads the body (str_body_begin). */
void str_req_body_taken(str_req *r);
/* Copies request header name (any case; repeats joined with ", ") into
 * buf. Returns its length, -1 when absent, -2 when it does not fit. */
int str_req_hdr(str_req *r, const char *name, char *buf, size_t len);
/* The client's address (the socket's peer) as text into buf; "" when
 * unknown. */
void str_req_peer(str_req *r, char *buf, size_t len);
/* The client's own address: the peer, or behind trusted proxies the
 * address X-Forwarded-For gives (str_proxy_client). */
void str_req_client(str_req *r, char *buf, size_t len);

/* ---- str_proxy.c: trusted proxies (config trusted_proxies) ---- */
/* Parses "127.0.0.1, 10.20.0.0/16, ::1" into out. Returns the count, or
 * YL_EINVAL with err naming the bad entry. */
int str_proxy_parse(const char *list, str_net *out, int max, char *err,
                    size_t errlen);
/* Whether addr (text) is in one of the n networks. */
bool str_proxy_trusted(const str_net *nets, int n, const char *addr);
/* The client's address into out: peer, unless peer is trusted; then the
 * rightmost address of xff (X-Forwarded-For, may be NULL) that is not
 * trusted, or the leftmost if all are, stopping at anything that is not an
 * address. */
void str_proxy_client(const str_net *nets, int n, const char *peer,
                      const char *xff, char *out, size_t len);
/* The server's view of a client (HTTP and the channel alike): peer, or
 * str_proxy_client() with srv's trusted proxies; xff_cut: the header was
 * too long to read, so its last hop is unknown and the address is
 * "unknown" (never the edge's own: one client would count for everyone
 * behind it). */
void str_client_addr(const str_server *srv, const char *peer, const char *xff,
                     bool xff_cut, char *out, size_t len);
/* Copies query argument name, %-decoded ('+' is a space), into buf.
 * Returns its length, -1 when absent, -2 when it does not fit, -3 when
 * it holds %00 (str_query_get() on the request's query). */
int str_req_query(str_req *r, const char *name, char *buf, size_t len);

/* ---- str_session.c: people signed in with a cookie ---- */
enum str_session_state {
    STR_SESSION_NONE,    /* no session cookie */
    STR_SESSION_OK,      /* r->tok is the user's */
    STR_SESSION_EXPIRED, /* past its expiry: sign in again */
    STR_SESSION_UNKNOWN, /* ended, unknown, or its user disabled */
};
#define STR_SESSION_COOKIE "yl_session"
/* Reads the session cookie when no Authorization header came: sets
 * r->via_session, r->tok and r->csrf for a live session. Returns 0, or a
 * negative yl code when the catalog failed. */
int str_session_auth(str_req *r);
/* The session id in a Cookie header's value into sid: 1, or 0 when there
 * is none (the websocket channel's hello, str_ws.c). */
int str_session_cookie(const char *cookie, char sid[CAT_SESSION_LEN + 1]);
/* Whether r, authenticated by its cookie, may change state: GET, HEAD and
 * OPTIONS always; others need X-CSRF-Token equal to the session's. 1 when
 * it answered 403 (*ret holds the callback's return). */
int str_session_csrf(str_req *r, int *ret);
int str_session_get(str_req *r);       /* GET /api/v1/session */
int str_session_post(str_req *r);      /* POST /api/v1/session: head */
int str_session_post_body(str_req *r); /* ... its body is whole */
int str_session_delete(str_req *r);    /* DELETE /api/v1/session */
/* A sign-in's check finished on a pool thread (str_query.c): rc 0 with
 * json the writer's session, or a yl code. Service thread. */
void str_session_signin_done(str_server *srv, uint64_t serial, int rc,
                             json_t *json, const char *err, const char *name,
                             const char *addr);
int str_session_open(str_server *srv);
void str_session_close(str_server *srv);

/* ---- str_reply.c: responses ---- */
/* Starts a header block: status line, Content-Type (may be NULL),
 * Content-Length (when clen >= 0), CORS and nosniff. 0 or -1. */
int str_hdr_begin(str_req *r, int status, const char *ctype, int64_t clen,
                  unsigned char **p, unsigned char *end);
int str_hdr_add(str_req *r, const char *name, const char *value,
                unsigned char **p, unsigned char *end);
/* Ends the header block (the empty line). 0 or -1. */
int str_hdr_end(str_req *r, unsigned char **p, unsigned char *end);
/* Sends a whole formatted response and completes the transaction. */
int str_send_final(str_req *r, const unsigned char *buf, size_t len);
/* Sends a complete response (headers + body) with one lws_write and ends
 * the transaction. extra: more "Name: value\r\n" lines or NULL. Returns
 * what the lws callback must return. */
int str_reply(str_req *r, int status, const char *ctype, const char *body,
              size_t len, const char *extra);
/* JSON helpers: body from a string / an error object
 * {"error":{"code","message"}}. */
int str_reply_json(str_req *r, int status, const char *json, size_t len);
int str_reply_error(str_req *r, int status, const char *code, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
/* The same with more header lines ("Name: value\r\n"...) in extra. */
int str_reply_error_hdrs(str_req *r, int status, const char *code,
                         const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Starts a file response: headers hdr (copied) then the body of r->fd from
 * r->off to r->end, as far as the socket takes them now; the rest from
 * WRITEABLE. Returns what the lws callback returns. */
int str_reply_start_file(str_req *r, const unsigned char *hdr, size_t len);
/* Records the status for /metrics (once per request). */
void str_req_count(str_req *r, int status);
/* Closes the file being sent and drops its lesson hold. */
void str_reply_file_close(str_req *r);

/* ---- str_static.c: files ---- */
int str_static_hls(str_req *r, const char *rel);
int str_static_web(str_req *r, const char *rel);
int str_static_live(str_req *r, const char *rel);
/* Lesson holds (service thread). */
void str_hold_ref(str_server *srv, int64_t lesson);
void str_hold_unref(str_server *srv, int64_t lesson);
/* Moves DATA/hls/<id> aside and removes it once no response reads it.
 * Returns 0, -ENOENT when there is no such dir, or -errno. */
int str_hls_remove(str_server *srv, int64_t lesson);

/* ---- str_metrics.c ---- */
int str_metrics_reply(str_req *r);
/* The gauges of the catalog and the job runner, one text line each
 * through emit (defined in str_api.c, which owns both). */
void str_metrics_extra(str_server *srv, void (*emit)(void *, const char *),
                       void *ud);
int str_status_index(int status);
/* The statuses counted one by one; the rest count as "other". */
extern const int str_status_codes[STR_NSTATUS - 1];

/* ---- str_fs.c (rmtree and mkdir -p: common/yl_fs.h) ---- */
/* snprintf into a path buffer: 0, or -ENAMETOOLONG when it does not fit. */
int str_pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- str_sweep.c: leftovers of killed runs ---- */
/* Main thread, at start, holding DATA/serve.lock (prepare_dirs()): removes
 * upload staging dirs, deferred-delete trash and transcoder temp dirs an
 * earlier run left. Logs what it removed; never fails the start. */
void str_sweep_leftovers(str_server *srv);
/* Main thread, at start, once the catalog is open and before the loop
 * runs: removes DATA/hls/<id> of lessons the catalog says are deleted (a
 * kill -9 between a delete's commit and the removal of its files would
 * otherwise leave them served for ever). Never fails the start. */
void str_sweep_deleted(str_server *srv);
/* Any thread: "DIR/PREFIX-<pid>-<serial>-<random>" into buf, a name no
 * earlier run can have used (callers still create it exclusively: mkdir,
 * or renameat2 RENAME_NOREPLACE, and retry on EEXIST). 0 or
 * -ENAMETOOLONG. */
int str_unique_name(char *buf, size_t len, const char *dir, const char *prefix,
                    uint64_t serial);

#endif
