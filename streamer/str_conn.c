/* str_conn.c - the HTTP/1.1 core: one client connection, its framing,
 * its pipelined requests in order, its output and its deadlines.
 *
 * Why not lws's own HTTP server: lws 4.1.6 cannot frame a pipelined
 * request that has a body. A request followed in the same read by one with
 * a body spins its service thread in lws_service_do_ripe_rxflow() for good;
 * a body that arrives together with the next request is handed over as
 * empty; two Content-Length values split the stream by the first. So each
 * accepted socket is adopted by lws as a plain descriptor (lws stays the
 * event loop, and later carries the websockets) and the bytes are framed
 * here by http-parser (Node's parser before llhttp, from Debian), which
 * refuses duplicate or conflicting framing headers (RFC 9112 §6.3).
 *
 * One request at a time per connection: the parser stops at the end of
 * each message and takes the next one only when the response to this one
 * is complete, so responses leave in request order whatever the read
 * boundaries. Every state has a deadline (headers, body progress, idle
 * keep-alive, a client that does not read), swept once a second.
 *
 * Threads: service thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/yl_log.h"
#include "streamer/str_h1.h"
#include "streamer/str_httputil.h"
#include "streamer/str_internal.h"
#include "streamer/str_livews.h"
#include "streamer/str_ws.h"

#define IN_CAP      (64 * 1024)  /* one recv(); uploads stream through it */
#define OUT_HIGH    (256 * 1024) /* stop taking requests above this */
#define MAX_HDRS    100          /* header lines in one request */
#define DISCARD_MAX (64 * 1024)  /* unread body we read and drop to keep */
                                 /* the connection; more: close instead */
#define BODY_WINDOW 4096         /* bytes that re-arm the body deadline */
#define FILE_CHUNK  (1u << 20)   /* bytes per sendfile() call */

enum conn_state {
    CS_IDLE,   /* between requests: keep-alive deadline */
    CS_HEAD,   /* receiving a request's headers */
    CS_BODY,   /* receiving a body the handler takes */
    CS_WAIT,   /* the handler works (writer, pool thread) */
    CS_WRITE,  /* output waits for the client to read */
    CS_LINGER, /* our side is shut: reading what the client still sends */
};

struct str_conn {
    str_server *srv;
    struct lws *wsi;
    int fd;
    struct str_conn *next, *prev; /* srv->conns */

    str_h1 *h1;

    /* Input not yet parsed: in[in_off .. in_len). */
    char *in;
    size_t in_len, in_off;

    /* The request being read: "url\0name\0value\0...", hoff[] points at
     * each string. */
    char *hb;
    size_t hb_len, hb_cap;
    uint32_t hoff[1 + 2 * MAX_HDRS];
    int nstr;  /* strings started in hb */
    int hpart; /* last piece: 0 url, 1 field, 2 value */
    bool uri_long, hdr_long, hdr_many, hdr_full;

    /* Output not yet sent: out[out_off .. out_len). */
    unsigned char *out;
    size_t out_len, out_off, out_cap;

    str_req req;   /* the current transaction */
    bool busy;     /* req is between headers and its response's end */
    bool req_done; /* the response is complete (maybe not yet sent) */
    bool msg_done; /* the parser has seen the end of req's message */
    bool body_taken;
    uint64_t discarded;
    size_t body_window; /* body bytes since the deadline was re-armed */

    bool peer_eof;     /* the client half-closed: answer, then close */
    bool close_after;  /* close once the output is out */
    bool rx_on;        /* POLLIN wanted */
    bool killed;       /* lws is closing it */
    bool lingering;    /* CS_LINGER */
    bool handed_off;   /* a websocket now (str_ws.c): never shut it */
    bool in_writeable; /* inside our WRITEABLE callback */
    bool rearm;        /* on srv->rearm: wants POLLOUT after it */
    struct str_conn *rearm_next;
    int state;
    int64_t deadline_us;
};

static uint64_t body_left(str_conn *c);
static void rx_want(str_conn *c, bool on);

/* ---- deadlines ---- */

