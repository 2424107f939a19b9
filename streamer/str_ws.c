/* str_ws.c - the websocket channel at /ws, subprotocol yunling.v1: hello
 * and welcome, presence (a site counts once however many of its devices
 * are connected), notices pushed and replayed, receipts, viewing events,
 * and subscriptions (presence, stats, notices, jobs) with a snapshot and
 * then deltas at most once per ws_push_ms.
 *
 * Framing, the handshake, ping/pong and the close handshake are lws's;
 * this file sees whole JSON messages. Every frame to a client is a
 * str_fbuf: a broadcast (a notice to 16,000 villages) is encoded once and
 * shared by reference; each connection has a bounded queue
 * (str_fanq) and writes only from LWS_CALLBACK_SERVER_WRITEABLE, one
 * lws_write() per call. A client whose queue overflows is closed (4429):
 * it reconnects and replays what it missed from "since".
 *
 * Threads: service thread only. Database reads here are indexed point or
 * range reads on the service thread's reader (the token check at hello,
 * a site's pending notices); receipts and views go to the writer and the
 * ingest thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/cat_attend.h"
#include "catalog/cat_jobs.h"
#include "catalog/cat_notices.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_stats.h"
#include "catalog/cat_tokens.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_utf8.h"
#include "streamer/str_api.h"
#include "streamer/str_ws.h"

#define SITE_BUCKETS      16384
#define REG_BUCKETS       4096
#define PEND_BUCKETS      1024
#define NC_MAX            1024 /* notice frames kept in memory */
#define REPLAY_CHUNK      16   /* pending notices read per step */
#define WS_VIEWS_INFLIGHT 8    /* a client's views batches being stored */
#define WS_Q_BYTES        (4u << 20)

enum ws_state { WS_HELLO, WS_READY };

enum ws_topic {
    T_PRESENCE = 1u << 0,
    T_STATS = 1u << 1,
    T_NOTICES = 1u << 2,
    T_JOBS = 1u << 3,
};

/* A connected site: how many of its devices are here. */
typedef struct site_ent {
    struct site_ent *next;
    uint64_t key;
    int devices;
    char code[CAT_CODE_MAX];
} site_ent;

/* A region (or site) with at least one connected site in it. */
typedef struct reg_ent {
    struct reg_ent *next, *dnext;
    uint64_t key;
    char code[CAT_CODE_MAX];
    char parent[CAT_CODE_MAX]; /* "" for a province */
    int online;                /* distinct sites connected within */
    bool dirty;                /* changed since the last push */
} reg_ent;

typedef struct str_ws str_ws;

/* lws's own opcode for a close frame (lib/roles/ws/private-lib-roles-ws.h
 * in 4.1: LWS_WRITE_CLOSE 4); the public header leaves it out. */
#define YL_LWS_WRITE_CLOSE 4

/* A viewing batch waiting for its answer. */
typedef struct ws_pend {
    struct ws_pend *next, *wnext;
    uint64_t serial;
    str_ws *ws;
} ws_pend;

/* A notice's frame, kept for replays. */
typedef struct nc_ent {
    struct nc_ent *next;
    int64_t id;
    str_fbuf *frame;
} nc_ent;

/* A notice a "notices" subscriber follows: its counts in the region. */
typedef struct ws_nfollow {
    int64_t id;
    int64_t targeted, delivered, read;
    bool dirty;
} ws_nfollow;

#define NFOLLOW 10

struct str_ws {
    str_server *srv;
    struct lws *wsi;
    str_ws *next, *prev;
    int state;
    int64_t hello_deadline_us;
    cat_token_info tok;
    char hdr_token[CAT_TOKEN_LEN + 1];  /* Authorization: Bearer, if any */
    char auth_token[CAT_TOKEN_LEN + 1]; /* the one welcomed ("": a session) */
    int64_t auth_us;                    /* when it was last verified */
    char hdr_session[CAT_SESSION_LEN + 1]; /* a same-origin session cookie */
    char client[8];
    char addr[48];  /* the client's own (X-Forwarded-For from an edge) */
    site_ent *site; /* role site: its presence entry */

    str_fanq q;
    bool q_ready;

    char *rx; /* a message arriving in fragments */
    size_t rx_len;
    bool rx_skip; /* the rest of an oversized message */

    double bucket; /* rate limit: messages allowed now */
    int64_t bucket_us;
    int strikes;

    int64_t replay_after; /* next pending notice above this id */
    bool replaying;
    int64_t sent[8]; /* notices pushed lately: their acks need no lookup */
    unsigned nsent;

    unsigned topics;
    int depth; /* 2: presence and stats of the children's children too */
    char region[CAT_CODE_MAX];
    json_t *last_stats;
    json_t *last_jobs; /* {"<id>": job} */
    ws_nfollow nf[NFOLLOW];
    int nnf;
    bool notices_dirty;
    bool stale; /* a subscription's frame was dropped for room */

    int close_code;
    char close_why[96];
    ws_pend *pend;
    int npend;    /* viewing batches waiting for their answers */
    bool rx_held; /* not read until some of them are answered */

    /* Keepalive (ours, not lws's validity timer: that one re-inserts a
     * timer into lws's sorted list on every pong, a walk over every
     * connection each time; at 16k villages it was half the loop's CPU). */
    int64_t rx_us;   /* the peer's last frame, any kind */
    int64_t ping_us; /* our last ping */
    bool ping_due;   /* write a ping at the next writeable */

    /* Waiting its turn to be asked for WRITEABLE (pace_want()). */
    str_ws *pnext, *pprev;
    bool paced;
};

typedef struct str_wsreg {
    str_ws *all;
    int n;
    int sites_online;
    site_ent *sites[SITE_BUCKETS];
    reg_ent *regs[REG_BUCKETS];
    reg_ent *dirty;
    ws_pend *pend[PEND_BUCKETS];
    nc_ent *nc[256];
    int nc_n;
    int64_t last_push_us;
    int64_t jobs_since_ms;
    /* Connections subscribed to "notices" (a few admin walls at most). */
    int notice_subs;
    /* Where the next tick's deadline checks start (str_ws_tick()). */
    str_ws *tick_next;
    /* One push round's stats and jobs per (region, depth) and scope:
     * computed for the first subscriber that needs them and shared by
     * reference (never changed after) with the others of the round, so
     * ten walls on one province cost one set of queries. */
    struct {
        char region[16];
        int depth; /* stats: the depth; jobs: -1 */
        json_t *o;
    } round[16];
    int nround;
    /* Connections with frames queued, waiting their turn (oldest first)
     * to be asked for WRITEABLE; pace > 0 by default on libuv (ws_pace). */
    str_ws *pace_head, *pace_tail;
    int pace;
    uint64_t paced; /* connections asked for WRITEABLE in turn */
    /* The last notice pushed: its frame (a reference, held so that its
     * address, compared with what is written, stays its own; NULL once
     * all were written), how many connections have yet to be written it
     * (a connection that closes first never is: no line then), and when
     * it was queued; logged when the last one is written. */
    str_fbuf *bc_frame;
    int64_t bc_id, bc_queued_us;
    int bc_left;
    /* stations that connected or left since the last flush (last seen) */
    cat_site_seen *seen;
    int seen_n, seen_cap;
    int64_t seen_flush_us;
    /* counters for /metrics */
    uint64_t frames_in, frames_out, closed_slow, closed_silent, hello_refused;
    uint64_t closed_auth; /* token revoked or expired, session ended */
    uint64_t resyncs;     /* snapshots sent again after a dropped delta */
    uint64_t dropped;     /* low-priority frames dropped for room */
    uint64_t views_held;  /* reading held: views batches in flight */
    uint64_t notices_pushed, rate_limited, welcomed;
} str_wsreg;

static str_wsreg *reg_of(str_server *srv)
{
    return srv->ws;
}

/* Division codes are decimal and unique across levels. */
static uint64_t key_of(const char *code)
{
    return strtoull(code, NULL, 10);
}

/* ---- sending ---- */

static void ws_close(str_ws *ws, int code, const char *why)
{
    if (ws->close_code != 0)
        return;
    ws->close_code = code;
    snprintf(ws->close_why, sizeof(ws->close_why), "%.90s", why);
    /* A browser fails a connection whose close reason is not UTF-8. */
    ws->close_why[yl_utf8_prefix(ws->close_why)] = '\0';
    lws_callback_on_writable(ws->wsi);
    /* A client that reads nothing more (a frozen TV whose TCP stack
     * still acknowledges with a zero window) never makes the socket
     * writeable: without a deadline it would hold its descriptor and
     * queue, and stay "online", for ever (keepalive() leaves closing
     * connections alone). One closed for not reading has only the close
     * frame to take: 5 s; the others first take what is queued (the
     * error that explains the close): as long as the keepalive lets a
     * silent link live. */
    lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK,
                    code == 4429 ? 5 : 2 * ws->srv->cfg.ws_ping_s + 5);
}

static void pace_unlink(str_wsreg *g, str_ws *ws)
{
    if (!ws->paced)
        return;
    if (ws->pprev)
        ws->pprev->pnext = ws->pnext;
    else
        g->pace_head = ws->pnext;
    if (ws->pnext)
        ws->pnext->pprev = ws->pprev;
    else
        g->pace_tail = ws->pprev;
    ws->pnext = ws->pprev = NULL;
    ws->paced = false;
}

