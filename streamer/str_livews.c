/* str_livews.c - the low-latency picture of a live meeting:
 * GET /ws/live/<id>?rung=360p&audio=bo&clock=1, MPEG-TS over a websocket
 * without subprotocol (what mpegts.js opens), one binary frame per chunk.
 *
 * live/ muxes a (rung, language) pair and copies its bytes only while it
 * has viewers (live_meeting_watch()), from a keyframe on. A chunk is copied
 * once into a shared buffer (str_fanout.h) on the streaming thread and posted
 * to the loop; here it is queued by reference on each viewer of that pair. Each
 * viewer's queue is bounded in bytes: when it is full, the viewer skips
 * what follows up to the next keyframe chunk (counted in /metrics); a new
 * viewer starts at a keyframe. A chunk that reaches the loop more than a
 * second after it was posted (the loop is behind) goes to nobody: its
 * viewers wait for a fresh keyframe (a gap, counted). Nothing here ever
 * waits for a viewer, so the pipeline and the other viewers go on.
 *
 * With clock=1 a text frame about once a second says which picture was
 * sent last and when it was captured: {"type":"clock","pts":ms,
 * "ingest_ms":ms}. mpegts.js's own loader fails on text frames, so only
 * clients that ask get them (the player's loader reads both).
 *
 * Threads: str_livews_chunk() runs on GStreamer streaming threads and only
 * copies and posts (str_outbox_post); everything else on the service
 * thread. */
#include "streamer/str_livews.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/yl_log.h"
#include "live/live.h"
#include "streamer/str_fanout.h"
#include "streamer/str_ws.h"

#define Q_BYTES      (512 * 1024) /* per viewer: about 1.5 s of 720p */
#define Q_N          2048
#define SNDBUF       (64 * 1024) /* the kernel holds little: drops show */
#define MAX_INFLIGHT 2048        /* chunks posted, not yet run: then a gap */
#define STALL_US     (30 * LWS_US_PER_SEC) /* skipping this long: close */
#define CLOCK_US     LWS_US_PER_SEC

/* Frames to one viewer per WRITEABLE, at most (a turn for the others). */
#define WRITES_PER_ROUND 8
/* A chunk that waited this long between the streaming thread and the loop
 * is stale: the loop is behind (2,000 viewers on a loaded machine left it
 * 40 s behind, within MAX_INFLIGHT). It is a gap for its viewers, who
 * wait for a fresh keyframe, so the loop catches up by dropping instead
 * of sending every viewer old picture. */
#define STALE_US (1 * LWS_US_PER_SEC)

typedef struct viewer viewer;

/* The viewers of one (meeting, output). Service thread. */
typedef struct group {
    int64_t id;
    int out;
    viewer *head;
    int n, nclock;
    int64_t clock_us; /* the last clock frame */
    bool stale;       /* dropping stale chunks (STALE_US) */
    struct group *next;
} group;

/* One connection (lws's per-session data). Service thread. */
struct viewer {
    struct lws *wsi;
    str_server *srv;
    group *g; /* NULL: not joined, or the meeting is gone */
    viewer *next, *prev;
    str_fanq q;
    bool qinit, clock, need_key, closing, skipping;
    int64_t skip_since_us;
};

typedef struct str_livews {
    group *groups;
    int viewers;
    unsigned gap_seen;
    uint64_t chunks, bytes_out, skips, dropped, gaps;
    const char *stall_file; /* getenv()'s (str_livews_tick()); NULL none */
} str_livews;

static str_livews *reg_of(str_server *srv)
{
    return srv->livews;
}

int str_livews_open(str_server *srv)
{
    const char *v = getenv("YL_LIVE_WS_TEST_STALL");

    srv->livews = calloc(1, sizeof(*srv->livews));
    atomic_init(&srv->livews_inflight, 0);
    atomic_init(&srv->livews_gap, 0);
    if (srv->livews == NULL)
        return -ENOMEM;
    if (v != NULL && v[0] == '/') {
        srv->livews->stall_file = v;
        YL_LOGW("str",
                "test only: the service loop stalls when %s appears "
                "(YL_LIVE_WS_TEST_STALL)",
                v);
    }
    return 0;
}

/* Test only: YL_LIVE_WS_TEST_STALL=PATH (an absolute path). When the file
 * PATH appears, the tick removes it and holds the service thread for the
 * milliseconds written in it (1..10000; 1500 when it holds no number), as
 * a loop that fell behind on a crowded machine would: the chunks posted
 * meanwhile reach it late, stale (STALE_US). For the test of the stale
 * drop (tests/streamer/t_live_ws_stall.sh). Never set in production. */
