/* test_cat_tokens.c - tokens are stored hashed, verify, expire, scope. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_tokens.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

static void token_is_stored_as_sha256_only(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    char tok[CAT_TOKEN_LEN + 1], tok2[CAT_TOKEN_LEN + 1];
    unsigned char want[32];
    unsigned int n = 0;
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    cat_token_info ti;

    (void)state;
    assert_int_equal(cat_tokens_create(db, CAT_ROLE_SITE, "910101001001", 0,
                                       "东镇一村 TV", tok, &id),
                     0);
    assert_int_equal(strlen(tok), CAT_TOKEN_LEN);
    assert_null(strpbrk(tok, ".=+/ ")); /* fits ?setup=<code>.<token> */
    assert_int_equal(cat_tokens_create(db, CAT_ROLE_SITE, "910101001001", 0,
                                       NULL, tok2, NULL),
                     0);
    assert_string_not_equal(tok, tok2);
    EVP_Digest(tok, strlen(tok), want, &n, EVP_sha256(), NULL);
    assert_int_equal(sqlite3_prepare_v2(cat_db_sqlite(db),
                                        "SELECT hash FROM tokens WHERE id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), 32);
    assert_memory_equal(sqlite3_column_blob(st, 0), want, 32);
    sqlite3_finalize(st);
    /* The text itself appears nowhere in the table. */
    assert_int_equal(sqlite3_prepare_v2(cat_db_sqlite(db),
                                        "SELECT count(*) FROM tokens WHERE "
                                        "instr(CAST(hash AS TEXT), ?1) OR "
                                        "instr(name, ?1)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, tok, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);

    assert_int_equal(cat_tokens_verify(db, tok, cat_now_ms(), &ti), 0);
    assert_int_equal(ti.role, CAT_ROLE_SITE);
    assert_string_equal(ti.scope, "910101001001");
    assert_int_equal(ti.scope_level, 5);
    assert_false(ti.expired);
    assert_int_equal(ti.id, id);
    assert_string_equal(ti.name, "东镇一村 TV");

    char orig[CAT_TOKEN_LEN + 1];
    memcpy(orig, tok, sizeof(orig));
    /* One character off, too short, empty: unknown. */
    tok[3] = tok[3] == 'A' ? 'B' : 'A';
    assert_int_equal(cat_tokens_verify(db, tok, cat_now_ms(), &ti),
                     YL_ENOTFOUND);
    assert_int_equal(cat_tokens_verify(db, "abc", cat_now_ms(), &ti),
                     YL_ENOTFOUND);
    assert_int_equal(cat_tokens_verify(db, "", cat_now_ms(), &ti),
                     YL_ENOTFOUND);
    /* Revoked. */
    assert_int_equal(cat_tokens_revoke(db, id), 0);
    assert_int_equal(cat_tokens_verify(db, orig, cat_now_ms(), &ti),
                     YL_ENOTFOUND);
    assert_int_equal(cat_tokens_verify(db, tok2, cat_now_ms(), &ti), 0);
    assert_int_equal(cat_tokens_revoke(db, 9999), YL_ENOTFOUND);
    cat_db_close(db);
    fx_rmdir(dir);
}

static void ttl_expires(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    char tok[CAT_TOKEN_LEN + 1];
    cat_token_info ti;
    int64_t now = cat_now_ms();

    (void)state;
    assert_int_equal(
        cat_tokens_create(db, CAT_ROLE_ADMIN, "910101", 7, NULL, tok, NULL), 0);
    assert_int_equal(cat_tokens_verify(db, tok, now, &ti), 0);
    assert_false(ti.expired);
    assert_true(ti.expires_ms > now + 6LL * 86400000);
    assert_true(ti.expires_ms <= now + 7LL * 86400000 + 5000);
    assert_int_equal(cat_tokens_verify(db, tok, now + 8LL * 86400000, &ti), 0);
    assert_true(ti.expired);
    cat_db_close(db);
    fx_rmdir(dir);
}

static void admin_scope_covers_its_region_only(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    char tok[CAT_TOKEN_LEN + 1];
    cat_token_info ti;

    (void)state;
    assert_int_equal(
        cat_tokens_create(db, CAT_ROLE_ADMIN, "910101", 0, NULL, tok, NULL), 0);
    assert_int_equal(cat_tokens_verify(db, tok, cat_now_ms(), &ti), 0);
    assert_int_equal(ti.role, CAT_ROLE_ADMIN);
    assert_int_equal(ti.scope_level, 3);
    assert_int_equal(cat_tokens_allows(db, &ti, "910101002001"), 1);
    assert_int_equal(cat_tokens_allows(db, &ti, "910101"), 1);
    assert_int_equal(cat_tokens_allows(db, &ti, "910102001001"), 0);
    assert_int_equal(cat_tokens_allows(db, &ti, "9101"), 0);
    assert_int_equal(cat_tokens_allows(db, &ti, "919999"), YL_ENOTFOUND);

    /* Unknown or malformed scope and role are errors. */
    assert_int_equal(
        cat_tokens_create(db, CAT_ROLE_ADMIN, "910109", 0, NULL, tok, NULL),
        YL_ENOTFOUND);
    assert_non_null(strstr(cat_db_errmsg(db), "910109"));
    assert_int_equal(
        cat_tokens_create(db, CAT_ROLE_ADMIN, "9x", 0, NULL, tok, NULL),
        YL_EINVAL);
    assert_int_equal(cat_tokens_create(db, 7, "91", 0, NULL, tok, NULL),
                     YL_EINVAL);
    assert_int_equal(cat_role_parse("root"), YL_EINVAL);
    assert_int_equal(cat_role_parse("site"), CAT_ROLE_SITE);
    cat_db_close(db);
    fx_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_is_stored_as_sha256_only),
        cmocka_unit_test(ttl_expires),
        cmocka_unit_test(admin_scope_covers_its_region_only),
    };
    return cmocka_run_group_tests_name("cat_tokens", tests, NULL, NULL);
}
