/* str_ws.h - the websocket channel at /ws (subprotocol yunling.v1) and the
 * notices that ride on it, as the rest of streamer/ sees them.
 * Folder-private. Service thread only unless a comment says otherwise.
 *
 * The HTTP core (str_conn.c) frames every request itself; an upgrade to
 * /ws is handed to lws (str_ws_handoff), which does the websocket
 * handshake and framing and calls str_ws_cb for the protocol. */
#ifndef YL_STR_WS_H
#define YL_STR_WS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/yl_buf.h"
#include "streamer/str_fanout.h"
#include "streamer/str_internal.h"

#define STR_WS_PROTOCOL "yunling.v1"

/* Sets up / frees the channel's registry (srv->ws). */
int str_ws_open(str_server *srv);
void str_ws_close(str_server *srv);

/* The lws callback of protocol yunling.v1 and its per-session size. */
int str_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
              void *in, size_t len);
size_t str_ws_size(void);

/* An upgrade request for /ws whose head the HTTP core has parsed: checks
 * it (0 to hand over, or an HTTP status with the reason in *why) ... */
int str_ws_upgrade_check(str_req *r, const char **why);
/* ... and hands the connection to lws: fd is dup'ed, head (a rebuilt
 * request head, at most 2 KB) is what lws parses first. 0; -EMFILE (or
 * -ENFILE) when no descriptor was left for the dup, fd untouched; -1 when
 * lws refused (the dup is closed). */
int str_ws_handoff(str_server *srv, int fd, const char *head, size_t len);

/* About every 200 ms (str_server.c's tick): hello deadlines, receipts to
 * the writer, subscription deltas. */
void str_ws_tick(str_server *srv);
/* After each loop round: the next ws_pace connections with frames
 * queued by a broadcast are asked for WRITEABLE (when ws_pace > 0: by
 * default on libuv only; see str_ws.c's pace_want()). */
void str_ws_round(str_server *srv);
/* SIGTERM: every channel connection is closed (1001, going away). */
void str_ws_drain(str_server *srv);
/* Distinct stations online now at or below code (a site or a region). */
int str_ws_online(str_server *srv, const char *code);
/* Channel connections open now. */
int str_ws_count(str_server *srv);
/* Service thread: site code's tokens were revoked; its open channels are
 * closed 4401 now (other revocations: within ws_reauth_s). */
void str_ws_site_revoked(str_server *srv, const char *code);

/* A viewing batch sent over the channel was answered (the writer
 * committed it, or checking refused it). Called for a serial that no HTTP
 * request waits for; unknown serials are ignored. */
void str_ws_views_answer(str_server *srv, uint64_t serial, int rc,
                         const char *code, const char *msg, int accepted,
                         int duplicates);

/* A notice was stored: frame is its "notice" frame (a reference is
 * taken), targets its target codes. Pushes it to every connected site
 * below a target. Returns how many connections it was queued for. */
int str_ws_notice_sent(str_server *srv, int64_t id, str_fbuf *frame,
                       const json_t *targets);
/* A notice was withdrawn: its sites are told to remove it. */
void str_ws_notice_withdrawn(str_server *srv, int64_t id,
                             const json_t *targets);

/* A meeting went live or ended: frame (a "meeting" message; borrowed) is
 * encoded once and pushed to every connected site below targets. */
void str_ws_meeting(str_server *srv, json_t *frame, const json_t *targets);

/* Receipts that changed a row (the writer committed them): moves the
 * counts of "notices" subscribers. rows[i].state is what changed. */
struct cat_notice_ack;
void str_ws_receipts(str_server *srv, const struct cat_notice_ack *rows, int n);

/* Appends the channel's /metrics lines to b (nothing before it opens). */
void str_ws_metrics(str_server *srv, yl_buf *b);

/* ---- str_meetings.c: live meetings over REST, their pipelines ---- */
int str_meetings_post(str_req *r);      /* POST /api/v1/meetings: head */
int str_meetings_post_body(str_req *r); /* ... its body is whole */
int str_meetings_get(str_req *r);       /* GET /api/v1/meetings/{id} */
int str_meetings_list(str_req *r);      /* GET /api/v1/meetings */
int str_meetings_current(str_req *r);   /* GET /api/v1/meetings/current */
int str_meetings_start(str_req *r);     /* POST .../meetings/{id}/start */
int str_meetings_stop(str_req *r);      /* POST .../meetings/{id}/stop */
/* GET .../meetings/{id}/attendance[?region=&sites=1&format=csv] */
int str_meetings_attendance(str_req *r);
int str_meetings_headcount(str_req *r);      /* POST .../{id}/headcount */
int str_meetings_headcount_body(str_req *r); /* ... its body is whole */
int str_live_files(str_req *r);              /* GET /live/<id>/<file> */
/* The i-th running meeting (not stopping): its "meeting" frame (state
 * live) and targets, borrowed; false past the last. For a site that says
 * hello during a meeting. */
bool str_meetings_nth(str_server *srv, int i, const json_t **frame,
                      const json_t **targets);
/* After the catalog is open: restarts the pipelines of meetings the
 * catalog says are live (a restart of the server). Never fails. */
void str_meetings_open(str_server *srv);
/* Stops every pipeline and waits for their threads (before lws goes). */
void str_meetings_close(str_server *srv);
/* Appends the meetings' lines of /metrics (pipeline rebuilds) to b. */
void str_meetings_metrics(str_server *srv, yl_buf *b);

/* ---- str_notices.c: the REST side of notices ---- */
int str_notices_post(str_req *r);      /* POST /api/v1/notices: head */
int str_notices_post_body(str_req *r); /* ... its body is whole */
int str_notices_list(str_req *r);      /* GET /api/v1/notices */
int str_notices_get(str_req *r);       /* GET /api/v1/notices/{id} */
int str_notices_read(str_req *r);      /* POST /api/v1/notices/{id}/read */
int str_notices_withdraw(str_req *r);  /* DELETE /api/v1/notices/{id} */
int str_attach_post(str_req *r);       /* POST /api/v1/attachments: head */
int str_attach_post_body(str_req *r);  /* ... its body is whole */
int str_attach_get(str_req *r);        /* GET /api/v1/attachments/{id} */
/* Receipts from the channel or REST go through one batch to the writer:
 * queues one (site, notice, state); sent on the next tick. */
void str_notices_ack(str_server *srv, const char *site, int64_t notice,
                     int state);
/* The tick: submits queued receipts. */
void str_notices_flush(str_server *srv);

#endif
