/* test_cat_lessons.c - lessons (create, publish, search in Tibetan, Lisu
 * and Chinese, filters, delete) and jobs (retry limit, restart). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_jobs.h"
#include "catalog/cat_lessons.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

/* Titles of the test lessons: Chinese, Tibetan, Lisu (Fraser script). */
#define ZH1  "村级党组织建设"
#define BO1  "ལས་འགུལ་གསར་པ།"
#define LIS1 "ꓡꓲ-ꓢꓴ ꓟꓬ ꓐꓳ"
#define ZH2  "核桃种植技术"
#define ZH3  "森林防火知识"

static int64_t create(cat_db *db, const char *titles, const char *category,
                      int64_t *job)
{
    cat_lesson_new ln = {0};
    int64_t lid = 0;

    ln.titles = fx_json(titles);
    ln.inputs = fx_json("{\"source\":\"source.mp4\",\"audio\":{\"bo\":"
                        "\"audio.bo.m4a\"},\"subs\":{\"lis\":\"s.lis.srt\"}}");
    ln.category = category;
    ln.uploads_dir = "/tmp/uploads";
    assert_int_equal(cat_lessons_create(db, &ln, &lid, job), 0);
    json_decref(ln.titles);
    json_decref(ln.inputs);
    return lid;
}

static void publish(cat_db *db, int64_t job, const char *langs,
                    const char *subs)
{
    json_t *claimed = NULL, *meta;
    char buf[512];

    assert_int_equal(cat_jobs_claim(db, &claimed), 0);
    assert_int_equal(json_integer_value(json_object_get(claimed, "id")), job);
    snprintf(buf, sizeof(buf),
             "{\"version\":1,\"duration_s\":30.0,\"poster\":\"poster.jpg\","
             "\"video\":[],\"audio\":[],\"languages\":%s,"
             "\"subtitle_languages\":%s}",
             langs, subs);
    meta = fx_json(buf);
    assert_int_equal(cat_jobs_finish(db, job, meta), 0);
    json_decref(meta);
    json_decref(claimed);
}

static int64_t list_total(cat_db *db, const char *q, const char *lang,
                          const char *cat, int64_t *first)
{
    cat_lesson_query lq = {.q = q, .lang = lang, .category = cat};
    json_t *j = NULL;
    int64_t n;

    if (cat_lessons_list(db, &lq, &j) != 0)
        fail_msg("list failed: %s", cat_db_errmsg(db));
    n = json_integer_value(json_object_get(j, "total"));
    assert_int_equal(json_array_size(json_object_get(j, "items")), n);
    if (first != NULL)
        *first =
            n > 0 ? json_integer_value(json_object_get(
                        json_array_get(json_object_get(j, "items"), 0), "id"))
                  : 0;
    json_decref(j);
    return n;
}