/* Asks for WRITEABLE now, or (ws_pace > 0: by default on libuv) in turn: a
 * notice to the province asks 16,000 connections at once, and on an epoll
 * loop they would all be written in one round, before any HTTP request
 * that arrived meanwhile. In turn, ws_pace of them per round
 * (str_ws_round()), and the requests get a turn in between; with epoll a
 * round costs what is ready, so more rounds cost little (with poll() each
 * round walks every descriptor, so there it is done only when ws_pace is
 * set). */
static void pace_want(str_ws *ws)
{
    str_wsreg *g = reg_of(ws->srv);

    if (g->pace <= 0) {
        lws_callback_on_writable(ws->wsi);
        return;
    }
    if (ws->paced)
        return;
    ws->paced = true;
    ws->pnext = NULL;
    ws->pprev = g->pace_tail;
    if (g->pace_tail)
        g->pace_tail->pnext = ws;
    else
        g->pace_head = ws;
    g->pace_tail = ws;
}

void str_ws_round(str_server *srv)
{
    str_wsreg *g = reg_of(srv);
    str_ws *ws;

    for (int i = 0; g != NULL && i < g->pace && (ws = g->pace_head) != NULL;
         i++) {
        pace_unlink(g, ws);
        lws_callback_on_writable(ws->wsi);
        g->paced++;
    }
}

/* Queues a reference to b for ws. */
static void ws_push(str_ws *ws, str_fbuf *b)
{
    uint64_t dropped;
    int r;

    if (ws->close_code != 0)
        return;
    if (!ws->q_ready) {
        if (str_fanq_init(&ws->q, (unsigned)ws->srv->cfg.ws_queue, WS_Q_BYTES) <
            0) {
            ws_close(ws, 1011, "out of memory");
            return;
        }
        ws->q_ready = true;
    }
    dropped = ws->q.dropped;
    r = str_fanq_push(&ws->q, b);
    if (r == STR_FANQ_DROPPED || ws->q.dropped != dropped) {
        ws->stale = true; /* a delta is lost: push_deltas() resyncs */
        reg_of(ws->srv)->dropped += ws->q.dropped - dropped; /* both ways */
    }
    if (r == STR_FANQ_OVERFLOW || r == STR_FANQ_NOMEM) {
        /* It does not read: it will reconnect and replay from since. */
        reg_of(ws->srv)->closed_slow++;
        ws_close(ws, 4429, "too slow: reconnect and replay");
        return;
    }
    pace_want(ws);
}

static str_fbuf *fbuf_json(json_t *o, int prio)
{
    char *s = json_dumps(o, JSON_COMPACT);
    str_fbuf *b = NULL;

    if (s != NULL)
        b = str_fbuf_new(s, strlen(s), prio, 0);
    free(s);
    return b;
}

/* Sends o (taken) to ws alone. */
static void ws_send(str_ws *ws, json_t *o, int prio)
{
    str_fbuf *b;

    if (o == NULL)
        return;
    b = fbuf_json(o, prio);
    json_decref(o);
    if (b == NULL) {
        ws_close(ws, 1011, "out of memory");
        return;
    }
    ws_push(ws, b);
    str_fbuf_unref(b);
}

static void ws_error(str_ws *ws, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ws_error(str_ws *ws, const char *code, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    msg[yl_utf8_prefix(msg)] = '\0'; /* else json_pack() refuses it */
    ws_send(ws,
            json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
                      "message", msg),
            STR_FAN_HIGH);
}

/* ---- presence ---- */

static reg_ent *reg_get(str_wsreg *g, const char *code, const char *parent,
                        bool make)
{
    uint64_t k = key_of(code);
    reg_ent **b = &g->regs[k % REG_BUCKETS], *e;

    for (e = *b; e != NULL; e = e->next)
        if (e->key == k)
            return e;
    if (!make)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->key = k;
    snprintf(e->code, sizeof(e->code), "%s", code);
    snprintf(e->parent, sizeof(e->parent), "%s", parent);
    e->next = *b;
    *b = e;
    return e;
}

static void reg_mark(str_wsreg *g, reg_ent *e)
{
    if (e->dirty)
        return;
    e->dirty = true;
    e->dnext = g->dirty;
    g->dirty = e;
}

/* The site and each region above it (its code's prefixes) move by d. */
static void presence_move(str_wsreg *g, const char *site, int d)
{
    static const int lens[] = {2, 4, 6, 9, 12};
    size_t sl = strlen(site);
    char code[CAT_CODE_MAX], parent[CAT_CODE_MAX] = "";

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        reg_ent *e;

        if ((size_t)lens[i] > sl)
            break;
        memcpy(code, site, (size_t)lens[i]);
        code[lens[i]] = '\0';
        e = reg_get(g, code, parent, d > 0);
        if (e != NULL) {
            e->online += d;
            reg_mark(g, e);
        }
        memcpy(parent, code, sizeof(parent));
    }
}

/* ---- last seen: sightings batched to the writer ---- */

#define SEEN_FLUSH_US (2 * 1000 * 1000)
#define SEEN_MAX      65536

/* One writer request for every sighting gathered (fire and forget: a
 * lost one only makes "last seen" older). */
static void seen_flush(str_server *srv, str_wsreg *g)
{
    char eb[96];
    int rc;

    g->seen_flush_us = lws_now_usecs();
    if (g->seen_n == 0)
        return;
    if (srv->w == NULL) { /* no writer any more: nothing to keep them for */
        g->seen_n = 0;
        return;
    }
    rc = cat_sites_seen_submit(srv->w, g->seen, g->seen_n, NULL, NULL);
    if (rc < 0)
        YL_LOGW("str", "%d station sighting(s) not recorded: %s", g->seen_n,
                yl_strerror(rc, eb, sizeof(eb)));
    g->seen_n = 0;
}

static void seen_note(str_server *srv, str_wsreg *g, const char *code)
{
    if (g->seen_n == g->seen_cap) {
        int cap = g->seen_cap ? 2 * g->seen_cap : 256;
        cat_site_seen *n;

        if (g->seen_n >= SEEN_MAX) {
            seen_flush(srv, g); /* seen_n is 0 after it */
        } else {
            n = realloc(g->seen, (size_t)cap * sizeof(*n));
            if (n == NULL)
                return; /* "last seen" stays older: nothing else hurts */
            g->seen = n;
            g->seen_cap = cap;
        }
    }
    snprintf(g->seen[g->seen_n].code, sizeof(g->seen[0].code), "%s", code);
    g->seen[g->seen_n++].ms = cat_now_ms();
}

static void site_join(str_ws *ws)
{
    str_wsreg *g = reg_of(ws->srv);
    uint64_t k = key_of(ws->tok.scope);
    site_ent **b = &g->sites[k % SITE_BUCKETS], *e;

    for (e = *b; e != NULL; e = e->next)
        if (e->key == k)
            break;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return;
        e->key = k;
        snprintf(e->code, sizeof(e->code), "%s", ws->tok.scope);
        e->next = *b;
        *b = e;
    }
    if (e->devices++ == 0) {
        g->sites_online++;
        presence_move(g, e->code, +1);
        seen_note(ws->srv, g, e->code);
    }
    ws->site = e;
}

static void site_leave(str_ws *ws)
{
    str_wsreg *g = reg_of(ws->srv);
    site_ent *e = ws->site, **pp;

    if (e == NULL)
        return;
    ws->site = NULL;
    if (--e->devices > 0)
        return;
    g->sites_online--;
    presence_move(g, e->code, -1);
    seen_note(ws->srv, g, e->code);
    for (pp = &g->sites[e->key % SITE_BUCKETS]; *pp != e; pp = &(*pp)->next)
        ;
    *pp = e->next;
    free(e);
}

/* ---- notice frames ---- */

static str_fbuf *nc_find(str_wsreg *g, int64_t id)
{
    for (nc_ent *e = g->nc[(uint64_t)id % 256]; e != NULL; e = e->next)
        if (e->id == id)
            return e->frame;
    return NULL;
}

static void nc_drop(str_wsreg *g, int64_t id)
{
    nc_ent **pp = &g->nc[(uint64_t)id % 256], *e;

    for (; (e = *pp) != NULL; pp = &e->next)
        if (e->id == id) {
            *pp = e->next;
            str_fbuf_unref(e->frame);
            free(e);
            g->nc_n--;
            return;
        }
}

static void nc_put(str_wsreg *g, int64_t id, str_fbuf *frame)
{
    nc_ent *e;

    if (nc_find(g, id) != NULL)
        return;
    if (g->nc_n >= NC_MAX) /* the oldest hang at the chains' ends: */
        for (int i = 0; i < 256 && g->nc_n >= NC_MAX; i++)
            while (g->nc[i] != NULL && g->nc_n >= NC_MAX)
                nc_drop(g, g->nc[i]->id);
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return;
    e->id = id;
    e->frame = str_fbuf_ref(frame);
    e->next = g->nc[(uint64_t)id % 256];
    g->nc[(uint64_t)id % 256] = e;
    g->nc_n++;
}

/* The frame of notice id (cached, else read), a reference the caller
 * owns (the cache may not have kept it: out of memory). NULL when it is
 * gone. */
