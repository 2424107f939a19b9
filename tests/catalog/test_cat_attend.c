/* test_cat_attend.c - meeting attendance: view events of kind live (an
 * event naming "meeting") into per-station rows, their validation beside
 * lesson events in one batch, idempotence, the headcount, and the
 * aggregation per child region and per station. Through the real writer
 * thread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_attend.h"
#include "catalog/cat_config.h"
#include "catalog/cat_meetings.h"
#include "catalog/cat_views.h"
#include "catalog/cat_writer.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

typedef struct fx {
    char *dir;
    cat_config cfg;
    cat_writer *w;
    cat_db *rd;
    int64_t lesson;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];
    cat_db *db;

    f->dir = fx_tmpdir();
    db = fx_open_with_sites(f->dir);
    f->lesson = fx_lesson(db, "课", 600);
    cat_db_close(db);
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

/* A meeting sent to county 910101 (5 stations) and township 910201001
 * (3 stations); started unless scheduled. */
static int64_t meeting(fx *f, bool start)
{
    json_t *in = fx_json("{\"title\":\"全省部署会\",\"targets\":[\"910101\","
                         "\"910201001\"],\"source\":\"test:\"}");
    cat_sync s;
    int64_t id;

    cat_sync_init(&s);
    assert_int_equal(
        cat_meetings_create_submit(f->w, in, "91", 0, cat_sync_done, &s), 0);
    assert_int_equal(cat_sync_wait(&s), 0);
    id = s.res.id;
    cat_sync_fini(&s);
    json_decref(in);
    if (start) {
        cat_sync_init(&s);
        assert_int_equal(cat_meetings_set_state_submit(f->w, id, "live", NULL,
                                                       cat_sync_done, &s),
                         0);
        assert_int_equal(cat_sync_wait(&s), 0);
        cat_sync_fini(&s);
    }
    return id;
}

/* Submits {"events": [...]} (printf format); the rc, the counts and the
 * error message. */