static void search_titles_in_every_script(void **state)
{
    cat_db *db = NULL;
    int64_t j1, j2, j3, l1, l2, l3, first = 0;
    json_t *it = NULL;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    l1 = create(db,
                "{\"zh\":\"" ZH1 "\",\"bod\":\"" BO1 "\",\"lis\":\"" LIS1 "\"}",
                "党建", &j1);
    l2 = create(db, "{\"zh\":\"" ZH2 "\"}", "农业", &j2);
    l3 = create(db, "{\"zh\":\"" ZH3 "\"}", "安全", &j3);
    publish(db, j1, "[\"zh\",\"bo\"]", "[\"lis\"]");
    publish(db, j2, "[\"zh\"]", "[]");
    /* l3 stays pending: public lists leave it out. */
    assert_int_equal(list_total(db, NULL, NULL, NULL, &first), 2);
    assert_int_equal(first, l2); /* newest first */

    assert_int_equal(list_total(db, "党组织", NULL, NULL, &first), 1);
    assert_int_equal(first, l1);
    assert_int_equal(list_total(db, "党建", NULL, NULL, NULL), 0);
    assert_int_equal(list_total(db, "核桃", NULL, NULL, &first), 1); /* 2 ch */
    assert_int_equal(first, l2);
    assert_int_equal(list_total(db, "技", NULL, NULL, &first), 1); /* 1 ch */
    assert_int_equal(list_total(db, "འགུལ", NULL, NULL, &first), 1);
    assert_int_equal(first, l1);
    assert_int_equal(list_total(db, "ꓟꓬ", NULL, NULL, &first), 1);
    assert_int_equal(first, l1);
    assert_int_equal(list_total(db, "ꓡꓲ-ꓢꓴ", NULL, NULL, &first), 1);
    assert_int_equal(list_total(db, "\"%_'", NULL, NULL, NULL), 0);
    assert_int_equal(list_total(db, "%", NULL, NULL, NULL), 0);
    assert_int_equal(list_total(db, "防火", NULL, NULL, NULL), 0); /* pending */

    assert_int_equal(list_total(db, NULL, "bo", NULL, &first), 1);
    assert_int_equal(first, l1);
    assert_int_equal(list_total(db, NULL, "lis", NULL, &first), 1);
    assert_int_equal(list_total(db, NULL, "zho", NULL, NULL), 2);
    assert_int_equal(list_total(db, NULL, "duu", NULL, NULL), 0);
    assert_int_equal(list_total(db, NULL, NULL, "农业", &first), 1);
    assert_int_equal(first, l2);
    assert_int_equal(list_total(db, "技术", "zh", "农业", NULL), 1);

    /* Admin lists include pending ones. */
    {
        cat_lesson_query lq = {.all_states = true};
        json_t *j = NULL;
        assert_int_equal(cat_lessons_list(db, &lq, &j), 0);
        assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
        json_decref(j);
    }

    /* The item's shape (DESIGN.md API). */
    assert_int_equal(cat_lessons_get(db, l1, "bo", &it), 0);
    assert_string_equal(json_string_value(json_object_get(it, "title")), BO1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(it, "titles"), "lis")),
                        LIS1);
    assert_int_equal(json_array_size(json_object_get(it, "languages")), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(it, "subtitles"), 0)),
        "lis");
    assert_true(json_number_value(json_object_get(it, "duration_s")) == 30.0);
    assert_string_equal(json_string_value(json_object_get(it, "hls")),
                        "/hls/1/master.m3u8");
    assert_string_equal(json_string_value(json_object_get(it, "poster")),
                        "/hls/1/poster.jpg");
    /* published without a thumb (an older transcoder): null */
    assert_true(json_is_null(json_object_get(it, "thumb")));
    json_decref(it);
    assert_int_equal(cat_lessons_get(db, l1, NULL, &it), 0);
    assert_string_equal(json_string_value(json_object_get(it, "title")), ZH1);
    json_decref(it);
    assert_int_equal(cat_lessons_get(db, l3, NULL, &it), 0);
    assert_string_equal(json_string_value(json_object_get(it, "state")),
                        "pending");
    assert_true(json_is_null(json_object_get(it, "hls")));
    json_decref(it);

    /* Delete: gone from lists and get, twice is not found. */
    assert_int_equal(cat_lessons_delete(db, l2, NULL), 0);
    assert_int_equal(list_total(db, NULL, NULL, NULL, NULL), 1);
    assert_int_equal(cat_lessons_get(db, l2, NULL, &it), YL_ENOTFOUND);
    assert_int_equal(cat_lessons_delete(db, l2, NULL), YL_ENOTFOUND);

    /* Bad queries. */
    {
        cat_lesson_query lq = {.lang = "x!"};
        json_t *j = NULL;
        assert_int_equal(cat_lessons_list(db, &lq, &j), YL_EINVAL);
        lq.lang = NULL;
        lq.page = -1;
        assert_int_equal(cat_lessons_list(db, &lq, &j), YL_EINVAL);
        assert_non_null(strstr(cat_db_errmsg(db), "page: -1 is not in"));
        lq.page = CAT_LESSONS_PAGE_MAX + 1;
        assert_int_equal(cat_lessons_list(db, &lq, &j), YL_EINVAL);
        /* the last page allowed, far past the lessons: an empty page */
        lq.page = CAT_LESSONS_PAGE_MAX;
        assert_int_equal(cat_lessons_list(db, &lq, &j), 0);
        assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
        assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
        assert_int_equal(json_integer_value(json_object_get(j, "page")),
                         CAT_LESSONS_PAGE_MAX);
        json_decref(j);
        j = NULL;
        lq.page = 1;
        lq.per_page = 101;
        assert_int_equal(cat_lessons_list(db, &lq, &j), YL_EINVAL);
        assert_non_null(strstr(cat_db_errmsg(db), "per_page: 101"));
    }
    cat_db_close(db);
}

