/* cat_views.h - viewing events (docs/api.md, POST /api/v1/views) into sessions
 * and daily rollups.
 *
 * Flow in the server: the lws service thread parses the body with
 * cat_views_parse() (shape, types, limit, token scope: no DB access), then
 * hands the batch to the writer with cat_views_submit(); the writer checks
 * sites and lessons, stores the events and updates sessions and rollups in
 * the same transaction, commits, and calls done with accepted/duplicates.
 * Answer {"accepted": N, "duplicates": M} from that callback.
 *
 * Rules (docs/api.md repeats them):
 * - A batch is all or nothing: any invalid event rejects the whole batch
 *   with a message naming the index and field ("events[3].lesson: unknown
 *   lesson 99"). Nothing of a rejected batch is stored.
 * - A site token may report only its own site: an event naming another site
 *   rejects the whole batch (YL_EFORBIDDEN).
 * - Idempotent on (session, seq): a repeated pair is counted in duplicates
 *   and changes nothing.
 * - A session belongs to one site and one lesson; an event naming another
 *   site or lesson for a known session is invalid.
 * - Sites must be stations (township or village).
 * - Watched seconds (docs/api.md "Watch credit"): each event after the
 *   session's first claims min(t - t_prev, 20 s), t its ts (client clock,
 *   ms) or, when absent, the server receipt time, t_prev that of the
 *   session's previous event (highest seq so far); a late event (lower
 *   seq) claims nothing. What is credited is bounded by the server's
 *   clock: a session's credit never exceeds its span between first and
 *   latest receipt, plus min(span, 20 s), plus what it drew from its
 *   station's backlog (the silence before the station's latest contact,
 *   offered once, held 10 min, shared by its sessions). Claims over the
 *   bound wait for the span to grow; a session cut by it is flagged
 *   (sessions.capped, yunling_view_credit_capped_total). A ts more than
 *   2 min ahead of the receipt is refused (YL_EINVAL, "events[i].ts").
 *   Positions never credit time.
 * - Completion: the furthest position reaches 90% of the lesson's duration
 *   (an "end" at >= 90% is a special case), counted once per session.
 * - Days (rollups, activity) are the CST day of the server receipt time;
 *   a session counts on the day of its first event, and so does its
 *   completion (so completions / sessions <= 1 for any range). Watched
 *   seconds go to the day each event was received.
 * - Lessons that were deleted still accept events (history is kept).
 * - Kind live (meeting attendance, cat_attend.h): an event may name
 *   "meeting" instead of "lesson" (exactly one). It rides in the same
 *   batch, validation and transaction, but is checked and stored by
 *   cat_attend.c (a started meeting sent to the event's site; one session
 *   per device; no holes: a seq at or below the highest is a duplicate)
 *   and touches no lesson rollup, activity or active view.
 * - Active (cat_stats_now): the session's newest event was committed within
 *   active_window_s (commit follows receipt by the writer's queueing,
 *   milliseconds) and it was not an "end". */
#ifndef YL_CAT_VIEWS_H
#define YL_CAT_VIEWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_writer.h"

typedef struct cat_view_batch cat_view_batch; /* opaque: parsed events */

/* Any thread, no DB. Parses {"events": [...]} into *out (caller owns).
 * site_scope: NULL for an admin token (any site), else the site token's
 * code. max_events: the batch limit (cat_config.max_batch_events). recv_ms:
 * server receipt time stamped on every event. Returns 0, YL_EINVAL (shape or
 * type; err names "events[i].field"), YL_ETOOBIG (over max_events; 413),
 * YL_EFORBIDDEN (an event for another site than site_scope). */
int cat_views_parse(const json_t *body, const char *site_scope, int max_events,
                    int64_t recv_ms, cat_view_batch **out, char *err,
                    size_t errlen);

int cat_view_batch_count(const cat_view_batch *b);
/* The client's network address for every event of b (sessions.addr, the
 * latest a session reported from). Any thread, before submitting. */
void cat_view_batch_set_addr(cat_view_batch *b, const char *addr);
void cat_view_batch_free(cat_view_batch *b); /* NULL is a no-op */

/* Any thread. Queues b for the writer; takes ownership of b even on error.
 * done reports accepted/duplicates, or YL_EINVAL with res->error. */
int cat_views_submit(cat_writer *w, cat_view_batch *b, cat_write_done done,
                     void *ud);

/* Writer connection without a writer thread (tests, benchmarks, tools):
 * applies b in its own transaction (or the open one). b stays the caller's.
 * Returns 0 and the counts, or YL_EINVAL with cat_db_errmsg(db). */
int cat_views_apply(cat_db *db, const cat_view_batch *b, int *accepted,
                    int *duplicates);

#endif