static int64_t timeout_of(str_conn *c)
{
    const str_config *cfg = &c->srv->cfg;

    switch (c->state) {
    case CS_IDLE:
        return cfg->keepalive_s;
    case CS_HEAD:
        return cfg->header_timeout_s;
    case CS_BODY:
        return cfg->body_timeout_s;
    case CS_WAIT:
        return 60;
    case CS_LINGER:
        return 2;
    default:
        return cfg->send_timeout_s;
    }
}

static void set_state(str_conn *c, int st)
{
    c->state = st;
    c->deadline_us = lws_now_usecs() + timeout_of(c) * LWS_US_PER_SEC;
}

static void conn_kill(str_conn *c)
{
    if (c->killed)
        return;
    c->killed = true;
    /* Closed from lws's timer: we may be inside another wsi's callback. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void str_conn_sweep(str_server *srv)
{
    int64_t now = lws_now_usecs();
    str_conn *c;

    for (c = srv->conns; c != NULL; c = c->next) {
        if (c->killed || now < c->deadline_us)
            continue;
        if (c->state != CS_IDLE)
            YL_LOGD("str", "connection timed out in state %d", c->state);
        if (c->state == CS_HEAD || c->state == CS_BODY)
            srv->m.timeouts++;
        conn_kill(c);
    }
}

/* Asks lws for a WRITEABLE callback. lws 4.1.6's raw-file role clears
 * POLLOUT after our WRITEABLE callback returns (roles/raw-file), so a
 * request made inside that callback would be lost: it is queued instead
 * and made by str_conn_rearm() once lws_service() has returned. */
static void want_write(str_conn *c)
{
    if (!c->in_writeable) {
        lws_callback_on_writable(c->wsi);
        return;
    }
    if (c->rearm)
        return;
    c->rearm = true;
    c->rearm_next = c->srv->rearm;
    c->srv->rearm = c;
}

void str_conn_rearm(str_server *srv)
{
    str_conn *c = srv->rearm, *next;

    srv->rearm = NULL;
    for (; c != NULL; c = next) {
        next = c->rearm_next;
        c->rearm_next = NULL;
        c->rearm = false;
        lws_callback_on_writable(c->wsi);
    }
}

/* ---- output ---- */

static int out_append(str_conn *c, const void *buf, size_t len)
{
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        unsigned char *n;

        if (c->out_off > 0) { /* reuse the sent front first */
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        while (cap < c->out_len + len)
            cap *= 2;
        if (cap != c->out_cap) {
            n = realloc(c->out, cap);
            if (n == NULL)
                return -1;
            c->out = n;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
    return 0;
}

/* Sends buffered output without blocking: 1 all out, 0 the socket is
 * full, -1 the connection is gone. more: a file body follows. */
static int out_flush(str_conn *c, bool more)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0)
            return -1;
        c->out_off += (size_t)n;
        if (c->state == CS_WRITE)
            set_state(c, CS_WRITE); /* progress re-arms the deadline */
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > 64 * 1024) { /* a large answer is gone: shrink */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return 1;
}

/* File body of the current response: 1 done, 0 more to come, -1 error. */
static int file_flush(str_conn *c)
{
    str_req *r = &c->req;
    size_t want = (size_t)(r->end - r->off);
    ssize_t n;

    if (want > FILE_CHUNK)
        want = FILE_CHUNK;
    n = sendfile(c->fd, r->fd, &r->off, want);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        YL_LOGD("str", "sendfile %s: %s", r->path, strerror(errno));
        return -1;
    }
    if (n == 0) { /* file shrank under us: cannot keep the length */
        YL_LOGW("str", "%s: file ended early", r->path);
        return -1;
    }
    c->srv->m.bytes_file += (uint64_t)n;
    set_state(c, CS_WRITE);
    return r->off < r->end ? 0 : 1;
}

int str_conn_write(str_req *r, const void *buf, size_t len)
{
    str_conn *c = r->conn;

    if (out_append(c, buf, len) < 0)
        return -1;
    /* Try at once: most answers leave in this call, no trip via poll(). */
    if (!r->has_fd && out_flush(c, false) < 0)
        return -1;
    if (c->out_len > c->out_off)
        want_write(c);
    return 0;
}

int str_conn_send_file(str_req *r)
{
    str_conn *c = r->conn;
    int f = out_flush(c, true);

    if (f > 0) {
        f = file_flush(c);
        if (f > 0) {
            str_reply_file_close(r);
            str_req_complete(r);
            return 0;
        }
    }
    if (f < 0) {
        str_reply_file_close(r);
        c->close_after = true;
        c->req_done = true;
    }
    want_write(c);
    return f < 0 ? -1 : 0;
}

