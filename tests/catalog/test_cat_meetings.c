/* test_cat_meetings.c - meetings: the request check, storage with one row
 * per station below the targets, the state moves (scheduled → live →
 * ended, failed → live again) and "the live meeting of this site". Through
 * the real writer thread. */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/cat_config.h"
#include "catalog/cat_meetings.h"
#include "catalog/cat_writer.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

typedef struct fx {
    char *dir;
    cat_config cfg;
    cat_writer *w;
    cat_db *rd;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];

    f->dir = fx_tmpdir();
    cat_db_close(fx_open_with_sites(f->dir));
    cat_config_init(&f->cfg);
    cat_config_set(&f->cfg, "server", "data", f->dir, err, sizeof(err));
    assert_int_equal(cat_config_finish(&f->cfg, err, sizeof(err)), 0);
    assert_int_equal(cat_writer_start(&f->cfg, &f->w), 0);
    assert_int_equal(cat_reader_open(f->cfg.db_path, &f->rd), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    cat_db_close(f->rd);
    cat_writer_stop(f->w);
    fx_rmdir(f->dir);
    free(f);
    return 0;
}

static void check_refuses_each_bad_field(void **state)
{
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"[]", "body"},
        {"{\"targets\":[\"91\"],\"source\":\"test:\"}", "title"},
        {"{\"title\":\"a\\nb\",\"targets\":[\"91\"],\"source\":\"test:\"}",
         "title"},
        {"{\"title\":\"t\",\"targets\":[],\"source\":\"test:\"}", "targets"},
        {"{\"title\":\"t\",\"targets\":[\"x\"],\"source\":\"test:\"}",
         "targets[0]"},
        {"{\"title\":\"t\",\"targets\":[\"91\"]}", "source"},
        {"{\"title\":\"t\",\"targets\":[\"91\"],\"source\":\"test:\","
         "\"starts_at\":\"tomorrow\"}",
         "starts_at"},
#define AUDIO(a)                                                               \
    "{\"title\":\"t\",\"targets\":[\"91\"],\"source\":\"test:\",\"audio\":" a  \
    "}"
        {AUDIO("\"zh\""), "audio: want an array"},
        {AUDIO("[]"), "audio: want an array"},
        {AUDIO("[\"zh\",\"bo\",\"lis\",\"ii\",\"wbm\"]"), "audio: want"},
        {AUDIO("[\"zh\",\"x y\"]"), "audio[1]: not a BCP-47"},
        {AUDIO("[\"zh\",\"bo\",\"tib\"]"), "audio[2]: bo is given twice"},
        {AUDIO("[\"zh\",true]"), "audio[1]: want a language tag"},
        {AUDIO("[{\"lang\":\"bo\"}]"), "audio[0].source"},
        {AUDIO("[{\"lang\":\"bo\",\"source\":7}]"), "audio[0].source"},
        {AUDIO("[{\"lang\":\"b_o\",\"source\":\"srt://:1\"}]"),
         "audio[0].lang"},
        {AUDIO("[{\"lang\":\"bo\",\"source\":\"srt://:1\",\"k\":1}]"),
         "audio[0]: unknown key"},
#undef AUDIO
    };
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *in = fx_json(bad[i].json);

        err[0] = '\0';
        assert_int_equal(cat_meetings_check(in, err, sizeof(err)), YL_EINVAL);
        if (strncmp(err, bad[i].field, strlen(bad[i].field)) != 0)
            fail_msg("%s: \"%s\" does not name %s", bad[i].json, err,
                     bad[i].field);
        json_decref(in);
    }
    json_t *ok = fx_json("{\"title\":\"会\",\"targets\":[\"9101\"],"
                         "\"source\":\"test:\","
                         "\"starts_at\":\"2026-05-01T09:00:00+08:00\"}");
    assert_int_equal(cat_meetings_check(ok, err, sizeof(err)), 0);
    json_decref(ok);
}

