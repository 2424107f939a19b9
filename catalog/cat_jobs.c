/* cat_jobs.c - transcode jobs: claim, progress, finish, fail, recover. */
#include "catalog/cat_jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_lessons.h"
#include "common/yl_err.h"
#include "common/yl_log.h"

const char *cat_job_state_name(int state)
{
    static const char *const n[] = {"queued", "running", "done", "failed",
                                    "cancelled"};
    return state >= 0 && state < CAT_JOB_NSTATES ? n[state] : "?";
}

static int state_parse(const char *s)
{
    for (int i = 0; i < CAT_JOB_NSTATES; i++)
        if (strcmp(s, cat_job_state_name(i)) == 0)
            return i;
    return -1;
}

static const char sql_get[] =
    "SELECT id, lesson_id, state, progress, error, attempts, created_ms, "
    "updated_ms, dir, inputs, not_before_ms FROM jobs WHERE id = ?1";

/* The job's JSON; with_inputs adds "dir" and "inputs" (for the runner). */
static int job_json(cat_db *db, int64_t id, bool with_inputs, json_t **out)
{
    sqlite3_stmt *st = cat_stmt(db, sql_get);
    json_t *j = NULL;
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        j = json_pack("{s:I, s:I, s:s, s:f, s:o, s:i, s:I, s:I}", "id",
                      (json_int_t)sqlite3_column_int64(st, 0), "lesson",
                      (json_int_t)sqlite3_column_int64(st, 1), "state",
                      cat_col_text(st, 2), "progress",
                      sqlite3_column_double(st, 3), "error",
                      sqlite3_column_type(st, 4) == SQLITE_NULL
                          ? json_null()
                          : json_string(cat_col_text(st, 4)),
                      "attempts", sqlite3_column_int(st, 5), "created_ms",
                      (json_int_t)sqlite3_column_int64(st, 6), "updated_ms",
                      (json_int_t)sqlite3_column_int64(st, 7));
        /* A requeued job says when its next attempt may start (a time
         * already past when the runner has not picked it up yet). */
        if (j != NULL && strcmp(cat_col_text(st, 2), "queued") == 0 &&
            sqlite3_column_int(st, 5) > 0 && sqlite3_column_int64(st, 10) > 0)
            json_object_set_new(
                j, "retry_at_ms",
                json_integer((json_int_t)sqlite3_column_int64(st, 10)));
        if (j != NULL && with_inputs) {
            json_t *in = json_loads(cat_col_text(st, 9), 0, NULL);
            json_object_set_new(j, "dir", json_string(cat_col_text(st, 8)));
            json_object_set_new(j, "inputs", in ? in : json_object());
        }
        rc = j != NULL ? 0 : -ENOMEM;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "unknown job %lld", (long long)id);
    } else {
        rc = cat_err(db, rc, "job");
    }
    cat_stmt_done(st);
    if (rc == 0)
        *out = j;
    return rc;
}

int cat_jobs_get(cat_db *db, int64_t id, json_t **out)
{
    return job_json(db, id, false, out);
}

/* Runs an UPDATE on one job and fails with YL_ENOTFOUND (naming the
 * expected state) when no row matched. */
static int update_job(cat_db *db, sqlite3_stmt *st, int64_t id,
                      const char *what)
{
    int rc = sqlite3_step(st);

    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, what);
    if (sqlite3_changes(db->h) == 0)
        return cat_fail(db, YL_ENOTFOUND, "%s: job %lld is not running", what,
                        (long long)id);
    return 0;
}

/* A queued job is due when its retry time has come, or when the clock
 * reads earlier than the failure that set it (updated_ms): the wall clock
 * was set back, and how long the job really waited is unknown. Waiting
 * for the clock to catch up would hold a retry for as long as the jump
 * (a day, a year); retrying early costs one attempt at most. */
int cat_jobs_claim(cat_db *db, json_t **job)
{
    static const char sql_pick[] =
        "SELECT id FROM jobs WHERE state = 'queued' AND "
        "(not_before_ms <= ?1 OR updated_ms > ?1) ORDER BY id LIMIT 1";
    static const char sql_run[] =
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
        "progress = 0, updated_ms = ?2 WHERE id = ?1";
    sqlite3_stmt *st;
    int64_t id;
    cat_tx tx;
    int rc;

    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    st = cat_query(db, sql_pick, "i", cat_now_ms());
    if (st == NULL) {
        rc = YL_EDB;
        goto out;
    }
    rc = sqlite3_step(st);
    id = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "no queued job");
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = cat_err(db, rc, "claim job");
        goto out;
    }
    rc = cat_run(db, "claim job", sql_run, "ii", id, cat_now_ms());
    if (rc == 0)
        rc = job_json(db, id, true, job);
out:
    return cat_tx_end(db, &tx, rc);
}

