/* str_server.h - the yunling server: one lws context, one vhost, one
 * service thread (the caller's) carrying HTTP now and websockets later.
 * Threads: str_server_run() turns the calling thread into the lws service
 * thread and returns when the server has stopped. */
#ifndef YL_STR_SERVER_H
#define YL_STR_SERVER_H

#include "catalog/cat_config.h"

typedef struct str_config {
    cat_config cat;       /* shared with the catalog: data, db, web, limits */
    char listen_addr[64]; /* from cat.listen; an IPv4 or IPv6 literal */
    int port;             /* from cat.listen; 0 = any free port */
    int max_header;       /* one request header / the URI, bytes */
    int keepalive_s;      /* idle keep-alive connections */
    int header_timeout_s; /* a request's headers, from their first byte */
    int body_timeout_s;   /* a body: at least 4 KB (or its end) per period */
    int send_timeout_s;   /* a client that takes none of its answer */
    int shutdown_grace_s; /* SIGTERM: how long in-flight requests get */
    int job_timeout_s;    /* one transcode attempt; 0 = no limit */
    /* The websocket channel (/ws). */
    int ws_hello_s;     /* a connection must say hello within this */
    int ws_ping_s;      /* idle this long: ping; 2x + 5 s silent: gone */
    int ws_reauth_s;    /* an open channel's token or session checked
                         * again this often: revoked, expired or ended,
                         * it is closed 4401 */
    int ws_max_message; /* bytes of one incoming message */
    int ws_rate;        /* incoming messages per second, sustained */
    int ws_queue;       /* frames queued for one slow client */
    int ws_push_ms;     /* subscriptions: at most one delta per topic */
    int ws_pace;        /* connections asked to write per round; 0 all;
                         * -1: 1024 on libuv, 0 on poll */
    /* The event loop under lws: "poll" (lws's own: poll() over every
     * descriptor each round; the default) or "libuv" (epoll; not the
     * default until it wins bench/ws on an idle machine). */
    char event_loop[8];
    /* Edges whose X-Forwarded-For is believed ("127.0.0.1, 10.0.0.0/8");
     * empty: nobody's (the socket's peer is the client). */
    char trusted_proxies[512];
    /* The picture a meeting shows while its network source is away; ""
     * the source tree's live/slate.png (set it where the tree is not). */
    char live_slate[4096];
    /* "on" (the default): a meeting is recorded while live and becomes a
     * lesson when it stops (str_meetings.c); "off": not recorded. */
    char live_record[4];
    /* People signing in to the admin console (str_session.c). */
    int session_ttl_s;     /* a session cookie's life */
    int signin_fails;      /* failed sign-ins of one user per window */
    int signin_fails_addr; /* ... from one address per window */
    int signin_window_s;   /* the rate limit's window */
    /* Test-only (tests shorten it to see a revocation at once instead of
     * sleeping): ms a verified token is trusted without a lookup; the
     * default, 5000, is the one to run with. */
    int token_cache_ms;
    /* Optional, owned by the caller: a server that stops because of a
     * fault (the database file removed or replaced) stores the negative
     * yl code there before str_server_run() returns 0. Service thread. */
    int *fault;
} str_config;

/* Fills cfg with the defaults (cat_config_init() plus ours below). */
void str_config_defaults(str_config *cfg);

/* Takes the server-only INI keys of section [server] (max_header,
 * keepalive, header_timeout, body_timeout, send_timeout, shutdown_grace,
 * job_timeout, ws_hello, ws_ping, ws_max_message, ws_rate, ws_queue,
 * ws_push_ms, ws_pace, event_loop, session_ttl, signin_fails,
 * signin_fails_addr, signin_window, test_token_cache_ms; a key table in
 * str_config.c). A cat_config_extra_fn whose ud is the str_config, or NULL to
 * check a value without keeping it (the catalog commands reading the server's
 * file). */
int str_config_extra(void *ud, const char *section, const char *key,
                     const char *value);

/* Splits cfg->cat.listen ("ADDR:PORT", "[v6]:PORT") into listen_addr and
 * port. 0 or YL_EINVAL with a message in err. */
int str_config_listen(str_config *cfg, char *err, size_t errlen);

/* Runs the server until SIGTERM/SIGINT (or a fault, see cfg->fault), then
 * stops accepting, finishes in-flight requests, flushes the catalog
 * writer and returns 0. Returns a
 * negative yl error when it cannot start. */
int str_server_run(const str_config *cfg);

#endif
