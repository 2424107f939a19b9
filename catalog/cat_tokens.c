/* cat_tokens.c - bearer tokens stored as SHA-256 hashes. */
#include "catalog/cat_tokens.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"

const char *cat_role_name(int role)
{
    return role == CAT_ROLE_ADMIN    ? "admin"
           : role == CAT_ROLE_SITE   ? "site"
           : role == CAT_ROLE_VIEWER ? "viewer"
                                     : "?";
}

int cat_role_parse(const char *s)
{
    if (s != NULL && strcmp(s, "admin") == 0)
        return CAT_ROLE_ADMIN;
    if (s != NULL && strcmp(s, "site") == 0)
        return CAT_ROLE_SITE;
    if (s != NULL && strcmp(s, "viewer") == 0)
        return CAT_ROLE_VIEWER;
    return YL_EINVAL;
}

static int sha256(const char *s, unsigned char out[32])
{
    unsigned int n = 0;

    if (EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return YL_EDB;
    return 0;
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;

    for (size_t i = 0; i + 2 < n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    out[o] = '\0';
}

int cat_tokens_create(cat_db *db, int role, const char *scope, int ttl_days,
                      const char *name, char token[CAT_TOKEN_LEN + 1],
                      int64_t *id)
{
    static const char sql_site[] =
        "SELECT id, level FROM sites WHERE code = ?1";
    static const char sql[] =
        "INSERT INTO tokens(hash, role, scope_id, name, created_ms, "
        "expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    unsigned char raw[24], hash[32];
    char text[CAT_TOKEN_LEN + 1];
    int64_t now = cat_now_ms(), scope_id;
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    if (cat_role_name(role)[0] == '?')
        return cat_fail(db, YL_EINVAL, "role: want admin, site or viewer");
    if (ttl_days < 0 || ttl_days > 36500)
        return cat_fail(db, YL_EINVAL, "ttl: want 0..36500 days");
    if (name != NULL && (strlen(name) > 120 || !yl_utf8_text(name)))
        return cat_fail(db, YL_EINVAL, "name: want up to 120 characters");
    if (cat_code_level(scope) < 0)
        return cat_fail(db, YL_EINVAL, "scope: \"%s\" is not a site code",
                        scope ? scope : "");
    st = cat_stmt(db, sql_site);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, scope);
    rc = sqlite3_step(st);
    scope_id = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return cat_fail(db, YL_ENOTFOUND, "scope: unknown site %s", scope);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "token scope");
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return cat_fail(db, YL_EDB, "RAND_bytes failed");
    b64url(raw, sizeof(raw), text);
    rc = sha256(text, hash);
    if (rc < 0)
        return cat_fail(db, rc, "SHA-256 failed");
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cat_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, scope_id);
    cat_bind_text(st, 4, name);
    sqlite3_bind_int64(st, 5, now);
    if (ttl_days > 0)
        sqlite3_bind_int64(st, 6, now + (int64_t)ttl_days * 86400000);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "insert token");
    if (rc == 0 && id != NULL)
        *id = sqlite3_last_insert_rowid(db->h);
    rc = cat_tx_end(db, &tx, rc);
    if (rc == 0)
        memcpy(token, text, sizeof(text));
    return rc;
}

struct create_arg {
    int role;
    char scope[CAT_CODE_MAX + 8];
    int ttl;
    char *name;
};

static void create_free(void *p)
{
    struct create_arg *a = p;

    free(a->name);
    free(a);
}

static int create_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct create_arg *a = arg;
    char tok[CAT_TOKEN_LEN + 1];
    int64_t id = 0;
    int rc =
        cat_tokens_create(db, a->role, a->scope, a->ttl, a->name, tok, &id);

    if (rc == 0) {
        res->id = id;
        res->json = json_pack("{s:I, s:s}", "id", (json_int_t)id, "token", tok);
    }
    return rc;
}

int cat_tokens_create_submit(cat_writer *w, int role, const char *scope,
                             int ttl_days, const char *name,
                             cat_write_done done, void *ud)
{
    struct create_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->role = role;
    snprintf(a->scope, sizeof(a->scope), "%s", scope ? scope : "");
    a->ttl = ttl_days;
    if (name != NULL && (a->name = strdup(name)) == NULL) {
        free(a);
        return -ENOMEM;
    }
    return cat_writer_submit(w, create_op, a, create_free, done, ud);
}

