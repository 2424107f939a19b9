/* cat_lessons.h - lessons: created pending by an upload (with its job),
 * published from the transcoder's lesson.json (docs/transcode.md), listed,
 * searched by title in any language, deleted.
 *
 * JSON item (GET /api/v1/lessons and /lessons/{id}):
 *   {"id": 7, "title": "...", "titles": {"zh": "...", "bo": "..."},
 *    "languages": ["zh","bo"], "subtitles": ["bo"], "duration_s": 30.0,
 *    "poster": "/hls/7/poster.jpg", "hls": "/hls/7/master.m3u8",
 *    "category": "policy", "state": "ready", "created_ms": ...,
 *    "owner": "532901", "thumbs": "/hls/7/thumbs.vtt",
 *    "course": {"id": 3, "title": "...", "index": 2, "count": 5},
 *    "next": 9}
 * "course" is absent for a lesson in no course; "index" (1-based) and
 * "count" are among the course's published lessons (a lesson not yet
 * published counts itself too); "next" is the next published lesson of
 * its course, null at the end or without a course (cat_courses.h).
 * "thumbs" is the seek-preview WebVTT track, null when none.
 * "title" is the title in the preferred language, else zh, else the first
 * one. Pending lessons have "languages": [], "duration_s": null,
 * "poster"/"hls": null. "owner" is the region the lesson belongs to (its
 * uploader's scope), or null: province-wide (lessons from before owners).
 *
 * Threads: functions taking cat_db run on the thread that owns it; the
 * writes run on the writer thread through the _submit forms. */
#ifndef YL_CAT_LESSONS_H
#define YL_CAT_LESSONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_writer.h"

/* A new lesson and its transcode job. */
typedef struct cat_lesson_new {
    json_t *titles;          /* {"zh": "...", "lis": "..."}: at least one;
                              * tags checked and made canonical */
    const char *category;    /* may be NULL */
    const char *source_name; /* the uploaded file's name, may be NULL */
    json_t *inputs;          /* job inputs, relative to the job directory:
                              * {"source": "source.mp4",
                              *  "audio": {"bo": "audio.bo.m4a"},
                              *  "subs": {"lis": "subs.lis.srt"},
                              *  "audio_lang": {"0": "zh"}}  (all but source
                              * optional); stored as given */
    const char *staged_dir;  /* may be NULL; else an upload staging directory
                              * that is renamed to <uploads_dir>/<job-id>
                              * inside the transaction, before any job runner
                              * can claim the job */
    const char *uploads_dir; /* <data>/uploads: the job directory is
                              * <uploads_dir>/<job-id> */
    const char *owner;       /* region code of the uploader (an admin
                              * token's scope; must be a known site), or
                              * NULL: province-wide */
    const char *idem_key;    /* Idempotency-Key, or NULL */
    int64_t idem_token;      /* the uploading token's id (keys are per
                              * token) */
    bool *replayed;          /* may be NULL; set when idem_key was known:
                              * the ids are the first upload's and
                              * staged_dir is removed */
    const char *course;      /* a course id (digits) or title, or NULL
                              * (cat_courses_attach()) */
    int course_index;        /* order key in the course, 1..; 0: last */
} cat_lesson_new;

/* Any thread with its own connection (a reader). The lesson and job an
 * earlier upload by this token with this Idempotency-Key created, if that
 * lesson is not deleted: 1 (ids set), 0 none, or a negative yl code. */
int cat_lessons_idem_find(cat_db *db, int64_t token_id, const char *key,
                          int64_t *lesson_id, int64_t *job_id);

/* Writer connection. Inserts the lesson (state "pending") and its job
 * ("queued"). Borrowed fields are copied. *lesson_id and *job_id are set on
 * success. YL_EINVAL (no title, bad tag, no source), YL_EBADLANG, -errno
 * when the rename fails. */
