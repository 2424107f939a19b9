/* cat_stats.h - viewing statistics for the API and the wall display.
 *
 * Date ranges: from/to are "YYYY-MM-DD" CST days, both inclusive; NULL to
 * means today, NULL from means to - 29 days. At most 366 days.
 *
 * /stats/now:
 *   {"region": {"code","name","level"}, "at_ms": ..., "window_s": 60,
 *    "active_sessions": N, "active_sites": M,
 *    "items": [{"code","name","level","active_sessions","active_sites"}],
 *    "lessons": [{"lesson","sessions","langs": {TAG: n}}],
 *    "starts": [{"site","place","lesson","audio","at_ms"}]}
 *   one item per child region (zeros included), in code order; the top 5
 *   lessons watched now with their sessions per audio language; the 10
 *   latest session starts within the region, newest first.
 * /stats/ranking:
 *   {"region": {...}, "from": "2026-02-01", "to": "2026-04-30",
 *    "items": [{"rank": 1, "code","name","level", "sites": S,
 *               "active_sites": A, "active_share": A/S,
 *               "watch_hours": H, "watch_hours_per_site": H/S,
 *               "sessions": N, "completions": C, "completion_rate": C/N}]}
 *   every child region, ranked by watch_hours_per_site (then code). "sites"
 *   are the stations (townships + villages) of the child; active ones had
 *   at least one event in the range. "sessions" started in the range;
 *   "completions" are those of them that reached 90% (cat_views.h).
 * /stats/sites/{code}:
 *   {"site": {site JSON of cat_sites_get}, "from", "to",
 *    "totals": {"watch_hours","sessions","completions","completion_rate",
 *               "active_days"},
 *    "days": [{"day": "2026-04-01", "watch_hours", "sessions",
 *              "completions"}]            (days with activity only)
 *    "lessons": [{"lesson": 7, "title": "...", "watch_hours", "sessions",
 *                 "completions"}]}        (top 50 by watch hours)
 *   any region code works too (its whole subtree).
 *
 * Threads: cat_stats_now reads the writer's in-memory active view under its
 * lock (any thread, no SQLite); the others run on a reader's thread. */
#ifndef YL_CAT_STATS_H
#define YL_CAT_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_writer.h"

/* region NULL means the single province. now_ms: the clock (cat_now_ms()
 * in the server; fixed in tests). YL_ENOTFOUND for an unknown region. */
int cat_stats_now(cat_writer *w, const char *region, int64_t now_ms,
                  json_t **out);
/* The same; depth 2 adds "grandchildren": every child's items in one
 * array, in code order (a province's wall colours its counties). */
int cat_stats_now_depth(cat_writer *w, const char *region, int depth,
                        int64_t now_ms, json_t **out);

/* After cat_stats_now() said YL_ENOTFOUND: if region is in the sites
 * table as rd sees it (imported while the server runs), reloads the active
 * view's site tree from rd and returns 1 (ask again); 0 when the region is
 * unknown there too; a negative yl error. The caller's thread, rd's
 * owner; the reload reads the whole sites table (~30 ms at province
 * scale), so callers limit how often they try. */
int cat_stats_now_refresh(cat_writer *w, cat_db *rd, const char *region);

/* YL_ENOTFOUND (region), YL_EINVAL (dates; cat_db_errmsg names the
 * parameter). */
int cat_stats_ranking(cat_db *db, const char *region, const char *from,
                      const char *to, int64_t now_ms, json_t **out);

int cat_stats_site(cat_db *db, const char *code, const char *from,
                   const char *to, int64_t now_ms, json_t **out);

/* Watch hours credited today (CST) in region code (its whole subtree),
 * from the daily roll-up: one indexed row. Any thread with its own
 * connection. 0 or a negative yl code (an unknown code counts 0). */
int cat_stats_hours_today(cat_db *db, const char *code, int64_t now_ms,
                          double *hours);

#endif