static str_fbuf *nc_get(str_server *srv, int64_t id)
{
    str_wsreg *g = reg_of(srv);
    str_fbuf *b = nc_find(g, id);
    json_t *o = NULL;

    if (b != NULL)
        return str_fbuf_ref(b);
    if (cat_notices_get(srv->rd, id, &o) < 0)
        return NULL;
    json_object_set_new(o, "type", json_string("notice"));
    json_object_del(o, "withdrawn_ms");
    json_object_del(o, "targets");
    b = fbuf_json(o, STR_FAN_HIGH);
    json_decref(o);
    if (b == NULL)
        return NULL;
    nc_put(g, id, b);
    return b;
}

/* Queues the next few pending notices of a site's connection. */
static void replay_step(str_ws *ws)
{
    int64_t ids[REPLAY_CHUNK];
    int n, i;

    n = cat_notices_pending(ws->srv->rd, ws->tok.scope, ws->replay_after, ids,
                            REPLAY_CHUNK);
    if (n < 0) {
        YL_LOGW("str", "[site=%s] pending notices: %s", ws->tok.scope,
                cat_db_errmsg(ws->srv->rd));
        ws->replaying = false;
        return;
    }
    for (i = 0; i < n; i++) {
        str_fbuf *b = nc_get(ws->srv, ids[i]);

        ws->replay_after = ids[i];
        if (b != NULL) {
            ws_push(ws, b);
            ws->sent[ws->nsent++ % 8] = ids[i];
            str_fbuf_unref(b);
        }
    }
    if (n < REPLAY_CHUNK)
        ws->replaying = false;
    else /* more to read, even if none of these could be queued */
        pace_want(ws);
}

/* ---- viewing batches answered ---- */

static void pend_add(str_ws *ws, uint64_t serial)
{
    str_wsreg *g = reg_of(ws->srv);
    ws_pend *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return;
    p->serial = serial;
    p->ws = ws;
    p->next = g->pend[serial % PEND_BUCKETS];
    g->pend[serial % PEND_BUCKETS] = p;
    p->wnext = ws->pend;
    ws->pend = p;
    ws->npend++;
}

static void pend_unlink(str_wsreg *g, ws_pend *p)
{
    ws_pend **pp = &g->pend[p->serial % PEND_BUCKETS];

    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    for (pp = &p->ws->pend; *pp != p; pp = &(*pp)->wnext)
        ;
    *pp = p->wnext;
    p->ws->npend--;
    free(p);
}

void str_ws_views_answer(str_server *srv, uint64_t serial, int rc,
                         const char *code, const char *msg, int accepted,
                         int duplicates)
{
    str_wsreg *g = reg_of(srv);
    ws_pend *p;
    str_ws *ws;

    if (g == NULL)
        return;
    for (p = g->pend[serial % PEND_BUCKETS]; p != NULL; p = p->next)
        if (p->serial == serial)
            break;
    if (p == NULL)
        return; /* the connection went; the events are stored anyway */
    ws = p->ws;
    pend_unlink(g, p);
    if (ws->rx_held && ws->npend < WS_VIEWS_INFLIGHT) {
        ws->rx_held = false;
        ws->rx_us = lws_now_usecs(); /* held by us: not a silent peer */
        lws_rx_flow_control(ws->wsi, 1);
    }
    if (rc < 0) {
        ws_send(ws,
                json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "for",
                          "views", "code", code ? code : "invalid", "message",
                          msg ? msg : ""),
                STR_FAN_HIGH);
        return;
    }
    ws_send(ws,
            json_pack("{s:s, s:i, s:i}", "type", "views_ack", "accepted",
                      accepted, "duplicates", duplicates),
            STR_FAN_HIGH);
}

/* ---- subscriptions ---- */

static bool within(const char *code, const char *region)
{
    return strncmp(code, region, strlen(region)) == 0;
}

static json_t *presence_snapshot(str_ws *ws)
{
    str_wsreg *g = reg_of(ws->srv);
    reg_ent *e = reg_get(g, ws->region, "", false);
    json_t *kids = json_object(), *list = NULL, *it;
    size_t i;

    /* Every child region, zeros included, so a wall can draw them all. */
    if (cat_sites_list(ws->srv->rd, ws->region, 0, 0, &list) == 0)
        json_array_foreach(json_object_get(list, "items"), i, it)
        {
            const char *c = json_string_value(json_object_get(it, "code"));
            reg_ent *k = c ? reg_get(g, c, "", false) : NULL;

            if (c != NULL)
                json_object_set_new(kids, c, json_integer(k ? k->online : 0));
        }
    if (ws->depth == 2) {
        json_t *gkids = json_object(), *sub = NULL, *jt;
        size_t j;

        json_array_foreach(json_object_get(list, "items"), i, it)
        {
            const char *c = json_string_value(json_object_get(it, "code"));

            if (c == NULL || cat_sites_list(ws->srv->rd, c, 0, 0, &sub) < 0)
                continue;
            json_array_foreach(json_object_get(sub, "items"), j, jt)
            {
                const char *gc = json_string_value(json_object_get(jt, "code"));
                reg_ent *k = gc ? reg_get(g, gc, "", false) : NULL;

                if (gc != NULL)
                    json_object_set_new(gkids, gc,
                                        json_integer(k ? k->online : 0));
            }
            json_decref(sub);
            sub = NULL;
        }
        json_decref(list);
        return json_pack("{s:s, s:s, s:b, s:i, s:o, s:o}", "type", "presence",
                         "region", ws->region, "snapshot", 1, "online",
                         e ? e->online : 0, "children", kids, "grandchildren",
                         gkids);
    }
    json_decref(list);
    return json_pack("{s:s, s:s, s:b, s:i, s:o}", "type", "presence", "region",
                     ws->region, "snapshot", 1, "online", e ? e->online : 0,
                     "children", kids);
}

static json_t *stats_now(str_ws *ws)
{
    json_t *o = NULL, *m = NULL;
    int64_t now = cat_now_ms();
    double h = 0;

    if (cat_stats_now_depth(ws->srv->w, ws->region, ws->depth, now, &o) < 0)
        return NULL;
    /* Today's watch hours: the roll-up the writer keeps per region and
     * day, one indexed row read; pushed with the rest when it changed.
     * Rounded to 0.01 h (36 s) so that not every beat is a delta. */
    if (cat_stats_hours_today(ws->srv->rd, ws->region, now, &h) == 0)
        json_object_set_new(o, "hours_today",
                            json_real((double)llround(h * 100) / 100));
    /* The live meeting's attendance in the region ("meeting": null when
     * none runs): one probe of meetings.state while nothing is live. */
    if (cat_attend_live(ws->srv->rd, ws->region, &m) < 0)
        m = NULL;
    json_object_set_new(o, "meeting", m != NULL ? m : json_null());
    return o;
}

static json_t *jobs_now(str_ws *ws, int64_t since_ms)
{
    json_t *arr = NULL, *o, *j;
    size_t i;

    if (cat_jobs_recent(ws->srv->rd,
                        ws->tok.scope_level == CAT_LEVEL_PROVINCE ? NULL
                                                                  : ws->region,
                        since_ms, &arr) < 0)
        return NULL;
    o = json_object();
    json_array_foreach(arr, i, j)
    {
        char k[24];

        snprintf(k, sizeof(k), "%" PRId64,
                 (int64_t)json_integer_value(json_object_get(j, "id")));
        json_object_set(o, k, j);
    }
    json_decref(arr);
    return o;
}

static json_t *nfollow_json(const ws_nfollow *f)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "id", (json_int_t)f->id,
                     "targeted", (json_int_t)f->targeted, "delivered",
                     (json_int_t)f->delivered, "read", (json_int_t)f->read);
}

/* Follows the newest notices sent within the subscriber's region. */
static json_t *notices_snapshot(str_ws *ws)
{
    json_t *list = NULL, *arr = json_array(), *it;
    size_t i;

    ws->nnf = 0;
    if (cat_notices_list(ws->srv->rd, ws->region, 0, NFOLLOW, &list) == 0)
        json_array_foreach(list, i, it)
        {
            ws_nfollow *f = &ws->nf[ws->nnf];
            int64_t t[3];
            json_t *o;

            f->id = json_integer_value(json_object_get(it, "id"));
            if (cat_notices_totals(ws->srv->rd, f->id, ws->region, t) < 0)
                continue;
            f->targeted = t[0];
            f->delivered = t[1];
            f->read = t[2];
            f->dirty = false;
            o = nfollow_json(f);
            json_object_set(o, "title", json_object_get(it, "title"));
            json_object_set(o, "sent_ms", json_object_get(it, "sent_ms"));
            json_array_append_new(arr, o);
            ws->nnf++;
        }
    json_decref(list);
    return json_pack("{s:s, s:s, s:b, s:o}", "type", "notices", "region",
                     ws->region, "snapshot", 1, "notices", arr);
}

/* The keys of now whose values differ from last (NULL: all of now). */
static json_t *diff(const json_t *last, json_t *now)
{
    json_t *d = json_object(), *v;
    const char *k;

    json_object_foreach(now, k, v)
    {
        if (last == NULL || !json_equal(json_object_get(last, k), v))
            json_object_set(d, k, v);
    }
    return d;
}

/* The whole state of each topic ws subscribes to: after its subscribe,
 * and again after a delta of it was dropped for room (ws->stale). */
