/* str_jobs.c - the job runner: one thread that claims queued transcode jobs
 * from the catalog and runs each as a child process,
 *   /proc/self/exe transcode --progress json -i ... -o DATA/hls/.job-N
 * (docs/transcode.md), never transcoding in the server process. Progress
 * lines go to the catalog; on success DATA/hls/.job-N is renamed to
 * DATA/hls/<lesson-id> and the lesson published from its lesson.json; on
 * failure the catalog requeues the job until it has failed job_attempts
 * times. The transcoder's stderr goes to DATA/jobs/<id>.log. A failed
 * job's sources (DATA/uploads/<id>) are kept keep_failed_sources seconds
 * for a retry, then removed: at start, after a job fails for good and
 * every sweep_every_ms while the runner waits.
 *
 * The transcoder runs in the data directory with paths relative to it
 * (uploads/N/source.mp4, hls/.job-N), so its messages, which become the
 * job's error (GET /api/v1/jobs/{id}) and its log, never show where the
 * server keeps its files; reasons of our own are made relative the same
 * way (str_jobs_relpaths).
 *
 * Threads: the runner thread owns everything here except the fields marked
 * "any thread". It never calls lws; it talks to the catalog writer only
 * (thread-safe submits, blocking with cat_sync where it needs a result). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalog/cat_jobs.h"
#include "catalog/cat_lessons.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_time.h"
#include "common/yl_fs.h"
#include "streamer/str_api.h"
#include "streamer/str_child.h"

#define IDLE_WAIT_S 5 /* look for queued jobs at least this often */

typedef struct str_jobs {
    cat_writer *w; /* thread-safe */
    char data_dir[PATH_MAX];
    int max_attempts;
    int64_t retry_delay_ms; /* before the 2nd attempt; doubles after */
    int timeout_s;
    int64_t keep_failed_ms; /* a failed job's sources, then removed */
    int64_t sweep_every_ms; /* look for expired sources this often */
    int64_t next_sweep_ms;  /* yl_mono_ms() of the next look */

    pthread_t th;
    bool started;
    pthread_mutex_t lock; /* guards wake, child */
    pthread_cond_t cond;
    bool wake;
    str_child *child;     /* running transcoder, NULL none */
    atomic_bool stop;     /* any thread */
    atomic_bool finished; /* any thread: the thread has returned */
    atomic_llong current; /* any thread: job id being run, 0 none */
    atomic_llong cancel;  /* any thread: a running job cancelled, 0 none
                           * (one runs at a time: one slot is enough) */
} str_jobs;

/* A character that can be part of a path: a data dir prefix preceded by
 * one is the tail of another path, not the data dir. */
static bool path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == '/' || c == '+' || c == '~';
}

void str_jobs_relpaths(const char *data_dir, const char *in, char *out,
                       size_t len)
{
    char pre[2][PATH_MAX + 1];
    size_t plen[2] = {0, 0}, o = 0, n;
    int np = 0, k;

    if (len == 0)
        return;
    /* "DIR/" as configured and as realpath; longest first. */
    n = strlen(data_dir);
    while (n > 1 && data_dir[n - 1] == '/')
        n--;
    if (n > 0 && n < PATH_MAX && !(n == 1 && data_dir[0] == '/')) {
        memcpy(pre[np], data_dir, n);
        pre[np][n] = '/';
        pre[np][n + 1] = '\0';
        plen[np++] = n + 1;
    }
    if (realpath(data_dir, pre[np]) != NULL && strcmp(pre[np], "/") != 0 &&
        strlen(pre[np]) + 1 < sizeof(pre[np])) {
        strcat(pre[np], "/");
        plen[np] = strlen(pre[np]);
        if (np == 0 || strcmp(pre[0], pre[np]) != 0)
            np++;
    }
    if (np == 2 && plen[1] > plen[0]) {
        char t[PATH_MAX + 1];

        memcpy(t, pre[0], sizeof(t));
        memcpy(pre[0], pre[1], sizeof(t));
        memcpy(pre[1], t, sizeof(t));
        n = plen[0];
        plen[0] = plen[1];
        plen[1] = n;
    }
    while (*in != '\0' && o + 1 < len) {
        bool at_start = o == 0 || !path_char(out[o - 1]);

        for (k = 0; at_start && k < np; k++)
            if (strncmp(in, pre[k], plen[k]) == 0)
                break;
        if (at_start && k < np)
            in += plen[k];
        else
            out[o++] = *in++;
    }
    out[o] = '\0';
}