void str_conn_wake(str_req *r)
{
    want_write(r->conn);
}

/* ---- the transaction ---- */

bool str_req_close_after(str_req *r)
{
    str_conn *c = r->conn;

    /* A body we will not read: dropping it costs more than a new
     * connection. */
    if (c->peer_eof || c->srv->draining || !str_h1_keep_alive(c->h1) ||
        (!c->msg_done && !c->body_taken && body_left(c) > DISCARD_MAX))
        c->close_after = true; /* what the header says, the server does */
    return c->close_after;
}

int str_req_complete(str_req *r)
{
    str_conn *c = r->conn;

    if (r->counted) {
        r->counted = false;
        r->srv->inflight--;
    }
    c->req_done = true;
    if (!c->msg_done && !c->body_taken && body_left(c) > DISCARD_MAX)
        c->close_after = true;
    /* The next step (flush, next pipelined request) runs from WRITEABLE,
     * never from inside the handler that answered. */
    want_write(c);
    return 0;
}

static void req_end(str_conn *c)
{
    str_req *r = &c->req;

    if (r->srv != NULL && c->srv->http.cleanup != NULL)
        c->srv->http.cleanup(r);
    if (r->counted)
        c->srv->inflight--;
    memset(r, 0, sizeof(*r));
    c->busy = c->req_done = c->msg_done = c->body_taken = false;
    c->discarded = 0;
    free(c->hb);
    c->hb = NULL;
    c->hb_len = c->hb_cap = 0;
}

/* ---- headers and query of the request ---- */

static const char *hstr(str_conn *c, int i)
{
    return c->hb + c->hoff[i];
}

void str_req_peer(str_req *r, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = lws_get_socket_fd(r->conn->wsi);

    if (len == 0)
        return;
    buf[0] = '\0';
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf,
                  (socklen_t)len);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf,
                  (socklen_t)len);
}

void str_req_client(str_req *r, char *buf, size_t len)
{
    char peer[INET6_ADDRSTRLEN], xff[512];
    int n = -1;

    str_req_peer(r, peer, sizeof(peer));
    if (r->srv->nproxies > 0)
        n = str_req_hdr(r, "x-forwarded-for", xff, sizeof(xff));
    str_client_addr(r->srv, peer, n > 0 ? xff : NULL, n == -2, buf, len);
}

int str_req_hdr(str_req *r, const char *name, char *buf, size_t len)
{
    str_conn *c = r->conn;
    size_t o = 0;
    int i, found = 0;

    if (len == 0)
        return -1;
    buf[0] = '\0';
    for (i = 1; i + 1 < c->nstr; i += 2) {
        const char *v;
        size_t vl;

        if (strcasecmp(hstr(c, i), name) != 0)
            continue;
        v = hstr(c, i + 1);
        vl = strlen(v);
        /* Repeated headers join with ", " (RFC 9110 §5.3). */
        if (o + vl + (found ? 2 : 0) + 1 > len)
            return -2;
        if (found) {
            memcpy(buf + o, ", ", 2);
            o += 2;
        }
        memcpy(buf + o, v, vl);
        o += vl;
        buf[o] = '\0';
        found = 1;
    }
    return found ? (int)o : -1;
}

int str_req_query(str_req *r, const char *name, char *buf, size_t len)
{
    return r->query == NULL ? -1 : str_query_get(r->query, name, buf, len);
}

/* ---- parser callbacks ---- */

