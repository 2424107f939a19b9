/* test_cat_courses.c - courses: a lesson's place, "next" and the counts
 * among published lessons; naming a course by id or title; scope; bad
 * input; list and get. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_courses.h"
#include "catalog/cat_lessons.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

/* A pending lesson, in course (or none) at index, owned by owner. Returns
 * the lesson id, or the create's error as a negative number. */
static int64_t create_in(cat_db *db, const char *title, const char *course,
                         int index, const char *owner)
{
    cat_lesson_new ln = {0};
    int64_t lid = 0, jid = 0;
    int rc;

    ln.titles = json_pack("{s:s}", "zh", title);
    ln.inputs = json_pack("{s:s}", "source", "source.mp4");
    ln.uploads_dir = "/nonexistent/uploads";
    ln.course = course;
    ln.course_index = index;
    ln.owner = owner;
    rc = cat_lessons_create(db, &ln, &lid, &jid);
    json_decref(ln.titles);
    json_decref(ln.inputs);
    return rc < 0 ? rc : lid;
}

static void publish(cat_db *db, int64_t lid)
{
    json_t *meta = fx_json("{\"version\":1,\"duration_s\":30.0,"
                           "\"poster\":\"poster.jpg\",\"thumb\":\"thumb.jpg\","
                           "\"thumbs\":\"thumbs.vtt\",\"video\":[],"
                           "\"audio\":[],\"languages\":[\"zh\"]}");

    assert_int_equal(cat_lessons_publish(db, lid, meta), 0);
    json_decref(meta);
}

/* The lesson's JSON item (caller frees). */
static json_t *item(cat_db *db, int64_t lid)
{
    json_t *j = NULL;

    assert_int_equal(cat_lessons_get(db, lid, NULL, &j), 0);
    return j;
}

static int64_t next_of(cat_db *db, int64_t lid)
{
    json_t *j = item(db, lid), *n = json_object_get(j, "next");
    int64_t v;

    assert_non_null(n); /* always present */
    v = json_is_null(n) ? 0 : json_integer_value(n);
    json_decref(j);
    return v;
}

/* "index/count" of the lesson's course object, "" without one. */
static const char *place_of(cat_db *db, int64_t lid, char *buf, size_t len)
{
    json_t *j = item(db, lid), *c = json_object_get(j, "course");

    if (c == NULL)
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(c, "index")),
                 (long long)json_integer_value(json_object_get(c, "count")));
    json_decref(j);
    return buf;
}

static void order_next_and_counts(void **state)
{
    char *dir = fx_tmpdir(), b[32];
    cat_db *db = fx_open_with_sites(dir);
    int64_t a, bb, c, solo;
    json_t *j;

    (void)state;
    a = create_in(db, "第一课", "森林防火", 0, "91");
    bb = create_in(db, "第二课", "森林防火", 0, "91");
    c = create_in(db, "导论", "森林防火", 1, "91"); /* before a */
    solo = create_in(db, "单课", NULL, 0, "91");
    assert_true(a > 0 && bb > 0 && c > 0 && solo > 0);
    publish(db, a);
    publish(db, c);
    publish(db, solo);

    /* Published: c then a; bb (pending) is third and counts itself. */
    assert_string_equal(place_of(db, c, b, sizeof(b)), "1/2");
    assert_string_equal(place_of(db, a, b, sizeof(b)), "2/2");
    assert_string_equal(place_of(db, bb, b, sizeof(b)), "3/3");
    assert_int_equal(next_of(db, c), a);
    assert_int_equal(next_of(db, a), 0); /* bb is not published yet */
    assert_string_equal(place_of(db, solo, b, sizeof(b)), "none");
    assert_int_equal(next_of(db, solo), 0);

    publish(db, bb);
    assert_int_equal(next_of(db, a), bb);
    assert_int_equal(next_of(db, bb), 0);
    assert_string_equal(place_of(db, bb, b, sizeof(b)), "3/3");

    j = item(db, c);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "course"), "title")),
                        "森林防火");
    assert_string_equal(json_string_value(json_object_get(j, "thumbs")),
                        "/hls/3/thumbs.vtt");
    json_decref(j);

    /* A deleted lesson leaves no hole. */
    assert_int_equal(cat_lessons_delete(db, a, NULL), 0);
    assert_int_equal(next_of(db, c), bb);
    assert_string_equal(place_of(db, bb, b, sizeof(b)), "2/2");
    cat_db_close(db);
    fx_rmdir(dir);
}

