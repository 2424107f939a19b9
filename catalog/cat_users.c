/* cat_users.c - users with Argon2id password hashes (libsodium) and their
 * cookie sessions, stored as SHA-256 hashes. */
#include "catalog/cat_users.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_utf8.h"

/* libsodium's "interactive" cost: about 0.1 s and 64 MiB per hash on the
 * project's machine kind; what its documentation recommends for on-line
 * sign-in. */
#define PW_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

static int sodium_ready(cat_db *db)
{
    /* Thread-safe and idempotent; 1 when already initialised. */
    if (sodium_init() < 0)
        return cat_fail(db, YL_EDB, "libsodium cannot initialise");
    return 0;
}

bool cat_user_name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return false;
    n = strlen(name);
    if (n == 0 || n > CAT_USER_NAME_MAX || !yl_utf8_text(name))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
            return false;
    return true;
}

static int password_ok(cat_db *db, const char *pw)
{
    size_t n = pw != NULL ? strlen(pw) : 0;

    if (n < CAT_PASSWORD_MIN || n > CAT_PASSWORD_MAX)
        return cat_fail(db, YL_EINVAL, "password: want %d to %d bytes",
                        CAT_PASSWORD_MIN, CAT_PASSWORD_MAX);
    return 0;
}

static int hash_password(cat_db *db, const char *pw,
                         char out[crypto_pwhash_STRBYTES])
{
    int rc = sodium_ready(db);

    if (rc < 0)
        return rc;
    if (crypto_pwhash_str(out, pw, strlen(pw), PW_OPS, PW_MEM) != 0)
        return cat_fail(db, -ENOMEM, "crypto_pwhash_str: out of memory");
    return 0;
}

static int sha256(const char *s, unsigned char out[32])
{
    unsigned int n = 0;

    if (EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return YL_EDB;
    return 0;
}

/* 32 random bytes as 43 characters of unpadded base64url. */
static void random_text(char out[CAT_SESSION_LEN + 1])
{
    unsigned char raw[32];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, CAT_SESSION_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

int cat_users_add(cat_db *db, const char *name, int role, const char *scope,
                  const char *password)
{
    static const char sql_site[] = "SELECT id FROM sites WHERE code = ?1";
    static const char sql[] =
        "INSERT INTO users(name, pwhash, role, scope_id, created_ms, "
        "changed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
    char hash[crypto_pwhash_STRBYTES];
    int64_t scope_id;
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    if (!cat_user_name_ok(name))
        return cat_fail(db, YL_EINVAL,
                        "name: want 1 to %d bytes of text without spaces",
                        CAT_USER_NAME_MAX);
    if (role != CAT_ROLE_ADMIN && role != CAT_ROLE_VIEWER)
        return cat_fail(db, YL_EINVAL, "role: want admin or viewer");
    rc = password_ok(db, password);
    if (rc < 0)
        return rc;
    if (scope == NULL || cat_code_level(scope) < 0)
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
        return cat_err(db, rc, "user scope");
    rc = hash_password(db, password, hash);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0) {
        cat_stmt_done(st);
        return rc;
    }
    cat_bind_text(st, 1, name);
    cat_bind_text(st, 2, hash);
    sqlite3_bind_text(st, 3, cat_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, scope_id);
    sqlite3_bind_int64(st, 5, cat_now_ms());
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc == SQLITE_CONSTRAINT)
        rc = cat_fail(db, YL_EEXIST, "user %s exists", name);
    else
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "insert user");
    return cat_tx_end(db, &tx, rc);
}

/* Inside a transaction: ends every session of the user named name. */
static int end_sessions_of(cat_db *db, const char *name)
{
    static const char sql[] =
        "UPDATE user_sessions SET revoked = 1 WHERE revoked = 0 AND "
        "user_id = (SELECT id FROM users WHERE name = ?1)";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, name);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, "end sessions");
}

int cat_users_passwd(cat_db *db, const char *name, const char *password)
{
    static const char sql[] =
        "UPDATE users SET pwhash = ?2, changed_ms = ?3 WHERE name = ?1";
    char hash[crypto_pwhash_STRBYTES];
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    rc = password_ok(db, password);
    if (rc == 0)
        rc = hash_password(db, password, hash);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0) {
        cat_stmt_done(st);
        return rc;
    }
    cat_bind_text(st, 1, name);
    cat_bind_text(st, 2, hash);
    sqlite3_bind_int64(st, 3, cat_now_ms());
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "set password");
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "no user %s", name);
    if (rc == 0)
        rc = end_sessions_of(db, name);
    return cat_tx_end(db, &tx, rc);
}

