/* cat_jobs.h - transcode jobs persisted in SQLite. States: queued ->
 * running -> done | failed; a queued or running job whose lesson is
 * deleted becomes cancelled (cat_lessons_delete), and no report of the
 * runner changes it any more. The job runner thread (streamer) claims a job,
 * runs `yunling transcode --progress json` as a child process, reports
 * progress, then finishes (publishing the lesson) or fails it. A failed
 * attempt goes back to "queued" until it has failed job_max_attempts times
 * (config, default 3); then it stays "failed" with the last reason.
 *
 * Job JSON (GET /api/v1/jobs/{id}):
 *   {"id": 3, "lesson": 7, "state": "running", "progress": 0.42,
 *    "error": null, "attempts": 1, "created_ms": ..., "updated_ms": ...}
 * Claimed job JSON (res->json of a claim): the above plus
 *   "dir": "<uploads>/3", "inputs": {...as given at create...}
 *
 * Threads: reads on the owner's connection; writes through the writer. */
#ifndef YL_CAT_JOBS_H
#define YL_CAT_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_writer.h"

enum cat_job_state {
    CAT_JOB_QUEUED = 0,
    CAT_JOB_RUNNING = 1,
    CAT_JOB_DONE = 2,
    CAT_JOB_FAILED = 3,
    CAT_JOB_CANCELLED = 4,
    CAT_JOB_NSTATES = 5,
};

const char *cat_job_state_name(int state); /* "queued" ... */

/* The job's JSON. YL_ENOTFOUND. */
int cat_jobs_get(cat_db *db, int64_t id, json_t **out);

/* Writer connection. Takes the oldest queued job whose retry time has
 * come: state running, attempts + 1. Sets *job (caller owns) to the
 * claimed job JSON, or returns YL_ENOTFOUND when nothing is ready. */
int cat_jobs_claim(cat_db *db, json_t **job);
/* Same through the writer: res->id is the job id and res->json the claimed
 * job, or rc YL_ENOTFOUND. */
int cat_jobs_claim_submit(cat_writer *w, cat_write_done done, void *ud);

/* Writer connection: progress 0..1 of a running job. */
int cat_jobs_progress(cat_db *db, int64_t id, double progress);
int cat_jobs_progress_submit(cat_writer *w, int64_t id, double progress,
                             cat_write_done done, void *ud);

/* Writer connection: a running job finished; publishes its lesson with meta
 * (lesson.json, borrowed; see cat_lessons_meta_load) in the same
 * transaction. */
int cat_jobs_finish(cat_db *db, int64_t id, const json_t *meta);
/* Takes ownership of meta, even on error. */
int cat_jobs_finish_submit(cat_writer *w, int64_t id, json_t *meta,
                           cat_write_done done, void *ud);

/* Writer connection: an attempt failed with reason (one line, e.g. the
 * transcoder's error message). Requeues it while attempts < max_attempts,
 * not to be claimed before retry_delay_ms x 2^(attempts - 1) from now
 * (the job's "retry_at_ms"); else the job and its lesson become "failed".
 * *final (may be NULL) is set to 1 when the job stays failed. */
int cat_jobs_fail(cat_db *db, int64_t id, const char *reason, int max_attempts,
                  int64_t retry_delay_ms, int *final);
int cat_jobs_fail_submit(cat_writer *w, int64_t id, const char *reason,
                         int max_attempts, int64_t retry_delay_ms,
                         cat_write_done done, void *ud);

/* Writer connection: an administrator asks for a failed job again (the
 * console's 重试). It goes back to "queued" with its attempts reset and
 * its lesson to "pending"; res->id is the lesson. YL_ENOTFOUND for no such
 * job, YL_EINVAL when it is not failed. */
int cat_jobs_retry(cat_db *db, int64_t id, int64_t *lesson);
int cat_jobs_retry_submit(cat_writer *w, int64_t id, cat_write_done done,
                          void *ud);

/* Writer connection, at server start: jobs left "running" by a previous
 * process go back to "queued"; the interrupted attempt is not counted.
 * Returns the number requeued or a negative code. */
int cat_jobs_recover(cat_db *db);
int cat_jobs_recover_submit(cat_writer *w, cat_write_done done, void *ud);

/* Writer connection: which upload dirs (DATA/uploads/<job-id>) may go.
 * ids: a JSON array of job ids found there (borrowed). *remove (caller
 * owns) gets the array of those whose job is done or cancelled (the
 * sources are no longer needed), failed for keep_ms or longer before now_ms
 * (kept until then so the job can be retried), or unknown (an upload whose
 * create never committed). Run through the writer, so a dir renamed in by a
 * create that commits later is never judged on a half-done state. */
int cat_jobs_sources_expired(cat_db *db, const json_t *ids, int64_t now_ms,
                             int64_t keep_ms, json_t **remove);
/* Takes ownership of ids, even on error; res->json is the array. */
int cat_jobs_sources_expired_submit(cat_writer *w, json_t *ids, int64_t keep_ms,
                                    cat_write_done done, void *ud);

/* Reader. Jobs queued or running, or changed after since_ms, newest
 * first (at most 50), of lessons owned within region (NULL: all):
 * [{"id","lesson","state","progress","error","updated_ms"}]. */
int cat_jobs_recent(cat_db *db, const char *region, int64_t since_ms,
                    json_t **out);

/* Jobs per state (for /metrics). counts has CAT_JOB_NSTATES entries. */
int cat_jobs_counts(cat_db *db, int64_t counts[CAT_JOB_NSTATES]);

#endif