static void create_checks_input_and_moves_the_upload(void **state)
{
    char *dir = fx_tmpdir();
    char staged[600], final[600], path[700];
    cat_lesson_new ln = {0};
    cat_db *db = NULL;
    int64_t lid = 0, jid = 0;
    json_t *job = NULL;
    struct stat sb;
    FILE *f;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    snprintf(staged, sizeof(staged), "%s/up-tmp", dir);
    assert_int_equal(mkdir(staged, 0755), 0);
    snprintf(path, sizeof(path), "%s/source.mp4", staged);
    f = fopen(path, "w");
    fputs("x", f);
    fclose(f);
    ln.uploads_dir = dir;
    ln.inputs = fx_json("{\"source\":\"source.mp4\"}");

    /* Bad input first: nothing is created. */
    ln.titles = fx_json("{}");
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), YL_EINVAL);
    json_decref(ln.titles);
    ln.titles = fx_json("{\"zh-\":\"标题\"}");
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), YL_EBADLANG);
    assert_non_null(strstr(cat_db_errmsg(db), "zh-"));
    json_decref(ln.titles);
    ln.titles = fx_json("{\"zh\":\"\"}");
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), YL_EINVAL);
    json_decref(ln.titles);
    ln.titles = fx_json("{\"zh\":\"标题\"}");
    json_decref(ln.inputs);
    ln.inputs = fx_json("{\"source\":\"../../etc/passwd\"}");
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), YL_EINVAL);
    json_decref(ln.inputs);
    ln.inputs = fx_json("{\"source\":\"source.mp4\",\"audio\":{\"b!\":\"a\"}}");
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), YL_EBADLANG);
    json_decref(ln.inputs);
    ln.inputs = fx_json("{\"source\":\"source.mp4\"}");
    ln.staged_dir = "/nonexistent/staged";
    assert_true(cat_lessons_create(db, &ln, &lid, &jid) < 0);
    assert_int_equal(cat_jobs_claim(db, &job), YL_ENOTFOUND); /* no job */

    /* A good one: the staging dir becomes uploads/<job-id>. */
    ln.staged_dir = staged;
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), 0);
    snprintf(final, sizeof(final), "%s/%lld", dir, (long long)jid);
    assert_int_equal(stat(final, &sb), 0);
    assert_int_not_equal(stat(staged, &sb), 0);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    assert_string_equal(json_string_value(json_object_get(job, "dir")), final);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(job, "inputs"), "source")),
                        "source.mp4");
    assert_int_equal(json_integer_value(json_object_get(job, "lesson")), lid);
    json_decref(job);
    json_decref(ln.titles);
    json_decref(ln.inputs);
    cat_db_close(db);
    fx_rmdir(dir);
}

