/* cat_meetings.h - live meetings: what is sent where, from which source,
 * and in which state (scheduled → live → ended, or failed).
 *
 * Targets are region or site codes as for notices (cat_notices.h); each
 * expands to the stations below it, stored one row per station
 * (meeting_sites) for "the meeting of this site now" and attendance.
 *
 * Threads: functions taking cat_db run on the thread that owns it; the
 * *_submit functions on any thread. */
#ifndef YL_CAT_MEETINGS_H
#define YL_CAT_MEETINGS_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_writer.h"

#define CAT_MEETING_TITLE_MAX  200 /* characters */
#define CAT_MEETING_SOURCE_MAX 1024
#define CAT_MEETING_AUDIO_MAX  4 /* declared audio tracks (live.h's too) */

/* Checks a POST /api/v1/meetings body: title (one line), starts_at
 * (optional ISO 8601 text), targets (non-empty array of division codes),
 * source (a string; its URI is checked by live/), audio (optional, see
 * cat_meetings_audio()). 0, or YL_EINVAL with the field named in err.
 * Pure. */
int cat_meetings_check(const json_t *in, char *err, size_t errlen);

/* The declared audio tracks of a meeting body's "audio" (NULL or JSON
 * null: none, *out NULL): an array of 1..CAT_MEETING_AUDIO_MAX elements,
 * each a BCP-47 tag or {"lang": TAG, "source": URI} (an interpreter's own
 * feed; its URI is checked by live/). Sets *out (caller decrefs) to the
 * same list with every tag normalised (cat_lang_normalize(): bod -> bo)
 * and objects reduced to those two keys. YL_EINVAL with the element named
 * in err ("audio[1]: ...") for a wrong type, a malformed tag, a language
 * given twice, too many elements or an unknown key. Pure. */
int cat_meetings_audio(const json_t *audio, json_t **out, char *err,
                       size_t errlen);

/* Through the writer: stores the meeting (in is copied) owned by region
 * owner, with a row per station below its targets. res->id is its id,
 * res->accepted the number of stations, res->json the meeting
 * (cat_meetings_get's form). YL_EINVAL for an unknown target or targets
 * reaching no station. */
int cat_meetings_create_submit(cat_writer *w, const json_t *in,
                               const char *owner, int64_t token_id,
                               cat_write_done done, void *ud);

/* Through the writer: moves meeting id to state ("live", "ended",
 * "failed"; error is kept for "failed", may be NULL). Allowed: scheduled,
 * failed → live; live → ended, failed. res->json is the meeting after the
 * change. YL_ENOTFOUND for an unknown id, YL_EEXIST when the move is not
 * allowed (res->error says the current state). */
int cat_meetings_set_state_submit(cat_writer *w, int64_t id, const char *state,
                                  const char *error, cat_write_done done,
                                  void *ud);

/* Through the writer: what became of meeting id's recording when it
 * stopped. state "job" with ln: creates ln's lesson and transcode job
 * (cat_lessons_create: ln->staged_dir, the recording, becomes the job's
 * directory) and stores both ids on the meeting, in one transaction;
 * res->id is the lesson, res->job_id the job. Else ln is NULL and state
 * says why there is none: "none" (nothing recorded), "off" (recording
 * off), "lost" (the lesson could not be made). YL_EINVAL for another
 * state, YL_ENOTFOUND for no such meeting. */
int cat_meetings_record_submit(cat_writer *w, int64_t id, const char *state,
                               const cat_lesson_new *ln, cat_write_done done,
                               void *ud);

/* Reader. The meeting as JSON {"id","title","starts_at","source",
 * "audio" (cat_meetings_audio()'s list, or
 * null),"targets","owner","state","error","n_sites","created_ms","started_ms",
 * "ended_ms","hls","ws","recording"} into *out (caller decrefs), or
 * YL_ENOTFOUND. "recording" is null until the meeting ended once, then
 * {"lesson": id|null, "job": id|null, "state": the job's state, or
 * "none", "off", "lost" when there is no job}. */
int cat_meetings_get(cat_db *db, int64_t id, json_t **out);

/* Reader. The live meeting sent to site (the latest started), or *out
 * NULL when there is none. 0 or a negative yl code. */
int cat_meetings_current(cat_db *db, const char *site, json_t **out);

/* Reader. The newest meetings (at most limit) owned by a region within
 * region or sent to a station within it, as a JSON array of
 * cat_meetings_get's form, into *out (caller decrefs). */
int cat_meetings_list(cat_db *db, const char *region, int limit, json_t **out);

/* Reader. Ids of meetings in state "live" (at most max): those a restart
 * found live. Returns how many, or a negative yl code. */
int cat_meetings_live_ids(cat_db *db, int64_t *ids, int max);

#endif