int cat_users_disable(cat_db *db, const char *name, bool disable)
{
    static const char sql[] = "UPDATE users SET disabled = ?2 WHERE name = ?1";
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
    cat_bind_text(st, 1, name);
    sqlite3_bind_int(st, 2, disable ? 1 : 0);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "disable user");
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "no user %s", name);
    if (rc == 0 && disable)
        rc = end_sessions_of(db, name);
    return cat_tx_end(db, &tx, rc);
}

int cat_users_list(cat_db *db, json_t **out)
{
    static const char sql[] =
        "SELECT u.name, u.role, s.code, u.disabled FROM users u "
        "JOIN sites s ON s.id = u.scope_id ORDER BY u.name";
    sqlite3_stmt *st = cat_stmt(db, sql);
    json_t *arr = json_array();
    int rc;

    if (st == NULL || arr == NULL) {
        json_decref(arr);
        if (st != NULL)
            cat_stmt_done(st);
        return st == NULL ? YL_EDB : -ENOMEM;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b}", "name",
                                             cat_col_text(st, 0), "role",
                                             cat_col_text(st, 1), "scope",
                                             cat_col_text(st, 2), "disabled",
                                             sqlite3_column_int(st, 3)));
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return cat_err(db, rc, "list users");
    }
    *out = arr;
    return 0;
}

int cat_users_check(cat_db *db, const char *name, const char *password,
                    int64_t *user_id)
{
    static const char sql[] =
        "SELECT id, pwhash, disabled FROM users WHERE name = ?1";
    /* Verified when the user does not exist, so an unknown name costs
     * the same time as a wrong password and names cannot be probed. */
    static char dummy[crypto_pwhash_STRBYTES];
    static int have_dummy;
    char hash[crypto_pwhash_STRBYTES];
    int64_t id = 0;
    int disabled = 0, found = 0, rc;
    sqlite3_stmt *st;

    rc = sodium_ready(db);
    if (rc < 0)
        return rc;
    if (password == NULL || strlen(password) > CAT_PASSWORD_MAX)
        return cat_fail(db, YL_ENOTFOUND, "wrong name or password");
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, name != NULL ? name : "");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        snprintf(hash, sizeof(hash), "%s", cat_col_text(st, 1));
        disabled = sqlite3_column_int(st, 2);
        found = 1;
    }
    cat_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cat_err(db, rc, "user");
    if (!found) {
        /* A race between two pool threads writes the same kind of value;
         * the worst case is one extra hash. */
        if (!__atomic_load_n(&have_dummy, __ATOMIC_ACQUIRE)) {
            char tmp[crypto_pwhash_STRBYTES];

            if (crypto_pwhash_str(tmp, "not a password", 14, PW_OPS, PW_MEM) ==
                0) {
                memcpy(dummy, tmp, sizeof(dummy));
                __atomic_store_n(&have_dummy, 1, __ATOMIC_RELEASE);
            }
        }
        if (__atomic_load_n(&have_dummy, __ATOMIC_ACQUIRE) &&
            crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0)
            YL_LOGW("cat", "the dummy password hash matched");
        return cat_fail(db, YL_ENOTFOUND, "wrong name or password");
    }
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
        return cat_fail(db, YL_ENOTFOUND, "wrong name or password");
    if (disabled)
        return cat_fail(db, YL_EFORBIDDEN, "user %s is disabled", name);
    *user_id = id;
    return 0;
}

/* ---- sessions ---- */

struct session_arg {
    int64_t user_id;
    int ttl_s;
    char sid[CAT_SESSION_LEN + 1]; /* end: the cookie's value */
};

static void session_arg_free(void *p)
{
    struct session_arg *a = p;

    if (a != NULL)
        sodium_memzero(a->sid, sizeof(a->sid));
    free(a);
}