static int hb_put(str_conn *c, const char *at, size_t len, bool start)
{
    size_t need = len + 1;

    /* Once over a limit, nothing more is stored (the answer is 431). */
    if (c->hdr_many || c->hdr_full)
        return 0;
    if (start) {
        if (c->nstr >= (int)(sizeof(c->hoff) / sizeof(c->hoff[0]))) {
            c->hdr_many = true;
            return 0;
        }
        if (c->hb_len + 2 > c->hb_cap && c->nstr > 0) {
            c->hdr_full = true; /* no room even for the separator */
            return 0;
        }
        if (c->nstr > 0)
            c->hb[c->hb_len++] = '\0'; /* ends the previous string */
        c->hoff[c->nstr++] = (uint32_t)c->hb_len;
    }
    if (c->hb_len + need + 1 > c->hb_cap) {
        size_t lim = (size_t)c->srv->header_space, cap;
        char *n;

        if (c->hb_len + need + 1 > lim) {
            c->hdr_full = true;
            return 0;
        }
        cap = c->hb_cap ? c->hb_cap * 2 : 1024;
        while (cap < c->hb_len + need + 1)
            cap *= 2;
        if (cap > lim)
            cap = lim;
        n = realloc(c->hb, cap);
        if (n == NULL)
            return -1;
        c->hb = n;
        c->hb_cap = cap;
    }
    memcpy(c->hb + c->hb_len, at, len);
    c->hb_len += len;
    c->hb[c->hb_len] = '\0';
    return 0;
}

/* Length of the string being built (the last one). */
static size_t hb_cur_len(str_conn *c)
{
    return c->nstr > 0 ? c->hb_len - c->hoff[c->nstr - 1] : 0;
}

static int on_message_begin(void *ud)
{
    str_conn *c = ud;

    c->nstr = 0;
    c->hpart = -1;
    c->hb_len = 0;
    c->uri_long = c->hdr_long = c->hdr_many = c->hdr_full = false;
    c->busy = true;
    c->req_done = c->msg_done = c->body_taken = false;
    c->discarded = 0;
    c->body_window = 0;
    set_state(c, CS_HEAD);
    return 0;
}

static int on_url(void *ud, const char *at, size_t len)
{
    str_conn *c = ud;
    int start = c->hpart != 0;

    c->hpart = 0;
    if (c->uri_long)
        return 0;
    if (hb_cur_len(c) * !start + len >= (size_t)c->srv->cfg.max_header) {
        c->uri_long = true;
        return 0;
    }
    return hb_put(c, at, len, start);
}

static int on_header_field(void *ud, const char *at, size_t len)
{
    str_conn *c = ud;
    int start = c->hpart != 1;

    c->hpart = 1;
    return hb_put(c, at, len, start);
}

static int on_header_value(void *ud, const char *at, size_t len)
{
    str_conn *c = ud;
    int start = c->hpart != 2;

    c->hpart = 2;
    if (!start && hb_cur_len(c) + len >= (size_t)c->srv->cfg.max_header)
        c->hdr_long = true;
    if (start && len >= (size_t)c->srv->cfg.max_header)
        c->hdr_long = true;
    return hb_put(c, at, len, start);
}

static int method_of(int m)
{
    switch (m) {
    case STR_H1_GET:
        return STR_M_GET;
    case STR_H1_HEAD:
        return STR_M_HEAD;
    case STR_H1_POST:
        return STR_M_POST;
    case STR_H1_DELETE:
        return STR_M_DELETE;
    case STR_H1_OPTIONS:
        return STR_M_OPTIONS;
    default:
        return STR_M_OTHER;
    }
}

/* Body bytes of the current message not yet read (UINT64_MAX: unknown,
 * chunked). */
static uint64_t body_left(str_conn *c)
{
    uint64_t n;

    if (str_h1_chunked(c->h1))
        return UINT64_MAX;
    n = str_h1_remaining(c->h1);
    return n == UINT64_MAX ? 0 : n;
}

/* Fills the request from the parsed head. 0, or an HTTP status to refuse
 * it with (the reason in *why). */
