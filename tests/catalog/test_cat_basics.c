/* test_cat_basics.c - config, schema, days, language tags, hash map. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "catalog/cat_config.h"
#include "catalog/cat_db.h"
#include "catalog/cat_internal.h"
#include "catalog/cat_lang.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_meetings.h"
#include "catalog/cat_notices.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

static void schema_applies_every_step(void **state)
{
    cat_db *db = NULL;

    (void)state;
    assert_int_equal(cat_db_open(":memory:", 0, &db), 0);
    assert_true(cat_db_schema_latest() >= 1);
    assert_int_equal(cat_db_schema_version(db), cat_db_schema_latest());
    cat_db_close(db);
}

/* The one row of sql (asserted); finalize it after reading. */
static sqlite3_stmt *row(cat_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(cat_db_sqlite(db), sql, -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    return st;
}

/* Runs sql (the old catalog's rows, then its user_version) in h, closes
 * it, and opens path as the server does: every missing step applied. */
static cat_db *migrated(sqlite3 *h, const char *sql, const char *path)
{
    cat_db *db = NULL;

    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(cat_db_open(path, 0, &db), 0);
    assert_int_equal(cat_db_schema_version(db), cat_db_schema_latest());
    return db;
}

/* Step 004 on a database with events: view_events keeps every row (now in
 * arrival order) and each session's holes come from the seqs it lacks. */
static void step4_keeps_events_and_finds_holes(void **state)
{
    char *dir = fx_tmpdir(), path[600];
    sqlite3 *h = NULL;
    cat_db *db = NULL;
    sqlite3_stmt *st = NULL;
    static const char rows[] =
        "INSERT INTO sessions(id, skey, site_id, lesson_id, start_ms, "
        "last_ms, last_seq, last_clock) VALUES "
        "(1, 'a', 1, 1, 0, 0, 4, 0), (2, 'b', 1, 1, 0, 0, 9, 0), "
        "(3, 'c', 1, 1, 0, 0, 3, 0), (4, 'd', 1, 1, 0, 0, 25, 0);"
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 2 FROM n "
        "WHERE x < 25) INSERT INTO view_events(session_id, seq, kind, "
        "position_s, recv_ms, credited_s) SELECT 4, x, 1, 0, 9, 0 FROM n;"
        "INSERT INTO view_events(session_id, seq, kind, position_s, recv_ms, "
        "credited_s) VALUES (1, 1, 0, 0, 5, 0), (1, 2, 1, 0, 6, 0), "
        "(1, 3, 1, 0, 7, 0), (1, 4, 1, 0, 8, 0), (2, 1, 0, 0, 1, 0), "
        "(2, 4, 1, 0, 2, 0), (2, 9, 1, 0, 3, 0), (3, 3, 0, 0, 4, 0);"
        "PRAGMA user_version = 3;";

    (void)state;
    snprintf(path, sizeof(path), "%s/old.db", dir);
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            sqlite3_exec(h, cat_schema_steps[i].sql, NULL, NULL, NULL),
            SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, rows, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);

    assert_int_equal(cat_db_open(path, 0, &db), 0);
    assert_int_equal(cat_db_schema_version(db), cat_db_schema_latest());
    st = row(db, "SELECT (SELECT count(*) FROM view_events), (SELECT "
                 "group_concat(skey || '=' || coalesce(holes, '')) FROM "
                 "(SELECT * FROM sessions ORDER BY id))");
    assert_int_equal(sqlite3_column_int(st, 0), 8 + 13);
    /* b lacks 2-3 and 5-8 (in either order), c lacks 1-2 */
    {
        const char *t = (const char *)sqlite3_column_text(st, 1);
        assert_true(strncmp(t, "a=,b=2-3,5-8,c=1-2,d=", 21) == 0 ||
                    strncmp(t, "a=,b=5-8,2-3,c=1-2,d=", 21) == 0);
    }
    sqlite3_finalize(st);
    /* d lacks 2, 4, ... 24: only the highest 8 (10 ... 24) are kept */
    st = row(db, "SELECT length(holes) - length(replace(holes, ',', '')), "
                 "instr(',' || holes || ',', ',24-24,') > 0, "
                 "instr(',' || holes || ',', ',10-10,') > 0, "
                 "instr(',' || holes || ',', ',8-8,') FROM sessions WHERE "
                 "id = 4");
    assert_int_equal(sqlite3_column_int(st, 0), 7);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    assert_int_equal(sqlite3_column_int(st, 2), 1);
    assert_int_equal(sqlite3_column_int(st, 3), 0);
    sqlite3_finalize(st);
    cat_db_close(db);
    fx_rmdir(dir);
}