static void snapshots(str_ws *ws, int prio)
{
    ws->stale = false;
    if (ws->topics & T_PRESENCE)
        ws_send(ws, presence_snapshot(ws), prio);
    if (ws->topics & T_STATS) {
        json_decref(ws->last_stats);
        ws->last_stats = stats_now(ws);
        if (ws->last_stats != NULL) {
            json_t *o = json_deep_copy(ws->last_stats);

            json_object_set_new(o, "type", json_string("stats"));
            json_object_set_new(o, "snapshot", json_true());
            json_object_set_new(o, "region", json_string(ws->region));
            ws_send(ws, o, prio);
        }
    }
    if (ws->topics & T_NOTICES)
        ws_send(ws, notices_snapshot(ws), prio);
    if (ws->topics & T_JOBS) {
        json_decref(ws->last_jobs);
        ws->last_jobs = jobs_now(ws, cat_now_ms() - 3600 * 1000);
        if (ws->last_jobs != NULL) {
            json_t *arr = json_array(), *v;
            const char *k;

            json_object_foreach(ws->last_jobs, k, v) json_array_append(arr, v);
            ws_send(ws,
                    json_pack("{s:s, s:b, s:o}", "type", "jobs", "snapshot", 1,
                              "jobs", arr),
                    prio);
        }
    }
}

static void on_subscribe(str_ws *ws, json_t *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"presence", T_PRESENCE},
                 {"stats", T_STATS},
                 {"notices", T_NOTICES},
                 {"jobs", T_JOBS}};
    const json_t *topics = json_object_get(m, "topics"), *t;
    const char *region = json_string_value(json_object_get(m, "region"));
    const json_t *jd = json_object_get(m, "depth");
    unsigned want = 0;
    int depth = 1;
    size_t i, j;
    int rc;

    if (ws->tok.role == CAT_ROLE_SITE) {
        ws_error(ws, "forbidden",
                 "a site token cannot subscribe: statistics need an admin or "
                 "viewer token");
        return;
    }
    if (!json_is_array(topics) || json_array_size(topics) == 0) {
        ws_error(ws, "invalid",
                 "topics: want an array of presence, stats, "
                 "notices, jobs");
        return;
    }
    json_array_foreach(topics, i, t)
    {
        const char *s = json_string_value(t);

        for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
            if (s != NULL && strcmp(s, names[j].name) == 0)
                break;
        if (j == sizeof(names) / sizeof(names[0])) {
            ws_error(ws, "invalid",
                     "topics[%zu]: want presence, stats, notices or jobs", i);
            return;
        }
        want |= names[j].bit;
    }
    if (jd != NULL) {
        depth = json_is_integer(jd) ? (int)json_integer_value(jd) : 0;
        if (depth != 1 && depth != 2) {
            ws_error(ws, "invalid", "depth: want 1 or 2");
            return;
        }
    }
    if ((want & T_JOBS) && ws->tok.role != CAT_ROLE_ADMIN) {
        ws_error(ws, "forbidden", "jobs: an admin token's topic");
        return;
    }
    if (region == NULL)
        region = ws->tok.scope;
    if (cat_code_level(region) < 0) {
        ws_error(ws, "invalid", "region: \"%.20s\" is not a division code",
                 region);
        return;
    }
    rc = cat_tokens_allows(ws->srv->rd, &ws->tok, region);
    if (rc == YL_ENOTFOUND) {
        ws_error(ws, "not_found", "region: unknown code %s", region);
        return;
    }
    if (rc != 1) {
        ws_error(ws, "forbidden", "region %s is outside this token's region %s",
                 region, ws->tok.scope);
        return;
    }
    snprintf(ws->region, sizeof(ws->region), "%s", region);
    reg_of(ws->srv)->notice_subs +=
        ((want & T_NOTICES) != 0) - ((ws->topics & T_NOTICES) != 0);
    ws->topics = want;
    ws->depth = depth;
    json_decref(ws->last_stats);
    json_decref(ws->last_jobs);
    ws->last_stats = ws->last_jobs = NULL;
    ws_send(ws,
            json_pack("{s:s, s:O, s:s}", "type", "subscribed", "topics", topics,
                      "region", ws->region),
            STR_FAN_HIGH);
    snapshots(ws, STR_FAN_HIGH);
}

/* What stats_now (depth >= 0) or jobs_now (depth -1) gives ws in this
 * push round: computed once per region and depth, a new reference. */
static json_t *round_get(str_ws *ws, str_wsreg *g, int depth)
{
    const char *key = depth >= 0 || ws->tok.scope_level != CAT_LEVEL_PROVINCE
                          ? ws->region
                          : "";
    json_t *o;

    for (int i = 0; i < g->nround; i++)
        if (g->round[i].depth == depth && strcmp(g->round[i].region, key) == 0)
            return json_incref(g->round[i].o);
    o = depth >= 0 ? stats_now(ws) : jobs_now(ws, g->jobs_since_ms);
    if (o != NULL &&
        g->nround < (int)(sizeof(g->round) / sizeof(g->round[0])) &&
        strlen(key) < sizeof(g->round[0].region)) {
        snprintf(g->round[g->nround].region, sizeof(g->round[0].region), "%s",
                 key);
        g->round[g->nround].depth = depth;
        g->round[g->nround].o = json_incref(o);
        g->nround++;
    }
    return o;
}

static void round_end(str_wsreg *g)
{
    for (int i = 0; i < g->nround; i++)
        json_decref(g->round[i].o);
    g->nround = 0;
}

/* The deltas of one subscriber; whole snapshots instead once one was
 * dropped for room (a delta builds on the one before: the wall would
 * keep a wrong count until that region changed again), when its queue
 * has room again. */
static void push_deltas(str_ws *ws, str_wsreg *g)
{
    if (ws->stale) {
        /* Room for a snapshot of each topic (4 at most), or they would be
         * dropped in turn, round after round. */
        if (!ws->q_ready ||
            (ws->q.cap - ws->q.n >= 4 && ws->q.bytes <= ws->q.max_bytes / 2)) {
            g->resyncs++;
            snapshots(ws, STR_FAN_LOW);
        }
        return;
    }
    if (ws->topics & T_PRESENCE) {
        json_t *kids = json_object(), *gkids = json_object(), *o;
        bool any = false;
        int online = -1, glevel = cat_code_level(ws->region) + 2;

        for (reg_ent *e = g->dirty; e != NULL; e = e->dnext) {
            if (strcmp(e->code, ws->region) == 0) {
                online = e->online;
                any = true;
            } else if (strcmp(e->parent, ws->region) == 0) {
                json_object_set_new(kids, e->code, json_integer(e->online));
                any = true;
            } else if (ws->depth == 2 && within(e->code, ws->region) &&
                       cat_code_level(e->code) == glevel) {
                json_object_set_new(gkids, e->code, json_integer(e->online));
                any = true;
            }
        }
        if (any) {
            o = json_pack("{s:s, s:s, s:o}", "type", "presence", "region",
                          ws->region, "children", kids);
            if (online >= 0)
                json_object_set_new(o, "online", json_integer(online));
            if (json_object_size(gkids) > 0)
                json_object_set(o, "grandchildren", gkids);
            ws_send(ws, o, STR_FAN_LOW);
        } else {
            json_decref(kids);
        }
        json_decref(gkids);
    }
    if (ws->topics & T_STATS) {
        json_t *now = round_get(ws, g, ws->depth), *d;

        if (now != NULL) {
            d = diff(ws->last_stats, now);
            json_decref(ws->last_stats);
            ws->last_stats = now;
            if (json_object_size(d) > 0) {
                json_object_set_new(d, "type", json_string("stats"));
                json_object_set_new(d, "region", json_string(ws->region));
                ws_send(ws, d, STR_FAN_LOW);
            } else {
                json_decref(d);
            }
        }
    }
    if ((ws->topics & T_NOTICES) && ws->notices_dirty) {
        json_t *arr = json_array();

        ws->notices_dirty = false;
        for (int i = 0; i < ws->nnf; i++)
            if (ws->nf[i].dirty) {
                ws->nf[i].dirty = false;
                json_array_append_new(arr, nfollow_json(&ws->nf[i]));
            }
        ws_send(ws,
                json_pack("{s:s, s:s, s:o}", "type", "notices", "region",
                          ws->region, "notices", arr),
                STR_FAN_LOW);
    }
    if ((ws->topics & T_JOBS) && ws->last_jobs != NULL) {
        json_t *now = round_get(ws, g, -1), *arr, *v;
        const char *k;

        if (now != NULL) {
            arr = json_array();
            json_object_foreach(now, k, v)
            {
                if (!json_equal(json_object_get(ws->last_jobs, k), v)) {
                    json_array_append(arr, v);
                    json_object_set(ws->last_jobs, k, v);
                }
            }
            json_decref(now);
            if (json_array_size(arr) > 0)
                ws_send(ws,
                        json_pack("{s:s, s:o}", "type", "jobs", "jobs", arr),
                        STR_FAN_LOW);
            else
                json_decref(arr);
        }
    }
}

