/* cat_courses.c - courses: attach a lesson at upload, list, get. */
#include "catalog/cat_courses.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_sites.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* The course id (1) of title owned by exactly owner, 0 when none. */
static int find_by_title(cat_db *db, const char *title, const char *owner,
                         int64_t *id)
{
    static const char sql[] =
        "SELECT id FROM courses WHERE title = ?1 AND owner_id IS "
        "(SELECT id FROM sites WHERE code = ?2) ORDER BY id LIMIT 1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, title);
    cat_bind_text(st, 2, owner);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "find course");
    }
    cat_stmt_done(st);
    return rc;
}

static int make_course(cat_db *db, const char *title, const char *owner,
                       int64_t *id)
{
    static const char sql[] =
        "INSERT INTO courses(title, owner_id, created_ms) VALUES "
        "(?1, (SELECT id FROM sites WHERE code = ?2), ?3)";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, title);
    cat_bind_text(st, 2, owner);
    sqlite3_bind_int64(st, 3, cat_now_ms());
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "insert course");
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

/* A course named by id: it exists and lies within owner's region (a
 * province-wide course: a province admin's, or an owner-less upload's). */
static int check_by_id(cat_db *db, const char *course, const char *owner,
                       int64_t *id)
{
    static const char sql[] = "SELECT owner_id FROM courses WHERE id = ?1";
    sqlite3_stmt *st;
    char code[CAT_CODE_MAX] = "";
    long long v;
    int rc;

    errno = 0;
    v = strtoll(course, NULL, 10);
    if (errno != 0 || v <= 0)
        return cat_fail(db, YL_EINVAL, "course: unknown course %s", course);
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, v);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        snprintf(code, sizeof(code), "%lld",
                 (long long)sqlite3_column_int64(st, 0));
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return cat_fail(db, YL_EINVAL, "course: unknown course %lld", v);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "course");
    *id = v;
    if (owner == NULL)
        return 0;
    if (code[0] == '\0') {
        if (cat_code_level(owner) == CAT_LEVEL_PROVINCE)
            return 0;
        return cat_fail(db, YL_EFORBIDDEN,
                        "course: course %lld is province-wide; only a "
                        "province admin may add to it (this token's region "
                        "is %s)",
                        v, owner);
    }
    rc = cat_sites_within(db, code, owner);
    if (rc == 1)
        return 0;
    if (rc == 0 || rc == YL_ENOTFOUND)
        return cat_fail(db, YL_EFORBIDDEN,
                        "course: course %lld belongs to region %s, outside "
                        "this token's region %s",
                        v, code, owner);
    return rc;
}

int cat_courses_attach(cat_db *db, int64_t lesson_id, const char *course,
                       int index, const char *owner, int64_t *course_id)
{
    static const char sql_last[] =
        "SELECT coalesce(max(course_index), 0) FROM lessons "
        "WHERE course_id = ?1 AND state <> 'deleted' AND id <> ?2";
    static const char sql_shift[] =
        "UPDATE lessons SET course_index = course_index + 1 "
        "WHERE course_id = ?1 AND course_index >= ?2 AND id <> ?3";
    static const char sql_set[] =
        "UPDATE lessons SET course_id = ?2, course_index = ?3 WHERE id = ?1";
    sqlite3_stmt *st;
    int64_t cid = 0;
    size_t len;
    int rc;

    if (course == NULL || course[0] == '\0')
        return cat_fail(db, YL_EINVAL, "course: empty");
    if (index < 0 || index > CAT_COURSE_INDEX_MAX)
        return cat_fail(db, YL_EINVAL, "course_index: %d is not in 1..%d",
                        index, CAT_COURSE_INDEX_MAX);
    if (all_digits(course)) {
        rc = check_by_id(db, course, owner, &cid);
    } else {
        len = cat_utf8_len(course);
        if (!yl_utf8_text(course) || len > CAT_COURSE_TITLE_MAX)
            return cat_fail(db, YL_EINVAL,
                            "course: want a course id or a title of 1..%d "
                            "characters of UTF-8 text",
                            CAT_COURSE_TITLE_MAX);
        rc = find_by_title(db, course, owner, &cid);
        if (rc == 0)
            rc = make_course(db, course, owner, &cid);
    }
    if (rc < 0)
        return rc;
    if (index == 0) {
        st = cat_stmt(db, sql_last);
        if (st == NULL)
            return YL_EDB;
        sqlite3_bind_int64(st, 1, cid);
        sqlite3_bind_int64(st, 2, lesson_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            index = sqlite3_column_int(st, 0) + 1;
        cat_stmt_done(st);
        if (rc != SQLITE_ROW)
            return cat_err(db, rc, "last course index");
    } else {
        /* An insert before the lesson now at index: the order of the
         * others is kept. */
        st = cat_stmt(db, sql_shift);
        if (st == NULL)
            return YL_EDB;
        sqlite3_bind_int64(st, 1, cid);
        sqlite3_bind_int(st, 2, index);
        sqlite3_bind_int64(st, 3, lesson_id);
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        if (rc != SQLITE_DONE)
            return cat_err(db, rc, "course order");
    }
    st = cat_stmt(db, sql_set);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int64(st, 2, cid);
    sqlite3_bind_int(st, 3, index);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "set course");
    if (course_id != NULL)
        *course_id = cid;
    return 0;
}