static void meta_load_names_the_bad_field(void **state)
{
    char *dir = fx_tmpdir();
    char path[600], err[512];
    json_t *m = NULL;
    FILE *f;
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"version\":1,", "lesson.json:"},
        {"{\"version\":2}", "version"},
        {"{\"version\":1,\"duration_s\":\"30\"}", "duration_s"},
        {"{\"version\":1,\"duration_s\":30,\"video\":{}}", "video"},
        {"{\"version\":1,\"duration_s\":30,\"video\":[],\"audio\":[],"
         "\"languages\":[\"zh\",\"b@d\"]}",
         "languages"},
        {"{\"version\":1,\"duration_s\":30,\"video\":[],\"audio\":[],"
         "\"poster\":\"/etc/x.jpg\",\"languages\":[]}",
         "poster"},
        {"{\"version\":1,\"duration_s\":30,\"video\":[],\"audio\":[],"
         "\"thumb\":\"../x.jpg\",\"languages\":[]}",
         "thumb"},
    };

    (void)state;
    snprintf(path, sizeof(path), "%s/lesson.json", dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f = fopen(path, "w");
        fputs(cases[i].text, f);
        fclose(f);
        assert_int_equal(cat_lessons_meta_load(path, &m, err, sizeof(err)),
                         YL_ECORRUPT);
        if (strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: \"%s\" does not name %s", i, err,
                     cases[i].want);
    }
    f = fopen(path, "w");
    fputs("{\"version\":1,\"duration_s\":30.0,\"poster\":\"poster.jpg\","
          "\"video\":[],\"audio\":[{\"lang\":\"zh\"}],\"subtitles\":[],"
          "\"languages\":[\"zh\"],\"subtitle_languages\":[\"bo\"]}",
          f);
    fclose(f);
    assert_int_equal(cat_lessons_meta_load(path, &m, err, sizeof(err)), 0);
    json_decref(m);
    fx_rmdir(dir);
}

static const char *job_state(cat_db *db, int64_t id, json_t **keep)
{
    json_t *j = NULL;

    assert_int_equal(cat_jobs_get(db, id, &j), 0);
    json_decref(*keep);
    *keep = j;
    return json_string_value(json_object_get(j, "state"));
}

/* A requeued job waits retry_delay x 2^(attempts - 1) before it can be
 * claimed again, and says when ("retry_at_ms"). */
static void job_retry_waits_and_doubles(void **state)
{
    cat_db *db = NULL;
    int64_t jid = 0, t0, at;
    json_t *job = NULL, *j = NULL;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    create(db, "{\"zh\":\"重试\"}", NULL, &jid);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    json_decref(job);
    t0 = cat_now_ms();
    assert_int_equal(cat_jobs_fail(db, jid, "disk full", 3, 60000, NULL), 0);
    assert_string_equal(job_state(db, jid, &j), "queued");
    at = json_integer_value(json_object_get(j, "retry_at_ms"));
    assert_true(at >= t0 + 60000 && at <= cat_now_ms() + 60000);
    /* not before its time */
    assert_int_equal(cat_jobs_claim(db, &job), YL_ENOTFOUND);
    /* its time has come (as if 60 s passed) */
    assert_int_equal(cat_exec(db, "UPDATE jobs SET not_before_ms = 1"), 0);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    json_decref(job);
    assert_string_equal(job_state(db, jid, &j), "running");
    assert_null(json_object_get(j, "retry_at_ms"));
    /* second failure: twice the delay */
    t0 = cat_now_ms();
    assert_int_equal(cat_jobs_fail(db, jid, "disk full", 3, 60000, NULL), 0);
    job_state(db, jid, &j);
    at = json_integer_value(json_object_get(j, "retry_at_ms"));
    assert_true(at >= t0 + 120000 && at <= cat_now_ms() + 120000);
    json_decref(j);
    cat_db_close(db);
}