static int req_prepare(str_conn *c, const char **why)
{
    str_req *r = &c->req;
    const char *url, *q;
    size_t plen;
    int n;

    memset(r, 0, sizeof(*r));
    r->srv = c->srv;
    r->conn = c;
    r->started = true;
    r->serial = ++c->srv->next_serial;
    r->counted = true;
    c->srv->inflight++;
    r->method = method_of(str_h1_method(c->h1));
    r->head_only = r->method == STR_M_HEAD;
    r->has_body = body_left(c) > 0;
    snprintf(r->path, sizeof(r->path), "/");
    /* Every string in hb is NUL-terminated as it is stored (hb_put). */
    if (c->uri_long) {
        *why = "uri";
        return 414;
    }
    if (c->hdr_long || c->hdr_full || c->hdr_many) {
        *why = "header";
        return 431;
    }
    if (c->nstr < 1 || c->nstr % 2 == 0) {
        *why = "malformed request head";
        return 400;
    }
    url = hstr(c, 0);
    /* Absolute form (RFC 9112 §3.2.2): only the path and query count. */
    if (strncasecmp(url, "http://", 7) == 0) {
        url = strchr(url + 7, '/');
        if (url == NULL)
            url = "/";
    }
    if (url[0] != '/') {
        *why = "request target must be a path";
        return 400;
    }
    q = strchr(url, '?');
    plen = q ? (size_t)(q - url) : strlen(url);
    r->query = q ? q + 1 : NULL;
    n = str_url_decode(url, plen, r->path, sizeof(r->path), false);
    if (n == -ENAMETOOLONG) {
        *why = "uri";
        return 414;
    }
    if (n < 0) {
        *why = "NUL byte in the path";
        return 400;
    }
    return 0;
}

/* Appends "name: value\r\n" for request header name, if present. */
static int head_put(str_req *r, char *head, size_t cap, size_t *len,
                    const char *name)
{
    char v[1024];
    int n = str_req_hdr(r, name, v, sizeof(v));

    if (n == -1)
        return 0;
    if (n < 0)
        return -1;
    n = snprintf(head + *len, cap - *len, "%s: %s\r\n", name, v);
    if (n < 0 || (size_t)n >= cap - *len)
        return -1;
    *len += (size_t)n;
    return 0;
}

/* A websocket upgrade. /ws goes to lws with a request head rebuilt from
 * the headers the handshake and the channel use (lws takes at most 2 KB
 * first); anything else is a 404, and the connection goes, since the
 * client may already speak frames. */
static int upgrade(str_conn *c)
{
    static const char *const keep[] = {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "origin",
        "authorization",
        "cookie", /* a person's session (the admin console) */
        "x-forwarded-for",
    };
    str_req *r = &c->req;
    const char *why = "";
    char head[2048], path[96] = "/ws";
    size_t len = 0;
    int st, n;

    r->route = STR_R_WS;
    c->close_after = true;
    if (strncmp(r->path, "/ws/live/", 9) == 0) {
        /* A meeting's picture: no subprotocol, lws picks yl-live. */
        r->route = STR_R_LIVE_WS;
        if (r->method != STR_M_GET)
            return str_reply_error(r, 400, "bad_request",
                                   "a websocket upgrade is a GET");
        n = str_livews_upgrade(r, path, sizeof(path));
        if (n != 0 || r->responded)
            return n;
    } else if (strcmp(r->path, "/ws") != 0) {
        return str_reply_error(r, 404, "not_found",
                               "no websocket endpoint at %s", r->path);
    } else {
        st = str_ws_upgrade_check(r, &why);
        if (st != 0)
            return str_reply_error(
                r, st, st == 503 ? "unavailable" : "bad_request", "%s", why);
    }
    /* The subprotocol is named here, not copied: lws binds the first
     * name in the client's list that the vhost knows, and a list led by
     * an internal protocol's name (yl-http, yl-upgrade) would have bound
     * the websocket to a callback that neither times it out nor counts
     * it. /ws: yunling.v1, checked above; /ws/live: none (the vhost's
     * default, yl-live; mpegts.js asks for none). */
    n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\n%s", path,
                 r->route == STR_R_WS
                     ? "sec-websocket-protocol: " STR_WS_PROTOCOL "\r\n"
                     : "");
    len = (size_t)n;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (head_put(r, head, sizeof(head) - 2, &len, keep[i]) < 0)
            return str_reply_error(r, 431, "header_too_long",
                                   "websocket upgrade headers over 2 KB");
    memcpy(head + len, "\r\n", 2);
    len += 2;
    /* From here the socket is lws's: nothing more is read or written on
     * this connection, and it closes without a shutdown (linger()). */
    rx_want(c, false);
    n = str_ws_handoff(c->srv, c->fd, head, len);
    if (n == -EMFILE || n == -ENFILE) {
        /* At the descriptor limit (accept() took the last one): the
         * client is told to come back, as at accept (accept_exhausted). */
        c->srv->m.accept_errors++;
        return str_reply_error_hdrs(r, 503, "unavailable", "retry-after: 5\r\n",
                                    "server at its connection limit");
    }
    c->handed_off = true;
    if (n < 0) {
        YL_LOGW("str", "websocket handoff refused by lws");
        return -1;
    }
    str_req_count(r, 101);
    r->responded = true;
    return str_req_complete(r);
}