static int views(fx *f, int *acc, int *dups, char *err, size_t errlen,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int views(fx *f, int *acc, int *dups, char *err, size_t errlen,
                 const char *fmt, ...)
{
    char text[4096], perr[256];
    cat_view_batch *b = NULL;
    va_list ap;
    json_t *j;
    cat_sync s;
    int rc;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    j = fx_json(text);
    rc = cat_views_parse(j, NULL, 500, cat_now_ms(), &b, perr, sizeof(perr));
    json_decref(j);
    if (rc < 0) {
        snprintf(err, errlen, "%s", perr);
        return rc;
    }
    cat_sync_init(&s);
    rc = cat_views_submit(f->w, b, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    *acc = s.res.accepted;
    *dups = s.res.duplicates;
    snprintf(err, errlen, "%s", s.res.error);
    cat_sync_fini(&s);
    return rc;
}

#define EV(sess, seq, site, what, kind)                                        \
    "{\"session\":\"" sess "\",\"seq\":" #seq ",\"site\":\"" site "\"," what   \
    ",\"kind\":\"" kind "\",\"position_s\":0,\"ts\":%lld}"

static int64_t ival(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void live_events_fill_station_rows(void **state)
{
    fx *f = *state;
    json_t *rep = NULL, *kids, *sites, *row;
    char err[512], m[32];
    long long t = (long long)cat_now_ms() - 60000;
    int acc, dups;
    int64_t id = meeting(f, true);

    snprintf(m, sizeof(m), "\"meeting\":%lld", (long long)id);
    /* Two devices in 一村, one in 五村; a lesson event rides along. */
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("a", 1, "910101001001", "%s", "start") "," EV(
                  "a", 2, "910101001001", "%s",
                  "beat") "," EV("b", 1, "910101001001", "%s",
                                 "start") "," EV("c", 1, "910201001001", "%s",
                                                 "start") "," EV("l", 1,
                                                                 "91010100"
                                                                 "1002",
                                                                 "\"lesson"
                                                                 "\":%lld",
                                                                 "start") "]}",
              m, t, m, t + 15000, m, t, m, t, (long long)f->lesson, t),
        0);
    assert_int_equal(acc, 5);
    assert_int_equal(dups, 0);
    /* A resend is a duplicate and changes nothing. */
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("a", 2, "910101001001", "%s", "beat") "]}", m,
              t + 15000),
        0);
    assert_int_equal(acc, 0);
    assert_int_equal(dups, 1);

    assert_int_equal(cat_attend_report(f->rd, id, "91", true, &rep), 0);
    row = json_object_get(rep, "totals");
    assert_int_equal(ival(row, "targeted"), 8);
    assert_int_equal(ival(row, "attended"), 2);
    assert_int_equal(ival(row, "watched_s"), 15);
    assert_int_equal(ival(row, "devices"), 3);
    /* Children of the province: 甲市 5 targeted 1 attended, 乙州 3 and 1. */
    kids = json_object_get(rep, "children");
    assert_int_equal(json_array_size(kids), 2);
    row = json_array_get(kids, 0);
    assert_string_equal(json_string_value(json_object_get(row, "code")),
                        "9101");
    assert_int_equal(ival(row, "targeted"), 5);
    assert_int_equal(ival(row, "attended"), 1);
    assert_true(json_real_value(json_object_get(row, "share")) > 0.19 &&
                json_real_value(json_object_get(row, "share")) < 0.21);
    row = json_array_get(kids, 1);
    assert_int_equal(ival(row, "targeted"), 3);
    assert_int_equal(ival(row, "attended"), 1);
    sites = json_object_get(rep, "sites");
    assert_int_equal(json_array_size(sites), 8);
    for (size_t i = 0; i < json_array_size(sites); i++) {
        row = json_array_get(sites, i);
        if (strcmp(json_string_value(json_object_get(row, "code")),
                   "910101001001") != 0)
            continue;
        assert_int_equal(ival(row, "devices"), 2);
        assert_int_equal(ival(row, "watched_s"), 15);
        assert_true(ival(row, "joined_ms") > 0);
        assert_true(ival(row, "left_ms") >= ival(row, "joined_ms"));
        assert_true(json_is_null(json_object_get(row, "headcount")));
    }
    json_decref(rep);

    /* A county's view: its own stations only. */
    assert_int_equal(cat_attend_report(f->rd, id, "910201", false, &rep), 0);
    row = json_object_get(rep, "totals");
    assert_int_equal(ival(row, "targeted"), 3);
    assert_int_equal(ival(row, "attended"), 1);
    assert_null(json_object_get(rep, "sites"));
    json_decref(rep);
    assert_int_equal(cat_attend_report(f->rd, 999, "91", false, &rep),
                     YL_ENOTFOUND);

    /* The wall's live figure. */
    assert_int_equal(cat_attend_live(f->rd, "9102", &rep), 0);
    assert_non_null(rep);
    assert_int_equal(ival(rep, "id"), id);
    assert_int_equal(ival(rep, "targeted"), 3);
    assert_int_equal(ival(rep, "attended"), 1);
    json_decref(rep);
}