/* Removes the upload dirs (DATA/uploads/<job-id>) the catalog says may
 * go: done jobs', failed jobs' older than keep_failed_ms, and orphans.
 * The catalog decides through the writer (see cat_jobs_sources_expired),
 * after the listing, so a dir renamed in by a create is judged after that
 * create committed. Runner thread. */
static void sweep_sources(str_jobs *j)
{
    char dir[PATH_MAX], path[PATH_MAX];
    json_t *ids = json_array(), *v;
    struct dirent *de;
    cat_sync s;
    size_t i;
    int rc, n = 0;
    DIR *d;

    j->next_sweep_ms = yl_mono_ms() + j->sweep_every_ms;
    if (ids == NULL ||
        str_pathf(dir, sizeof(dir), "%s/uploads", j->data_dir) < 0 ||
        (d = opendir(dir)) == NULL) {
        json_decref(ids);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char *end;
        long long id = strtoll(de->d_name, &end, 10);

        if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && *end == '\0' &&
            id > 0)
            json_array_append_new(ids, json_integer(id));
    }
    closedir(d);
    if (json_array_size(ids) == 0) {
        json_decref(ids);
        return;
    }
    cat_sync_init(&s);
    rc = cat_jobs_sources_expired_submit(j->w, ids, j->keep_failed_ms,
                                         cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    if (rc < 0)
        YL_LOGW("jobs", "looking for expired job sources: %s", s.res.error);
    json_array_foreach(rc == 0 ? s.res.json : NULL, i, v)
    {
        int r;

        if (str_pathf(path, sizeof(path), "%s/%" PRId64, dir,
                      (int64_t)json_integer_value(v)) < 0)
            continue;
        r = yl_rmtree(path);
        if (r < 0)
            YL_LOGW("jobs", "remove %s: %s", path, strerror(-r));
        else
            n++;
    }
    cat_sync_fini(&s);
    if (n > 0)
        YL_LOGI("jobs",
                "removed the sources of %d finished, failed (kept %" PRId64
                " s) or orphaned job(s)",
                n, j->keep_failed_ms / 1000);
}

/* permanent: the transcoder said the input is unusable (STR_EXIT_BAD_INPUT:
 * EX_USAGE, or EX_DATAERR for corrupt or unreadable media): another attempt
 * would fail the same way, so the job fails now; anything else (output,
 * internal, signal, timeout) is tried again up to max_attempts. */
static int fail_job(str_jobs *j, int64_t id, const char *reason, bool permanent)
{
    char rel[1024];
    cat_sync s;
    int rc, tries;

    /* The reason is shown through the API: no server paths in it. */
    str_jobs_relpaths(j->data_dir, reason, rel, sizeof(rel));
    /* A full disk that failed the attempt often fails this write too.
     * Left unrecorded, the job would stay "running" until a restart, the
     * queue moving on without it: so a write refused for want of space
     * (or a busy database) is tried again every second until it is
     * stored or the server stops. Nothing else can run meanwhile. */
    for (tries = 0;; tries++) {
        cat_sync_init(&s);
        rc =
            cat_jobs_fail_submit(j->w, id, rel, permanent ? 1 : j->max_attempts,
                                 j->retry_delay_ms, cat_sync_done, &s);
        if (rc == 0)
            rc = cat_sync_wait(&s);
        if (rc >= 0 || (rc != -ENOSPC && rc != -EBUSY) || atomic_load(&j->stop))
            break;
        if (tries == 0)
            YL_LOGW("jobs",
                    "[job=%" PRId64 "] recording the failure: %s; "
                    "trying again every second",
                    id, s.res.error);
        cat_sync_fini(&s);
        sleep(1);
    }
    if (rc < 0)
        YL_LOGE("jobs", "[job=%" PRId64 "] recording the failure: %s", id,
                s.res.error);
    else if (json_is_true(json_object_get(s.res.json, "final")) &&
             j->keep_failed_ms == 0)
        j->next_sweep_ms = 0; /* kept for no time: remove them now */
    cat_sync_fini(&s);
    return rc;
}