int cat_courses_set(cat_db *db, int64_t lesson_id, const char *course,
                    int index, const char *owner)
{
    static const char sql_chk[] =
        "SELECT 1 FROM lessons WHERE id = ?1 AND state <> 'deleted'";
    static const char sql_none[] =
        "UPDATE lessons SET course_id = NULL, course_index = NULL "
        "WHERE id = ?1";
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    if (course == NULL && index != 0)
        return cat_fail(db, YL_EINVAL, "index: given without a course");
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql_chk);
    if (st == NULL) {
        rc = YL_EDB;
        goto end;
    }
    sqlite3_bind_int64(st, 1, lesson_id);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "no lesson %lld", (long long)lesson_id);
        goto end;
    }
    if (rc != SQLITE_ROW) {
        rc = cat_err(db, rc, "lesson");
        goto end;
    }
    if (course != NULL) {
        rc = cat_courses_attach(db, lesson_id, course, index, owner, NULL);
        goto end;
    }
    st = cat_stmt(db, sql_none);
    if (st == NULL) {
        rc = YL_EDB;
        goto end;
    }
    sqlite3_bind_int64(st, 1, lesson_id);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "leave course");
end:
    return cat_tx_end(db, &tx, rc);
}

struct set_arg {
    int64_t lesson;
    char *course, *owner;
    int index;
};

static void set_free(void *p)
{
    struct set_arg *a = p;

    free(a->course);
    free(a->owner);
    free(a);
}

static int set_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct set_arg *a = arg;

    res->id = a->lesson;
    return cat_courses_set(db, a->lesson, a->course, a->index, a->owner);
}

int cat_courses_set_submit(cat_writer *w, int64_t lesson_id, const char *course,
                           int index, const char *owner, cat_write_done done,
                           void *ud)
{
    struct set_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->lesson = lesson_id;
    a->index = index;
    a->course = course != NULL ? strdup(course) : NULL;
    a->owner = owner != NULL ? strdup(owner) : NULL;
    if ((course != NULL && a->course == NULL) ||
        (owner != NULL && a->owner == NULL)) {
        set_free(a);
        return -ENOMEM;
    }
    return cat_writer_submit(w, set_op, a, set_free, done, ud);
}

/* Columns of a course: published lessons counted, the first one's id and
 * thumb (for a card). */
#define COURSE_COLS                                                            \
    "SELECT c.id, c.title, c.owner_id, c.created_ms, "                         \
    "(SELECT count(*) FROM lessons x WHERE x.course_id = c.id AND "            \
    "x.state = 'ready'), "                                                     \
    "(SELECT x.id FROM lessons x WHERE x.course_id = c.id AND "                \
    "x.state = 'ready' ORDER BY x.course_index, x.id LIMIT 1) AS first, "      \
    "(SELECT json_extract(x.meta, '$.thumb') FROM lessons x WHERE "            \
    "x.course_id = c.id AND x.state = 'ready' ORDER BY x.course_index, "       \
    "x.id LIMIT 1) "                                                           \
    "FROM courses c "

static json_t *course_from(sqlite3_stmt *st)
{
    json_t *c;
    char buf[96];

    c = json_pack("{s:I, s:s, s:I, s:I}", "id",
                  (json_int_t)sqlite3_column_int64(st, 0), "title",
                  cat_col_text(st, 1), "count",
                  (json_int_t)sqlite3_column_int64(st, 4), "created_ms",
                  (json_int_t)sqlite3_column_int64(st, 3));
    if (c == NULL)
        return NULL;
    /* Site ids are the numeric division codes. */
    json_object_set_new(c, "owner",
                        sqlite3_column_type(st, 2) == SQLITE_NULL
                            ? json_null()
                            : json_string(cat_col_text(st, 2)));
    if (sqlite3_column_type(st, 5) == SQLITE_NULL) {
        json_object_set_new(c, "first", json_null());
        json_object_set_new(c, "thumb", json_null());
        return c;
    }
    json_object_set_new(c, "first", json_integer(sqlite3_column_int64(st, 5)));
    if (sqlite3_column_type(st, 6) == SQLITE_TEXT) {
        snprintf(buf, sizeof(buf), "/hls/%lld/%s",
                 (long long)sqlite3_column_int64(st, 5), cat_col_text(st, 6));
        json_object_set_new(c, "thumb", json_string(buf));
    } else {
        json_object_set_new(c, "thumb", json_null());
    }
    return c;
}

