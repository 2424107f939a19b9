/* cat_lessons.c - placeholder. */
#include "catalog/cat_lessons.h"

#include <errno.h>

int cat_lessons_create(cat_db *db, const cat_lesson_new *ln, int64_t *lesson_id,
                       int64_t *job_id)
{
    (void)db, (void)ln, (void)lesson_id, (void)job_id;
    return -ENOSYS;
}
int cat_lessons_create_submit(cat_writer *w, const cat_lesson_new *ln,
                              cat_write_done done, void *ud)
{
    (void)w, (void)ln, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_lessons_meta_load(const char *path, json_t **meta, char *err,
                          size_t errlen)
{
    (void)path, (void)meta, (void)err, (void)errlen;
    return -ENOSYS;
}
int cat_lessons_publish(cat_db *db, int64_t lesson_id, const json_t *meta)
{
    (void)db, (void)lesson_id, (void)meta;
    return -ENOSYS;
}
int cat_lessons_list(cat_db *db, const cat_lesson_query *q, json_t **out)
{
    (void)db, (void)q, (void)out;
    return -ENOSYS;
}
int cat_lessons_get(cat_db *db, int64_t id, const char *pref_lang, json_t **out)
{
    (void)db, (void)id, (void)pref_lang, (void)out;
    return -ENOSYS;
}
int cat_lessons_delete(cat_db *db, int64_t id)
{
    (void)db, (void)id;
    return -ENOSYS;
}
int cat_lessons_delete_submit(cat_writer *w, int64_t id, cat_write_done done,
                              void *ud)
{
    (void)w, (void)id, (void)done, (void)ud;
    return -ENOSYS;
}