static int on_headers_complete(void *ud)
{
    str_conn *c = ud;
    str_req *r = &c->req;
    const char *why = "";
    char up[64];
    int st, ret;

    st = req_prepare(c, &why);
    set_state(c, CS_WAIT);
    if (str_h1_method(c->h1) == STR_H1_CONNECT) {
        c->close_after = true;
        ret = str_reply_error(r, 405, "method_not_allowed",
                              "CONNECT is not supported: this is not a proxy");
    } else if (st == 0 && str_h1_upgrade(c->h1) &&
               str_req_hdr(r, "upgrade", up, sizeof(up)) > 0 &&
               strncasecmp(up, "websocket", 9) == 0) {
        ret = upgrade(c);
    } else if (st == 414) {
        c->close_after = true;
        ret = str_reply_error(r, 414, "uri_too_long",
                              "request target longer than %d bytes",
                              c->srv->cfg.max_header - 1);
    } else if (st == 431) {
        c->close_after = true;
        ret = str_reply_error(r, 431, "header_too_long",
                              "request headers over the limit (one header "
                              "under %d bytes, %d bytes and %d lines in all)",
                              c->srv->cfg.max_header, c->srv->header_space,
                              MAX_HDRS);
    } else if (st != 0) {
        c->close_after = true;
        ret = str_reply_error(r, st, "bad_request", "%s", why);
    } else {
        /* Any other Upgrade (h2c from curl --http2) is ignored: the
         * request is answered in HTTP/1.1 (RFC 9110 §7.8). */
        ret = c->srv->http.request(r);
    }
    if (ret < 0)
        c->close_after = true;
    if (c->close_after)
        /* Refused, or closing: nothing more is read from this connection,
         * so the rest of the message cannot be mistaken for the next
         * request. */
        str_h1_pause(c->h1, 1);
    return 0;
}

static int on_body(void *ud, const char *at, size_t len)
{
    str_conn *c = ud;
    str_req *r = &c->req;

    if (c->body_taken && !r->responded) {
        c->body_window += len;
        if (c->body_window >= BODY_WINDOW) {
            c->body_window = 0;
            set_state(c, CS_BODY);
        }
        if (c->srv->http.body(r, at, len) < 0) {
            c->close_after = true;
            return -1;
        }
        return 0;
    }
    c->discarded += len;
    if (c->discarded > DISCARD_MAX) {
        c->close_after = true;
        return -1;
    }
    return 0;
}

static int on_message_complete(void *ud)
{
    str_conn *c = ud;
    str_req *r = &c->req;

    c->msg_done = true;
    if (c->body_taken && !r->responded) {
        set_state(c, CS_WAIT);
        if (c->srv->http.body_done(r) < 0)
            c->close_after = true;
    }
    /* Stop here: the next request waits for this one's response. */
    str_h1_pause(c->h1, 1);
    return 0;
}

static const str_h1_cb h1_cb = {
    .begin = on_message_begin,
    .url = on_url,
    .field = on_header_field,
    .value = on_header_value,
    .headers = on_headers_complete,
    .body = on_body,
    .done = on_message_complete,
};

void str_req_body_taken(str_req *r)
{
    r->conn->body_taken = true;
    set_state(r->conn, CS_BODY);
}

/* Answers a framing error the parser found, then closes. */
static void parse_error(str_conn *c, int e)
{
    str_req *r = &c->req;

    c->close_after = true;
    c->srv->m.bad_requests++;
    if (e == STR_H1_ECB)
        return; /* we stopped it ourselves; the answer is out */
    if (c->busy && r->responded)
        return;
    if (!c->busy || !r->started) {
        memset(r, 0, sizeof(*r));
        r->srv = c->srv;
        r->conn = c;
        r->started = true;
        r->serial = ++c->srv->next_serial;
        snprintf(r->path, sizeof(r->path), "-");
        c->busy = true;
    }
    if (e == STR_H1_EOVERFLOW)
        str_reply_error(r, 431, "header_too_long",
                        "request headers over the limit");
    else if (e == STR_H1_EFRAMING)
        str_reply_error(r, 400, "bad_framing",
                        "two Content-Length values, or Content-Length with "
                        "Transfer-Encoding (RFC 9112 §6.3)");
    else
        str_reply_error(r, 400, "bad_request", "malformed HTTP: %s",
                        str_h1_errtext(c->h1));
}