void str_ws_receipts(str_server *srv, const cat_notice_ack *rows, int n)
{
    str_wsreg *g = reg_of(srv);

    /* Receipts come in batches of up to 4,096, several per notice to a
     * province, and a walk over 16,000 connections to find the few
     * subscribers took ~7 ms of the loop each time (perf: 2.3 % of the
     * server's CPU while notices went out). Nobody subscribed: no walk. */
    if (g == NULL || g->notice_subs == 0)
        return;
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next) {
        if (!(ws->topics & T_NOTICES))
            continue;
        for (int i = 0; i < n; i++) {
            if (!within(rows[i].site, ws->region))
                continue;
            for (int j = 0; j < ws->nnf; j++)
                if (ws->nf[j].id == rows[i].notice) {
                    if (rows[i].state == CAT_NOTICE_READ)
                        ws->nf[j].read++;
                    else
                        ws->nf[j].delivered++;
                    ws->nf[j].dirty = true;
                    ws->notices_dirty = true;
                }
        }
    }
}

/* ---- incoming messages ---- */

/* Service thread, at ESTABLISHED: a browser signed in to the admin
 * console authenticates with its session cookie (its page cannot read the
 * HttpOnly cookie to put it in the hello). Only from a page of this origin:
 * a browser sends cookies with a websocket upgrade whichever site opened
 * it, so Origin must name the Host the request went to. */
static void cookie_session(str_ws *ws, struct lws *wsi)
{
    char cookie[4096], origin[256], host[256];
    const char *o;

    ws->hdr_session[0] = '\0';
    if (lws_hdr_copy(wsi, cookie, sizeof(cookie), WSI_TOKEN_HTTP_COOKIE) <= 0 ||
        !str_session_cookie(cookie, ws->hdr_session))
        return;
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0 ||
        lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0) {
        ws->hdr_session[0] = '\0';
        return;
    }
    o = strstr(origin, "://");
    o = o != NULL ? o + 3 : origin;
    if (strcasecmp(o, host) != 0) {
        YL_LOGW("str", "ws: a session cookie from origin %s (host %s) ignored",
                origin, host);
        ws->hdr_session[0] = '\0';
    }
}

static bool targeted(const char *site, const json_t *targets);

/* Service thread, at ESTABLISHED: the client's address, as
 * str_req_client() reads it for HTTP (the upgrade kept X-Forwarded-For). */
static void client_addr(str_ws *ws, struct lws *wsi)
{
    char peer[48], xff[512];
    int have = 0, n = 0;

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    if (strncmp(peer, "::ffff:", 7) == 0)
        memmove(peer, peer + 7, strlen(peer + 7) + 1);
    if (ws->srv->nproxies > 0) {
        have = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
        if (have > 0)
            n = lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR);
    }
    str_client_addr(ws->srv, peer, n > 0 ? xff : NULL, have > 0 && n <= 0,
                    ws->addr, sizeof(ws->addr));
}

static void on_hello(str_ws *ws, json_t *m)
{
    str_server *srv = ws->srv;
    const char *tok = json_string_value(json_object_get(m, "token"));
    const char *client = json_string_value(json_object_get(m, "client"));
    const json_t *since = json_object_get(m, "since");
    char msg[128];
    const char *code;
    int rc, st;

    if (tok == NULL && ws->hdr_token[0] != '\0')
        tok = ws->hdr_token;
    if (tok == NULL && ws->hdr_session[0] == '\0') {
        reg_of(srv)->hello_refused++;
        ws_close(ws, 4401, "hello needs a token");
        return;
    }
    if (since != NULL && !json_is_null(since) &&
        (!json_is_integer(since) || json_integer_value(since) < 0)) {
        ws_close(ws, 4400, "since: want the highest notice id seen");
        return;
    }
    if (client != NULL && strcmp(client, "tv") != 0 &&
        strcmp(client, "pc") != 0 && strcmp(client, "phone") != 0 &&
        strcmp(client, "wall") != 0) {
        ws_close(ws, 4400, "client: want tv, pc, phone or wall");
        return;
    }
    if (tok == NULL) { /* the session cookie of the upgrade */
        char csrf[CAT_CSRF_LEN + 1];

        rc = cat_users_session_verify(srv->rd, ws->hdr_session, cat_now_ms(),
                                      &ws->tok, csrf);
        if (rc < 0 || ws->tok.expired) {
            reg_of(srv)->hello_refused++;
            ws_close(ws, rc < 0 && rc != YL_ENOTFOUND ? 1011 : 4401,
                     rc == 0 ? "the session has expired; sign in again"
                             : "not signed in");
            return;
        }
        ws->auth_token[0] = '\0';
        goto welcome;
    }
    rc = str_api_token(srv, tok, &ws->tok);
    st = str_token_judge(rc, &ws->tok, &code, msg, sizeof(msg));
    if (st != 0) {
        reg_of(srv)->hello_refused++;
        ws_close(ws, st == 401 ? 4401 : 1011,
                 st == 401 ? msg : "catalog error");
        return;
    }
    if (ws->tok.role == CAT_ROLE_SITE &&
        cat_code_level(ws->tok.scope) < CAT_LEVEL_TOWNSHIP) {
        reg_of(srv)->hello_refused++;
        ws_close(ws, 4403, "a site token of a region is not a station");
        return;
    }
    snprintf(ws->auth_token, sizeof(ws->auth_token), "%s", tok);
welcome:
    /* The first check at a random point of the period: after a restart
     * every station says hello within seconds, and their checks would
     * come in one lump each period. */
    ws->auth_us = lws_now_usecs() -
                  (int64_t)((uint64_t)rand() %
                            ((uint64_t)srv->cfg.ws_reauth_s * LWS_US_PER_SEC));
    snprintf(ws->client, sizeof(ws->client), "%s", client ? client : "");
    ws->state = WS_READY;
    reg_of(srv)->welcomed++;
    ws_send(ws,
            json_pack("{s:s, s:s, s:s, s:I, s:i}", "type", "welcome", "role",
                      cat_role_name(ws->tok.role), "scope", ws->tok.scope,
                      "server_ms", (json_int_t)cat_now_ms(), "ping_s",
                      srv->cfg.ws_ping_s),
            STR_FAN_HIGH);
    if (ws->tok.role == CAT_ROLE_SITE) {
        const json_t *frame, *targets;

        site_join(ws);
        /* A station that connects during a meeting sent to it. */
        for (int i = 0; str_meetings_nth(srv, i, &frame, &targets); i++)
            if (targeted(ws->tok.scope, targets))
                ws_send(ws, json_deep_copy(frame), STR_FAN_HIGH);
        ws->replay_after = since ? json_integer_value(since) : 0;
        ws->replaying = true;
        replay_step(ws);
    }
}

/* A well-formed ack of notice id (> 0) with state st: recorded for the
 * writer's next receipt batch. */
static void ack_apply(str_ws *ws, int64_t id, int st)
{
    int rc = 0;

    /* A notice this connection was just sent (the usual ack) was sent
     * to its site: no lookup. */
    for (unsigned i = 0; i < 8 && i < ws->nsent; i++)
        if (ws->sent[i] == id)
            rc = 1;
    if (rc == 0)
        rc = cat_notices_sent_to(ws->srv->rd, id, ws->tok.scope);
    if (rc == 0) {
        ws_error(ws, "not_found", "notice %" PRId64 " was not sent to %s", id,
                 ws->tok.scope);
        return;
    }
    if (rc < 0) {
        ws_error(ws, "internal", "%s", cat_db_errmsg(ws->srv->rd));
        return;
    }
    str_notices_ack(ws->srv, ws->tok.scope, id, st);
}

static void on_ack(str_ws *ws, json_t *m)
{
    const json_t *n = json_object_get(m, "notice");
    const char *state = json_string_value(json_object_get(m, "state"));
    int st;

    if (ws->tok.role != CAT_ROLE_SITE) {
        ws_error(ws, "forbidden", "ack: only a site acknowledges notices");
        return;
    }
    if (!json_is_integer(n) || json_integer_value(n) <= 0) {
        ws_error(ws, "invalid", "ack: notice: want a notice id");
        return;
    }
    if (state != NULL && strcmp(state, "delivered") == 0)
        st = CAT_NOTICE_DELIVERED;
    else if (state != NULL && strcmp(state, "read") == 0)
        st = CAT_NOTICE_READ;
    else {
        ws_error(ws, "invalid", "ack: state: want delivered or read");
        return;
    }
    ack_apply(ws, json_integer_value(n), st);
}

/* The usual ack, exactly as clients write it (JSON.stringify of
 * {type, notice, state}): {"type":"ack","notice":N,"state":"delivered"}
 * or "read", N a positive integer of at most 18 digits without a leading
 * zero, nothing else, not even a space. 16,000 of them arrive for each
 * notice to the province while its frames still go out, and jansson
 * building a tree for each was a large share of the loop's time. true
 * when text had that shape and was handled (as on_ack() would have);
 * false for anything else, which then goes through the full parser, so
 * what is accepted or refused is unchanged. */