int cat_tokens_verify(cat_db *db, const char *token, int64_t now_ms,
                      cat_token_info *info)
{
    static const char sql[] =
        "SELECT t.id, t.role, s.code, s.level, t.expires_ms, t.name "
        "FROM tokens t JOIN sites s ON s.id = t.scope_id "
        "WHERE t.hash = ?1 AND t.revoked = 0";
    unsigned char hash[32];
    sqlite3_stmt *st;
    int rc;

    memset(info, 0, sizeof(*info));
    if (token == NULL || strlen(token) != CAT_TOKEN_LEN)
        return cat_fail(db, YL_ENOTFOUND, "unknown token");
    rc = sha256(token, hash);
    if (rc < 0)
        return cat_fail(db, rc, "SHA-256 failed");
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        info->id = sqlite3_column_int64(st, 0);
        info->role = cat_role_parse(cat_col_text(st, 1));
        snprintf(info->scope, sizeof(info->scope), "%s", cat_col_text(st, 2));
        info->scope_level = sqlite3_column_int(st, 3);
        info->expires_ms = sqlite3_column_int64(st, 4);
        info->expired = info->expires_ms != 0 && info->expires_ms <= now_ms;
        snprintf(info->name, sizeof(info->name), "%s", cat_col_text(st, 5));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "unknown token");
    } else {
        rc = cat_err(db, rc, "token");
    }
    cat_stmt_done(st);
    return rc;
}

int cat_tokens_allows(cat_db *db, const cat_token_info *t, const char *code)
{
    return cat_sites_within(db, code, t->scope);
}

int cat_tokens_revoke(cat_db *db, int64_t id)
{
    static const char sql[] = "UPDATE tokens SET revoked = 1 WHERE id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    cat_tx tx;
    int rc;

    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "revoke token");
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "unknown token id %lld", (long long)id);
    return cat_tx_end(db, &tx, rc);
}

typedef struct each_row {
    char code[CAT_CODE_MAX];
    char tok[CAT_TOKEN_LEN + 1];
} each_row;

int cat_tokens_each_site(cat_db *db, const char *region, int level,
                         int ttl_days, bool rotate, cat_token_emit emit,
                         void *ud, int *created, int *kept)
{
    static const char sql_sites[] =
        "WITH RECURSIVE sub(id, code, level) AS ("
        " SELECT id, code, level FROM sites WHERE code = ?1"
        " UNION ALL SELECT s.id, s.code, s.level FROM sites s JOIN sub"
        " ON s.parent_id = sub.id) "
        "SELECT id, code FROM sub WHERE level = ?2 ORDER BY code";
    static const char sql_has[] =
        "SELECT 1 FROM tokens WHERE scope_id = ?1 AND role = 'site' AND "
        "revoked = 0 AND (expires_ms IS NULL OR expires_ms > ?2) LIMIT 1";
    static const char sql_revoke[] =
        "UPDATE tokens SET revoked = 1 WHERE scope_id = ?1 AND role = "
        "'site' AND revoked = 0";
    each_row *rows = NULL, *nr;
    size_t n = 0, cap = 0;
    int64_t now = cat_now_ms();
    sqlite3_stmt *st, *q;
    cat_tx tx;
    int rc;

    *created = *kept = 0;
    if (level < CAT_LEVEL_PREFECTURE || level > CAT_LEVEL_VILLAGE)
        return cat_fail(db, YL_EINVAL,
                        "level: want prefecture, county, township or village");
    st = cat_stmt(db, sql_sites);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0) {
        cat_stmt_done(st);
        return rc;
    }
    cat_bind_text(st, 1, region);
    sqlite3_bind_int(st, 2, level);
    /* The candidates first: creating tokens while the recursive query is
     * still stepping would write under an open read of sites. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            nr = realloc(rows, cap * sizeof(*rows));
            if (nr == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            rows = nr;
        }
        snprintf(rows[n].code, sizeof(rows[n].code), "%s", cat_col_text(st, 1));
        rows[n].tok[0] = '\0';
        n++;
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = rc == SQLITE_NOMEM ? cat_fail(db, -ENOMEM, "out of memory")
                                : cat_err(db, rc, "sites of the region");
        goto out;
    }
    rc = 0;
    if (n == 0 && cat_sites_within(db, region, region) != 1) {
        rc = cat_fail(db, YL_ENOTFOUND, "scope: unknown region %s", region);
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t sid = strtoll(rows[i].code, NULL, 10);

        q = cat_stmt(db, rotate ? sql_revoke : sql_has);
        if (q == NULL) {
            rc = YL_EDB;
            break;
        }
        sqlite3_bind_int64(q, 1, sid);
        if (!rotate)
            sqlite3_bind_int64(q, 2, now);
        rc = sqlite3_step(q);
        cat_stmt_done(q);
        if (rc == SQLITE_ROW) { /* has one and no --rotate: kept */
            (*kept)++;
            rc = 0;
            continue;
        }
        if (rc != SQLITE_DONE) {
            rc = cat_err(db, rc, "site token");
            break;
        }
        rc = cat_tokens_create(db, CAT_ROLE_SITE, rows[i].code, ttl_days, NULL,
                               rows[i].tok, NULL);
        if (rc == 0)
            (*created)++;
    }