/* A database at step 4 with nprov provinces and one lesson, migrated. */
static cat_db *step5_migrated(const char *dir, int nprov)
{
    char path[600], sql[512];
    sqlite3 *h = NULL;
    cat_db *db = NULL;

    snprintf(path, sizeof(path), "%s/old%d.db", dir, nprov);
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            sqlite3_exec(h, cat_schema_steps[i].sql, NULL, NULL, NULL),
            SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "INSERT INTO sites(id, code, level, name) VALUES "
             "(53, '53', 1, '云南省');"
             "INSERT INTO sites(id, code, parent_id, level, name) VALUES "
             "(5329, '5329', 53, 2, '大理');"
             "%s"
             "INSERT INTO lessons(id, state, created_ms) VALUES "
             "(7, 'ready', 1);"
             "PRAGMA user_version = 4;",
             nprov > 1 ? "INSERT INTO sites(id, code, level, name) VALUES "
                         "(52, '52', 1, '贵州省');"
                       : "");
    db = migrated(h, sql, path);
    return db;
}

/* Step 005: lessons from before owners become the province's when the
 * catalog holds one province, and stay province-wide (NULL) otherwise. */
static void step5_gives_old_lessons_the_province(void **state)
{
    char *dir = fx_tmpdir(), code[CAT_CODE_MAX];
    cat_db *db;

    (void)state;
    db = step5_migrated(dir, 1);
    assert_int_equal(cat_lessons_owner(db, 7, code), 0);
    assert_string_equal(code, "53");
    assert_int_equal(cat_lessons_owner(db, 8, code), YL_ENOTFOUND);
    cat_db_close(db);
    db = step5_migrated(dir, 2);
    assert_int_equal(cat_lessons_owner(db, 7, code), 0);
    assert_string_equal(code, "");
    cat_db_close(db);
    fx_rmdir(dir);
}

/* Step 006 rebuilds jobs: rows and the id sequence stay, and a job can
 * now be "cancelled". */
