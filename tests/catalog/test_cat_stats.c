/* test_cat_stats.c - ranking and per-site history: numbers and shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_stats.h"
#include "catalog/cat_views.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

typedef struct fx {
    char *dir;
    cat_db *db;
    int64_t lesson, lesson2;
} fx;

/* One session of n beats 15 s apart (watched 15 * (n - 1) s), reaching
 * position pos, each beat received when it says it was sent, from day at
 * 10:00 (credit is bounded by the server's clock). */
static void session(fx *f, const char *site, const char *sess, int64_t lesson,
                    const char *day, int n, double pos)
{
    int64_t t0 = fx_ms(day, 10, 0);

    for (int i = 0; i < n; i++) {
        json_t *body = json_object(), *evs = json_array();
        cat_view_batch *b = NULL;
        char err[256];
        int acc = 0, dup = 0;

        json_array_append_new(evs,
                              json_pack("{s:s, s:i, s:s, s:I, s:s, s:f, s:I}",
                                        "session", sess, "seq", i, "site", site,
                                        "lesson", (json_int_t)lesson, "kind",
                                        i == 0 ? "start" : "beat", "position_s",
                                        i == n - 1 ? pos : 0.0, "ts",
                                        (json_int_t)(t0 + i * 15000)));
        json_object_set_new(body, "events", evs);
        assert_int_equal(cat_views_parse(body, NULL, 500, t0 + i * 15000, &b,
                                         err, sizeof(err)),
                         0);
        if (cat_views_apply(f->db, b, &acc, &dup) != 0)
            fail_msg("%s", cat_db_errmsg(f->db));
        assert_int_equal(acc, 1);
        cat_view_batch_free(b);
        json_decref(body);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->dir = fx_tmpdir();
    f->db = fx_open_with_sites(f->dir);
    f->lesson = fx_lesson(f->db, "统计课一", 100.0);
    f->lesson2 = fx_lesson(f->db, "统计课二", 100.0);
    /* 一县 (910101, 5 stations): 一村 2 sessions (one completes), 东镇 1.
     * 二县 (910102, 2 stations): 四村 1 long session.
     * 三县 (乙州): 五村 1 session on 03-05 only. */
    session(f, "910101001001", "a", f->lesson, "2026-03-01", 5, 95);  /* 60 s */
    session(f, "910101001001", "b", f->lesson2, "2026-03-02", 3, 10); /* 30 */
    session(f, "910101001", "c", f->lesson, "2026-03-02", 2, 10);     /* 15 */
    session(f, "910102001001", "d", f->lesson, "2026-03-03", 41, 91); /* 600 */
    session(f, "910201001001", "e", f->lesson, "2026-03-05", 2, 0);   /* 15 */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    cat_db_close(f->db);
    fx_rmdir(f->dir);
    free(f);
    return 0;
}

static json_t *item_of(json_t *res, const char *code)
{
    size_t i;
    json_t *it;

    json_array_foreach(json_object_get(res, "items"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "code")), code) == 0)
            return it;
    }
    fail_msg("no item %s", code);
    return NULL;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", k);
    return json_number_value(v);
}

static void ranking_of_a_prefecture(void **state)
{
    fx *f = *state;
    json_t *r = NULL, *it;
    int64_t now = fx_ms("2026-03-10", 12, 0);

    assert_int_equal(
        cat_stats_ranking(f->db, "9101", "2026-03-01", "2026-03-05", now, &r),
        0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r, "region"), "code")),
                        "9101");
    assert_string_equal(json_string_value(json_object_get(r, "from")),
                        "2026-03-01");
    assert_int_equal(json_array_size(json_object_get(r, "items")), 2);
    /* 二县: 600 s over 2 stations beats 一县: 105 s over 5. */
    it = json_array_get(json_object_get(r, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "code")),
                        "910102");
    assert_int_equal(num(it, "rank"), 1);
    assert_int_equal(num(it, "sites"), 2);
    assert_int_equal(num(it, "active_sites"), 1);
    assert_true(fabs(num(it, "active_share") - 0.5) < 1e-9);
    assert_true(fabs(num(it, "watch_hours") - 600.0 / 3600) < 1e-9);
    assert_true(fabs(num(it, "watch_hours_per_site") - 300.0 / 3600) < 1e-9);
    assert_int_equal(num(it, "sessions"), 1);
    assert_int_equal(num(it, "completions"), 1);
    assert_true(num(it, "completion_rate") == 1.0);
    it = item_of(r, "910101");
    assert_int_equal(num(it, "rank"), 2);
    assert_int_equal(num(it, "sites"), 5);
    assert_int_equal(num(it, "active_sites"), 2);
    assert_true(fabs(num(it, "watch_hours") - 105.0 / 3600) < 1e-9);
    assert_int_equal(num(it, "sessions"), 3);
    assert_int_equal(num(it, "completions"), 1);
    assert_true(fabs(num(it, "completion_rate") - 1.0 / 3) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(it, "level")),
                        "county");
    json_decref(r);

    /* A narrower range: only 03-02 for 一县. */
    assert_int_equal(
        cat_stats_ranking(f->db, "9101", "2026-03-02", "2026-03-02", now, &r),
        0);
    it = item_of(r, "910101");
    assert_int_equal(num(it, "active_sites"), 2); /* 一村 and 东镇 */
    assert_true(fabs(num(it, "watch_hours") - 45.0 / 3600) < 1e-9);
    it = item_of(r, "910102");
    assert_int_equal(num(it, "active_sites"), 0);
    assert_int_equal(num(it, "sessions"), 0);
    json_decref(r);

    /* The province: default range is the 30 days ending "now". */
    assert_int_equal(cat_stats_ranking(f->db, NULL, NULL, NULL, now, &r), 0);
    assert_string_equal(json_string_value(json_object_get(r, "to")),
                        "2026-03-10");
    assert_string_equal(json_string_value(json_object_get(r, "from")),
                        "2026-02-09");
    it = item_of(r, "9102");
    assert_int_equal(num(it, "sites"), 3);
    assert_int_equal(num(it, "active_sites"), 1);
    it = item_of(r, "9101");
    assert_int_equal(num(it, "active_sites"), 3);
    assert_true(fabs(num(it, "watch_hours") - 705.0 / 3600) < 1e-9);
    json_decref(r);

    /* A township ranks its villages. */
    assert_int_equal(cat_stats_ranking(f->db, "910101001", "2026-03-01",
                                       "2026-03-05", now, &r),
                     0);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 2);
    it = item_of(r, "910101001001");
    assert_int_equal(num(it, "sites"), 1);
    assert_int_equal(num(it, "active_sites"), 1);
    json_decref(r);

    /* Bad parameters. */
    assert_int_equal(
        cat_stats_ranking(f->db, "9101", "2026-3-1", NULL, now, &r), YL_EINVAL);
    assert_non_null(strstr(cat_db_errmsg(f->db), "from"));
    assert_int_equal(
        cat_stats_ranking(f->db, "9101", "2026-03-05", "2026-03-01", now, &r),
        YL_EINVAL);
    assert_int_equal(
        cat_stats_ranking(f->db, "9101", "2024-01-01", "2026-03-01", now, &r),
        YL_EINVAL);
    assert_int_equal(cat_stats_ranking(f->db, "9109", NULL, NULL, now, &r),
                     YL_ENOTFOUND);
}

