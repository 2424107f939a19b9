/* cat_sites.c - placeholder. */
#include "catalog/cat_sites.h"

#include <errno.h>

const char *cat_level_name(int level)
{
    static const char *n[] = {"?",      "province", "prefecture",
                              "county", "township", "village"};
    return level >= 1 && level <= 5 ? n[level] : n[0];
}
int cat_code_level(const char *code)
{
    (void)code;
    return -ENOSYS;
}
int cat_sites_import(cat_db *db, const char *dist_dir, const char *province,
                     cat_import_stats *st)
{
    (void)db, (void)dist_dir, (void)province, (void)st;
    return -ENOSYS;
}
const char *cat_sites_default_dist(void)
{
    return "";
}
int cat_sites_get(cat_db *db, const char *code, json_t **out)
{
    (void)db, (void)code, (void)out;
    return -ENOSYS;
}
int cat_sites_list(cat_db *db, const char *parent, int page, int per_page,
                   json_t **out)
{
    (void)db, (void)parent, (void)page, (void)per_page, (void)out;
    return -ENOSYS;
}
int cat_sites_set_lang(cat_db *db, const char *code, const char *lang)
{
    (void)db, (void)code, (void)lang;
    return -ENOSYS;
}
int cat_sites_set_lang_submit(cat_writer *w, const char *code, const char *lang,
                              cat_write_done done, void *ud)
{
    (void)w, (void)code, (void)lang, (void)done, (void)ud;
    return -ENOSYS;
}
int cat_sites_lang(cat_db *db, const char *code, char *buf, size_t len)
{
    (void)db, (void)code, (void)buf, (void)len;
    return -ENOSYS;
}
int cat_sites_within(cat_db *db, const char *site, const char *region)
{
    (void)db, (void)site, (void)region;
    return -ENOSYS;
}
int cat_sites_root(cat_db *db, char code[CAT_CODE_MAX])
{
    (void)db, (void)code;
    return -ENOSYS;
}