static bool ack_fast(str_ws *ws, const char *text, size_t len)
{
    static const char head[] = "{\"type\":\"ack\",\"notice\":";
    static const char mid[] = ",\"state\":\"";
    const char *p = text, *end = text + len;
    int64_t id = 0;
    int digits = 0, st;

    if (len < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1) != 0)
        return false;
    p += sizeof(head) - 1;
    if (p < end && *p == '0')
        return false; /* 0, or a leading zero: the parser's answer */
    for (; p < end && *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        id = id * 10 + (*p - '0');
    if (digits == 0 || (size_t)(end - p) < sizeof(mid) - 1 ||
        memcmp(p, mid, sizeof(mid) - 1) != 0)
        return false;
    p += sizeof(mid) - 1;
    if ((size_t)(end - p) == 11 && memcmp(p, "delivered\"}", 11) == 0)
        st = CAT_NOTICE_DELIVERED;
    else if ((size_t)(end - p) == 6 && memcmp(p, "read\"}", 6) == 0)
        st = CAT_NOTICE_READ;
    else
        return false;
    if (ws->tok.role != CAT_ROLE_SITE) {
        ws_error(ws, "forbidden", "ack: only a site acknowledges notices");
        return true;
    }
    ack_apply(ws, id, st);
    return true;
}