static int claim_op(cat_db *db, void *arg, cat_write_result *res)
{
    json_t *j = NULL;
    int rc = cat_jobs_claim(db, &j);

    (void)arg;
    if (rc == 0) {
        res->id = json_integer_value(json_object_get(j, "id"));
        res->json = j;
    }
    return rc;
}

int cat_jobs_claim_submit(cat_writer *w, cat_write_done done, void *ud)
{
    return cat_writer_submit(w, claim_op, NULL, NULL, done, ud);
}

int cat_jobs_progress(cat_db *db, int64_t id, double progress)
{
    static const char sql[] = "UPDATE jobs SET progress = ?2, updated_ms = ?3 "
                              "WHERE id = ?1 AND state = 'running'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    cat_tx tx;
    int rc;

    if (st == NULL)
        return YL_EDB;
    if (!(progress >= 0))
        progress = 0;
    if (progress > 1)
        progress = 1;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_double(st, 2, progress);
    sqlite3_bind_int64(st, 3, cat_now_ms());
    rc = update_job(db, st, id, "progress");
    return cat_tx_end(db, &tx, rc);
}

struct job_arg {
    int64_t id;
    double progress;
    int max_attempts;
    int64_t retry_delay_ms;
    json_t *meta;
    char *reason;
};

static void job_arg_free(void *p)
{
    struct job_arg *a = p;

    json_decref(a->meta);
    free(a->reason);
    free(a);
}

static int progress_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct job_arg *a = arg;

    res->id = a->id;
    return cat_jobs_progress(db, a->id, a->progress);
}

int cat_jobs_progress_submit(cat_writer *w, int64_t id, double progress,
                             cat_write_done done, void *ud)
{
    struct job_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    a->progress = progress;
    return cat_writer_submit(w, progress_op, a, job_arg_free, done, ud);
}

static int lesson_of(cat_db *db, int64_t id, int64_t *lesson)
{
    static const char sql[] =
        "SELECT lesson_id FROM jobs WHERE id = ?1 AND state = 'running'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    *lesson = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return cat_fail(db, YL_ENOTFOUND, "job %lld is not running",
                        (long long)id);
    return rc == SQLITE_ROW ? 0 : cat_err(db, rc, "job");
}

int cat_jobs_finish(cat_db *db, int64_t id, const json_t *meta)
{
    static const char sql[] =
        "UPDATE jobs SET state = 'done', progress = 1, error = NULL, "
        "updated_ms = ?2 WHERE id = ?1 AND state = 'running'";
    sqlite3_stmt *st;
    int64_t lesson = 0;
    cat_tx tx;
    int rc;

    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    rc = lesson_of(db, id, &lesson);
    if (rc == 0)
        rc = cat_lessons_publish(db, lesson, meta);
    if (rc == 0) {
        st = cat_stmt(db, sql);
        if (st == NULL) {
            rc = YL_EDB;
        } else {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, cat_now_ms());
            rc = update_job(db, st, id, "finish");
        }
    }
    return cat_tx_end(db, &tx, rc);
}

static int finish_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct job_arg *a = arg;

    res->id = a->id;
    return cat_jobs_finish(db, a->id, a->meta);
}

int cat_jobs_finish_submit(cat_writer *w, int64_t id, json_t *meta,
                           cat_write_done done, void *ud)
{
    struct job_arg *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        json_decref(meta);
        return -ENOMEM;
    }
    a->id = id;
    a->meta = meta;
    return cat_writer_submit(w, finish_op, a, job_arg_free, done, ud);
}

int cat_jobs_fail(cat_db *db, int64_t id, const char *reason, int max_attempts,
                  int64_t retry_delay_ms, int *final)
{
    static const char sql[] =
        "UPDATE jobs SET state = CASE WHEN attempts >= ?3 THEN 'failed' "
        "ELSE 'queued' END, error = ?2, updated_ms = ?4, "
        "not_before_ms = CASE WHEN attempts >= ?3 THEN 0 "
        "ELSE ?4 + ?5 * (1 << min(max(attempts - 1, 0), 10)) END "
        "WHERE id = ?1 AND state = 'running' RETURNING state, lesson_id";
    static const char sql_lesson[] =
        "UPDATE lessons SET state = 'failed' WHERE id = ?1 AND "
        "state = 'pending'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    bool stays = false;
    int64_t lesson = 0;
    cat_tx tx;
    int rc;

    if (st == NULL)
        return YL_EDB;
    if (max_attempts < 1)
        max_attempts = 1;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    cat_bind_text(st, 2, reason && reason[0] ? reason : "failed");
    sqlite3_bind_int(st, 3, max_attempts);
    sqlite3_bind_int64(st, 4, cat_now_ms());
    sqlite3_bind_int64(st, 5, retry_delay_ms > 0 ? retry_delay_ms : 0);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        stays = strcmp(cat_col_text(st, 0), "failed") == 0;
        lesson = sqlite3_column_int64(st, 1);
        rc = sqlite3_step(st);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        rc = cat_err(db, rc, "fail job");
    else if (lesson == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "job %lld is not running",
                      (long long)id);
    else
        rc = 0;
    if (rc == 0 && stays) {
        st = cat_stmt(db, sql_lesson);
        if (st == NULL) {
            rc = YL_EDB;
        } else {
            sqlite3_bind_int64(st, 1, lesson);
            rc = sqlite3_step(st);
            cat_stmt_done(st);
            rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "fail lesson");
        }
    }
    rc = cat_tx_end(db, &tx, rc);
    if (rc == 0 && final != NULL)
        *final = stays ? 1 : 0;
    if (rc == 0)
        YL_LOGW("cat", "[job=%lld] attempt failed%s: %s", (long long)id,
                stays ? " (final)" : ", requeued", reason ? reason : "");
    return rc;
}

