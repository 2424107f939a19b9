/* cat_views.c - placeholder. */
#include "catalog/cat_views.h"

#include <errno.h>

int cat_views_parse(const json_t *body, const char *site_scope, int max_events,
                    int64_t recv_ms, cat_view_batch **out, char *err,
                    size_t errlen)
{
    (void)body, (void)site_scope, (void)max_events, (void)recv_ms, (void)out,
        (void)err, (void)errlen;
    return -ENOSYS;
}
int cat_view_batch_count(const cat_view_batch *b)
{
    (void)b;
    return 0;
}
void cat_view_batch_free(cat_view_batch *b)
{
    (void)b;
}
int cat_views_submit(cat_writer *w, cat_view_batch *b, cat_write_done done,
                     void *ud)
{
    (void)w, (void)b, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_views_apply(cat_db *db, const cat_view_batch *b, int *accepted,
                    int *duplicates)
{
    (void)db, (void)b, (void)accepted, (void)duplicates;
    return -ENOSYS;
}