int cat_lessons_create(cat_db *db, const cat_lesson_new *ln, int64_t *lesson_id,
                       int64_t *job_id);
/* Same through the writer: res->id = lesson, res->job_id = job. */
int cat_lessons_create_submit(cat_writer *w, const cat_lesson_new *ln,
                              cat_write_done done, void *ud);

/* Reads and checks OUTDIR/lesson.json (docs/transcode.md) into *meta (caller
 * owns). Any thread. YL_ECORRUPT with a message naming the field in err. */
int cat_lessons_meta_load(const char *path, json_t **meta, char *err,
                          size_t errlen);

/* Writer connection. Marks the lesson "ready" with meta's duration,
 * renditions and languages (meta is borrowed). Usually called by
 * cat_jobs_finish(). YL_ENOTFOUND, YL_ECORRUPT. */
int cat_lessons_publish(cat_db *db, int64_t lesson_id, const json_t *meta);

/* Highest page a list accepts: a page past the last lesson is an empty
 * page (the total says how many there are), not an error. */
#define CAT_LESSONS_PAGE_MAX 1000000

typedef struct cat_lesson_query {
    const char *q;        /* title substring in any language, or NULL */
    const char *lang;     /* audio or subtitle language, or NULL; also the
                           * preferred title language */
    const char *category; /* exact, or NULL */
    int page;             /* 1..CAT_LESSONS_PAGE_MAX; 0 means 1 */
    int per_page;         /* 1..100; 0 means 24 */
    bool all_states;      /* admin: include pending and failed lessons */
} cat_lesson_query;

/* {"items": [item...], "total": N, "page": P, "per_page": K}, newest
 * first. q matches a substring of any title (FTS5 trigram index for 3+
 * characters, a LIKE scan for 1-2, so two-character Chinese words work).
 * YL_EINVAL for a bad tag or page. */
int cat_lessons_list(cat_db *db, const cat_lesson_query *q, json_t **out);

/* One item; pref_lang may be NULL. YL_ENOTFOUND for unknown or deleted. */
int cat_lessons_get(cat_db *db, int64_t id, const char *pref_lang,
                    json_t **out);

/* The region lesson id belongs to, deleted or not: code is set to its
 * code, or to "" for a province-wide lesson (owner NULL). YL_ENOTFOUND for
 * an id that never existed. Any connection. */
int cat_lessons_owner(cat_db *db, int64_t id, char code[CAT_CODE_MAX]);

/* 1 when lesson id exists and is deleted, 0 when it is not (or never
 * existed), or a negative error. Any connection. */
int cat_lessons_is_deleted(cat_db *db, int64_t id);

/* Writer connection: marks the lesson deleted (it leaves lists at once; its
 * history stays) and cancels its queued or running job in the same
 * transaction. The caller removes DIR/hls/<id> once in-flight readers are
 * done, stops a running transcoder and removes the job's sources. *jobs
 * (may be NULL; caller owns) is set to the lesson's jobs as they were
 * before: [{"id": 3, "state": "running"}, ...]. YL_ENOTFOUND. */
int cat_lessons_delete(cat_db *db, int64_t id, json_t **jobs);
/* Same through the writer: res->id = lesson, res->json = the jobs. */
int cat_lessons_delete_submit(cat_writer *w, int64_t id, cat_write_done done,
                              void *ud);

/* Writer connection: edits a lesson's titles and category (the console).
 * edit = {"titles": {LANG: "title" or null (removes it)}, "category":
 * "..." or null (clears it)}; either key may be absent. A lesson keeps at
 * least one title. YL_ENOTFOUND for no such (or a deleted) lesson,
 * YL_EINVAL / YL_EBADLANG naming the field. */
int cat_lessons_edit(cat_db *db, int64_t id, const json_t *edit);
/* Same through the writer (edit is copied). */
int cat_lessons_edit_submit(cat_writer *w, int64_t id, const json_t *edit,
                            cat_write_done done, void *ud);

#endif