/* Parses buffered input while requests can be taken. */
static void conn_parse(str_conn *c)
{
    while (c->in_off < c->in_len && !c->close_after) {
        size_t n;
        int e;

        /* A request whose message is whole waits for its response. */
        if (c->busy && c->msg_done)
            break;
        if (!c->busy && c->out_len - c->out_off > OUT_HIGH)
            break; /* the client is not reading its answers */
        n = str_h1_execute(c->h1, c->in + c->in_off, c->in_len - c->in_off, &e);
        c->in_off += n;
        if (e == STR_H1_PAUSED) {
            str_h1_pause(c->h1, 0);
            continue;
        }
        if (e != STR_H1_OK) {
            parse_error(c, e);
            break;
        }
        if (str_h1_upgrade(c->h1)) {
            /* Upgrade that we ignored (h2c) or CONNECT: what follows is
             * parsed as HTTP again, unless the connection is closing. */
            str_h1_clear_upgrade(c->h1);
            continue;
        }
        if (n == 0)
            break;
    }
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
        if (!c->busy) {
            free(c->in);
            c->in = NULL;
        }
    } else if (c->in_off > 0 && c->in_off > IN_CAP / 2) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
}

/* ---- the connection's steps ---- */

static void rx_want(str_conn *c, bool on)
{
    if (c->rx_on == on)
        return;
    c->rx_on = on;
    lws_rx_flow_control(c->wsi, on);
}

/* The answer is out and the connection ends. Closing a socket with unread
 * input makes the kernel send RST, which can destroy the answer before
 * the client reads it; so our side is shut first and what the client
 * still sends is read and dropped for a moment (nginx's lingering close).
 * 0, or -1 to close now. */
static int linger(str_conn *c)
{
    if (c->lingering)
        return 0;
    if (c->peer_eof || c->handed_off)
        return -1; /* handed off: the socket lives on in lws */
    c->lingering = true;
    shutdown(c->fd, SHUT_WR);
    set_state(c, CS_LINGER);
    rx_want(c, true);
    return 0;
}

/* Moves the connection on as far as it can now: output, the end of the
 * current transaction, the next pipelined request. -1: close it. */
static int conn_step(str_conn *c)
{
    str_req *r = &c->req;
    int f;

    for (;;) {
        /* A deferred answer that became ready. */
        if (c->busy && !c->req_done && r->started && !r->has_fd &&
            c->srv->http.writeable(r) < 0)
            c->close_after = true;
        f = out_flush(c, r->has_fd);
        if (f < 0)
            return -1;
        if (f == 0) {
            set_state(c, CS_WRITE);
            want_write(c);
            break;
        }
        if (c->busy && r->has_fd && !c->req_done) {
            f = file_flush(c);
            if (f < 0)
                return -1;
            if (f == 0) {
                want_write(c);
                break;
            }
            str_reply_file_close(r);
            str_req_complete(r);
        }
        if (c->busy && c->req_done && (c->msg_done || c->close_after)) {
            req_end(c);
            if (c->close_after || c->srv->draining)
                return linger(c);
            set_state(c, CS_IDLE);
        }
        if (c->close_after && !c->busy)
            return linger(c);
        if (c->busy && c->req_done && !c->msg_done && c->in_off == c->in_len)
            break; /* dropping the rest of a small body: read on */
        if (c->in_off < c->in_len && (!c->busy || !c->msg_done)) {
            size_t before = c->in_off;
            bool was_busy = c->busy;

            conn_parse(c);
            if (c->in_off != before || c->busy != was_busy || c->req_done)
                continue; /* something happened: take the next step */
        }
        break;
    }
    if (c->close_after && !c->busy && c->out_off == c->out_len)
        return linger(c);
    if (c->peer_eof && !c->busy && c->in_off == c->in_len)
        return -1; /* half-closed and everything answered */
    if (c->peer_eof && c->busy && !c->msg_done && c->in_off == c->in_len)
        return -1; /* the request can never be whole */
    /* Read more only when the buffer has room and there is a use for it. */
    rx_want(c, !c->peer_eof && !c->close_after && c->in_len < IN_CAP &&
                   !(c->busy && c->msg_done && c->in_len > 0) &&
                   c->out_len - c->out_off <= OUT_HIGH);
    return 0;
}