int cat_courses_list(cat_db *db, const cat_course_query *q, json_t **out)
{
    static const char sql[] = COURSE_COLS
        "WHERE ?1 OR EXISTS (SELECT 1 FROM lessons x WHERE x.course_id = c.id "
        "AND x.state = 'ready') ORDER BY c.id DESC LIMIT ?2 OFFSET ?3";
    static const char cnt[] =
        "SELECT count(*) FROM courses c WHERE ?1 OR EXISTS (SELECT 1 FROM "
        "lessons x WHERE x.course_id = c.id AND x.state = 'ready')";
    int page = q->page ? q->page : 1;
    int per = q->per_page ? q->per_page : 24;
    sqlite3_stmt *st, *cs;
    json_t *items;
    int64_t total = 0;
    int rc;

    if (page < 1 || page > CAT_LESSONS_PAGE_MAX)
        return cat_fail(db, YL_EINVAL, "page: %d is not in 1..%d", page,
                        CAT_LESSONS_PAGE_MAX);
    if (per < 1 || per > 100)
        return cat_fail(db, YL_EINVAL, "per_page: %d is not in 1..100", per);
    st = cat_stmt(db, sql);
    cs = cat_stmt(db, cnt);
    items = json_array();
    if (st == NULL || cs == NULL || items == NULL) {
        cat_stmt_done(st);
        cat_stmt_done(cs);
        json_decref(items);
        return items == NULL ? -ENOMEM : YL_EDB;
    }
    sqlite3_bind_int(st, 1, q->all_states ? 1 : 0);
    sqlite3_bind_int(st, 2, per);
    sqlite3_bind_int64(st, 3, (int64_t)(page - 1) * per);
    sqlite3_bind_int(cs, 1, q->all_states ? 1 : 0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(items, course_from(st)) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    cat_stmt_done(st);
    if (rc == SQLITE_DONE) {
        rc = sqlite3_step(cs);
        total = sqlite3_column_int64(cs, 0);
        rc = rc == SQLITE_ROW ? 0 : cat_err(db, rc, "count courses");
    } else {
        rc = cat_err(db, rc, "list courses");
    }
    cat_stmt_done(cs);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total",
                     (json_int_t)total, "page", page, "per_page", per);
    return *out != NULL ? 0 : -ENOMEM;
}

/* The course's lesson ids in order (published ones unless all). */
static int lesson_ids(cat_db *db, int64_t id, bool all, json_t *ids)
{
    static const char sql[] =
        "SELECT id FROM lessons WHERE course_id = ?1 AND state <> 'deleted' "
        "AND (?2 OR state = 'ready') ORDER BY course_index, id";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, all ? 1 : 0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(
                ids, json_integer(sqlite3_column_int64(st, 0))) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    cat_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, "lessons of course");
}

int cat_courses_get(cat_db *db, int64_t id, const cat_course_query *q,
                    json_t **out)
{
    static const char sql[] = COURSE_COLS "WHERE c.id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    json_t *c = NULL, *ids = NULL, *lessons = NULL, *v, *item;
    size_t i;
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c = course_from(st);
        rc = c != NULL ? 0 : -ENOMEM;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "no course %lld", (long long)id);
    } else {
        rc = cat_err(db, rc, "course");
    }
    cat_stmt_done(st);
    if (rc < 0)
        return rc;
    if (!q->all_states &&
        json_integer_value(json_object_get(c, "count")) == 0) {
        rc = cat_fail(db, YL_ENOTFOUND, "course %lld has no published lesson",
                      (long long)id);
        goto out;
    }
    ids = json_array();
    lessons = json_array();
    if (ids == NULL || lessons == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    rc = lesson_ids(db, id, q->all_states, ids);
    json_array_foreach(ids, i, v)
    {
        if (rc < 0)
            break;
        item = NULL;
        rc = cat_lessons_get(db, json_integer_value(v), q->lang, &item);
        if (rc == 0 && json_array_append_new(lessons, item) < 0)
            rc = -ENOMEM;
    }
    if (rc < 0)
        goto out;
    json_object_set_new(c, "lessons", lessons);
    lessons = NULL;
    *out = c;
    c = NULL;
out:
    json_decref(c);
    json_decref(ids);
    json_decref(lessons);
    return rc;
}