static void job_fails_three_times_then_stays_failed(void **state)
{
    cat_db *db = NULL;
    int64_t jid = 0, lid, counts[CAT_JOB_NSTATES];
    json_t *job = NULL, *j = NULL;
    int final = -1;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    lid = create(db, "{\"zh\":\"坏视频\"}", NULL, &jid);
    for (int attempt = 1; attempt <= 3; attempt++) {
        assert_int_equal(cat_jobs_claim(db, &job), 0);
        assert_int_equal(json_integer_value(json_object_get(job, "attempts")),
                         attempt);
        json_decref(job);
        assert_int_equal(cat_jobs_progress(db, jid, 0.5), 0);
        assert_int_equal(
            cat_jobs_fail(db, jid, "in.mp4: truncated", 3, 0, &final), 0);
        assert_int_equal(final, attempt == 3);
        assert_string_equal(job_state(db, jid, &j),
                            attempt == 3 ? "failed" : "queued");
        assert_string_equal(json_string_value(json_object_get(j, "error")),
                            "in.mp4: truncated");
    }
    assert_int_equal(cat_jobs_claim(db, &job), YL_ENOTFOUND);
    assert_int_equal(cat_lessons_get(db, lid, NULL, &job), 0);
    assert_string_equal(json_string_value(json_object_get(job, "state")),
                        "failed");
    json_decref(job);
    /* Reports on a job that is not running are refused. */
    assert_int_equal(cat_jobs_progress(db, jid, 0.7), YL_ENOTFOUND);
    assert_int_equal(cat_jobs_fail(db, jid, "x", 3, 0, NULL), YL_ENOTFOUND);
    assert_int_equal(cat_jobs_get(db, 999, &job), YL_ENOTFOUND);
    assert_int_equal(cat_jobs_counts(db, counts), 0);
    assert_int_equal(counts[CAT_JOB_FAILED], 1);
    json_decref(j);
    cat_db_close(db);
}

/* Deleting a lesson cancels its queued or running job in the same
 * transaction; the runner's later reports change nothing, and neither
 * claim nor recovery brings the job back. */
static void delete_cancels_the_job(void **state)
{
    cat_db *db = NULL;
    int64_t jrun = 0, jq = 0, lrun, lq, counts[CAT_JOB_NSTATES];
    json_t *jobs = NULL, *job = NULL, *j = NULL, *meta;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    lrun = create(db, "{\"zh\":\"运行\"}", NULL, &jrun);
    lq = create(db, "{\"zh\":\"排队\"}", NULL, &jq);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    assert_int_equal(json_integer_value(json_object_get(job, "id")), jrun);
    json_decref(job);

    assert_int_equal(cat_lessons_delete(db, lq, &jobs), 0);
    assert_int_equal(json_array_size(jobs), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(jobs, 0), "id")), jq);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(jobs, 0), "state")),
        "queued");
    json_decref(jobs);
    assert_string_equal(job_state(db, jq, &j), "cancelled");
    assert_int_equal(cat_jobs_claim(db, &job), YL_ENOTFOUND);

    assert_int_equal(cat_lessons_delete(db, lrun, &jobs), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(jobs, 0), "state")),
        "running");
    json_decref(jobs);
    assert_string_equal(job_state(db, jrun, &j), "cancelled");
    assert_int_equal(cat_jobs_progress(db, jrun, 0.9), YL_ENOTFOUND);
    meta = fx_json("{\"version\":1,\"duration_s\":6.0}");
    assert_int_equal(cat_jobs_finish(db, jrun, meta), YL_ENOTFOUND);
    json_decref(meta);
    assert_int_equal(cat_jobs_fail(db, jrun, "killed", 3, 0, NULL),
                     YL_ENOTFOUND);
    assert_int_equal(cat_jobs_recover(db), 0);
    assert_string_equal(job_state(db, jrun, &j), "cancelled");
    assert_int_equal(cat_jobs_counts(db, counts), 0);
    assert_int_equal(counts[CAT_JOB_CANCELLED], 2);
    assert_string_equal(cat_job_state_name(CAT_JOB_CANCELLED), "cancelled");
    /* Twice: not found, and nothing returned. */
    jobs = NULL;
    assert_int_equal(cat_lessons_delete(db, lrun, &jobs), YL_ENOTFOUND);
    assert_null(jobs);
    json_decref(j);
    cat_db_close(db);
}