static void step6_keeps_jobs_and_their_ids(void **state)
{
    char *dir = fx_tmpdir(), path[600];
    sqlite3 *h = NULL;
    cat_db *db = NULL;
    sqlite3_stmt *st;
    static const char rows[] =
        "INSERT INTO lessons(id, state, created_ms) VALUES (1, 'ready', 1);"
        "INSERT INTO jobs(id, lesson_id, state, attempts, error, dir, "
        "inputs, created_ms, updated_ms, not_before_ms) VALUES "
        "(4, 1, 'failed', 3, 'bad', 'u/4', '{}', 1, 2, 0), "
        "(9, 1, 'queued', 1, NULL, 'u/9', '{}', 1, 2, 77);"
        "UPDATE sqlite_sequence SET seq = 12 WHERE name = 'jobs';"
        "PRAGMA user_version = 5;";

    (void)state;
    snprintf(path, sizeof(path), "%s/old.db", dir);
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            sqlite3_exec(h, cat_schema_steps[i].sql, NULL, NULL, NULL),
            SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, rows, NULL, NULL, NULL), SQLITE_OK);
    /* before the step, "cancelled" is refused */
    assert_int_not_equal(sqlite3_exec(h,
                                      "UPDATE jobs SET state = 'cancelled' "
                                      "WHERE id = 9",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(h);

    assert_int_equal(cat_db_open(path, 0, &db), 0);
    assert_int_equal(cat_db_schema_version(db), cat_db_schema_latest());
    st = row(db, "SELECT group_concat(id || state || attempts || "
                 "coalesce(error, '-') || not_before_ms, ','), "
                 "(SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), "
                 "(SELECT count(*) FROM sqlite_master WHERE name = "
                 "'jobs_state') FROM (SELECT * FROM jobs ORDER BY id)");
    assert_string_equal((const char *)sqlite3_column_text(st, 0),
                        "4failed3bad0,9queued1-77");
    assert_int_equal(sqlite3_column_int(st, 1), 12);
    assert_int_equal(sqlite3_column_int(st, 2), 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(cat_db_sqlite(db),
                                  "UPDATE jobs SET state = 'cancelled' "
                                  "WHERE id = 9",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    cat_db_close(db);
    fx_rmdir(dir);
}

/* A catalog at dir/old.db with every schema step before the one whose
 * name ends in suffix (found by name: numbers change when steps are
 * merged), open in *h. Returns that step's index (the user_version to set
 * once the test's rows are in). */
static int db_before_step(const char *dir, const char *suffix, char *path,
                          size_t len, sqlite3 **h)
{
    int k = -1;

    for (int i = 0; i < cat_schema_nsteps; i++)
        if (strstr(cat_schema_steps[i].name, suffix) != NULL)
            k = i;
    assert_true(k > 0);
    snprintf(path, len, "%s/old.db", dir);
    assert_int_equal(sqlite3_open(path, h), SQLITE_OK);
    for (int i = 0; i < k; i++)
        assert_int_equal(
            sqlite3_exec(*h, cat_schema_steps[i].sql, NULL, NULL, NULL),
            SQLITE_OK);
    return k;
}

/* The courses step (found by name: its number changes when steps are
 * merged) on a catalog with lessons: they stay, in no course. */
static void courses_step_keeps_lessons(void **state)
{
    char *dir = fx_tmpdir(), path[600], sql[256];
    sqlite3 *h = NULL;
    cat_db *db = NULL;
    json_t *item = NULL;
    int k = -1;

    (void)state;
    k = db_before_step(dir, "_courses.sql", path, sizeof(path), &h);
    snprintf(sql, sizeof(sql),
             "INSERT INTO lessons(id, state, created_ms, meta) VALUES "
             "(7, 'ready', 1, '{\"poster\":\"poster.jpg\"}');"
             "PRAGMA user_version = %d;",
             k);
    db = migrated(h, sql, path);
    assert_int_equal(cat_lessons_get(db, 7, NULL, &item), 0);
    assert_null(json_object_get(item, "course"));
    assert_true(json_is_null(json_object_get(item, "next")));
    assert_true(json_is_null(json_object_get(item, "thumbs")));
    json_decref(item);
    cat_db_close(db);
    fx_rmdir(dir);
}

/* The meeting audio step (found by name) on a catalog with a meeting: it
 * stays, with no declared audio (null: the behaviour before the step). */
static void meeting_audio_step_keeps_meetings(void **state)
{
    char *dir = fx_tmpdir(), path[600], sql[512];
    sqlite3 *h = NULL;
    cat_db *db = NULL;
    json_t *m = NULL;
    int k = -1;

    (void)state;
    k = db_before_step(dir, "_meeting_audio.sql", path, sizeof(path), &h);
    snprintf(sql, sizeof(sql),
             "INSERT INTO sites(id, code, level, name) VALUES (53, '53', 1, "
             "'云南省');"
             "INSERT INTO meetings(id, title, source, targets, owner_id, "
             "created_ms) VALUES (3, 'm', 'srt://:9000?mode=listener', "
             "'[\"53\"]', 53, 1);"
             "PRAGMA user_version = %d;",
             k);
    db = migrated(h, sql, path);
    assert_int_equal(cat_meetings_get(db, 3, &m), 0);
    assert_true(json_is_null(json_object_get(m, "audio")));
    assert_string_equal(json_string_value(json_object_get(m, "source")),
                        "srt://:9000?mode=listener");
    json_decref(m);
    cat_db_close(db);
    fx_rmdir(dir);
}

static int count_rows(void *arg, int n, char **v, char **c)
{
    (void)n, (void)v, (void)c;
    ++*(int *)arg;
    return 0;
}

/* The receipts step (found by name) on a catalog with receipts: every
 * row stays, keyed by notice now, and a site's replay, its list and a
 * notice's totals read them as before. */
static void receipts_step_keeps_receipts(void **state)
{
    char *dir = fx_tmpdir(), path[600], sql[2048];
    sqlite3 *h = NULL;
    cat_db *db = NULL;
    json_t *list = NULL;
    int64_t ids[8], tot[3];
    int k = -1, rows = 0;

    (void)state;
    k = db_before_step(dir, "_notice_receipts_by_notice.sql", path,
                       sizeof(path), &h);
    /* Two villages (a site's id is its code, which begins with its
     * parents' codes); notice 1 to both (a delivered, b read), 2 to a
     * only, 3 to both and withdrawn. */
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO sites(id, code, parent_id, level, name) VALUES "
        "(53, '53', NULL, 1, '云南省'), (530101001001, '530101001001', 53, 5, 'a'), "
        "(530101001002, '530101001002', 53, 5, 'b');"
        "INSERT INTO notices(id, title, body, targets, from_id, n_sites, "
        "sent_ms, withdrawn_ms) VALUES (1, 't1', 'b', '[\"53\"]', 53, "
        "2, 10, NULL), (2, 't2', 'b', '[\"530101001001\"]', 53, 1, 20, NULL), "
        "(3, 't3', 'b', '[\"53\"]', 53, 2, 30, 31);"
        "INSERT INTO notice_sites(site_id, notice_id, delivered_ms, "
        "read_ms) VALUES (530101001001, 1, 11, NULL), (530101001002, 1, 12, 13), "
        "(530101001001, 2, NULL, NULL), (530101001001, 3, NULL, NULL), "
        "(530101001002, 3, NULL, NULL);"
        "PRAGMA user_version = %d;",
        k);
    db = migrated(h, sql, path);
    /* Every row, under the new key; the notice index gone. */
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "SELECT 1 FROM notice_sites WHERE notice_id "
                     "= 3 AND site_id = 530101001001 AND delivered_ms "
                     "IS NULL",
                     count_rows, &rows, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "SELECT 1 FROM notice_sites UNION ALL "
                                  "SELECT 1 FROM sqlite_schema WHERE name = "
                                  "'notice_sites_notice' UNION ALL SELECT 1 "
                                  "FROM pragma_index_list('notice_sites')",
                                  count_rows, &rows, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    /* The row above, the 5 rows, no notice_sites_notice, and only the
     * primary key in the index list: 7. */
    assert_int_equal(rows, 7);
    /* a's replay: 2 (1 was delivered, 3 withdrawn); b's: nothing. */
    assert_int_equal(cat_notices_pending(db, "530101001001", 0, ids, 8), 1);
    assert_int_equal(ids[0], 2);
    assert_int_equal(cat_notices_pending(db, "530101001002", 0, ids, 8), 0);
    assert_int_equal(cat_notices_pending(db, "530101001001", 2, ids, 8), 0);
    assert_int_equal(cat_notices_sent_to(db, 2, "530101001002"), 0);
    assert_int_equal(cat_notices_sent_to(db, 2, "530101001001"), 1);
    assert_int_equal(cat_notices_for_site(db, "530101001002", 0, 10, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(list, 0), "read_ms")),
        13);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(list, 1), "id")), 3);
    json_decref(list);
    assert_int_equal(cat_notices_totals(db, 1, "53", tot), 0);
    assert_int_equal(tot[0], 2);
    assert_int_equal(tot[1], 2);
    assert_int_equal(tot[2], 1);
    cat_db_close(db);
    fx_rmdir(dir);
}

