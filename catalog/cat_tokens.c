/* cat_tokens.c - placeholder. */
#include "catalog/cat_tokens.h"

#include <errno.h>
#include <string.h>

#include "common/yl_err.h"

const char *cat_role_name(int role)
{
    return role == CAT_ROLE_ADMIN  ? "admin"
           : role == CAT_ROLE_SITE ? "site"
                                   : "?";
}
int cat_role_parse(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return CAT_ROLE_ADMIN;
    if (strcmp(s, "site") == 0)
        return CAT_ROLE_SITE;
    return YL_EINVAL;
}
int cat_tokens_create(cat_db *db, int role, const char *scope, int ttl_days,
                      const char *name, char token[CAT_TOKEN_LEN + 1],
                      int64_t *id)
{
    (void)db, (void)role, (void)scope, (void)ttl_days, (void)name, (void)token,
        (void)id;
    return -ENOSYS;
}
int cat_tokens_create_submit(cat_writer *w, int role, const char *scope,
                             int ttl_days, const char *name,
                             cat_write_done done, void *ud)
{
    (void)w, (void)role, (void)scope, (void)ttl_days, (void)name, (void)done,
        (void)ud;
    return -ENOSYS;
}
int cat_tokens_verify(cat_db *db, const char *token, int64_t now_ms,
                      cat_token_info *info)
{
    (void)db, (void)token, (void)now_ms, (void)info;
    return -ENOSYS;
}
int cat_tokens_allows(cat_db *db, const cat_token_info *t, const char *code)
{
    (void)db, (void)t, (void)code;
    return -ENOSYS;
}
int cat_tokens_revoke(cat_db *db, int64_t id)
{
    (void)db, (void)id;
    return -ENOSYS;
}