static void on_views(str_ws *ws, const char *text, size_t len)
{
    str_server *srv = ws->srv;
    uint64_t serial;
    char *copy;

    if (ws->tok.role == CAT_ROLE_VIEWER) {
        ws_error(ws, "forbidden", "a viewer token cannot send viewing events");
        return;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        ws_close(ws, 1011, "out of memory");
        return;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    serial = ++srv->next_serial;
    if (str_query_submit_raw_views(srv, serial, &ws->tok, ws->addr, copy, len) <
        0) {
        ws_error(ws, "internal", "out of memory");
        return;
    }
    pend_add(ws, serial);
    /* Each batch waits on the ingest thread with its copy: a client that
     * sends faster than they are stored is not read any further until
     * answers come (an error instead would break a client that pairs
     * answers with batches in order, as the player does). */
    if (ws->npend >= WS_VIEWS_INFLIGHT && !ws->rx_held) {
        ws->rx_held = true;
        reg_of(srv)->views_held++;
        lws_rx_flow_control(ws->wsi, 0);
    }
}

/* One whole text message. */
static void on_message(str_ws *ws, const char *text, size_t len)
{
    str_server *srv = ws->srv;
    int64_t now = lws_now_usecs();
    json_error_t jerr;
    const char *type;
    json_t *m;

    reg_of(srv)->frames_in++;
    /* Token bucket: ws_rate per second, bursts of twice that. */
    ws->bucket += (double)(now - ws->bucket_us) * srv->cfg.ws_rate / 1e6;
    ws->bucket_us = now;
    if (ws->bucket > 2.0 * srv->cfg.ws_rate)
        ws->bucket = 2.0 * srv->cfg.ws_rate;
    if (ws->bucket < 1.0) {
        reg_of(srv)->rate_limited++;
        if (++ws->strikes > srv->cfg.ws_rate) {
            ws_close(ws, 1008, "too many messages");
            return;
        }
        if (ws->strikes == 1)
            ws_error(ws, "rate_limited",
                     "more than %d messages a second: slow down or be "
                     "disconnected",
                     srv->cfg.ws_rate);
        return;
    }
    ws->bucket -= 1.0;
    ws->strikes = 0;
    if (ws->state == WS_READY && ack_fast(ws, text, len))
        return;
    m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (m == NULL || !json_is_object(m)) {
        if (ws->state == WS_HELLO)
            ws_close(ws, 4400, "the first message must be a hello");
        else
            ws_error(ws, "malformed_json", "not a JSON object: %s",
                     m == NULL ? jerr.text : "another JSON value");
        json_decref(m);
        return;
    }
    type = json_string_value(json_object_get(m, "type"));
    if (ws->state == WS_HELLO) {
        if (type != NULL && strcmp(type, "hello") == 0)
            on_hello(ws, m);
        else
            ws_close(ws, 4400, "the first message must be a hello");
    } else if (type == NULL) {
        ws_error(ws, "invalid", "type: want a string");
    } else if (strcmp(type, "ack") == 0) {
        on_ack(ws, m);
    } else if (strcmp(type, "views") == 0) {
        on_views(ws, text, len);
    } else if (strcmp(type, "subscribe") == 0) {
        on_subscribe(ws, m);
    } else if (strcmp(type, "ping") == 0) {
        ws_send(ws,
                json_pack("{s:s, s:I}", "type", "pong", "server_ms",
                          (json_int_t)cat_now_ms()),
                STR_FAN_HIGH);
    } else if (strcmp(type, "hello") == 0) {
        ws_error(ws, "invalid", "hello: already welcomed");
    } else {
        ws_error(ws, "unknown_type", "unknown message type \"%.40s\"", type);
    }
    json_decref(m);
}

/* ---- the protocol callback ---- */

static void ws_free(str_ws *ws)
{
    str_wsreg *g = reg_of(ws->srv);

    site_leave(ws);
    pace_unlink(g, ws);
    if (g->tick_next == ws)
        g->tick_next = ws->next;
    if (ws->topics & T_NOTICES)
        g->notice_subs--;
    while (ws->pend != NULL)
        pend_unlink(g, ws->pend);
    if (ws->q_ready)
        str_fanq_fini(&ws->q);
    ws->q_ready = false;
    free(ws->rx);
    ws->rx = NULL;
    json_decref(ws->last_stats);
    json_decref(ws->last_jobs);
    ws->last_stats = ws->last_jobs = NULL;
    if (ws->prev)
        ws->prev->next = ws->next;
    else
        g->all = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
    g->n--;
    ws->srv = NULL;
}

/* One more connection was written the last notice pushed. */
static void bcast_written(str_wsreg *g)
{
    if (--g->bc_left > 0)
        return;
    YL_LOGI("str",
            "[notice=%" PRId64 "] written to every connection %" PRId64
            " ms after it was queued",
            g->bc_id, (lws_now_usecs() - g->bc_queued_us) / 1000);
    str_fbuf_unref(g->bc_frame);
    g->bc_frame = NULL;
}

static int ws_writeable(str_ws *ws)
{
    str_fbuf *b;
    int n;

    if (ws->close_code == 1006)
        return -1; /* a silent peer (keepalive()): nothing more */
    /* Closing: what is queued goes first (the error that explains the
     * close), except for a client closed for not reading. */
    if (ws->close_code != 0 && ws->close_code != 4429 && ws->q_ready &&
        str_fanq_peek(&ws->q) != NULL)
        goto write;
    if (ws->close_code != 0) {
        /* The close frame, written here, then TCP closes. Not through
         * lws_close_reason() and lws's own handshake: Debian's lws is a
         * debug build, and on libuv its service closes a wsi that returned
         * -1 twice ("uv repeat test"), the second time before the close
         * frame it had queued went out. */
        unsigned char cf[LWS_PRE + 2 + sizeof(ws->close_why)];
        size_t why = strlen(ws->close_why);

        cf[LWS_PRE] = (unsigned char)(ws->close_code >> 8);
        cf[LWS_PRE + 1] = (unsigned char)(ws->close_code & 0xff);
        memcpy(cf + LWS_PRE + 2, ws->close_why, why);
        lws_write(ws->wsi, cf + LWS_PRE, why + 2,
                  (enum lws_write_protocol)YL_LWS_WRITE_CLOSE);
        return -1;
    }
write:
    if (ws->ping_due) {
        /* With a payload: lws 4.1 does not report an empty pong. */
        unsigned char ping[LWS_PRE + 2] = {0};

        ping[LWS_PRE] = 'y';
        ping[LWS_PRE + 1] = 'l';
        ws->ping_due = false;
        if (lws_write(ws->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 2)
            return -1;
        if ((ws->q_ready && str_fanq_peek(&ws->q) != NULL) || ws->replaying)
            lws_callback_on_writable(ws->wsi);
        return 0;
    }
    b = ws->q_ready ? str_fanq_peek(&ws->q) : NULL;
    if (b == NULL) {
        if (ws->replaying)
            replay_step(ws);
        return 0;
    }
    n = lws_write(ws->wsi, str_fbuf_data(b), b->len,
                  b->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    if (n < (int)b->len)
        return -1;
    reg_of(ws->srv)->frames_out++;
    if (b == reg_of(ws->srv)->bc_frame)
        bcast_written(reg_of(ws->srv));
    str_fanq_pop(&ws->q);
    if (str_fanq_peek(&ws->q) != NULL || ws->replaying || ws->close_code)
        lws_callback_on_writable(ws->wsi);
    return 0;
}

static int ws_receive(str_ws *ws, const char *in, size_t len)
{
    str_server *srv = ws->srv;
    bool first = lws_is_first_fragment(ws->wsi) != 0;
    bool final = lws_is_final_fragment(ws->wsi) != 0 &&
                 lws_remaining_packet_payload(ws->wsi) == 0;

    if (lws_frame_is_binary(ws->wsi)) {
        ws_close(ws, 1003, "binary frames are not part of yunling.v1");
        return 0;
    }
    if (first && ws->rx == NULL)
        ws->rx_skip = false;
    if (ws->rx_skip || ws->close_code != 0)
        return 0;
    if (final && ws->rx == NULL) { /* the usual case: one piece */
        on_message(ws, in, len);
        return 0;
    }
    if (ws->rx_len + len > (size_t)srv->cfg.ws_max_message) {
        free(ws->rx);
        ws->rx = NULL;
        ws->rx_len = 0;
        ws_close(ws, 1009, "message too big");
        return 0;
    }
    {
        char *nr = realloc(ws->rx, ws->rx_len + len + 1);

        if (nr == NULL) {
            ws_close(ws, 1011, "out of memory");
            return 0;
        }
        ws->rx = nr;
    }
    memcpy(ws->rx + ws->rx_len, in, len);
    ws->rx_len += len;
    if (final) {
        on_message(ws, ws->rx, ws->rx_len);
        free(ws->rx);
        ws->rx = NULL;
        ws->rx_len = 0;
    }
    return 0;
}

int str_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
              void *in, size_t len)
{
    str_server *srv = lws_context_user(lws_get_context(wsi));
    str_ws *ws = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        str_wsreg *g = reg_of(srv);
        char h[128];
        int n;

        memset(ws, 0, sizeof(*ws));
        if (g == NULL || srv->draining)
            return -1;
        ws->srv = srv;
        ws->wsi = wsi;
        ws->state = WS_HELLO;
        ws->hello_deadline_us =
            lws_now_usecs() + (int64_t)srv->cfg.ws_hello_s * LWS_US_PER_SEC;
        ws->bucket = 2.0 * srv->cfg.ws_rate;
        ws->bucket_us = lws_now_usecs();
        ws->rx_us = ws->ping_us = ws->bucket_us;
        /* Non-browser clients may authenticate on the upgrade. */
        n = lws_hdr_copy(wsi, h, sizeof(h), WSI_TOKEN_HTTP_AUTHORIZATION);
        if (n > 7 && strncasecmp(h, "Bearer ", 7) == 0) {
            const char *t = h + 7;

            while (*t == ' ')
                t++;
            if (strlen(t) == CAT_TOKEN_LEN)
                memcpy(ws->hdr_token, t, CAT_TOKEN_LEN + 1);
            else
                snprintf(ws->hdr_token, sizeof(ws->hdr_token), "-");
        }
        cookie_session(ws, wsi);
        client_addr(ws, wsi);
        ws->next = g->all;
        if (g->all)
            g->all->prev = ws;
        g->all = ws;
        g->n++;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (ws->srv == NULL)
            return -1;
        ws->rx_us = lws_now_usecs();
        return ws_receive(ws, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (ws->srv != NULL)
            ws->rx_us = lws_now_usecs();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (ws->srv == NULL)
            return -1;
        return ws_writeable(ws);
    case LWS_CALLBACK_CLOSED:
        if (ws->srv != NULL)
            ws_free(ws);
        return 0;
    default:
        return 0;
    }
}

size_t str_ws_size(void)
{
    return sizeof(str_ws);
}

/* ---- the upgrade ---- */

int str_ws_upgrade_check(str_req *r, const char **why)
{
    char proto[128], ver[16], key[64];
    const char *p;

    if (r->method != STR_M_GET) {
        *why = "a websocket upgrade is a GET";
        return 400;
    }
    if (str_req_hdr(r, "sec-websocket-key", key, sizeof(key)) <= 0 ||
        str_req_hdr(r, "sec-websocket-version", ver, sizeof(ver)) <= 0 ||
        strcmp(ver, "13") != 0) {
        *why = "websocket upgrade without Sec-WebSocket-Key or version 13";
        return 400;
    }
    if (str_req_hdr(r, "sec-websocket-protocol", proto, sizeof(proto)) <= 0) {
        *why = "websocket subprotocol " STR_WS_PROTOCOL " required "
               "(Sec-WebSocket-Protocol)";
        return 400;
    }
    for (p = proto; (p = strstr(p, STR_WS_PROTOCOL)) != NULL; p++) {
        char after = p[sizeof(STR_WS_PROTOCOL) - 1];

        if ((p == proto || p[-1] == ' ' || p[-1] == ',') &&
            (after == '\0' || after == ',' || after == ' '))
            break;
    }
    if (p == NULL) {
        *why = "websocket subprotocol " STR_WS_PROTOCOL " required "
               "(Sec-WebSocket-Protocol)";
        return 400;
    }
    if (reg_of(r->srv) == NULL || r->srv->draining) {
        *why = "the channel is not available";
        return 503;
    }
    return 0;
}

int str_ws_handoff(str_server *srv, int fd, const char *head, size_t len)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

    if (d < 0)
        return errno == EMFILE || errno == ENFILE ? -errno : -1;
    /* lws takes d: on failure it has closed it. */
    if (lws_adopt_socket_vhost_readbuf(srv->vh, d, head, len) == NULL)
        return -1;
    return 0;
}

/* ---- ticks ---- */

/* A ping after ws_ping_s of silence (and again each ws_ping_s while it
 * lasts); silent for 2 x ws_ping_s + 5 s: the link is gone (a village
 * link that dropped without a FIN), closed without a close handshake. */
static void keepalive(str_ws *ws, int64_t now)
{
    int64_t ping = (int64_t)ws->srv->cfg.ws_ping_s * LWS_US_PER_SEC;

    if (ws->close_code != 0 || ws->rx_held)
        return;
    if (now - ws->rx_us > 2 * ping + 5 * LWS_US_PER_SEC) {
        reg_of(ws->srv)->closed_silent++;
        /* Gone: no close frame (1006 is never sent), and no ws_close()
         * may put its longer deadline in place of this kill. */
        ws->close_code = 1006;
        lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (now - ws->rx_us > ping && now - ws->ping_us > ping) {
        ws->ping_us = now;
        ws->ping_due = true;
        lws_callback_on_writable(ws->wsi);
    }
}

/* The welcomed token or session, verified again every ws_reauth_s: a
 * station's token revoked (DELETE .../tokens closes those at once, see
 * str_ws_site_revoked(); `yunling token revoke` from here) or expired, a
 * person's session ended (sign-out, `yunling user disable`/`passwd`) or
 * expired: the channel is closed 4401, as HTTP refuses the same
 * credentials (within the token cache's 5 s). A catalog error keeps the
 * connection; it is checked again next time. */
static void reauth(str_ws *ws, int64_t now)
{
    str_server *srv = ws->srv;
    cat_token_info t;
    char msg[128];
    const char *code;
    int rc;

    ws->auth_us = now;
    if (ws->auth_token[0] != '\0') {
        /* The catalog itself, not the token cache: 16,000 stations every
         * ws_reauth s would churn the cache HTTP relies on. */
        memset(&t, 0, sizeof(t));
        rc = cat_tokens_verify(srv->rd, ws->auth_token, cat_now_ms(), &t);
        if (str_token_judge(rc, &t, &code, msg, sizeof(msg)) != 401)
            return;
    } else {
        char csrf[CAT_CSRF_LEN + 1];

        rc = cat_users_session_verify(srv->rd, ws->hdr_session, cat_now_ms(),
                                      &t, csrf);
        if (rc != YL_ENOTFOUND && !(rc == 0 && t.expired))
            return;
        snprintf(msg, sizeof(msg), "%s",
                 rc == 0 ? "the session has expired; sign in again"
                         : "the session has ended; sign in again");
    }
    reg_of(srv)->closed_auth++;
    YL_LOGI("str", "ws: %s %s closed: %s",
            ws->tok.role == CAT_ROLE_SITE ? "station" : "client", ws->tok.scope,
            msg);
    ws_close(ws, 4401, msg);
}

void str_ws_site_revoked(str_server *srv, const char *code)
{
    str_wsreg *g = reg_of(srv);

    if (g == NULL)
        return;
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next)
        if (ws->state == WS_READY && ws->close_code == 0 &&
            ws->tok.role == CAT_ROLE_SITE && strcmp(ws->tok.scope, code) == 0) {
            g->closed_auth++;
            YL_LOGI("str", "ws: station %s closed: its tokens were revoked",
                    code);
            ws_close(ws, 4401, "unknown or revoked token");
        }
}

void str_ws_tick(str_server *srv)
{
    str_wsreg *g = reg_of(srv);
    int64_t now = lws_now_usecs();
    reg_ent *e, *next;

    if (g == NULL)
        return;
    /* A fifth of the connections each tick, so each is checked once a
     * second (a hello deadline or a ping at most a second late): the walk
     * over all 16,000 every 200 ms held the loop ~8 ms each time (perf:
     * 4 % of the server's CPU while notices went out), a delay any HTTP
     * request arriving then waited out. */
    {
        int left = g->n / 5 + 1;
        str_ws *ws = g->tick_next != NULL ? g->tick_next : g->all;

        for (; ws != NULL && left > 0; ws = ws->next, left--) {
            if (ws->state == WS_HELLO && now > ws->hello_deadline_us)
                ws_close(ws, 4408, "no hello in time");
            if (ws->state == WS_READY && ws->close_code == 0 &&
                now - ws->auth_us >=
                    (int64_t)srv->cfg.ws_reauth_s * LWS_US_PER_SEC)
                reauth(ws, now);
            keepalive(ws, now);
        }
        g->tick_next = ws;
    }
    str_notices_flush(srv);
    if (now - g->seen_flush_us >= SEEN_FLUSH_US)
        seen_flush(srv, g);
    if (now - g->last_push_us < (int64_t)srv->cfg.ws_push_ms * 1000)
        return;
    g->last_push_us = now;
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next)
        if (ws->topics != 0 && ws->close_code == 0)
            push_deltas(ws, g);
    round_end(g);
    g->jobs_since_ms = cat_now_ms() - 10 * 1000;
    /* Regions nobody is in any more go once they were pushed as 0. */
    for (e = g->dirty, g->dirty = NULL; e != NULL; e = next) {
        next = e->dnext;
        e->dirty = false;
        e->dnext = NULL;
        if (e->online == 0) {
            reg_ent **pp = &g->regs[e->key % REG_BUCKETS];

            while (*pp != e)
                pp = &(*pp)->next;
            *pp = e->next;
            free(e);
        }
    }
}