/* A catalog command's connection (CAT_DB_GUEST) holds the checkpoint lock
 * while it is open and never checkpoints by itself; the server's writer
 * gets the lock only when no such connection is open, and holds it
 * exclusively around its checkpoint. */
static void guest_writer_holds_the_checkpoint_lock(void **state)
{
    char *dir = fx_tmpdir(), path[600], lock[640];
    cat_db *w = NULL, *g = NULL;
    sqlite3_stmt *st;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/yunling.db", dir);
    snprintf(lock, sizeof(lock), "%s-ckpt.lock", path);
    assert_int_equal(cat_db_open(path, 0, &w), 0);
    assert_int_equal(cat_db_ckpt_trylock(w), 0);
    /* Held: another holder (a guest opening now) would have to wait. */
    fd = open(lock, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    cat_db_ckpt_unlock(w);

    assert_int_equal(cat_db_open(path, CAT_DB_GUEST, &g), 0);
    assert_int_equal(cat_db_ckpt_trylock(w), -1);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
    st = row(g, "PRAGMA wal_autocheckpoint");
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    st = row(w, "PRAGMA wal_autocheckpoint");
    assert_int_equal(sqlite3_column_int(st, 0), 1000);
    sqlite3_finalize(st);
    /* The guest writes; the writer reads it. */
    assert_int_equal(cat_exec(g, "CREATE TABLE t(x); INSERT INTO t VALUES(7)"),
                     0);
    st = row(w, "SELECT x FROM t");
    assert_int_equal(sqlite3_column_int(st, 0), 7);
    sqlite3_finalize(st);
    cat_db_close(g);

    assert_int_equal(cat_db_ckpt_trylock(w), 0);
    cat_db_ckpt_unlock(w);
    cat_db_close(w);
    /* Through a symbolic link to the database file: the same lock file
     * (beside the file SQLite resolves the path to, not the link). */
    {
        char link[640];
        cat_db *g2 = NULL;

        snprintf(link, sizeof(link), "%s/alias.db", dir);
        assert_int_equal(symlink("yunling.db", link), 0);
        assert_int_equal(cat_db_open(link, CAT_DB_GUEST, &g2), 0);
        assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
        cat_db_close(g2);
        unlink(link);
    }
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    flock(fd, LOCK_UN);
    close(fd);
    /* ":memory:" has no file to lock: always free. */
    assert_int_equal(cat_db_open(":memory:", 0, &w), 0);
    assert_int_equal(cat_db_ckpt_trylock(w), 0);
    cat_db_ckpt_unlock(w);
    cat_db_close(w);
    fx_rmdir(dir);
}

static void reader_refuses_writes_and_old_schema(void **state)
{
    char *dir = fx_tmpdir();
    char path[512];
    cat_db *w = NULL, *r = NULL;

    (void)state;
    snprintf(path, sizeof(path), "%s/none.db", dir);
    assert_int_not_equal(cat_reader_open(path, &r), 0); /* no such db */
    snprintf(path, sizeof(path), "%s/y.db", dir);
    assert_int_equal(cat_db_open(path, 0, &w), 0);
    assert_int_equal(cat_reader_open(path, &r), 0);
    assert_int_not_equal(
        sqlite3_exec(cat_db_sqlite(r), "DELETE FROM sites", 0, 0, 0),
        SQLITE_OK);
    cat_db_close(r);
    cat_db_close(w);
    /* Reopening a migrated database applies nothing and keeps data. */
    assert_int_equal(cat_db_open(path, 0, &w), 0);
    assert_int_equal(cat_db_schema_version(w), cat_db_schema_latest());
    cat_db_close(w);
    fx_rmdir(dir);
}

static void days_are_china_standard_time(void **state)
{
    int64_t d = 0;
    char buf[11];

    (void)state;
    assert_int_equal(cat_day_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(cat_day_parse("2026-03-01", &d), 0);
    cat_day_format(d, buf);
    assert_string_equal(buf, "2026-03-01");
    cat_day_format(d - 1, buf);
    assert_string_equal(buf, "2026-02-28");
    /* 2026-03-01 00:30 CST is 2026-02-28 16:30 UTC: still March 1st. */
    assert_int_equal(cat_day_of_ms(fx_ms("2026-03-01", 0, 30)), d);
    assert_int_equal(cat_day_of_ms(fx_ms("2026-03-01", 23, 59)), d);
    assert_int_equal(cat_day_of_ms(fx_ms("2026-03-01", 0, 0) - 1), d - 1);
    assert_int_equal(cat_day_parse("2026-02-29", &d), YL_EINVAL);
    assert_int_equal(cat_day_parse("2024-02-29", &d), 0);
    assert_int_equal(cat_day_parse("2026-13-01", &d), YL_EINVAL);
    assert_int_equal(cat_day_parse("2026-1-01", &d), YL_EINVAL);
    assert_int_equal(cat_day_parse("2026-01-01x", &d), YL_EINVAL);
    assert_int_equal(cat_day_parse("", &d), YL_EINVAL);
}

static void lang_tags_are_checked_and_canonical(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(cat_lang_normalize("zho", out, sizeof(out)), 0);
    assert_string_equal(out, "zh");
    assert_int_equal(cat_lang_normalize("tib", out, sizeof(out)), 0);
    assert_string_equal(out, "bo");
    assert_int_equal(cat_lang_normalize("LIS", out, sizeof(out)), 0);
    assert_string_equal(out, "lis");
    assert_int_equal(cat_lang_normalize("zh-hans-cn", out, sizeof(out)), 0);
    assert_string_equal(out, "zh-Hans-CN");
    assert_int_equal(cat_lang_normalize("duu", out, sizeof(out)), 0);
    assert_string_equal(out, "duu");
    assert_int_equal(cat_lang_normalize("und", out, sizeof(out)), 0);
    /* Same rules as the transcoder: Mandarin's own code stays. */
    assert_int_equal(cat_lang_normalize("cmn", out, sizeof(out)), 0);
    assert_string_equal(out, "cmn");
    assert_int_equal(cat_lang_normalize("wbm", out, sizeof(out)), 0);
    assert_string_equal(out, "wbm");
    const char *bad[] = {
        "",       "z",  "zhongwenyu", "zh-",          "-zh",
        "zh--cn", "12", "zh_CN!",     "zh-Hans-CN-x", "bo lis"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cat_lang_normalize(bad[i], out, sizeof(out)) != YL_EBADLANG)
            fail_msg("accepted malformed tag \"%s\"", bad[i]);
    }
}

static void config_file_then_flags(void **state)
{
    char *dir = fx_tmpdir();
    char path[512], err[256];
    cat_config c;
    FILE *f;

    (void)state;
    cat_config_init(&c);
    assert_string_equal(c.data_dir, "./var");
    assert_int_equal(c.max_batch_events, 500);
    snprintf(path, sizeof(path), "%s/y.ini", dir);
    f = fopen(path, "w");
    fprintf(f,
            "[server]\nlisten = 0.0.0.0:9000\ndata = %s/data\n"
            "max_body = 64k\nmax_events = 100\n",
            dir);
    fclose(f);
    assert_int_equal(cat_config_load(&c, path, NULL, NULL, err, sizeof(err)),
                     0);
    assert_string_equal(c.listen, "0.0.0.0:9000");
    assert_int_equal(c.max_body_bytes, 65536);
    assert_int_equal(c.max_batch_events, 100);
    assert_int_equal(cat_config_finish(&c, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/data/yunling.db", dir);
    assert_string_equal(c.db_path, path);

    /* Unknown keys and bad numbers name file:line and the key. */
    snprintf(path, sizeof(path), "%s/bad.ini", dir);
    f = fopen(path, "w");
    fputs("[server]\nlisten = 1.2.3.4:5\n\nmax_events = lots\n", f);
    fclose(f);
    cat_config_init(&c);
    assert_int_equal(cat_config_load(&c, path, NULL, NULL, err, sizeof(err)),
                     YL_EINVAL);
    assert_non_null(strstr(err, "bad.ini:4"));
    assert_non_null(strstr(err, "max_events"));
    f = fopen(path, "w");
    fputs("[server]\ncolour = blue\n", f);
    fclose(f);
    assert_int_equal(cat_config_load(&c, path, NULL, NULL, err, sizeof(err)),
                     YL_EINVAL);
    assert_non_null(strstr(err, "bad.ini:2"));
    assert_non_null(strstr(err, "colour"));
    snprintf(path, sizeof(path), "%s/missing.ini", dir);
    assert_true(cat_config_load(&c, path, NULL, NULL, err, sizeof(err)) < 0);
    fx_rmdir(dir);
}

static void map_put_get_delete(void **state)
{
    cat_map m;
    uintptr_t i;

    (void)state;
    cat_map_init(&m);
    for (i = 0; i < 5000; i++)
        assert_int_equal(cat_map_put(&m, i * 7919, (void *)(i + 1)), 0);
    for (i = 0; i < 5000; i += 2)
        assert_ptr_equal(cat_map_del(&m, i * 7919), (void *)(i + 1));
    for (i = 0; i < 5000; i++)
        assert_ptr_equal(cat_map_get(&m, i * 7919),
                         i % 2 ? (void *)(i + 1) : NULL);
    assert_int_equal(m.len, 2500);
    cat_map_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_applies_every_step),
        cmocka_unit_test(step4_keeps_events_and_finds_holes),
        cmocka_unit_test(step5_gives_old_lessons_the_province),
        cmocka_unit_test(step6_keeps_jobs_and_their_ids),
        cmocka_unit_test(courses_step_keeps_lessons),
        cmocka_unit_test(meeting_audio_step_keeps_meetings),
        cmocka_unit_test(receipts_step_keeps_receipts),
        cmocka_unit_test(reader_refuses_writes_and_old_schema),
        cmocka_unit_test(guest_writer_holds_the_checkpoint_lock),
        cmocka_unit_test(days_are_china_standard_time),
        cmocka_unit_test(lang_tags_are_checked_and_canonical),
        cmocka_unit_test(config_file_then_flags),
        cmocka_unit_test(map_put_get_delete),
    };
    return cmocka_run_group_tests_name("cat_basics", tests, NULL, NULL);
}