/* Writer thread. */
static int session_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql_user[] =
        "SELECT u.name, u.role, s.code FROM users u JOIN sites s ON "
        "s.id = u.scope_id WHERE u.id = ?1 AND u.disabled = 0";
    static const char sql[] =
        "INSERT INTO user_sessions(hash, user_id, csrf, created_ms, "
        "expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
    struct session_arg *a = arg;
    char sid[CAT_SESSION_LEN + 1], csrf[CAT_CSRF_LEN + 1];
    char name[CAT_USER_NAME_MAX + 1], role[16], scope[CAT_CODE_MAX];
    unsigned char hash[32];
    int64_t now = cat_now_ms(), exp = now + (int64_t)a->ttl_s * 1000;
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    rc = sodium_ready(db);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql_user);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, a->user_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(name, sizeof(name), "%s", cat_col_text(st, 0));
        snprintf(role, sizeof(role), "%s", cat_col_text(st, 1));
        snprintf(scope, sizeof(scope), "%s", cat_col_text(st, 2));
    }
    cat_stmt_done(st);
    if (rc == SQLITE_DONE) /* disabled or removed since the check */
        return cat_fail(db, YL_EFORBIDDEN, "the user is disabled");
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "session user");
    random_text(sid);
    random_text(csrf);
    rc = sha256(sid, hash);
    if (rc < 0)
        return cat_fail(db, rc, "SHA-256 failed");
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0) {
        cat_stmt_done(st);
        return rc;
    }
    sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a->user_id);
    cat_bind_text(st, 3, csrf);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, exp);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "insert session");
    rc = cat_tx_end(db, &tx, rc);
    if (rc == 0) {
        res->id = a->user_id;
        res->json =
            json_pack("{s:s, s:s, s:I, s:{s:s, s:s, s:s}}", "session", sid,
                      "csrf", csrf, "expires_ms", (json_int_t)exp, "user",
                      "name", name, "role", role, "scope", scope);
        if (res->json == NULL)
            rc = -ENOMEM; /* committed, but nobody gets the cookie */
    }
    sodium_memzero(sid, sizeof(sid));
    return rc;
}

int cat_users_session_submit(cat_writer *w, int64_t user_id, int ttl_s,
                             cat_write_done done, void *ud)
{
    struct session_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->user_id = user_id;
    a->ttl_s = ttl_s > 0 ? ttl_s : 1;
    return cat_writer_submit(w, session_op, a, session_arg_free, done, ud);
}

/* Writer thread. */
static int session_end_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql[] =
        "UPDATE user_sessions SET revoked = 1 WHERE hash = ?1";
    struct session_arg *a = arg;
    unsigned char hash[32];
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    (void)res;
    rc = sha256(a->sid, hash);
    if (rc < 0)
        return cat_fail(db, rc, "SHA-256 failed");
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0) {
        cat_stmt_done(st);
        return rc;
    }
    sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "end session");
    return cat_tx_end(db, &tx, rc);
}

int cat_users_session_end_submit(cat_writer *w, const char *sid,
                                 cat_write_done done, void *ud)
{
    struct session_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    snprintf(a->sid, sizeof(a->sid), "%s", sid != NULL ? sid : "");
    return cat_writer_submit(w, session_end_op, a, session_arg_free, done, ud);
}

int cat_users_session_verify(cat_db *db, const char *sid, int64_t now_ms,
                             cat_token_info *info, char *csrf)
{
    static const char sql[] =
        "SELECT u.id, u.role, s.code, s.level, x.expires_ms, u.name, x.csrf "
        "FROM user_sessions x JOIN users u ON u.id = x.user_id "
        "JOIN sites s ON s.id = u.scope_id "
        "WHERE x.hash = ?1 AND x.revoked = 0 AND u.disabled = 0";
    unsigned char hash[32];
    sqlite3_stmt *st;
    int rc;

    memset(info, 0, sizeof(*info));
    csrf[0] = '\0';
    if (sid == NULL || strlen(sid) != CAT_SESSION_LEN)
        return cat_fail(db, YL_ENOTFOUND, "unknown session");
    rc = sha256(sid, hash);
    if (rc < 0)
        return cat_fail(db, rc, "SHA-256 failed");
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        info->id = -sqlite3_column_int64(st, 0);
        info->role = cat_role_parse(cat_col_text(st, 1));
        snprintf(info->scope, sizeof(info->scope), "%s", cat_col_text(st, 2));
        info->scope_level = sqlite3_column_int(st, 3);
        info->expires_ms = sqlite3_column_int64(st, 4);
        info->expired = info->expires_ms <= now_ms;
        snprintf(info->name, sizeof(info->name), "%s", cat_col_text(st, 5));
        snprintf(csrf, CAT_CSRF_LEN + 1, "%s", cat_col_text(st, 6));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "unknown session");
    } else {
        rc = cat_err(db, rc, "session");
    }
    cat_stmt_done(st);
    return rc;
}