static int conn_read(str_conn *c)
{
    ssize_t n;

    if (c->lingering) {
        char sink[4096];

        n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return n > 0 ? 0 : -1; /* EOF or error: done */
    }
    if (c->in == NULL) {
        c->in = malloc(IN_CAP);
        if (c->in == NULL)
            return -1;
        c->in_len = c->in_off = 0;
    }
    if (c->in_len >= IN_CAP) {
        rx_want(c, false);
        return 0;
    }
    n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        return -1;
    }
    if (n == 0) {
        c->peer_eof = true;
        rx_want(c, false);
        /* Tell the parser the stream ended (a body without a length). */
        if (!c->busy) {
            int e;

            str_h1_execute(c->h1, NULL, 0, &e);
        }
        return 0;
    }
    if (c->state == CS_IDLE)
        set_state(c, CS_HEAD);
    c->in_len += (size_t)n;
    return 0;
}

static void conn_free(str_conn *c)
{
    str_server *srv = c->srv;

    if (c->busy || c->req.started)
        req_end(c);
    if (c->prev)
        c->prev->next = c->next;
    else if (srv->conns == c)
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    srv->nconns--;
    if (c->rearm) { /* unlink from the rearm list */
        str_conn **pp = &srv->rearm;

        while (*pp != NULL && *pp != c)
            pp = &(*pp)->rearm_next;
        if (*pp == c)
            *pp = c->rearm_next;
        c->rearm = false;
    }
    free(c->in);
    free(c->out);
    free(c->hb);
    str_h1_free(c->h1);
    c->h1 = NULL;
    c->in = c->hb = NULL;
    c->out = NULL;
}

int str_conn_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                void *in, size_t len)
{
    str_server *srv = lws_context_user(lws_get_context(wsi));
    str_conn *c = user;

    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT_FILE:
        memset(c, 0, sizeof(*c));
        c->srv = srv;
        c->wsi = wsi;
        c->fd = lws_get_socket_fd(wsi);
        c->h1 = str_h1_new(&h1_cb, c);
        if (c->h1 == NULL) {
            c->srv = NULL;
            return -1;
        }
        c->rx_on = true;
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        srv->nconns++;
        set_state(c, CS_IDLE);
        /* The first request's headers have the header deadline. */
        c->deadline_us = lws_now_usecs() +
                         (int64_t)srv->cfg.header_timeout_s * LWS_US_PER_SEC;
        return 0;
    case LWS_CALLBACK_RAW_RX_FILE:
        if (c->srv == NULL)
            return -1;
        if (conn_read(c) < 0)
            return -1;
        if (c->lingering)
            return 0;
        return conn_step(c);
    case LWS_CALLBACK_RAW_WRITEABLE_FILE: {
        int ret;

        if (c->srv == NULL)
            return -1;
        if (c->lingering)
            return 0;
        c->in_writeable = true;
        ret = conn_step(c);
        c->in_writeable = false;
        return ret;
    }
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (c->srv != NULL)
            conn_free(c);
        c->srv = NULL;
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return -1; /* a websocket is never ours (see upgrade()) */
    default:
        return 0;
    }
}

void str_conn_drain(str_server *srv)
{
    str_conn *c;

    /* Idle keep-alive connections go now; busy ones after their answer
     * (each answer says "connection: close"). A request whose body is
     * still arriving (an upload streaming in) is in flight too: marking
     * it close_after now would stop reading its body, so it could never
     * finish and would hang until shutdown_grace; it closes after its
     * answer instead (conn_step). */
    for (c = srv->conns; c != NULL; c = c->next) {
        if (c->busy && !c->msg_done)
            continue;
        c->close_after = true;
        if (!c->busy && c->out_off == c->out_len)
            conn_kill(c);
    }
}

size_t str_conn_size(void)
{
    return sizeof(str_conn);
}
