/* cat_db.c - placeholder: the real connection code lands next. */
#include "catalog/cat_db.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "common/yl_err.h"

int cat_db_open(const char *path, unsigned flags, cat_db **out)
{
    (void)path, (void)flags, (void)out;
    return -ENOSYS;
}
int cat_reader_open(const char *path, cat_db **out)
{
    return cat_db_open(path, CAT_DB_READONLY, out);
}
void cat_db_close(cat_db *db)
{
    (void)db;
}
const char *cat_db_errmsg(const cat_db *db)
{
    (void)db;
    return "not built yet";
}
int cat_db_schema_version(cat_db *db)
{
    (void)db;
    return -ENOSYS;
}
int cat_db_schema_latest(void)
{
    return 0;
}
int cat_db_begin(cat_db *db)
{
    (void)db;
    return -ENOSYS;
}
int cat_db_commit(cat_db *db)
{
    (void)db;
    return -ENOSYS;
}
void cat_db_rollback(cat_db *db)
{
    (void)db;
}
sqlite3 *cat_db_sqlite(cat_db *db)
{
    (void)db;
    return NULL;
}
int64_t cat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
int64_t cat_day_of_ms(int64_t ms)
{
    int64_t t = ms + CAT_TZ_OFFSET_MS;
    return t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
}
int cat_day_parse(const char *s, int64_t *day)
{
    (void)s, (void)day;
    return -ENOSYS;
}
void cat_day_format(int64_t day, char buf[11])
{
    (void)day;
    snprintf(buf, 11, "0000-00-00");
}