void str_livews_tick(str_server *srv)
{
    str_livews *lw = reg_of(srv);
    char text[16] = "";
    struct timespec ts;
    struct stat st;
    ssize_t got;
    long ms = 0;
    int fd;

    if (lw == NULL || lw->stall_file == NULL)
        return;
    /* Never blocks the loop on what the path is: a FIFO would block an
     * fopen(), a link could point anywhere. Only a regular file counts. */
    fd = open(lw->stall_file, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    got = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (got > 0) {
        text[got] = '\0';
        ms = strtol(text, NULL, 10);
    }
    unlink(lw->stall_file);
    if (ms < 1 || ms > 10000)
        ms = 1500;
    YL_LOGW("str", "test only: the service loop stalls for %ld ms", ms);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = ms % 1000 * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void str_livews_close(str_server *srv)
{
    str_livews *lw = srv->livews;
    group *g, *next;

    if (lw == NULL)
        return;
    for (g = lw->groups; g != NULL; g = next) {
        next = g->next;
        for (viewer *v = g->head; v != NULL; v = v->next)
            v->g = NULL;
        free(g);
    }
    free(lw);
    srv->livews = NULL;
}

/* ---- groups ---- */

static group *group_find(str_livews *lw, int64_t id, int out)
{
    for (group *g = lw->groups; g != NULL; g = g->next)
        if (g->id == id && g->out == out)
            return g;
    return NULL;
}

static void group_free(str_livews *lw, group *g)
{
    for (group **pp = &lw->groups; *pp != NULL; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    free(g);
}

/* Joins v to (id, out) and tells the pipeline. 0 or -ENOMEM. */
static int join(str_server *srv, viewer *v, int64_t id, int out,
                live_meeting *m)
{
    str_livews *lw = reg_of(srv);
    group *g = group_find(lw, id, out);

    if (g == NULL) {
        g = calloc(1, sizeof(*g));
        if (g == NULL)
            return -ENOMEM;
        g->id = id;
        g->out = out;
        g->next = lw->groups;
        lw->groups = g;
    }
    v->g = g;
    v->next = g->head;
    if (g->head != NULL)
        g->head->prev = v;
    g->head = v;
    g->n++;
    g->nclock += v->clock;
    lw->viewers++;
    live_meeting_watch(m, out, 1);
    return 0;
}

static void leave(str_server *srv, viewer *v)
{
    str_livews *lw = reg_of(srv);
    group *g = v->g;
    live_meeting *m;

    if (g == NULL || lw == NULL)
        return;
    if (v->prev != NULL)
        v->prev->next = v->next;
    else
        g->head = v->next;
    if (v->next != NULL)
        v->next->prev = v->prev;
    g->n--;
    g->nclock -= v->clock;
    lw->viewers--;
    m = str_meetings_pipeline(srv, g->id);
    if (m != NULL)
        live_meeting_watch(m, g->out, -1);
    if (g->n == 0)
        group_free(lw, g);
    v->g = NULL;
}

void str_livews_meeting_gone(str_server *srv, int64_t id)
{
    str_livews *lw = reg_of(srv);
    group *g, *next;

    if (lw == NULL)
        return;
    for (g = lw->groups; g != NULL; g = next) {
        next = g->next;
        if (g->id != id)
            continue;
        for (viewer *v = g->head; v != NULL; v = v->next) {
            v->g = NULL; /* its pipeline is gone: nothing to unwatch */
            v->closing = true;
            lw->viewers--;
            lws_callback_on_writable(v->wsi); /* a close frame, 1000 */
            /* A viewer whose socket stays full gets none: cut then. */
            lws_set_timeout(v->wsi, PENDING_TIMEOUT_USER_OK, 5);
        }
        group_free(lw, g);
    }
}

void str_livews_drain(str_server *srv)
{
    str_livews *lw = reg_of(srv);

    for (group *g = lw != NULL ? lw->groups : NULL; g != NULL; g = g->next)
        for (viewer *v = g->head; v != NULL; v = v->next) {
            v->closing = true; /* 1001 (srv->draining) from WRITEABLE */
            lws_callback_on_writable(v->wsi);
            lws_set_timeout(v->wsi, PENDING_TIMEOUT_USER_OK, 5);
        }
}

int str_livews_count(str_server *srv)
{
    return reg_of(srv) != NULL ? reg_of(srv)->viewers : 0;
}

/* ---- chunks: streaming thread → loop ---- */

typedef struct chunk_msg {
    str_msg base;
    str_server *srv;
    int64_t id;
    int out;
    bool key;
    unsigned gap;      /* srv->livews_gap when posted */
    int64_t posted_us; /* CLOCK_MONOTONIC when posted */
    int64_t pts_ms, ingest_ms;
    str_fbuf *b;
} chunk_msg;

static void chunk_free(str_msg *m)
{
    chunk_msg *c = (chunk_msg *)m;

    atomic_fetch_sub(&c->srv->livews_inflight, 1);
    str_fbuf_unref(c->b);
    free(c);
}

static void chunk_run(str_server *srv, str_msg *m);

/* CLOCK_MONOTONIC in µs, on any thread (lws_now_usecs() is the same
 * clock, but the streaming threads do not call lws). */
static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void str_livews_chunk(void *ud, int64_t id, int out, const live_chunk *lc)
{
    str_server *srv = ud;
    chunk_msg *c;

    /* The loop is behind: a gap, which every viewer skips to a key. */
    if (atomic_fetch_add(&srv->livews_inflight, 1) >= MAX_INFLIGHT)
        goto gap;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto gap;
    c->b = str_fbuf_new(lc->data, lc->len, STR_FAN_LOW, 1);
    if (c->b == NULL) {
        free(c);
        goto gap;
    }
    c->base.run = chunk_run;
    c->base.free_fn = chunk_free;
    c->srv = srv;
    c->id = id;
    c->out = out;
    c->key = lc->key;
    c->pts_ms = lc->pts_ms;
    c->ingest_ms = lc->ingest_ms;
    c->gap = atomic_load(&srv->livews_gap);
    c->posted_us = mono_us();
    str_outbox_post(srv, &c->base);
    return;
gap:
    atomic_fetch_sub(&srv->livews_inflight, 1);
    atomic_fetch_add(&srv->livews_gap, 1);
}

/* A chunk did not go to v: it waits for the next keyframe chunk. */
static void skip(str_livews *lw, viewer *v, int64_t now)
{
    lw->dropped++;
    if (!v->skipping) {
        v->skipping = true;
        v->skip_since_us = now;
        lw->skips++;
    } else if (now - v->skip_since_us > STALL_US && !v->closing) {
        /* Took nothing for 30 s: a link that is gone. Its socket is not
         * writeable, so no close frame: cut it. */
        v->closing = true;
        lws_set_timeout(v->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    v->need_key = true;
}

static void chunk_run(str_server *srv, str_msg *m)
{
    chunk_msg *c = (chunk_msg *)m;
    str_livews *lw = reg_of(srv);
    str_fbuf *clock = NULL;
    int64_t now = lws_now_usecs();
    group *g;

    if (lw == NULL || srv->ctx == NULL || !atomic_load(&srv->ctx_live))
        return;
    if (c->gap != lw->gap_seen) {
        /* Chunks were lost before the loop: every viewer resyncs. */
        lw->gap_seen = c->gap;
        lw->gaps++;
        for (g = lw->groups; g != NULL; g = g->next)
            for (viewer *v = g->head; v != NULL; v = v->next)
                v->need_key = true;
    }
    g = group_find(lw, c->id, c->out);
    if (g == NULL)
        return;
    lw->chunks++;
    if (mono_us() - c->posted_us > STALE_US) {
        if (!g->stale)
            lw->gaps++;
        g->stale = true;
        /* What is still queued is older yet: it goes too, and each
         * viewer starts again at the next fresh keyframe. */
        for (viewer *v = g->head; v != NULL; v = v->next) {
            lw->dropped += str_fanq_trim(&v->q);
            v->need_key = true;
        }
        return;
    }
    g->stale = false;
    if (g->nclock > 0 && c->pts_ms >= 0 && now - g->clock_us >= CLOCK_US) {
        char t[128];
        int n = snprintf(t, sizeof(t),
                         "{\"type\":\"clock\",\"pts\":%" PRId64
                         ",\"ingest_ms\":%" PRId64 "}",
                         c->pts_ms, c->ingest_ms);

        g->clock_us = now;
        if (n > 0 && n < (int)sizeof(t))
            clock = str_fbuf_new(t, (size_t)n, STR_FAN_LOW, 0);
    }
    for (viewer *v = g->head; v != NULL; v = v->next) {
        if (v->closing)
            continue;
        if (v->need_key && !c->key) {
            if (v->skipping)
                skip(lw, v, now);
            continue;
        }
        if (v->skipping) /* the stale backlog goes: on from this key */
            lw->dropped += str_fanq_trim(&v->q);
        if (str_fanq_push(&v->q, c->b) != STR_FANQ_OK) {
            skip(lw, v, now);
            continue;
        }
        v->need_key = false;
        v->skipping = false;
        if (clock != NULL && v->clock)
            str_fanq_push(&v->q, clock); /* dropped if no room: fine */
        lws_callback_on_writable(v->wsi);
    }
    str_fbuf_unref(clock);
}

/* ---- the upgrade (HTTP core) ---- */

/* "360p" → 360; -1 otherwise. */
static int rung_of(const char *s)
{
    char *end;
    long h = strtol(s, &end, 10);

    if (end == s || strcmp(end, "p") != 0 || h <= 0 || h > 4320)
        return -1;
    return (int)h;
}

/* The pairs a meeting has, for an error message: "360p/zh, 360p/bo". */
static void pairs_of(live_meeting *m, char *buf, size_t len)
{
    size_t at = 0;
    const char *lang;
    int rung;

    buf[0] = '\0';
    for (int i = 0; live_meeting_output_info(m, i, &rung, &lang) == 0; i++) {
        int n =
            snprintf(buf + at, len - at, "%s%dp/%s", i ? ", " : "", rung, lang);

        if (n < 0 || (size_t)n >= len - at)
            break;
        at += (size_t)n;
    }
}

int str_livews_upgrade(str_req *r, char *path, size_t pathlen)
{
    char rung_s[16] = "360p", lang[32] = "", clock[8] = "", pairs[256];
    const char *p = r->path + strlen("/ws/live/");
    const char *lang_i;
    live_meeting *m;
    char *end;
    int64_t id;
    int rung, out, rung_i, n;

    errno = 0;
    id = strtoll(p, &end, 10);
    if (end == p || *end != '\0' || id <= 0 || errno != 0)
        return str_reply_error(r, 404, "not_found",
                               "no live meeting at %s: want /ws/live/<id>",
                               r->path);
    if (str_req_hdr(r, "sec-websocket-protocol", pairs, sizeof(pairs)) != -1)
        return str_reply_error(r, 400, "bad_request",
                               "/ws/live takes no websocket subprotocol");
    if (r->srv->draining)
        return str_reply_error(r, 503, "unavailable", "the server is stopping");
    m = str_meetings_pipeline(r->srv, id);
    if (m == NULL)
        return str_reply_error(r, 404, "not_found",
                               "meeting %" PRId64 " is not live", id);
    if (str_req_query(r, "rung", rung_s, sizeof(rung_s)) == -2 ||
        (rung = rung_of(rung_s)) < 0)
        return str_reply_error(r, 400, "invalid",
                               "rung: want a height such as 360p");
    n = str_req_query(r, "audio", lang, sizeof(lang));
    if (n < -1)
        return str_reply_error(r, 400, "invalid",
                               "audio: want a language tag such as zh");
    if (n < 0)
        lang[0] = '\0';
    str_req_query(r, "clock", clock, sizeof(clock));
    if (lang[0] == '\0') /* the meeting's first language */
        for (int i = 0; live_meeting_output_info(m, i, &rung_i, &lang_i) == 0;
             i++)
            if (rung_i == rung) {
                snprintf(lang, sizeof(lang), "%s", lang_i);
                break;
            }
    out = live_meeting_output(m, rung, lang);
    if (out == -EAGAIN)
        return str_reply_error_hdrs(r, 503, "unavailable",
                                    "retry-after: 1\x0d\x0a",
                                    "meeting %" PRId64 " is starting", id);
    if (out == -ENODATA)
        return str_reply_error(r, 404, "not_found",
                               "meeting %" PRId64 " has no websocket stream "
                               "(its source has no sound): watch its live "
                               "HLS, /live/%" PRId64 "/master.m3u8",
                               id, id);
    if (out < 0) {
        pairs_of(m, pairs, sizeof(pairs));
        return str_reply_error(r, 400, "invalid",
                               "no rung %s with audio \"%s\" in meeting "
                               "%" PRId64 ": it has %s",
                               rung_s, lang, id, pairs);
    }
    /* What lws's side reads back in ESTABLISHED (one canonical form). */
    snprintf(path, pathlen, "/ws/live/%" PRId64 "/%d/%d", id, out,
             strcmp(clock, "1") == 0);
    return 0;
}

/* ---- the protocol (service thread) ---- */

static int established(struct lws *wsi, viewer *v)
{
    str_server *srv = lws_context_user(lws_get_context(wsi));
    char uri[96];
    long long id;
    int out, clock, one = SNDBUF;
    live_meeting *m;

    v->wsi = wsi;
    v->srv = srv;
    v->need_key = true;
    if (reg_of(srv) == NULL ||
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
        sscanf(uri, "/ws/live/%lld/%d/%d", &id, &out, &clock) != 3)
        return -1;
    m = str_meetings_pipeline(srv, id);
    if (m == NULL) { /* ended between the check and here */
        v->closing = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (str_fanq_init(&v->q, Q_N, Q_BYTES) < 0)
        return -1;
    v->qinit = true;
    v->clock = clock == 1;
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &one,
               sizeof(one));
    if (join(srv, v, id, out, m) < 0)
        return -1;
    YL_LOGI("str", "[meeting=%lld] websocket viewer of output %d (%d now)", id,
            out, v->g->n);
    return 0;
}

static int writeable(struct lws *wsi, viewer *v)
{
    str_livews *lw = reg_of(v->srv);
    str_fbuf *b;
    int n;

    if (v->closing) {
        static const char ended[] = "meeting ended", away[] = "server stopping";
        bool stopping = v->srv->draining && v->g != NULL;

        lws_close_reason(wsi,
                         stopping ? LWS_CLOSE_STATUS_GOINGAWAY
                                  : LWS_CLOSE_STATUS_NORMAL,
                         (unsigned char *)(stopping ? away : ended),
                         stopping ? sizeof(away) - 1 : sizeof(ended) - 1);
        return -1;
    }
    if (!v->qinit)
        return 0;
    /* A viewer that is behind (or a chunk with its clock frame) gets
     * several frames in one round, while the socket takes them whole:
     * each round otherwise costs a poll() over every descriptor. A frame
     * the socket takes only in part is finished by lws (its buflist),
     * after which lws_send_pipe_choked() says so and the rest waits. */
    for (int i = 0; i < WRITES_PER_ROUND; i++) {
        if ((b = str_fanq_peek(&v->q)) == NULL)
            return 0;
        if (i > 0 && lws_send_pipe_choked(wsi))
            break;
        n = lws_write(wsi, str_fbuf_data(b), b->len,
                      b->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < (int)b->len)
            return -1;
        if (lw != NULL)
            lw->bytes_out += b->len;
        str_fanq_pop(&v->q);
    }
    if (str_fanq_peek(&v->q) != NULL)
        lws_callback_on_writable(wsi);
    return 0;
}

int str_livews_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                  void *in, size_t len)
{
    viewer *v = user;

    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return established(wsi, v);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(wsi, v);
    case LWS_CALLBACK_RECEIVE:
        return 0; /* a viewer has nothing to say; pings are lws's */
    case LWS_CALLBACK_CLOSED:
        if (v->srv != NULL)
            leave(v->srv, v);
        if (v->qinit)
            str_fanq_fini(&v->q);
        v->qinit = false;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

size_t str_livews_size(void)
{
    return sizeof(viewer);
}

void str_livews_metrics(str_server *srv, yl_buf *b)
{
    str_livews *lw = reg_of(srv);

    if (lw == NULL)
        return;
    yl_buf_printf(
        b,
        "# HELP yunling_live_ws_viewers Websocket viewers of live "
        "meetings now.\n"
        "# TYPE yunling_live_ws_viewers gauge\n"
        "yunling_live_ws_viewers %d\n"
        "# HELP yunling_live_ws_chunks_total MPEG-TS chunks from the "
        "pipelines.\n"
        "# TYPE yunling_live_ws_chunks_total counter\n"
        "yunling_live_ws_chunks_total %" PRIu64 "\n"
        "# HELP yunling_live_ws_bytes_total Bytes sent to websocket "
        "viewers.\n"
        "# TYPE yunling_live_ws_bytes_total counter\n"
        "yunling_live_ws_bytes_total %" PRIu64 "\n"
        "# HELP yunling_live_ws_skips_total Times a slow viewer fell "
        "behind and skipped to the next keyframe.\n"
        "# TYPE yunling_live_ws_skips_total counter\n"
        "yunling_live_ws_skips_total %" PRIu64 "\n"
        "# HELP yunling_live_ws_dropped_total Chunks not sent to a "
        "viewer while it skipped.\n"
        "# TYPE yunling_live_ws_dropped_total counter\n"
        "yunling_live_ws_dropped_total %" PRIu64 "\n"
        "# HELP yunling_live_ws_gaps_total Times the loop fell behind "
        "the pipelines and every viewer skipped to a keyframe.\n"
        "# TYPE yunling_live_ws_gaps_total counter\n"
        "yunling_live_ws_gaps_total %" PRIu64 "\n",
        lw->viewers, lw->chunks, lw->bytes_out, lw->skips, lw->dropped,
        lw->gaps);
}
