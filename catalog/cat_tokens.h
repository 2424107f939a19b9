/* cat_tokens.h - bearer tokens. A token is 32 characters of base64url
 * (24 random bytes from OpenSSL's RAND_bytes); only its SHA-256 is stored.
 * Roles: admin scoped to a region (acts and reads within it), site bound to
 * one site code, viewer scoped to a region (reads statistics only: a wall
 * display anyone in the room can see).
 *
 * Threads: functions taking cat_db run on the thread that owns it. */
#ifndef YL_CAT_TOKENS_H
#define YL_CAT_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_writer.h"

enum cat_role {
    CAT_ROLE_ADMIN = 1,
    CAT_ROLE_SITE = 2,
    CAT_ROLE_VIEWER = 3, /* reads statistics within its region (walls) */
};

#define CAT_TOKEN_LEN 32 /* characters, without the NUL */

typedef struct cat_token_info {
    int64_t id;
    int role;                 /* enum cat_role */
    char scope[CAT_CODE_MAX]; /* region (admin) or site code */
    int scope_level;          /* enum cat_level */
    int64_t expires_ms;       /* 0: never */
    bool expired;             /* expires_ms <= now_ms given to verify */
    char name[128];
} cat_token_info;

/* "admin" / "site" / "viewer" <-> enum cat_role (parse returns YL_EINVAL). */
const char *cat_role_name(int role);
int cat_role_parse(const char *s);

/* Writer connection. Creates a token for scope (which must be a known site:
 * YL_ENOTFOUND otherwise). ttl_days 0 means no expiry. name may be NULL.
 * Writes the token text into token (CAT_TOKEN_LEN + 1 bytes) and its id
 * into *id (may be NULL). */
int cat_tokens_create(cat_db *db, int role, const char *scope, int ttl_days,
                      const char *name, char token[CAT_TOKEN_LEN + 1],
                      int64_t *id);
/* Same through the writer; res->json = {"id": N, "token": "..."}. */
int cat_tokens_create_submit(cat_writer *w, int role, const char *scope,
                             int ttl_days, const char *name,
                             cat_write_done done, void *ud);

/* Any connection (a reader). Looks up the token's hash. Returns 0 with
 * *info (check info->expired), or YL_ENOTFOUND for an unknown or revoked
 * token. Constant work per call: one indexed lookup. */
int cat_tokens_verify(cat_db *db, const char *token, int64_t now_ms,
                      cat_token_info *info);

/* 1 when code is the token's scope or lies below it, 0 when not,
 * YL_ENOTFOUND for an unknown code. */
int cat_tokens_allows(cat_db *db, const cat_token_info *t, const char *code);

/* Writer connection, one transaction: a site token for every site of
 * level (enum cat_level) under region that has no valid one yet (with
 * rotate: every one, the old ones revoked). After the COMMIT, emit(code,
 * token, ud) for each token made, in code order. *created and *kept count
 * the sites given a token and those that kept theirs. YL_ENOTFOUND for an
 * unknown region. */
typedef void (*cat_token_emit)(const char *code, const char *token, void *ud);
int cat_tokens_each_site(cat_db *db, const char *region, int level,
                         int ttl_days, bool rotate, cat_token_emit emit,
                         void *ud, int *created, int *kept);

/* The same through the writer (the console's provisioning page):
 * res->json = {"created": N, "kept": M, "tokens": [{"code","token"}]}. */
int cat_tokens_each_site_submit(cat_writer *w, const char *region, int level,
                                int ttl_days, bool rotate, cat_write_done done,
                                void *ud);

/* Writer connection: revokes every site token of site code; returns how
 * many (0 when it had none) or a negative code. The _submit form puts the
 * count in res->accepted. */
int cat_tokens_revoke_site(cat_db *db, const char *code);
int cat_tokens_revoke_site_submit(cat_writer *w, const char *code,
                                  cat_write_done done, void *ud);

/* Writer connection: revokes token id. 0 or YL_ENOTFOUND. */
int cat_tokens_revoke(cat_db *db, int64_t id);

#endif