/* An audio-only lesson transcoded before cards existed says "poster":
 * null: its item has no poster (a URL would be a 404), while a meta
 * without the key (older still) keeps the default poster.jpg. */
static void poster_null_stays_null(void **state)
{
    cat_db *db = NULL;
    int64_t j1 = 0, j2 = 0, a, b;
    json_t *meta, *item = NULL;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    a = create(db, "{\"zh\":\"广播\"}", NULL, &j1);
    b = create(db, "{\"zh\":\"旧课\"}", NULL, &j2);
    meta = fx_json("{\"version\":1,\"duration_s\":5.0,\"poster\":null,"
                   "\"thumb\":null,\"video\":[],\"audio\":[],"
                   "\"languages\":[\"bo\"]}");
    assert_int_equal(cat_lessons_publish(db, a, meta), 0);
    json_decref(meta);
    meta = fx_json("{\"version\":1,\"duration_s\":5.0,\"video\":[],"
                   "\"audio\":[],\"languages\":[\"zh\"]}");
    assert_int_equal(cat_lessons_publish(db, b, meta), 0);
    json_decref(meta);
    assert_int_equal(cat_lessons_get(db, a, NULL, &item), 0);
    assert_true(json_is_null(json_object_get(item, "poster")));
    assert_true(json_is_null(json_object_get(item, "thumb")));
    assert_string_equal(json_string_value(json_object_get(item, "hls")),
                        "/hls/1/master.m3u8");
    json_decref(item);
    assert_int_equal(cat_lessons_get(db, b, NULL, &item), 0);
    assert_string_equal(json_string_value(json_object_get(item, "poster")),
                        "/hls/2/poster.jpg");
    json_decref(item);
    cat_db_close(db);
}

static void running_job_is_requeued_after_restart(void **state)
{
    char *dir = fx_tmpdir();
    char path[600];
    cat_db *db = NULL;
    int64_t jid = 0, lid;
    json_t *job = NULL, *j = NULL;

    (void)state;
    snprintf(path, sizeof(path), "%s/y.db", dir);
    assert_int_equal(cat_db_open(path, 0, &db), 0);
    lid = create(db, "{\"zh\":\"重启\"}", NULL, &jid);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    json_decref(job);
    assert_int_equal(cat_jobs_progress(db, jid, 0.42), 0);
    cat_db_close(db); /* the server dies mid-job */

    assert_int_equal(cat_db_open(path, 0, &db), 0);
    assert_string_equal(job_state(db, jid, &j), "running");
    assert_int_equal(cat_jobs_recover(db), 1);
    assert_string_equal(job_state(db, jid, &j), "queued");
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 0);
    assert_int_equal(cat_jobs_recover(db), 0);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(job);
    job = fx_json("{\"version\":1,\"duration_s\":12.5,\"video\":[],"
                  "\"audio\":[],\"languages\":[\"zh\"]}");
    assert_int_equal(cat_jobs_finish(db, jid, job), 0);
    json_decref(job);
    assert_string_equal(job_state(db, jid, &j), "done");
    assert_true(json_number_value(json_object_get(j, "progress")) == 1.0);
    assert_int_equal(cat_lessons_get(db, lid, NULL, &job), 0);
    assert_string_equal(json_string_value(json_object_get(job, "state")),
                        "ready");
    json_decref(job);
    json_decref(j);
    cat_db_close(db);
    fx_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(search_titles_in_every_script),
        cmocka_unit_test(create_checks_input_and_moves_the_upload),
        cmocka_unit_test(meta_load_names_the_bad_field),
        cmocka_unit_test(job_fails_three_times_then_stays_failed),
        cmocka_unit_test(job_retry_waits_and_doubles),
        cmocka_unit_test(running_job_is_requeued_after_restart),
        cmocka_unit_test(delete_cancels_the_job),
        cmocka_unit_test(poster_null_stays_null),
    };
    return cmocka_run_group_tests_name("cat_lessons", tests, NULL, NULL);
}
