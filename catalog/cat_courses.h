/* cat_courses.h - courses: a series of lessons in an order (issue 11).
 *
 * A course belongs to a region like a lesson does (its owner: the scope of
 * the admin who made it; null is province-wide). A lesson is in at most one
 * course, at an order key (course_index, 1-based; gaps allowed, ties broken
 * by lesson id). What clients see is the order among the course's
 * published lessons: a lesson item carries
 *   "course": {"id": 3, "title": "...", "index": 2, "count": 5}
 *   "next": 14    (the next published lesson of its course, or null)
 * (cat_lessons.c adds them; a lesson without a course has no "course" and
 * "next": null).
 *
 * JSON course (GET /api/v1/courses and /courses/{id}):
 *   {"id": 3, "title": "...", "owner": "53", "count": 5, "first": 12,
 *    "thumb": "/hls/12/thumb.jpg", "created_ms": ...}
 * and /courses/{id} adds "lessons": [lesson item...] in course order.
 *
 * Threads: functions taking cat_db run on the thread that owns it; the
 * write (cat_courses_attach) runs on the writer, inside the lesson's
 * create transaction. */
#ifndef YL_CAT_COURSES_H
#define YL_CAT_COURSES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_writer.h"

#define CAT_COURSE_INDEX_MAX 10000 /* highest course_index */
#define CAT_COURSE_TITLE_MAX 200   /* characters */

/* Writer connection, inside an open transaction: puts lesson_id into the
 * course named by course: all digits is a course id (it must exist and
 * belong to owner's region or below), anything else a title (the course of
 * that title owned by exactly owner, made when there is none). owner is
 * the uploader's region code, or NULL (province-wide). index 1.. inserts
 * the lesson at that order key (lessons at or after it move up by one);
 * 0 puts it after the course's last lesson. *course_id (may be NULL) is
 * set. YL_EINVAL (unknown course, bad title or index) and YL_EFORBIDDEN
 * (a course of another region) with a message naming the field. */
int cat_courses_attach(cat_db *db, int64_t lesson_id, const char *course,
                       int index, const char *owner, int64_t *course_id);

/* Writer connection: moves lesson_id (not deleted) into course at index
 * as cat_courses_attach() does (the lesson leaves the course it was in;
 * course NULL: into none), in its own transaction. owner is the acting
 * admin's region code. YL_ENOTFOUND for an unknown or deleted lesson,
 * YL_EINVAL, YL_EFORBIDDEN. */
int cat_courses_set(cat_db *db, int64_t lesson_id, const char *course,
                    int index, const char *owner);
/* Same through the writer (strings copied): res->id = lesson_id. */
int cat_courses_set_submit(cat_writer *w, int64_t lesson_id, const char *course,
                           int index, const char *owner, cat_write_done done,
                           void *ud);

typedef struct cat_course_query {
    int page;         /* 1..; 0 means 1 */
    int per_page;     /* 1..100; 0 means 24 */
    bool all_states;  /* admin: also courses without a published lesson,
                       * and (get) pending and failed lessons */
    const char *lang; /* preferred title language of lesson items, or NULL */
} cat_course_query;

/* {"items": [course...], "total": N, "page": P, "per_page": K}, newest
 * first; only courses with a published lesson unless all_states. */
int cat_courses_list(cat_db *db, const cat_course_query *q, json_t **out);

/* One course with "lessons" in order. YL_ENOTFOUND for an unknown id, or
 * (without all_states) a course with no published lesson. */
int cat_courses_get(cat_db *db, int64_t id, const cat_course_query *q,
                    json_t **out);

#endif
