/* cat_attend.h - attendance of live meetings (issue 13): per targeted
 * station, when it joined and left, how long it watched and on how many
 * devices, from view events of kind live (an event naming "meeting"
 * instead of "lesson", cat_views.h and docs/api.md); and the headcount a
 * cadre enters ("到会人数").
 *
 * Threads: functions taking cat_db run on the thread that owns it (a
 * reader); *_submit on any thread. */
#ifndef YL_CAT_ATTEND_H
#define YL_CAT_ATTEND_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_writer.h"

#define CAT_HEADCOUNT_MAX 10000

/* Checks a POST /api/v1/meetings/{id}/headcount body {"site": CODE,
 * "count": N}: a station code and an integer 0..CAT_HEADCOUNT_MAX. Copies
 * the site into site (>= 16 bytes) and the count. 0, or YL_EINVAL with
 * the field named in err. Pure. */
int cat_attend_headcount_check(const json_t *in, char *site, size_t sitelen,
                               int *count, char *err, size_t errlen);

/* Through the writer: sets the headcount of station site for meeting id.
 * YL_ENOTFOUND for an unknown meeting, YL_EINVAL when the meeting is not
 * sent to site. res->json is the station's row (cat_attend_report's
 * "sites" form). */
int cat_attend_headcount_submit(cat_writer *w, int64_t id, const char *site,
                                int count, cat_write_done done, void *ud);

/* Reader. Totals of meeting id over the stations within region:
 * {"targeted","attended","share","watched_s","devices","headcount",
 * "headcount_sites"} into *out (caller decrefs). share is attended /
 * targeted (0 when nothing is targeted); headcount is the sum over the
 * stations that entered one (headcount_sites of them). */
int cat_attend_totals(cat_db *db, int64_t id, const char *region, json_t **out);

/* Reader. {"meeting": id, "region", "totals" (as above), "children":
 * [{"code","name","targeted","attended","share","watched_h",
 * "headcount"}] per child region of region with targeted stations} and,
 * when sites, "sites": [{"code","name","joined_ms","left_ms",
 * "watched_s","devices","headcount"}] of every targeted station within
 * region (null where none). YL_ENOTFOUND for an unknown meeting. */
int cat_attend_report(cat_db *db, int64_t id, const char *region, bool sites,
                      json_t **out);

/* Reader. The live meeting sent to stations within region (the latest
 * started) with {"id","title","targeted","attended","share"} over those
 * stations, or *out NULL when none runs. For the wall's pushed figures. */
int cat_attend_live(cat_db *db, const char *region, json_t **out);

#endif
