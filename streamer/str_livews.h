/* str_livews.h - /ws/live/<id>: a live meeting's MPEG-TS over a websocket
 * for browsers (mpegts.js), fanned out by reference from the pipeline's
 * muxes. Folder-private. Service thread unless a comment says otherwise. */
#ifndef YL_STR_LIVEWS_H
#define YL_STR_LIVEWS_H

#include <stddef.h>
#include <stdint.h>

#include "common/yl_buf.h"
#include "live/live.h"
#include "streamer/str_internal.h"

/* Sets up / frees the viewers' registry (srv->livews). */
int str_livews_open(str_server *srv);
void str_livews_close(str_server *srv);

/* An upgrade to /ws/live/<id>: checks the meeting, rung and audio and
 * answers the HTTP error itself (404 not live, 400 unknown pair, 503
 * starting), returning what the callback returns; or returns 0 with the
 * canonical path lws is handed (path, at least 64 bytes). */
int str_livews_upgrade(str_req *r, char *path, size_t pathlen);

/* The lws protocol of the viewers (chosen for upgrades without a
 * subprotocol) and its per-session size. */
int str_livews_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                  void *in, size_t len);
size_t str_livews_size(void);
/* The protocol's tx_packet_size: the most one send() of a viewer carries
 * (lws buffers the rest). Above any chunk live/ makes, so a frame is one
 * send() whenever the socket has room for it. */
#define STR_LIVEWS_TX (256 * 1024)

/* live_opts.chunk: a GStreamer streaming thread. Copies the chunk once
 * into a shared buffer and posts it to the loop; never blocks. ud: srv. */
void str_livews_chunk(void *ud, int64_t id, int out, const live_chunk *c);

/* Meeting id's pipeline is going away: its viewers are closed (1000). */
void str_livews_meeting_gone(str_server *srv, int64_t id);

/* SIGTERM: every viewer is closed (1001, going away; cut after 5 s when
 * its socket stays full). */
void str_livews_drain(str_server *srv);
/* Viewers connected now (the drain waits for none). */
int str_livews_count(str_server *srv);

/* The server's tick (every 200 ms): the test-only loop stall
 * (YL_LIVE_WS_TEST_STALL, str_livews.c); nothing otherwise. */
void str_livews_tick(str_server *srv);

/* Appends the /metrics lines to b. */
void str_livews_metrics(str_server *srv, yl_buf *b);

/* ---- str_meetings.c ---- */
/* The running pipeline of meeting id (not stopping), or NULL. */
struct live_meeting *str_meetings_pipeline(str_server *srv, int64_t id);

#endif