/* Through the writer, blocking. *out (may be NULL) gets res->json. */
static int sync_create(fx *f, const char *json, json_t **out)
{
    json_t *in = fx_json(json);
    cat_sync s;
    int rc;

    cat_sync_init(&s);
    rc = cat_meetings_create_submit(f->w, in, "91", 0, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    if (out != NULL) {
        *out = s.res.json;
        s.res.json = NULL;
    }
    cat_sync_fini(&s);
    json_decref(in);
    return rc;
}

static int sync_state(fx *f, int64_t id, const char *state, const char *err)
{
    cat_sync s;
    int rc;

    cat_sync_init(&s);
    rc = cat_meetings_set_state_submit(f->w, id, state, err, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    cat_sync_fini(&s);
    return rc;
}

/* The declared audio is stored normalised and read back; none is null. */
static void audio_is_stored_normalised(void **state)
{
    fx *f = *state;
    json_t *m = NULL, *got = NULL;
    char *s;

    assert_int_equal(
        sync_create(f,
                    "{\"title\":\"口译\",\"targets\":[\"910101\"],"
                    "\"source\":\"srt://:9000?mode=listener\",\"audio\":"
                    "[\"ZHO\",{\"lang\":\"tib\",\"source\":\"srt://:9101?"
                    "mode=listener\"},\"lis\"]}",
                    &m),
        0);
    assert_int_equal(
        cat_meetings_get(f->rd, json_integer_value(json_object_get(m, "id")),
                         &got),
        0);
    s = json_dumps(json_object_get(got, "audio"), JSON_COMPACT);
    assert_string_equal(s, "[\"zh\",{\"lang\":\"bo\",\"source\":\"srt://"
                           ":9101?mode=listener\"},\"lis\"]");
    free(s);
    json_decref(m);
    json_decref(got);
    assert_int_equal(sync_create(f,
                                 "{\"title\":\"t\",\"targets\":[\"910101\"],"
                                 "\"source\":\"test:\"}",
                                 &m),
                     0);
    assert_true(json_is_null(json_object_get(m, "audio")));
    json_decref(m);
}

static void create_start_stop_current(void **state)
{
    fx *f = *state;
    json_t *m = NULL, *cur = NULL;
    int64_t id;

    assert_int_equal(sync_create(f,
                                 "{\"title\":\"全省部署会\",\"targets\":"
                                 "[\"910101\"],\"source\":\"test:\"}",
                                 &m),
                     0);
    id = json_integer_value(json_object_get(m, "id"));
    assert_true(id > 0);
    /* 910101: 2 townships + 3 villages. */
    assert_int_equal(json_integer_value(json_object_get(m, "n_sites")), 5);
    assert_string_equal(json_string_value(json_object_get(m, "state")),
                        "scheduled");
    assert_string_equal(json_string_value(json_object_get(m, "owner")), "91");
    json_decref(m);
    assert_int_equal(sync_create(f,
                                 "{\"title\":\"t\",\"targets\":[\"99\"],"
                                 "\"source\":\"test:\"}",
                                 NULL),
                     YL_EINVAL);

    assert_int_equal(cat_meetings_current(f->rd, "910101001001", &cur), 0);
    assert_null(cur);
    assert_int_equal(sync_state(f, id, "ended", NULL), YL_EEXIST);
    assert_int_equal(sync_state(f, id, "live", NULL), 0);
    assert_int_equal(sync_state(f, id, "live", NULL), YL_EEXIST);
    assert_int_equal(cat_meetings_current(f->rd, "910101001001", &cur), 0);
    assert_non_null(cur);
    assert_int_equal(json_integer_value(json_object_get(cur, "id")), id);
    assert_string_equal(json_string_value(json_object_get(cur, "hls")),
                        "/live/1/master.m3u8");
    json_decref(cur);
    /* Another county is not targeted. */
    assert_int_equal(cat_meetings_current(f->rd, "910102001001", &cur), 0);
    assert_null(cur);

    /* A failure may be started again; an end may not. */
    assert_int_equal(sync_state(f, id, "failed", "pipeline: boom"), 0);
    assert_int_equal(cat_meetings_get(f->rd, id, &m), 0);
    assert_string_equal(json_string_value(json_object_get(m, "error")),
                        "pipeline: boom");
    json_decref(m);
    assert_int_equal(sync_state(f, id, "live", NULL), 0);
    int64_t ids[4];
    assert_int_equal(cat_meetings_live_ids(f->rd, ids, 4), 1);
    assert_int_equal(ids[0], id);
    assert_int_equal(sync_state(f, id, "ended", NULL), 0);
    assert_int_equal(sync_state(f, id, "live", NULL), YL_EEXIST);
    assert_int_equal(cat_meetings_current(f->rd, "910101001001", &cur), 0);
    assert_null(cur);
    assert_int_equal(cat_meetings_get(f->rd, 999, &m), YL_ENOTFOUND);
}

static int sync_record(fx *f, int64_t id, const char *state,
                       const cat_lesson_new *ln, int64_t *lesson, int64_t *job)
{
    cat_sync s;
    int rc;

    cat_sync_init(&s);
    rc = cat_meetings_record_submit(f->w, id, state, ln, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    if (lesson != NULL)
        *lesson = s.res.id;
    if (job != NULL)
        *job = s.res.job_id;
    cat_sync_fini(&s);
    return rc;
}

/* "recording" of the meeting id as compact JSON into buf. */
static const char *recording_of(fx *f, int64_t id, char *buf, size_t len)
{
    json_t *m = NULL;
    char *s;

    assert_int_equal(cat_meetings_get(f->rd, id, &m), 0);
    s = json_dumps(json_object_get(m, "recording"),
                   JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", s ? s : "?");
    free(s);
    json_decref(m);
    return buf;
}

/* The recording's lesson and job are created with the meeting's link in
 * one transaction; the staged directory becomes the job's; without a
 * lesson the state says why. */
static void recording_lesson_and_states(void **state)
{
    fx *f = *state;
    json_t *m = NULL;
    cat_lesson_new ln;
    char staged[4096], uploads[4096], want[128], buf[4200];
    int64_t id, lid = 0, jid = 0;
    struct stat sb;

    assert_int_equal(sync_create(f,
                                 "{\"title\":\"全省部署会\",\"targets\":"
                                 "[\"910101\"],\"source\":\"test:\"}",
                                 &m),
                     0);
    id = json_integer_value(json_object_get(m, "id"));
    json_decref(m);
    assert_string_equal(recording_of(f, id, buf, sizeof(buf)), "null");

    assert_int_equal(sync_record(f, id, "none", NULL, NULL, NULL), 0);
    assert_string_equal(recording_of(f, id, buf, sizeof(buf)),
                        "{\"lesson\":null,\"job\":null,\"state\":\"none\"}");
    assert_int_equal(sync_record(f, id, "off", NULL, NULL, NULL), 0);
    assert_string_equal(recording_of(f, id, buf, sizeof(buf)),
                        "{\"lesson\":null,\"job\":null,\"state\":\"off\"}");
    /* Refused before the writer: a lesson without "job", or a bad state. */
    assert_int_equal(sync_record(f, id, "job", NULL, NULL, NULL), YL_EINVAL);
    assert_int_equal(sync_record(f, id, "done", NULL, NULL, NULL), YL_EINVAL);
    assert_int_equal(sync_record(f, 999, "none", NULL, NULL, NULL),
                     YL_ENOTFOUND);

    snprintf(staged, sizeof(staged), "%s/recordings/1-1", f->dir);
    snprintf(uploads, sizeof(uploads), "%s/uploads", f->dir);
    assert_int_equal(mkdir(uploads, 0755), 0);
    snprintf(buf, sizeof(buf), "%s/recordings", f->dir);
    assert_int_equal(mkdir(buf, 0755), 0);
    assert_int_equal(mkdir(staged, 0755), 0);
    memset(&ln, 0, sizeof(ln));
    ln.titles = fx_json("{\"zh\":\"全省部署会 录像\"}");
    ln.inputs = fx_json("{\"source\":\"v720.ts\",\"audio\":{\"zh\":"
                        "\"a_zh.ts\",\"bo\":\"a_bo.ts\"}}");
    ln.category = "会议录像";
    ln.owner = "91";
    ln.staged_dir = staged;
    ln.uploads_dir = uploads;
    /* The lesson is made, then the meeting's row is not found: the whole
     * request rolls back, and the recording is back where it was (not
     * stranded in uploads/ under a job that was never stored). */
    assert_int_equal(sync_record(f, 999, "job", &ln, NULL, NULL), YL_ENOTFOUND);
    assert_int_equal(stat(staged, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    {
        DIR *d = opendir(uploads);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
            n += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(n, 0);
    }
    assert_int_equal(sync_record(f, id, "job", &ln, &lid, &jid), 0);
    assert_true(lid > 0 && jid > 0);
    snprintf(want, sizeof(want),
             "{\"lesson\":%lld,\"job\":%lld,\"state\":\"queued\"}",
             (long long)lid, (long long)jid);
    assert_string_equal(recording_of(f, id, buf, sizeof(buf)), want);
    assert_int_equal(stat(staged, &sb), -1); /* renamed to uploads/<job> */
    snprintf(buf, sizeof(buf), "%s/%lld", uploads, (long long)jid);
    assert_int_equal(stat(buf, &sb), 0);

    /* A lesson that cannot be made (no title) leaves the meeting as it
     * was: one transaction. */
    json_decref(ln.titles);
    ln.titles = fx_json("{}");
    ln.staged_dir = NULL;
    assert_int_equal(sync_record(f, id, "job", &ln, NULL, NULL), YL_EINVAL);
    assert_string_equal(recording_of(f, id, buf, sizeof(buf)), want);
    json_decref(ln.titles);
    json_decref(ln.inputs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_refuses_each_bad_field),
        cmocka_unit_test_setup_teardown(audio_is_stored_normalised, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(create_start_stop_current, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recording_lesson_and_states, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("cat_meetings", tests, NULL, NULL);
}