out:
    rc = cat_tx_end(db, &tx, rc);
    /* Printed only once committed: a token shown is a token that works. */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (rows[i].tok[0] != '\0')
            emit(rows[i].code, rows[i].tok, ud);
    if (rc < 0)
        *created = 0;
    free(rows);
    return rc;
}

/* ---- through the writer: provisioning and revocation by site ---- */

struct each_arg {
    char region[CAT_CODE_MAX + 8];
    int level;
    int ttl;
    bool rotate;
    json_t *out; /* the tokens made, filled by emit */
};

static void each_arg_free(void *p)
{
    struct each_arg *a = p;

    if (a == NULL)
        return;
    json_decref(a->out);
    free(a);
}

static void each_emit(const char *code, const char *token, void *ud)
{
    struct each_arg *a = ud;

    json_array_append_new(
        a->out, json_pack("{s:s, s:s}", "code", code, "token", token));
}

/* Writer thread. */
static int each_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct each_arg *a = arg;
    int made = 0, kept = 0, rc;

    a->out = json_array();
    if (a->out == NULL)
        return -ENOMEM;
    rc = cat_tokens_each_site(db, a->region, a->level, a->ttl, a->rotate,
                              each_emit, a, &made, &kept);
    if (rc == 0) {
        res->accepted = made;
        res->duplicates = kept;
        res->json = json_pack("{s:i, s:i, s:O}", "created", made, "kept", kept,
                              "tokens", a->out);
        if (res->json == NULL)
            rc = -ENOMEM;
    }
    return rc;
}

int cat_tokens_each_site_submit(cat_writer *w, const char *region, int level,
                                int ttl_days, bool rotate, cat_write_done done,
                                void *ud)
{
    struct each_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    snprintf(a->region, sizeof(a->region), "%s", region ? region : "");
    a->level = level;
    a->ttl = ttl_days;
    a->rotate = rotate;
    return cat_writer_submit(w, each_op, a, each_arg_free, done, ud);
}

int cat_tokens_revoke_site(cat_db *db, const char *code)
{
    static const char sql[] =
        "UPDATE tokens SET revoked = 1 WHERE role = 'site' AND revoked = 0 "
        "AND scope_id = (SELECT id FROM sites WHERE code = ?1)";
    sqlite3_stmt *st = cat_stmt(db, sql);
    cat_tx tx;
    int rc;

    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0) {
        cat_stmt_done(st);
        return rc;
    }
    cat_bind_text(st, 1, code);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? sqlite3_changes(db->h)
                           : cat_err(db, rc, "revoke site tokens");
    return cat_tx_end(db, &tx, rc);
}

struct revoke_arg {
    char code[CAT_CODE_MAX + 8];
};

/* Writer thread. */
static int revoke_site_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct revoke_arg *a = arg;
    int rc = cat_tokens_revoke_site(db, a->code);

    if (rc >= 0) {
        res->accepted = rc;
        rc = 0;
    }
    return rc;
}

int cat_tokens_revoke_site_submit(cat_writer *w, const char *code,
                                  cat_write_done done, void *ud)
{
    struct revoke_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    snprintf(a->code, sizeof(a->code), "%s", code ? code : "");
    return cat_writer_submit(w, revoke_site_op, a, free, done, ud);
}