/* argv for one attempt; strings are owned by the caller's arrays. */
typedef struct job_argv {
    char *v[64];
    int n;
    char buf[16384];
    size_t used;
} job_argv;

static int av_add(job_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int av_add(job_argv *a, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (a->n + 2 >= (int)(sizeof(a->v) / sizeof(a->v[0])))
        return -E2BIG;
    va_start(ap, fmt);
    n = vsnprintf(a->buf + a->used, sizeof(a->buf) - a->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(a->buf) - a->used)
        return -E2BIG;
    a->v[a->n++] = a->buf + a->used;
    a->v[a->n] = NULL;
    a->used += (size_t)n + 1;
    return 0;
}

static int build_argv(job_argv *a, const char *dir, const json_t *inputs,
                      const char *outdir)
{
    const char *key;
    json_t *v;
    int rc = 0;

    memset(a, 0, sizeof(*a));
    rc |= av_add(a, "yunling");
    rc |= av_add(a, "transcode");
    rc |= av_add(a, "--progress");
    rc |= av_add(a, "json");
    rc |= av_add(a, "-i");
    rc |= av_add(a, "%s/%s", dir,
                 json_string_value(json_object_get(inputs, "source")));
    json_object_foreach(json_object_get(inputs, "audio_lang"), key, v)
    {
        rc |= av_add(a, "--audio-lang");
        rc |= av_add(a, "%s=%s", key, json_string_value(v));
    }
    json_object_foreach(json_object_get(inputs, "audio"), key, v)
    {
        rc |= av_add(a, "--audio");
        rc |= av_add(a, "%s=%s/%s", key, dir, json_string_value(v));
    }
    /* A meeting's recording: its dubs are on the source's clock. */
    v = json_object_get(inputs, "dub_clock");
    if (json_is_string(v) && strcmp(json_string_value(v), "source") == 0) {
        rc |= av_add(a, "--dub-clock");
        rc |= av_add(a, "source");
    }
    json_object_foreach(json_object_get(inputs, "subs"), key, v)
    {
        rc |= av_add(a, "--subs");
        rc |= av_add(a, "%s=%s/%s", key, dir, json_string_value(v));
    }
    {
        size_t i;

        json_array_foreach(json_object_get(inputs, "burn"), i, v)
        {
            rc |= av_add(a, "--burn-subs");
            rc |= av_add(a, "%s", json_string_value(v));
        }
    }
    rc |= av_add(a, "-o");
    rc |= av_add(a, "%s", outdir);
    return rc ? -E2BIG : 0;
}

/* What one attempt produced. */
typedef struct attempt {
    str_jobs *j;
    int64_t id;
    bool got_done;
    char error[512]; /* from an {"event":"error"} line */
    double progress, sent_progress;
    int64_t sent_at;
} attempt;

/* A progress line of the transcoder (docs/transcode.md). */
static void on_line(void *ud, char *line)
{
    attempt *at = ud;
    str_jobs *j = at->j;
    int64_t id = at->id;
    json_t *o = json_loads(line, 0, NULL);
    const char *ev;

    if (o == NULL) {
        YL_LOGD("jobs", "[job=%" PRId64 "] not JSON: %.120s", id, line);
        return;
    }
    ev = json_string_value(json_object_get(o, "event"));
    if (ev == NULL) {
        /* ignored: not one of ours */
    } else if (strcmp(ev, "progress") == 0) {
        double p = json_number_value(json_object_get(o, "progress"));
        int64_t now = yl_mono_ms();

        if (p < 0)
            p = 0;
        if (p > 1)
            p = 1;
        at->progress = p;
        /* One catalog write a second at most (each is a transaction). */
        if (now - at->sent_at >= 1000 && p != at->sent_progress) {
            at->sent_at = now;
            at->sent_progress = p;
            cat_jobs_progress_submit(j->w, id, p, NULL, NULL);
        }
    } else if (strcmp(ev, "done") == 0) {
        at->got_done = true;
    } else if (strcmp(ev, "error") == 0) {
        const char *m = json_string_value(json_object_get(o, "message"));

        snprintf(at->error, sizeof(at->error), "%s",
                 m ? m : "transcoder reported an error");
    }
    json_decref(o);
}

/* Its lesson was deleted: SIGTERM lets the transcoder remove its
 * temporary output; one that does not go within 5 s is killed. */
static void on_tick(void *ud, str_child *c)
{
    attempt *at = ud;

    if (atomic_load(&at->j->cancel) == at->id)
        str_child_terminate(c, 5000);
}

/* The attempt succeeded: move the output into place and publish. */
static int publish(str_jobs *j, int64_t id, int64_t lesson, const char *outdir,
                   const char *srcdir, char *why, size_t whylen)
{
    char path[PATH_MAX], final[PATH_MAX], err[400];
    json_t *meta = NULL;
    cat_sync s;
    int rc;

    if (str_pathf(path, sizeof(path), "%s/lesson.json", outdir) < 0 ||
        str_pathf(final, sizeof(final), "%s/hls/%" PRId64, j->data_dir,
                  lesson) < 0) {
        snprintf(why, whylen, "publish: path too long");
        return -ENAMETOOLONG;
    }
    rc = cat_lessons_meta_load(path, &meta, err, sizeof(err));
    if (rc < 0) {
        snprintf(why, whylen, "transcoder output: %s", err);
        return rc;
    }
    /* A dir left by a publish that crashed before its commit. */
    yl_rmtree(final);
    if (rename(outdir, final) < 0) {
        rc = -errno;
        snprintf(why, whylen, "publish: rename %.200s -> %.200s: %s", outdir,
                 final, strerror(errno));
        json_decref(meta);
        return rc;
    }
    cat_sync_init(&s);
    rc = cat_jobs_finish_submit(j->w, id, meta, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    if (rc < 0) {
        snprintf(why, whylen, "publish: %s",
                 s.res.error[0] ? s.res.error : "catalog refused the lesson");
        yl_rmtree(final);
    }
    cat_sync_fini(&s);
    if (rc == 0) {
        /* The sources are no longer needed once the lesson is out. */
        yl_rmtree(srcdir);
    }
    return rc;
}

/* The job was cancelled (its lesson deleted): nothing more is recorded
 * for it; its output and sources go, and its log says why it ended. */
static void cancelled(int64_t id, const char *outdir, const char *srcdir,
                      int logfd)
{
    static const char line[] = "=== cancelled: the lesson was deleted\n";

    YL_LOGI("jobs", "[job=%" PRId64 "] cancelled: its lesson was deleted", id);
    yl_rmtree(outdir);
    yl_rmtree(srcdir);
    if (logfd >= 0 && write(logfd, line, sizeof(line) - 1) < 0)
        YL_LOGW("jobs", "[job=%" PRId64 "] write log: %s", id, strerror(errno));
}

/* One run of a job, as run_job()'s steps share it. */
typedef struct job_run {
    int64_t id, lesson, attempts;
    const char *dir;
    json_t *inputs;
    char outdir[PATH_MAX], logpath[PATH_MAX], why[700];
    char reldir[PATH_MAX], relout[64];
    int logfd;
    job_argv *av;
    attempt at;
    str_child *child;
    int64_t t0;
} job_run;

/* The job's paths in the data directory and its source. -1: failed (and
 * recorded). */
static int job_paths(str_jobs *j, job_run *r)
{
    if (str_pathf(r->outdir, sizeof(r->outdir), "%s/hls/.job-%" PRId64,
                  j->data_dir, r->id) < 0 ||
        str_pathf(r->logpath, sizeof(r->logpath), "%s/jobs/%" PRId64 ".log",
                  j->data_dir, r->id) < 0) {
        fail_job(j, r->id, "data directory path too long", true);
        return -1;
    }
    if (r->dir == NULL ||
        !json_is_string(json_object_get(r->inputs, "source"))) {
        fail_job(j, r->id, "job has no source file recorded", true);
        return -1;
    }
    return 0;
}

/* The child runs in the data directory: its paths relative to it.
 * A job dir outside it (not made by this server) stays absolute. */
static void relative_paths(str_jobs *j, job_run *r)
{
    const char *dir = r->dir;
    size_t n = strlen(j->data_dir);

    while (n > 1 && j->data_dir[n - 1] == '/')
        n--; /* "DATA/" as configured: dir is "DATA//uploads/N" */
    snprintf(r->relout, sizeof(r->relout), "hls/.job-%" PRId64, r->id);
    if (n > 1 && strncmp(dir, j->data_dir, n) == 0 && dir[n] == '/') {
        while (dir[n] == '/')
            n++;
        snprintf(r->reldir, sizeof(r->reldir), "%s", dir + n);
    } else if (dir[0] == '/' || realpath(dir, r->reldir) == NULL)
        snprintf(r->reldir, sizeof(r->reldir), "%s", dir);
}

/* The transcoder's command line. -1: failed (and recorded). */
static int prepare_argv(str_jobs *j, job_run *r)
{
    relative_paths(j, r);
    r->av = malloc(sizeof(*r->av));
    if (r->av == NULL ||
        build_argv(r->av, r->reldir, r->inputs, r->relout) < 0) {
        fail_job(j, r->id, "too many inputs for one transcoder command", true);
        return -1;
    }
    return 0;
}

/* A clean output directory and the job's log, opened with this attempt's
 * head line. -1: failed (and recorded). */
static int open_log(str_jobs *j, job_run *r)
{
    yl_rmtree(r->outdir); /* a previous attempt's leftovers */
    r->logfd =
        open(r->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (r->logfd < 0) {
        snprintf(r->why, sizeof(r->why),
                 "cannot start the transcoder: %.300s: %s", r->logpath,
                 strerror(errno));
        fail_job(j, r->id, r->why, false);
        return -1;
    }
    {
        char head[512];
        time_t now = time(NULL);
        struct tm tm;
        int n;

        gmtime_r(&now, &tm);
        n = snprintf(head, sizeof(head),
                     "=== job %" PRId64 " attempt %" PRId64
                     " %04d-%02d-%02dT%02d:%02d:%02dZ: yunling transcode "
                     "-i %s ... -o %s\n",
                     r->id, r->attempts, tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, r->av->v[5],
                     r->relout);
        if (write(r->logfd, head, (size_t)n) < 0)
            YL_LOGW("jobs", "write %s: %s", r->logpath, strerror(errno));
    }
    return 0;
}

/* Starts the transcoder under the child supervisor, unless the server is
 * stopping or the job was cancelled. -1: not started. */
static int start_child(str_jobs *j, job_run *r)
{
    int rc;

    pthread_mutex_lock(&j->lock);
    if (atomic_load(&j->stop)) {
        rc = 1;
    } else if (atomic_load(&j->cancel) == r->id) {
        rc = 2;
    } else {
        str_child_opts o = {
            .argv = r->av->v,
            .cwd = j->data_dir,
            .log_fd = r->logfd,
            .timeout_ms = (int64_t)j->timeout_s * 1000,
            .stop = &j->stop,
        };
        rc = str_child_spawn(&o, &r->child);
        j->child = r->child;
    }
    pthread_mutex_unlock(&j->lock);
    if (rc == 1)
        return -1; /* stopping: the job stays "running" and is requeued */
    if (rc == 2) {
        /* between claim and start */
        cancelled(r->id, r->outdir, r->dir, r->logfd);
        return -1;
    }
    if (rc < 0) {
        snprintf(r->why, sizeof(r->why), "cannot start the transcoder: %s",
                 strerror(-rc));
        fail_job(j, r->id, r->why, false);
        return -1;
    }
    YL_LOGI("jobs",
            "[job=%" PRId64 " lesson=%" PRId64 "] attempt %" PRId64
            " started (pid %d)",
            r->id, r->lesson, r->attempts, (int)str_child_pid(r->child));
    return 0;
}

/* Waits for the transcoder (its progress lines go to on_line) and
 * classifies its end. */
static enum str_exit_kind wait_child(str_jobs *j, job_run *r,
                                     str_child_end *end)
{
    static const str_child_ops ops = {on_line, on_tick};

    str_child_wait(r->child, &ops, &r->at, end);
    pthread_mutex_lock(&j->lock);
    j->child = NULL;
    pthread_mutex_unlock(&j->lock);
    return str_child_classify(end);
}

/* Why an attempt that did not publish failed, in r->why. */
static void exit_why(str_jobs *j, job_run *r, const str_child_end *end,
                     enum str_exit_kind kind)
{
    if (kind == STR_EXIT_TIMEOUT) {
        snprintf(r->why, sizeof(r->why), "transcoder timed out after %d s",
                 j->timeout_s);
    } else if (r->at.error[0]) {
        snprintf(r->why, sizeof(r->why), "%s", r->at.error);
    } else if (kind == STR_EXIT_OK) {
        snprintf(r->why, sizeof(r->why),
                 "transcoder exited without finishing (see jobs/%" PRId64
                 ".log)",
                 r->id);
    } else if (WIFEXITED(end->status)) {
        snprintf(r->why, sizeof(r->why),
                 "transcoder exited with code %d (see jobs/%" PRId64 ".log)",
                 WEXITSTATUS(end->status), r->id);
    } else {
        snprintf(r->why, sizeof(r->why),
                 "transcoder killed by signal %d (see jobs/%" PRId64 ".log)",
                 WIFSIGNALED(end->status) ? WTERMSIG(end->status) : 0, r->id);
    }
}

/* The transcoder has ended: the job is cancelled, left for the next
 * start, published, or recorded as failed. */
static void record_end(str_jobs *j, job_run *r, const str_child_end *end,
                       enum str_exit_kind kind)
{
    if (end->terminated || atomic_load(&j->cancel) == r->id) {
        cancelled(r->id, r->outdir, r->dir, r->logfd);
        return;
    }
    if (kind == STR_EXIT_STOPPED) {
        /* Server stopping: not the job's fault. It stays "running" and
         * cat_jobs_recover() requeues it at the next start. */
        YL_LOGI("jobs",
                "[job=%" PRId64 "] stopped with the server; it runs "
                "again at the next start",
                r->id);
        yl_rmtree(r->outdir);
        return;
    }
    if (kind == STR_EXIT_OK && r->at.got_done) {
        if (publish(j, r->id, r->lesson, r->outdir, r->dir, r->why,
                    sizeof(r->why)) == 0) {
            YL_LOGI("jobs",
                    "[job=%" PRId64 " lesson=%" PRId64 "] done in "
                    "%.1f s: /hls/%" PRId64 "/master.m3u8",
                    r->id, r->lesson, (double)(yl_mono_ms() - r->t0) / 1000.0,
                    r->lesson);
            return;
        }
        /* Deleted between the transcoder's end and the publish. */
        if (atomic_load(&j->cancel) == r->id) {
            cancelled(r->id, r->outdir, r->dir, r->logfd);
            return;
        }
    } else {
        exit_why(j, r, end, kind);
    }
    YL_LOGW("jobs",
            "[job=%" PRId64 " lesson=%" PRId64 "] attempt %" PRId64
            " failed: %s",
            r->id, r->lesson, r->attempts, r->why);
    yl_rmtree(r->outdir);
    fail_job(j, r->id, r->why, kind == STR_EXIT_BAD_INPUT);
}

static void run_job(str_jobs *j, json_t *job)
{
    job_run r = {
        .id = json_integer_value(json_object_get(job, "id")),
        .lesson = json_integer_value(json_object_get(job, "lesson")),
        .attempts = json_integer_value(json_object_get(job, "attempts")),
        .dir = json_string_value(json_object_get(job, "dir")),
        .inputs = json_object_get(job, "inputs"),
        .logfd = -1,
        .av = NULL,
        .child = NULL,
        .t0 = yl_mono_ms(),
    };
    str_child_end end;
    enum str_exit_kind kind;

    memset(&r.at, 0, sizeof(r.at));
    r.at.j = j;
    r.at.id = r.id;
    atomic_store(&j->current, r.id);
    if (job_paths(j, &r) < 0 || prepare_argv(j, &r) < 0 ||
        open_log(j, &r) < 0 || start_child(j, &r) < 0)
        goto out;
    kind = wait_child(j, &r, &end);
    record_end(j, &r, &end, kind);
out:
    atomic_store(&j->current, 0);
    str_child_free(r.child);
    if (r.logfd >= 0)
        close(r.logfd);
    free(r.av);
}

static void wait_for_work(str_jobs *j, int seconds)
{
    /* j->cond waits on CLOCK_MONOTONIC (str_jobs_start): with the wall
     * clock set back a day, a CLOCK_REALTIME deadline would keep the
     * runner from looking for due retries for that day. */
    struct timespec ts = yl_deadline_ms((int64_t)seconds * 1000);

    pthread_mutex_lock(&j->lock);
    while (!j->wake && !atomic_load(&j->stop))
        if (yl_timed_wait(&j->cond, &j->lock, &ts) == ETIMEDOUT)
            break;
    j->wake = false;
    pthread_mutex_unlock(&j->lock);
}

static void *runner(void *arg)
{
    str_jobs *j = arg;
    bool ro_said = false;
    cat_sync s;
    int rc;

    pthread_setname_np(pthread_self(), "yl-jobs");
    /* Jobs a killed server left "running" go back to the queue. */
    cat_sync_init(&s);
    rc = cat_jobs_recover_submit(j->w, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    if (rc == 0 && s.res.id > 0)
        YL_LOGI("jobs", "%" PRId64 " interrupted job(s) queued again",
                s.res.id);
    else if (rc < 0)
        YL_LOGW("jobs", "recovering interrupted jobs: %s", s.res.error);
    cat_sync_fini(&s);
    sweep_sources(j); /* sources that expired while the server was down */

    while (!atomic_load(&j->stop)) {
        json_t *job = NULL;

        if (yl_mono_ms() >= j->next_sweep_ms)
            sweep_sources(j);

        cat_sync_init(&s);
        rc = cat_jobs_claim_submit(j->w, cat_sync_done, &s);
        if (rc == 0)
            rc = cat_sync_wait(&s);
        if (rc == 0 && s.res.json != NULL)
            job = json_incref(s.res.json);
        /* A read-only database refuses every claim: said once (the
         * writer said why at start), not every IDLE_WAIT_S. */
        if (rc < 0 && rc != YL_ENOTFOUND && (rc != -EROFS || !ro_said))
            YL_LOGW("jobs", "claiming a job: %s", s.res.error);
        if (rc == -EROFS)
            ro_said = true;
        cat_sync_fini(&s);
        if (job == NULL) {
            wait_for_work(j, IDLE_WAIT_S);
            continue;
        }
        run_job(j, job);
        json_decref(job);
    }
    atomic_store(&j->finished, true);
    return NULL;
}

int str_jobs_start(str_server *srv, str_jobs **out)
{
    str_jobs *j = calloc(1, sizeof(*j));
    int rc;

    if (j == NULL)
        return -ENOMEM;
    j->w = srv->w;
    snprintf(j->data_dir, sizeof(j->data_dir), "%s", srv->cfg.cat.data_dir);
    j->max_attempts = srv->cfg.cat.job_max_attempts;
    j->retry_delay_ms = (int64_t)srv->cfg.cat.job_retry_delay_s * 1000;
    j->timeout_s = srv->cfg.job_timeout_s;
    j->keep_failed_ms = (int64_t)srv->cfg.cat.keep_failed_sources_s * 1000;
    /* As often as the retention is short, at most every 10 minutes and at
     * least 5 s apart (each look is a readdir and one catalog request). */
    j->sweep_every_ms = j->keep_failed_ms < 5000     ? 5000
                        : j->keep_failed_ms > 600000 ? 600000
                                                     : j->keep_failed_ms;
    pthread_mutex_init(&j->lock, NULL);
    yl_cond_init_mono(&j->cond);
    atomic_init(&j->stop, false);
    atomic_init(&j->finished, false);
    atomic_init(&j->current, 0);
    atomic_init(&j->cancel, 0);
    rc = pthread_create(&j->th, NULL, runner, j);
    if (rc != 0) {
        pthread_mutex_destroy(&j->lock);
        pthread_cond_destroy(&j->cond);
        free(j);
        return -rc;
    }
    j->started = true;
    *out = j;
    return 0;
}

void str_jobs_wake(str_jobs *j)
{
    pthread_mutex_lock(&j->lock);
    j->wake = true;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
}

void str_jobs_stop(str_jobs *j)
{
    atomic_store(&j->stop, true);
    pthread_mutex_lock(&j->lock);
    if (j->child != NULL)
        str_child_kill(j->child, SIGTERM);
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
}

void str_jobs_cancel(str_jobs *j, int64_t id)
{
    atomic_store(&j->cancel, id); /* on_tick() sees it within 200 ms */
}

bool str_jobs_stopped(str_jobs *j)
{
    return atomic_load(&j->finished);
}

int64_t str_jobs_current(str_jobs *j)
{
    return atomic_load(&j->current);
}

void str_jobs_free(str_jobs *j)
{
    if (j == NULL)
        return;
    if (j->started)
        pthread_join(j->th, NULL);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cond);
    free(j);
}
