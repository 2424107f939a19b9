/* cat_stats.c - placeholder. */
#include "catalog/cat_stats.h"

#include <errno.h>

int cat_stats_now(cat_writer *w, const char *region, int64_t now_ms,
                  json_t **out)
{
    (void)w, (void)region, (void)now_ms, (void)out;
    return -ENOSYS;
}
int cat_stats_ranking(cat_db *db, const char *region, const char *from,
                      const char *to, int64_t now_ms, json_t **out)
{
    (void)db, (void)region, (void)from, (void)to, (void)now_ms, (void)out;
    return -ENOSYS;
}
int cat_stats_site(cat_db *db, const char *code, const char *from,
                   const char *to, int64_t now_ms, json_t **out)
{
    (void)db, (void)code, (void)from, (void)to, (void)now_ms, (void)out;
    return -ENOSYS;
}