static int fail_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct job_arg *a = arg;
    int final = 0;
    int rc = cat_jobs_fail(db, a->id, a->reason, a->max_attempts,
                           a->retry_delay_ms, &final);

    res->id = a->id;
    if (rc == 0)
        res->json = json_pack("{s:b}", "final", final);
    return rc;
}

int cat_jobs_fail_submit(cat_writer *w, int64_t id, const char *reason,
                         int max_attempts, int64_t retry_delay_ms,
                         cat_write_done done, void *ud)
{
    struct job_arg *a = calloc(1, sizeof(*a));

    if (a == NULL || (a->reason = strdup(reason ? reason : "")) == NULL) {
        free(a);
        return -ENOMEM;
    }
    a->id = id;
    a->max_attempts = max_attempts;
    a->retry_delay_ms = retry_delay_ms;
    return cat_writer_submit(w, fail_op, a, job_arg_free, done, ud);
}

int cat_jobs_recover(cat_db *db)
{
    static const char sql[] =
        "UPDATE jobs SET state = 'queued', progress = 0, "
        "attempts = max(attempts - 1, 0), updated_ms = ?1 "
        "WHERE state = 'running'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    cat_tx tx;
    int rc, n = 0;

    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, cat_now_ms());
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE) {
        n = sqlite3_changes(db->h);
        rc = 0;
    } else {
        rc = cat_err(db, rc, "recover jobs");
    }
    rc = cat_tx_end(db, &tx, rc);
    if (rc == 0 && n > 0)
        YL_LOGI("cat", "requeued %d job(s) interrupted by a restart", n);
    return rc < 0 ? rc : n;
}

static int recover_op(cat_db *db, void *arg, cat_write_result *res)
{
    int n = cat_jobs_recover(db);

    (void)arg;
    if (n >= 0)
        res->id = n;
    return n < 0 ? n : 0;
}

int cat_jobs_recover_submit(cat_writer *w, cat_write_done done, void *ud)
{
    return cat_writer_submit(w, recover_op, NULL, NULL, done, ud);
}

int cat_jobs_sources_expired(cat_db *db, const json_t *ids, int64_t now_ms,
                             int64_t keep_ms, json_t **remove)
{
    static const char sql[] =
        "SELECT state, updated_ms FROM jobs WHERE id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    json_t *out = json_array(), *v;
    size_t i;
    int rc = 0;

    if (st == NULL || out == NULL) {
        json_decref(out);
        return st == NULL ? YL_EDB : -ENOMEM;
    }
    json_array_foreach(ids, i, v)
    {
        json_int_t id = json_integer_value(v);
        bool go;

        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            go = true;
        } else if (rc == SQLITE_ROW) {
            const char *state = cat_col_text(st, 0);

            /* cancelled: its lesson's delete removes them, but a kill
             * -9 right after that commit leaves them behind. */
            go = strcmp(state, "done") == 0 ||
                 strcmp(state, "cancelled") == 0 ||
                 (strcmp(state, "failed") == 0 &&
                  sqlite3_column_int64(st, 1) + keep_ms <= now_ms);
        } else {
            cat_stmt_done(st);
            json_decref(out);
            return cat_err(db, rc, "job sources");
        }
        cat_stmt_done(st);
        if (go)
            json_array_append_new(out, json_integer(id));
    }
    *remove = out;
    return 0;
}

struct expired_arg {
    json_t *ids;
    int64_t keep_ms;
};

static void expired_arg_free(void *p)
{
    struct expired_arg *a = p;

    json_decref(a->ids);
    free(a);
}

static int expired_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct expired_arg *a = arg;

    return cat_jobs_sources_expired(db, a->ids, cat_now_ms(), a->keep_ms,
                                    &res->json);
}