static void course_by_id_title_and_scope(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    int64_t a, b, c, d, cid_a, cid_c, cid_d;
    json_t *j;

    (void)state;
    a = create_in(db, "县课一", "县课程", 0, "910101");
    assert_true(a > 0);
    j = item(db, a);
    cid_a =
        json_integer_value(json_object_get(json_object_get(j, "course"), "id"));
    json_decref(j);
    assert_true(cid_a > 0);

    /* By id, from the same county and from its province. */
    {
        char id[32];

        snprintf(id, sizeof(id), "%lld", (long long)cid_a);
        b = create_in(db, "县课二", id, 0, "910101");
        assert_true(b > 0);
        d = create_in(db, "省加一课", id, 0, "91");
        assert_true(d > 0);
        /* Another county may not add to it; nor may anyone name an
         * unknown id. */
        assert_int_equal(create_in(db, "外县", id, 0, "910102"), YL_EFORBIDDEN);
        assert_non_null(strstr(cat_db_errmsg(db), "course: course"));
        assert_non_null(strstr(cat_db_errmsg(db), "outside this token's"));
    }
    assert_int_equal(create_in(db, "无", "99", 0, "91"), YL_EINVAL);
    assert_string_equal(cat_db_errmsg(db), "course: unknown course 99");
    assert_int_equal(create_in(db, "无", "99999999999999999999999", 0, "91"),
                     YL_EINVAL);
    /* A bad index, an index without a course, a title too long. */
    assert_int_equal(create_in(db, "无", "县课程", -1, "910101"), YL_EINVAL);
    assert_non_null(strstr(cat_db_errmsg(db), "course_index"));
    assert_int_equal(create_in(db, "无", NULL, 2, "910101"), YL_EINVAL);
    assert_non_null(strstr(cat_db_errmsg(db), "course_index"));
    {
        char longt[CAT_COURSE_TITLE_MAX + 2];

        memset(longt, 'x', sizeof(longt) - 1);
        longt[sizeof(longt) - 1] = '\0';
        assert_int_equal(create_in(db, "无", longt, 0, "91"), YL_EINVAL);
        assert_non_null(strstr(cat_db_errmsg(db), "course:"));
    }
    /* A refused lesson leaves nothing: the course has a, b, d. */
    publish(db, a);
    publish(db, b);
    publish(db, d);
    assert_int_equal(next_of(db, b), d);

    /* The same title from another region is another course. */
    c = create_in(db, "他县课", "县课程", 0, "910102");
    assert_true(c > 0);
    j = item(db, c);
    cid_c =
        json_integer_value(json_object_get(json_object_get(j, "course"), "id"));
    json_decref(j);
    assert_int_not_equal(cid_c, cid_a);
    /* A province-wide course (no owner) takes a province admin only. */
    d = create_in(db, "全省", "全省课", 0, NULL);
    assert_true(d > 0);
    j = item(db, d);
    cid_d =
        json_integer_value(json_object_get(json_object_get(j, "course"), "id"));
    json_decref(j);
    {
        char id[32];

        snprintf(id, sizeof(id), "%lld", (long long)cid_d);
        assert_true(create_in(db, "省", id, 0, "91") > 0);
        assert_int_equal(create_in(db, "县", id, 0, "910101"), YL_EFORBIDDEN);
        assert_non_null(strstr(cat_db_errmsg(db), "province-wide"));
    }
    cat_db_close(db);
    fx_rmdir(dir);
}

