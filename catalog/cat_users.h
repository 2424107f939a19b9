/* cat_users.h - people who sign in to the admin console: a name, a
 * password hashed with libsodium's crypto_pwhash_str (Argon2id, salt and
 * cost inside the stored string), a role (admin or viewer) scoped to a
 * region like a token, and sessions: a random 256-bit id sent as a cookie,
 * of which only the SHA-256 is stored, with an expiry and a CSRF token.
 * Machines keep their bearer tokens (cat_tokens.h).
 *
 * Threads: functions taking cat_db run on the thread that owns it; the
 * _submit ones on any thread. Hashing a password takes about 0.1 s and
 * 64 MiB: never on the lws service thread nor the writer thread (a
 * sign-in runs on a query pool thread, str_query.c). */
#ifndef YL_CAT_USERS_H
#define YL_CAT_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_tokens.h"
#include "catalog/cat_writer.h"

#define CAT_USER_NAME_MAX 64 /* bytes of a user name, without the NUL */
#define CAT_PASSWORD_MIN  8  /* bytes */
#define CAT_PASSWORD_MAX  256
#define CAT_SESSION_LEN   43 /* base64url of 32 random bytes, no NUL */
#define CAT_CSRF_LEN      43

/* Whether name is a valid user name: 1..64 bytes of UTF-8 text without
 * spaces or control characters. */
bool cat_user_name_ok(const char *name);

/* Writer connection (the CLI's). Adds user name with password (hashed
 * here: slow). role: CAT_ROLE_ADMIN or CAT_ROLE_VIEWER. YL_EEXIST when
 * the name is taken, YL_ENOTFOUND for an unknown scope, YL_EINVAL for a
 * bad name, role or password. */
int cat_users_add(cat_db *db, const char *name, int role, const char *scope,
                  const char *password);
/* Writer connection. Sets a new password and ends the user's sessions.
 * 0 or YL_ENOTFOUND, YL_EINVAL. */
int cat_users_passwd(cat_db *db, const char *name, const char *password);
/* Writer connection. Disables (disable true) or enables the user; a
 * disabled user's sessions end at once. 0 or YL_ENOTFOUND. */
int cat_users_disable(cat_db *db, const char *name, bool disable);
/* Writer connection. Users as JSON [{"name","role","scope","disabled"}]. */
int cat_users_list(cat_db *db, json_t **out);

/* A reader. Checks name's password (slow; constant work whether or not
 * the user exists). Returns 0 and *user_id, YL_ENOTFOUND for an unknown
 * user or a wrong password (one answer for both), YL_EFORBIDDEN for a
 * disabled user whose password is right. */
int cat_users_check(cat_db *db, const char *name, const char *password,
                    int64_t *user_id);

/* Any thread: opens a session for user_id lasting ttl_s seconds, through
 * the writer. res->json = {"session": ID, "csrf": T, "expires_ms": N,
 * "user": {"name","role","scope"}}; the session id is the cookie's value
 * and is not stored. */
int cat_users_session_submit(cat_writer *w, int64_t user_id, int ttl_s,
                             cat_write_done done, void *ud);
/* Any thread: ends the session whose cookie value is sid (through the
 * writer). Done's rc is 0 even when there was no such session. */
int cat_users_session_end_submit(cat_writer *w, const char *sid,
                                 cat_write_done done, void *ud);

/* A reader. Looks up the session whose cookie value is sid: 0 with *info
 * as a token's (role and scope of the user; id is minus the user id so it
 * never equals a token's; name the user's name; expires_ms and expired
 * for now_ms) and csrf (CAT_CSRF_LEN + 1 bytes); YL_ENOTFOUND for an
 * unknown or ended session or a disabled user. One indexed lookup. */
int cat_users_session_verify(cat_db *db, const char *sid, int64_t now_ms,
                             cat_token_info *info, char *csrf);

#endif
