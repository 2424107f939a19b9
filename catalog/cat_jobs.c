/* cat_jobs.c - placeholder. */
#include "catalog/cat_jobs.h"

#include <errno.h>

const char *cat_job_state_name(int state)
{
    static const char *n[] = {"queued", "running", "done", "failed"};
    return state >= 0 && state < CAT_JOB_NSTATES ? n[state] : "?";
}
int cat_jobs_get(cat_db *db, int64_t id, json_t **out)
{
    (void)db, (void)id, (void)out;
    return -ENOSYS;
}
int cat_jobs_claim(cat_db *db, json_t **job)
{
    (void)db, (void)job;
    return -ENOSYS;
}
int cat_jobs_claim_submit(cat_writer *w, cat_write_done done, void *ud)
{
    (void)w, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_jobs_progress(cat_db *db, int64_t id, double progress)
{
    (void)db, (void)id, (void)progress;
    return -ENOSYS;
}
int cat_jobs_progress_submit(cat_writer *w, int64_t id, double progress,
                             cat_write_done done, void *ud)
{
    (void)w, (void)id, (void)progress, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_jobs_finish(cat_db *db, int64_t id, const json_t *meta)
{
    (void)db, (void)id, (void)meta;
    return -ENOSYS;
}
int cat_jobs_finish_submit(cat_writer *w, int64_t id, json_t *meta,
                           cat_write_done done, void *ud)
{
    (void)w, (void)id, (void)done, (void)ud;
    json_decref(meta);
    return -ENOSYS;
}
int cat_jobs_fail(cat_db *db, int64_t id, const char *reason, int max_attempts,
                  int *final)
{
    (void)db, (void)id, (void)reason, (void)max_attempts, (void) final;
    return -ENOSYS;
}
int cat_jobs_fail_submit(cat_writer *w, int64_t id, const char *reason,
                         int max_attempts, cat_write_done done, void *ud)
{
    (void)w, (void)id, (void)reason, (void)max_attempts, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_jobs_recover(cat_db *db)
{
    (void)db;
    return -ENOSYS;
}
int cat_jobs_recover_submit(cat_writer *w, cat_write_done done, void *ud)
{
    (void)w, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_jobs_counts(cat_db *db, int64_t counts[CAT_JOB_NSTATES])
{
    (void)db, (void)counts;
    return -ENOSYS;
}