int str_ws_count(str_server *srv)
{
    return reg_of(srv) != NULL ? reg_of(srv)->n : 0;
}

void str_ws_drain(str_server *srv)
{
    str_wsreg *g = reg_of(srv);

    if (g == NULL)
        return;
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next)
        ws_close(ws, 1001, "server restarting");
    /* Every station online now was seen now: the writer stops before
     * their connections' ends could be recorded. */
    for (int i = 0; i < SITE_BUCKETS; i++)
        for (site_ent *e = g->sites[i]; e != NULL; e = e->next)
            seen_note(srv, g, e->code);
    seen_flush(srv, g);
}

int str_ws_online(str_server *srv, const char *code)
{
    str_wsreg *g = reg_of(srv);
    reg_ent *e = g != NULL ? reg_get(g, code, "", false) : NULL;

    return e != NULL ? e->online : 0;
}

/* ---- notices pushed ---- */

static bool targeted(const char *site, const json_t *targets)
{
    const json_t *t;
    size_t i;

    json_array_foreach(targets, i, t)
    {
        const char *c = json_string_value(t);

        if (c != NULL && within(site, c))
            return true;
    }
    return false;
}

int str_ws_notice_sent(str_server *srv, int64_t id, str_fbuf *frame,
                       const json_t *targets)
{
    str_wsreg *g = reg_of(srv);
    int n = 0;

    if (g == NULL)
        return 0;
    nc_put(g, id, frame);
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next) {
        if (ws->site == NULL || ws->close_code != 0)
            continue;
        if (!targeted(ws->site->code, targets))
            continue;
        /* A connection still replaying older notices gets this one from
         * its replay, in order. */
        if (ws->replaying || id <= ws->replay_after)
            continue; /* its replay has it (hello after the commit) */
        ws_push(ws, frame);
        ws->sent[ws->nsent++ % 8] = id;
        ws->replay_after = id;
        n++;
    }
    g->notices_pushed += (uint64_t)n;
    str_fbuf_unref(g->bc_frame);
    g->bc_frame = n > 0 ? str_fbuf_ref(frame) : NULL;
    g->bc_id = id;
    g->bc_left = n;
    g->bc_queued_us = lws_now_usecs();
    /* Subscribers follow the newest notices: take the new one in. */
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next)
        if ((ws->topics & T_NOTICES) && ws->close_code == 0)
            ws_send(ws, notices_snapshot(ws), STR_FAN_LOW);
    return n;
}

void str_ws_notice_withdrawn(str_server *srv, int64_t id, const json_t *targets)
{
    str_wsreg *g = reg_of(srv);
    json_t *o;
    str_fbuf *b;

    if (g == NULL)
        return;
    nc_drop(g, id);
    o = json_pack("{s:s, s:I}", "type", "notice_withdrawn", "id",
                  (json_int_t)id);
    b = o ? fbuf_json(o, STR_FAN_HIGH) : NULL;
    json_decref(o);
    if (b == NULL)
        return;
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next)
        if (ws->site != NULL && targeted(ws->site->code, targets))
            ws_push(ws, b);
    str_fbuf_unref(b);
}

/* ---- meetings ---- */

void str_ws_meeting(str_server *srv, json_t *frame, const json_t *targets)
{
    str_wsreg *g = reg_of(srv);
    str_fbuf *b;

    if (g == NULL)
        return;
    b = fbuf_json(frame, STR_FAN_HIGH);
    if (b == NULL)
        return;
    for (str_ws *ws = g->all; ws != NULL; ws = ws->next)
        if (ws->site != NULL && ws->close_code == 0 &&
            targeted(ws->site->code, targets))
            ws_push(ws, b);
    str_fbuf_unref(b);
}

/* ---- set-up and /metrics ---- */

int str_ws_open(str_server *srv)
{
    srv->ws = calloc(1, sizeof(str_wsreg));
    if (srv->ws == NULL)
        return -ENOMEM;
    /* Pacing costs little on epoll; on poll() every round walks every
     * descriptor, so there it is only done when asked for. */
    if (srv->cfg.ws_pace >= 0)
        reg_of(srv)->pace = srv->cfg.ws_pace;
    else if (strcmp(srv->cfg.event_loop, "libuv") == 0)
        reg_of(srv)->pace = 1024;
    return 0;
}

void str_ws_close(str_server *srv)
{
    str_wsreg *g = reg_of(srv);

    if (g == NULL)
        return;
    /* lws_context_destroy() closed every connection (CLOSED freed each). */
    for (int i = 0; i < REG_BUCKETS; i++)
        while (g->regs[i] != NULL) {
            reg_ent *e = g->regs[i];

            g->regs[i] = e->next;
            free(e);
        }
    for (int i = 0; i < SITE_BUCKETS; i++)
        while (g->sites[i] != NULL) {
            site_ent *e = g->sites[i];

            g->sites[i] = e->next;
            free(e);
        }
    for (int i = 0; i < 256; i++)
        while (g->nc[i] != NULL)
            nc_drop(g, g->nc[i]->id);
    str_fbuf_unref(g->bc_frame);
    free(g->seen);
    free(g);
    srv->ws = NULL;
}

void str_ws_metrics(str_server *srv, yl_buf *b)
{
    str_wsreg *g = reg_of(srv);

    if (g == NULL)
        return;
    yl_buf_printf(
        b,
        "# HELP yunling_ws_connections Open websocket channel connections.\n"
        "# TYPE yunling_ws_connections gauge\n"
        "yunling_ws_connections %d\n"
        "# HELP yunling_ws_sites_online Distinct sites with a connection.\n"
        "# TYPE yunling_ws_sites_online gauge\n"
        "yunling_ws_sites_online %d\n"
        "# HELP yunling_ws_frames_total Websocket messages by direction.\n"
        "# TYPE yunling_ws_frames_total counter\n"
        "yunling_ws_frames_total{dir=\"in\"} %" PRIu64 "\n"
        "yunling_ws_frames_total{dir=\"out\"} %" PRIu64 "\n"
        "# HELP yunling_ws_welcomed_total Hellos answered with a welcome.\n"
        "# TYPE yunling_ws_welcomed_total counter\n"
        "yunling_ws_welcomed_total %" PRIu64 "\n"
        "# HELP yunling_ws_refused_total Hellos refused (4401, 4403).\n"
        "# TYPE yunling_ws_refused_total counter\n"
        "yunling_ws_refused_total %" PRIu64 "\n"
        "# HELP yunling_ws_closed_slow_total Clients closed for not "
        "reading (queue full).\n"
        "# TYPE yunling_ws_closed_slow_total counter\n"
        "yunling_ws_closed_slow_total %" PRIu64 "\n"
        "# HELP yunling_ws_closed_silent_total Clients closed for answering "
        "no ping (a link gone without a FIN).\n"
        "# TYPE yunling_ws_closed_silent_total counter\n"
        "yunling_ws_closed_silent_total %" PRIu64 "\n"
        "# HELP yunling_ws_closed_auth_total Clients closed because their "
        "token was revoked or expired, or their session ended.\n"
        "# TYPE yunling_ws_closed_auth_total counter\n"
        "yunling_ws_closed_auth_total %" PRIu64 "\n"
        "# HELP yunling_ws_dropped_total Subscription frames (deltas) "
        "dropped for room in a client's queue.\n"
        "# TYPE yunling_ws_dropped_total counter\n"
        "yunling_ws_dropped_total %" PRIu64 "\n"
        "# HELP yunling_ws_views_held_total Times a client's reading was held "
        "because 8 of its viewing batches were still being stored.\n"
        "# TYPE yunling_ws_views_held_total counter\n"
        "yunling_ws_views_held_total %" PRIu64 "\n"
        "# HELP yunling_ws_resyncs_total Subscribers sent whole snapshots "
        "again after a delta was dropped for room.\n"
        "# TYPE yunling_ws_resyncs_total counter\n"
        "yunling_ws_resyncs_total %" PRIu64 "\n"
        "# HELP yunling_ws_rate_limited_total Messages dropped by the "
        "per-connection rate limit.\n"
        "# TYPE yunling_ws_rate_limited_total counter\n"
        "yunling_ws_rate_limited_total %" PRIu64 "\n"
        "# HELP yunling_notices_pushed_total Notice frames pushed live.\n"
        "# TYPE yunling_notices_pushed_total counter\n"
        "yunling_notices_pushed_total %" PRIu64 "\n"
        "# HELP yunling_ws_paced_total Connections asked to write in turn "
        "(ws_pace) rather than at once.\n"
        "# TYPE yunling_ws_paced_total counter\n"
        "yunling_ws_paced_total %" PRIu64 "\n",
        g->n, g->sites_online, g->frames_in, g->frames_out, g->welcomed,
        g->hello_refused, g->closed_slow, g->closed_silent, g->closed_auth,
        g->dropped, g->views_held, g->resyncs, g->rate_limited,
        g->notices_pushed, g->paced);
}