static void bad_live_events_reject_the_batch(void **state)
{
    fx *f = *state;
    char err[512], m[32];
    long long t = (long long)cat_now_ms();
    int acc, dups;
    int64_t id = meeting(f, true), sched = meeting(f, false);
    json_t *tot = NULL;

    snprintf(m, sizeof(m), "\"meeting\":%lld", (long long)id);
    /* 910102001001 (二县) is not targeted. */
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("x", 1, "910101001001", "%s", "start") "," EV(
                  "y", 1, "910102001001", "%s", "start") "]}",
              m, t, m, t),
        YL_EINVAL);
    assert_non_null(strstr(err, "events[1].site"));
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("x", 1, "910101001001", "\"meeting\":99999",
                                 "start") "]}",
              t),
        YL_EINVAL);
    assert_non_null(strstr(err, "unknown meeting"));
    snprintf(m, sizeof(m), "\"meeting\":%lld", (long long)sched);
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("x", 1, "910101001001", "%s", "start") "]}", m,
              t),
        YL_EINVAL);
    assert_non_null(strstr(err, "has not started"));
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("x", 1, "910101001001",
                                 "\"meeting\":1,\"lesson\":1", "start") "]}",
              t),
        YL_EINVAL);
    assert_non_null(strstr(err, "not both"));
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("x", 1, "910101001001", "\"meeting\":\"1\"",
                                 "start") "]}",
              t),
        YL_EINVAL);
    assert_non_null(strstr(err, "events[0].meeting"));
    /* One session may not be a lesson's and a meeting's. */
    snprintf(m, sizeof(m), "\"meeting\":%lld", (long long)id);
    assert_int_equal(
        views(f, &acc, &dups, err, sizeof(err),
              "{\"events\":[" EV("z", 1, "910101001001", "\"lesson\":%lld",
                                 "start") "," EV("z", 2, "910101001001", "%s",
                                                 "beat") "]}",
              (long long)f->lesson, t, m, t),
        YL_EINVAL);
    assert_non_null(strstr(err, "changes site or meeting"));
    /* Nothing of the rejected batches was stored. */
    assert_int_equal(cat_attend_totals(f->rd, id, "91", &tot), 0);
    assert_int_equal(ival(tot, "attended"), 0);
    json_decref(tot);
}

static int headcount(fx *f, int64_t id, const char *site, int n)
{
    cat_sync s;
    int rc;

    cat_sync_init(&s);
    rc = cat_attend_headcount_submit(f->w, id, site, n, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    cat_sync_fini(&s);
    return rc;
}

static void headcount_is_checked_and_summed(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {
        "[]",
        "{\"site\":\"910101001001\"}",
        "{\"site\":\"910101001001\",\"count\":-1}",
        "{\"site\":\"910101001001\",\"count\":10001}",
        "{\"site\":\"910101001001\",\"count\":\"12\"}",
        "{\"site\":\"910101001001\",\"count\":1.5}",
        "{\"site\":\"910101\",\"count\":3}",
    };
    char site[32], err[256];
    json_t *tot = NULL, *in;
    cat_sync s;
    int n;
    int64_t id = meeting(f, false);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        in = fx_json(bad[i]);
        assert_int_equal(cat_attend_headcount_check(in, site, sizeof(site), &n,
                                                    err, sizeof(err)),
                         YL_EINVAL);
        json_decref(in);
    }
    in = fx_json("{\"site\":\"910101001001\",\"count\":10000}");
    assert_int_equal(cat_attend_headcount_check(in, site, sizeof(site), &n, err,
                                                sizeof(err)),
                     0);
    json_decref(in);
    assert_int_equal(n, 10000);
    /* Not before the start (409): nobody can be present yet. */
    assert_int_equal(headcount(f, id, "910101001001", 12), YL_EEXIST);
    assert_int_equal(cat_attend_totals(f->rd, id, "91", &tot), 0);
    assert_int_equal(ival(tot, "headcount_sites"), 0);
    json_decref(tot);
    cat_sync_init(&s);
    assert_int_equal(cat_meetings_set_state_submit(f->w, id, "live", NULL,
                                                   cat_sync_done, &s),
                     0);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    assert_int_equal(headcount(f, id, "910101001001", 12), 0);
    assert_int_equal(headcount(f, id, "910101001001", 14), 0); /* replaces */
    assert_int_equal(headcount(f, id, "910201001", 7), 0);
    assert_int_equal(headcount(f, id, "910102001001", 7), YL_EINVAL);
    assert_int_equal(headcount(f, 99999, "910101001001", 7), YL_ENOTFOUND);
    assert_int_equal(cat_attend_totals(f->rd, id, "91", &tot), 0);
    assert_int_equal(ival(tot, "headcount"), 21);
    assert_int_equal(ival(tot, "headcount_sites"), 2);
    json_decref(tot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(live_events_fill_station_rows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_live_events_reject_the_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(headcount_is_checked_and_summed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("cat_attend", tests, NULL, NULL);
}