int cat_jobs_sources_expired_submit(cat_writer *w, json_t *ids, int64_t keep_ms,
                                    cat_write_done done, void *ud)
{
    struct expired_arg *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        json_decref(ids);
        return -ENOMEM;
    }
    a->ids = ids;
    a->keep_ms = keep_ms;
    return cat_writer_submit(w, expired_op, a, expired_arg_free, done, ud);
}

int cat_jobs_counts(cat_db *db, int64_t counts[CAT_JOB_NSTATES])
{
    static const char sql[] = "SELECT state, count(*) FROM jobs GROUP BY state";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    memset(counts, 0, sizeof(int64_t) * CAT_JOB_NSTATES);
    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = state_parse(cat_col_text(st, 0));
        if (s >= 0)
            counts[s] = sqlite3_column_int64(st, 1);
    }
    cat_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, "count jobs");
}

int cat_jobs_recent(cat_db *db, const char *region, int64_t since_ms,
                    json_t **out)
{
    static const char sql[] =
        "SELECT j.id, j.lesson_id, j.state, j.progress, j.error, "
        "j.updated_ms, coalesce(s.code, '') FROM jobs j "
        "JOIN lessons l ON l.id = j.lesson_id "
        "LEFT JOIN sites s ON s.id = l.owner_id "
        "WHERE j.state IN ('queued', 'running') OR j.updated_ms > ?1 "
        "ORDER BY j.id DESC LIMIT 50";
    sqlite3_stmt *st = cat_stmt(db, sql);
    size_t rl = region != NULL ? strlen(region) : 0;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (st == NULL || arr == NULL) {
        json_decref(arr);
        return st == NULL ? YL_EDB : -ENOMEM;
    }
    sqlite3_bind_int64(st, 1, since_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *owner = cat_col_text(st, 6);

        /* Division codes are prefixes of the codes below them; a lesson
         * without an owner is province-wide. */
        if (rl > 2 && strncmp(owner, region, rl) != 0)
            continue;
        json_array_append_new(
            arr,
            json_pack("{s:I, s:I, s:s, s:f, s:s?, s:I}", "id",
                      (json_int_t)sqlite3_column_int64(st, 0), "lesson",
                      (json_int_t)sqlite3_column_int64(st, 1), "state",
                      cat_col_text(st, 2), "progress",
                      sqlite3_column_double(st, 3), "error",
                      sqlite3_column_type(st, 4) == SQLITE_NULL
                          ? NULL
                          : cat_col_text(st, 4),
                      "updated_ms", (json_int_t)sqlite3_column_int64(st, 5)));
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return cat_err(db, rc, "recent jobs");
    }
    *out = arr;
    return 0;
}

int cat_jobs_retry(cat_db *db, int64_t id, int64_t *lesson)
{
    static const char sql[] =
        "UPDATE jobs SET state = 'queued', attempts = 0, progress = 0, "
        "error = NULL, not_before_ms = 0, updated_ms = ?2 "
        "WHERE id = ?1 AND state = 'failed' RETURNING lesson_id";
    static const char sql_known[] = "SELECT state FROM jobs WHERE id = ?1";
    static const char sql_lesson[] =
        "UPDATE lessons SET state = 'pending' WHERE id = ?1 AND "
        "state = 'failed'";
    sqlite3_stmt *st;
    int64_t lid = 0;
    cat_tx tx;
    int rc;

    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql);
    if (st == NULL) {
        rc = YL_EDB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, cat_now_ms());
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        lid = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = cat_err(db, rc, "retry job");
        goto out;
    }
    if (lid == 0) { /* not failed: say what it is */
        st = cat_stmt(db, sql_known);
        if (st == NULL) {
            rc = YL_EDB;
            goto out;
        }
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rc = cat_fail(db, YL_EINVAL, "job %lld is %s, not failed",
                          (long long)id, cat_col_text(st, 0));
        else
            rc = cat_fail(db, YL_ENOTFOUND, "no job %lld", (long long)id);
        cat_stmt_done(st);
        goto out;
    }
    st = cat_stmt(db, sql_lesson);
    if (st == NULL) {
        rc = YL_EDB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, lid);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "retry lesson");
    if (rc == 0 && lesson != NULL)
        *lesson = lid;
out:
    return cat_tx_end(db, &tx, rc);
}

static int retry_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct job_arg *a = arg;
    int64_t lesson = 0;
    int rc = cat_jobs_retry(db, a->id, &lesson);

    if (rc == 0)
        res->id = lesson;
    return rc;
}

int cat_jobs_retry_submit(cat_writer *w, int64_t id, cat_write_done done,
                          void *ud)
{
    struct job_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    return cat_writer_submit(w, retry_op, a, job_arg_free, done, ud);
}