static void list_and_get_in_order(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    cat_course_query q = {0};
    int64_t a, b, p;
    json_t *j = NULL, *ls;

    (void)state;
    a = create_in(db, "甲", "核桃", 0, "91");
    b = create_in(db, "乙", "核桃", 1, "91"); /* first */
    p = create_in(db, "丙", "未发布", 0, "91");
    assert_true(a > 0 && b > 0 && p > 0);
    publish(db, a);
    publish(db, b);

    assert_int_equal(cat_courses_list(db, &q, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    ls = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(ls, "title")),
                        "核桃");
    assert_int_equal(json_integer_value(json_object_get(ls, "count")), 2);
    assert_int_equal(json_integer_value(json_object_get(ls, "first")), b);
    json_decref(j);
    q.all_states = true;
    assert_int_equal(cat_courses_list(db, &q, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    json_decref(j);

    q.all_states = false;
    assert_int_equal(cat_courses_get(db, 1, &q, &j), 0);
    ls = json_object_get(j, "lessons");
    assert_int_equal(json_array_size(ls), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(ls, 0), "id")), b);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(ls, 1), "id")), a);
    json_decref(j);
    assert_int_equal(cat_courses_get(db, 2, &q, &j), YL_ENOTFOUND);
    assert_int_equal(cat_courses_get(db, 99, &q, &j), YL_ENOTFOUND);
    q.all_states = true;
    assert_int_equal(cat_courses_get(db, 2, &q, &j), 0);
    assert_int_equal(json_array_size(json_object_get(j, "lessons")), 1);
    json_decref(j);
    cat_db_close(db);
    fx_rmdir(dir);
}

/* Moving a lesson within its course, out of it, into another. */
static void set_moves_and_leaves(void **state)
{
    char *dir = fx_tmpdir(), b[32];
    cat_db *db = fx_open_with_sites(dir);
    int64_t l1, l2, l3;

    (void)state;
    l1 = create_in(db, "一", "课程甲", 0, "91");
    l2 = create_in(db, "二", "课程甲", 0, "91");
    l3 = create_in(db, "三", "课程甲", 0, "91");
    publish(db, l1);
    publish(db, l2);
    publish(db, l3);
    /* l3 to the front: 3, 1, 2. */
    assert_int_equal(cat_courses_set(db, l3, "1", 1, "91"), 0);
    assert_string_equal(place_of(db, l3, b, sizeof(b)), "1/3");
    assert_int_equal(next_of(db, l3), l1);
    assert_int_equal(next_of(db, l2), 0);
    /* l1 to the end (no index): 3, 2, 1. */
    assert_int_equal(cat_courses_set(db, l1, "课程甲", 0, "91"), 0);
    assert_int_equal(next_of(db, l2), l1);
    assert_string_equal(place_of(db, l1, b, sizeof(b)), "3/3");
    /* l2 leaves: 3, 1. */
    assert_int_equal(cat_courses_set(db, l2, NULL, 0, "91"), 0);
    assert_string_equal(place_of(db, l2, b, sizeof(b)), "none");
    assert_int_equal(next_of(db, l3), l1);
    assert_string_equal(place_of(db, l1, b, sizeof(b)), "2/2");
    /* Refused: an index without a course, an unknown or deleted lesson,
     * another region's course. */
    assert_int_equal(cat_courses_set(db, l2, NULL, 2, "91"), YL_EINVAL);
    assert_int_equal(cat_courses_set(db, 99, "1", 0, "91"), YL_ENOTFOUND);
    assert_int_equal(cat_lessons_delete(db, l2, NULL), 0);
    assert_int_equal(cat_courses_set(db, l2, "1", 0, "91"), YL_ENOTFOUND);
    assert_int_equal(cat_courses_set(db, l1, "1", 0, "910101"), YL_EFORBIDDEN);
    assert_string_equal(place_of(db, l1, b, sizeof(b)), "2/2");
    cat_db_close(db);
    fx_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_next_and_counts),
        cmocka_unit_test(course_by_id_title_and_scope),
        cmocka_unit_test(list_and_get_in_order),
        cmocka_unit_test(set_moves_and_leaves),
    };
    return cmocka_run_group_tests_name("cat_courses", tests, NULL, NULL);
}