static void history_of_a_site(void **state)
{
    fx *f = *state;
    json_t *r = NULL, *days, *lessons, *tot;
    int64_t now = fx_ms("2026-03-10", 12, 0);

    assert_int_equal(cat_stats_site(f->db, "910101001001", "2026-03-01",
                                    "2026-03-10", now, &r),
                     0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "site"), "name")),
        "一村");
    days = json_object_get(r, "days");
    assert_int_equal(json_array_size(days), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(days, 0), "day")),
        "2026-03-01");
    assert_true(
        fabs(num(json_array_get(days, 0), "watch_hours") - 60.0 / 3600) < 1e-9);
    lessons = json_object_get(r, "lessons");
    assert_int_equal(json_array_size(lessons), 2);
    assert_int_equal(num(json_array_get(lessons, 0), "lesson"), f->lesson);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(lessons, 0), "title")),
        "统计课一");
    tot = json_object_get(r, "totals");
    assert_int_equal(num(tot, "sessions"), 2);
    assert_int_equal(num(tot, "completions"), 1);
    assert_int_equal(num(tot, "active_days"), 2);
    assert_true(fabs(num(tot, "watch_hours") - 90.0 / 3600) < 1e-9);
    json_decref(r);

    /* A county: its whole subtree, lessons from all its stations. */
    assert_int_equal(
        cat_stats_site(f->db, "910101", "2026-03-01", "2026-03-10", now, &r),
        0);
    tot = json_object_get(r, "totals");
    assert_int_equal(num(tot, "sessions"), 3);
    lessons = json_object_get(r, "lessons");
    assert_int_equal(json_array_size(lessons), 2);
    assert_int_equal(num(json_array_get(lessons, 0), "sessions"), 2);
    json_decref(r);
    assert_int_equal(cat_stats_site(f->db, "910101001009", NULL, NULL, now, &r),
                     YL_ENOTFOUND);
}

/* Today's hours for the wall's push: the day's roll-up of a region's
 * whole subtree, nothing from other days, 0 for a day or code without. */
static void hours_of_today(void **state)
{
    fx *f = *state;
    double h = -1;

    assert_int_equal(cat_stats_hours_today(f->db, "910101001001",
                                           fx_ms("2026-03-02", 20, 0), &h),
                     0);
    assert_true(fabs(h - 30.0 / 3600) < 1e-9);
    /* 一县 on 03-02: 一村 30 s and 东镇 15 s. */
    assert_int_equal(
        cat_stats_hours_today(f->db, "910101", fx_ms("2026-03-02", 20, 0), &h),
        0);
    assert_true(fabs(h - 45.0 / 3600) < 1e-9);
    /* The province on 03-03: 四村's 600 s only. */
    assert_int_equal(
        cat_stats_hours_today(f->db, "91", fx_ms("2026-03-03", 23, 0), &h), 0);
    assert_true(fabs(h - 600.0 / 3600) < 1e-9);
    assert_int_equal(
        cat_stats_hours_today(f->db, "91", fx_ms("2026-03-04", 12, 0), &h), 0);
    assert_true(h == 0);
    assert_int_equal(cat_stats_hours_today(f->db, "910101001009",
                                           fx_ms("2026-03-02", 20, 0), &h),
                     0);
    assert_true(h == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ranking_of_a_prefecture, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(history_of_a_site, setup, teardown),
        cmocka_unit_test_setup_teardown(hours_of_today, setup, teardown),
    };
    return cmocka_run_group_tests_name("cat_stats", tests, NULL, NULL);
}
