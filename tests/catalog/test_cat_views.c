/* test_cat_views.c - viewing events: parse errors, batch rejection,
 * idempotence, watched-seconds rules, completion, rollups. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_views.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

#define V1 "910101001001" /* 一村, under 东镇 910101001, 一县, 甲市 */
#define V2 "910101001002"
#define T1 "910101001" /* the township itself is a station too */

typedef struct fx {
    char *dir;
    cat_db *db;
    int64_t lesson; /* 100 s long */
    int64_t t0;     /* 2026-03-01 10:00 CST */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->dir = fx_tmpdir();
    f->db = fx_open_with_sites(f->dir);
    f->lesson = fx_lesson(f->db, "测试课", 100.0);
    f->t0 = fx_ms("2026-03-01", 10, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    cat_db_close(f->db);
    fx_rmdir(f->dir);
    free(f);
    return 0;
}

/* Parses text (printf format) into a batch received at recv_ms; returns
 * the parse result and the batch in *b (NULL on error). */
static int parse(const char *scope, int64_t recv_ms, cat_view_batch **b,
                 char *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int parse(const char *scope, int64_t recv_ms, cat_view_batch **b,
                 char *err, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    json_t *j;
    int rc;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    j = fx_json(text);
    *b = NULL;
    err[0] = '\0';
    rc = cat_views_parse(j, scope, 500, recv_ms, b, err, 256);
    json_decref(j);
    return rc;
}

/* Parses and applies; asserts both succeed; returns accepted. */
static int ingest(fx *f, int64_t recv_ms, int *dups, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ingest(fx *f, int64_t recv_ms, int *dups, const char *fmt, ...)
{
    char text[8192], err[256];
    cat_view_batch *b = NULL;
    va_list ap;
    json_t *j;
    int acc = -1, d = -1, rc;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    j = fx_json(text);
    rc = cat_views_parse(j, NULL, 500, recv_ms, &b, err, sizeof(err));
    json_decref(j);
    if (rc != 0)
        fail_msg("parse: %s", err);
    rc = cat_views_apply(f->db, b, &acc, &d);
    if (rc != 0)
        fail_msg("apply: %s", cat_db_errmsg(f->db));
    cat_view_batch_free(b);
    if (dups != NULL)
        *dups = d;
    return acc;
}

static double q1(cat_db *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static double q1(cat_db *db, const char *fmt, ...)
{
    char sql[1024];
    sqlite3_stmt *st = NULL;
    va_list ap;
    double v;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (sqlite3_prepare_v2(cat_db_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(cat_db_sqlite(db)));
    v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

#define EV(sess, seq, site, lesson, kind, pos, ts)                             \
    "{\"session\":\"" sess "\",\"seq\":" #seq ",\"site\":\"" site              \
    "\",\"lesson\":" lesson ",\"kind\":\"" kind "\",\"position_s\":" pos       \
    ",\"audio_lang\":\"lis\",\"rendition\":\"480p\",\"client\":\"tv\"" ts "}"

static void parse_rejects_bad_shapes_naming_the_field(void **state)
{
    char err[256];
    cat_view_batch *b;
    struct {
        const char *json, *want;
        int rc;
    } cases[] = {
        {"[]", "body", YL_EINVAL},
        {"{\"events\":{}}", "events", YL_EINVAL},
        {"{\"events\":[1]}", "events[0]", YL_EINVAL},
        {"{\"events\":[{\"session\":7}]}", "events[0].session", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, V1, "1", "beat", "1",
                            "") ",{\"session\":"
                                "\"a\",\"seq\":\"2\"}]}",
         "events[1].seq", YL_EINVAL},
        {"{\"events\":[{\"session\":\"a\",\"seq\":-1}]}", "events[0].seq",
         YL_EINVAL},
        {"{\"events\":[{\"session\":\"a\",\"seq\":1,\"site\":532901}]}",
         "events[0].site", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, "910101", "1", "beat", "1", "") "]}",
         "not a station", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, V1, "\"7\"", "beat", "1", "") "]}",
         "events[0].lesson", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, V1, "1", "pause", "1", "") "]}",
         "events[0].kind", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, V1, "1", "beat", "-3", "") "]}",
         "events[0].position_s", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, V1, "1", "beat", "\"12\"", "") "]}",
         "events[0].position_s", YL_EINVAL},
        {"{\"events\":[" EV("a", 1, V1, "1", "beat", "1", ",\"ts\":1.5") "]}",
         "events[0].ts", YL_EINVAL},
        {"{\"events\":[{\"session\":\"a\",\"seq\":1,\"site\":\"" V1 "\","
         "\"lesson\":1,\"kind\":\"beat\",\"position_s\":1,\"audio_lang\":"
         "\"l!s\"}]}",
         "events[0].audio_lang", YL_EINVAL},
        {"{\"events\":[{\"session\":\"a\",\"seq\":1,\"site\":\"" V1 "\","
         "\"lesson\":1,\"kind\":\"beat\",\"position_s\":1,\"client\":"
         "\"watch\"}]}",
         "events[0].client", YL_EINVAL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(NULL, 1, &b, err, "%s", cases[i].json);
        if (rc != cases[i].rc || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc %d, \"%s\" (want %s)", i, rc, err,
                     cases[i].want);
        assert_null(b);
    }
    /* A site token reports only its own site: the whole batch is refused. */
    assert_int_equal(
        parse(V1, 1, &b, err,
              "{\"events\":[" EV("a", 1, V1, "1", "beat", "1", "") "," EV(
                  "a", 2, V2, "1", "beat", "1", "") "]}"),
        YL_EFORBIDDEN);
    assert_non_null(strstr(err, "events[1].site"));
    assert_int_equal(
        parse(V1, 1, &b, err,
              "{\"events\":[" EV("a", 1, V1, "1", "beat", "1", "") "]}"),
        0);
    assert_int_equal(cat_view_batch_count(b), 1);
    cat_view_batch_free(b);
}

static void batch_over_the_limit_is_refused(void **state)
{
    json_t *body = json_object(), *evs = json_array();
    cat_view_batch *b = NULL;
    char err[256];

    (void)state;
    for (int i = 0; i < 501; i++)
        json_array_append_new(evs, json_pack("{s:s, s:i, s:s, s:i, s:s, s:f}",
                                             "session", "s", "seq", i, "site",
                                             V1, "lesson", 1, "kind", "beat",
                                             "position_s", 1.0));
    json_object_set_new(body, "events", evs);
    assert_int_equal(cat_views_parse(body, NULL, 500, 1, &b, err, sizeof(err)),
                     YL_ETOOBIG);
    assert_non_null(strstr(err, "501"));
    json_array_remove(evs, 0);
    assert_int_equal(cat_views_parse(body, NULL, 500, 1, &b, err, sizeof(err)),
                     0);
    assert_int_equal(cat_view_batch_count(b), 500);
    cat_view_batch_free(b);
    json_decref(body);
}

static void unknown_site_or_lesson_rejects_the_whole_batch(void **state)
{
    fx *f = *state;
    char err[256];
    cat_view_batch *b = NULL;
    int acc = 0, dup = 0;

    assert_int_equal(
        parse(NULL, f->t0, &b, err,
              "{\"events\":[" EV("u1", 1, V1, "%lld", "start", "0", "") "," EV(
                  "u1", 2, "910101001009", "%lld", "beat", "1", "") "]}",
              (long long)f->lesson, (long long)f->lesson),
        0);
    assert_int_equal(cat_views_apply(f->db, b, &acc, &dup), YL_EINVAL);
    assert_non_null(strstr(cat_db_errmsg(f->db), "events[1].site"));
    assert_non_null(strstr(cat_db_errmsg(f->db), "910101001009"));
    cat_view_batch_free(b);
    assert_int_equal(
        parse(NULL, f->t0, &b, err,
              "{\"events\":[" EV("u1", 1, V1, "%lld", "start", "0", "") "," EV(
                  "u1", 2, V1, "999", "beat", "1", "") "]}",
              (long long)f->lesson),
        0);
    assert_int_equal(cat_views_apply(f->db, b, &acc, &dup), YL_EINVAL);
    assert_non_null(strstr(cat_db_errmsg(f->db), "events[1].lesson"));
    cat_view_batch_free(b);
    /* Nothing of either batch was stored. */
    assert_true(q1(f->db, "SELECT count(*) FROM view_events") == 0);
    assert_true(q1(f->db, "SELECT count(*) FROM sessions") == 0);
    assert_true(q1(f->db, "SELECT count(*) FROM roll_region_day") == 0);

    /* A session keeps its lesson. */
    assert_int_equal(
        ingest(f, f->t0, NULL,
               "{\"events\":[" EV("u2", 1, V1, "%lld", "start", "0", "") "]}",
               (long long)f->lesson),
        1);
    assert_int_equal(
        parse(NULL, f->t0, &b, err,
              "{\"events\":[" EV("u2", 2, V2, "%lld", "beat", "1", "") "]}",
              (long long)f->lesson),
        0);
    assert_int_equal(cat_views_apply(f->db, b, &acc, &dup), YL_EINVAL);
    assert_non_null(strstr(cat_db_errmsg(f->db), "belongs to site"));
    cat_view_batch_free(b);
}

static void watched_seconds_follow_the_clock_not_positions(void **state)
{
    fx *f = *state;
    int64_t t = f->t0, L = f->lesson;
    int dup = -1;

    /* start, beat +15 s, beat after a 5 min pause (capped at 20 s), end +7
     * s; positions claim far more than the clock allows. */
    assert_int_equal(
        ingest(f, t + 60000, &dup,
               "{\"events\":[" EV("w1", 1, V1, "%lld", "start", "0",
                                  ",\"ts\":%lld") "," EV("w1", 2, V1, "%lld",
                                                         "beat", "15",
                                                         ",\"ts\":%lld") "]}",
               (long long)L, (long long)t, (long long)L,
               (long long)(t + 15000)),
        2);
    assert_int_equal(dup, 0);
    assert_int_equal(
        ingest(f, t + 400000, &dup,
               "{\"events\":[" EV("w1", 3, V1, "%lld", "beat", "80",
                                  ",\"ts\":%lld") "," EV("w1", 4, V1, "%lld",
                                                         "end", "88",
                                                         ",\"ts\":%lld") "]}",
               (long long)L, (long long)(t + 315000), (long long)L,
               (long long)(t + 322000)),
        2);
    assert_true(q1(f->db, "SELECT watched_s FROM sessions WHERE skey='w1'") ==
                15 + 20 + 7);
    assert_true(q1(f->db, "SELECT furthest_s FROM sessions WHERE skey='w1'") ==
                88);
    assert_true(q1(f->db, "SELECT completed FROM sessions WHERE skey='w1'") ==
                0); /* 88 < 90% of 100 */
    assert_true(q1(f->db, "SELECT ended FROM sessions WHERE skey='w1'") == 1);

    /* The same batch again: all duplicates, nothing counted twice. */
    assert_int_equal(
        ingest(f, t + 500000, &dup,
               "{\"events\":[" EV("w1", 3, V1, "%lld", "beat", "80",
                                  ",\"ts\":%lld") "," EV("w1", 4, V1, "%lld",
                                                         "end", "88",
                                                         ",\"ts\":%lld") "]}",
               (long long)L, (long long)(t + 315000), (long long)L,
               (long long)(t + 322000)),
        0);
    assert_int_equal(dup, 2);
    assert_true(q1(f->db, "SELECT watched_s FROM sessions WHERE skey='w1'") ==
                42);
    assert_true(q1(f->db, "SELECT count(*) FROM view_events") == 4);
    assert_true(q1(f->db, "SELECT sum(watched_s) FROM roll_site_lesson_day") ==
                42);

    /* Without ts, the server receipt time is the clock; a late event (lower
     * seq than the newest) credits nothing. */
    assert_int_equal(
        ingest(f, t, NULL,
               "{\"events\":[" EV("w2", 1, V2, "%lld", "start", "0", "") "]}",
               (long long)L),
        1);
    assert_int_equal(
        ingest(f, t + 12000, NULL,
               "{\"events\":[" EV("w2", 3, V2, "%lld", "beat", "95", "") "]}",
               (long long)L),
        1);
    assert_int_equal(
        ingest(f, t + 14000, NULL,
               "{\"events\":[" EV("w2", 2, V2, "%lld", "beat", "50", "") "]}",
               (long long)L),
        1);
    assert_true(q1(f->db, "SELECT watched_s FROM sessions WHERE skey='w2'") ==
                12);
    assert_true(q1(f->db, "SELECT last_seq FROM sessions WHERE skey='w2'") ==
                3);
    /* 95 of 100 s reached: completed once, even with more events. */
    assert_true(q1(f->db, "SELECT completed FROM sessions WHERE skey='w2'") ==
                1);
    assert_int_equal(
        ingest(f, t + 34000, NULL,
               "{\"events\":[" EV("w2", 4, V2, "%lld", "end", "100", "") "]}",
               (long long)L),
        1);
    assert_true(q1(f->db, "SELECT watched_s FROM sessions WHERE skey='w2'") ==
                12 + 20); /* 22 s gap, capped */
    assert_true(
        q1(f->db, "SELECT sum(completions) FROM roll_site_lesson_day") == 1);
    /* A clock going backwards credits nothing. */
    assert_int_equal(
        ingest(f, t, NULL,
               "{\"events\":[" EV("w3", 1, V1, "%lld", "start", "0",
                                  ",\"ts\":%lld") "," EV("w3", 2, V1, "%lld",
                                                         "beat", "10",
                                                         ",\"ts\":%lld") "]}",
               (long long)L, (long long)(t + 50000), (long long)L,
               (long long)(t + 10000)),
        2);
    assert_true(q1(f->db, "SELECT watched_s FROM sessions WHERE skey='w3'") ==
                0);
}

/* One event of session sess with seq; returns 1 if accepted, 0 if it was a
 * duplicate. */
static int one(fx *f, const char *sess, int seq)
{
    int dup = -1, acc;

    acc = ingest(f, f->t0 + seq * 1000, &dup,
                 "{\"events\":[{\"session\":\"%s\",\"seq\":%d,\"site\":\"" V1
                 "\",\"lesson\":%lld,\"kind\":\"beat\",\"position_s\":%d,"
                 "\"audio_lang\":\"zh\",\"rendition\":\"480p\","
                 "\"client\":\"tv\"}]}",
                 sess, seq, (long long)f->lesson, seq);
    assert_int_equal(acc + dup, 1);
    return acc;
}

/* Idempotence without an index on (session, seq): seqs that arrive late
 * fill the holes they left, once; everything else seen is a duplicate,
 * also after the writer forgot the session (holes live in its row). */
static void late_events_fill_holes_once(void **state)
{
    fx *f = *state;
    char path[600];

    assert_int_equal(one(f, "h1", 1), 1);
    assert_int_equal(one(f, "h1", 2), 1);
    assert_int_equal(one(f, "h1", 6), 1); /* 3..5 missing */
    assert_int_equal(one(f, "h1", 9), 1); /* 7..8 missing */
    assert_int_equal(one(f, "h1", 4), 1); /* splits 3..5 */
    assert_int_equal(one(f, "h1", 4), 0);
    assert_int_equal(one(f, "h1", 6), 0);
    assert_int_equal(one(f, "h1", 1), 0);
    assert_true(q1(f->db, "SELECT count(*) FROM sessions WHERE skey='h1' AND "
                          "holes='3-3,5-5,7-8'") == 1);
    /* A session whose first event is late: 1..2 may still come. */
    assert_int_equal(one(f, "h2", 3), 1);
    assert_true(q1(f->db, "SELECT count(*) FROM sessions WHERE skey='h2' AND "
                          "holes='1-2'") == 1);
    /* The writer forgets every session: reopen the database. */
    cat_db_close(f->db);
    snprintf(path, sizeof(path), "%s/yunling.db", f->dir);
    assert_int_equal(cat_db_open(path, 0, &f->db), 0);
    assert_int_equal(one(f, "h1", 3), 1);
    assert_int_equal(one(f, "h1", 3), 0);
    assert_int_equal(one(f, "h1", 8), 1);
    assert_int_equal(one(f, "h1", 7), 1);
    assert_int_equal(one(f, "h1", 5), 1);
    for (int seq = 1; seq <= 9; seq++)
        assert_int_equal(one(f, "h1", seq), 0);
    assert_true(q1(f->db, "SELECT holes IS NULL FROM sessions WHERE "
                          "skey='h1'") == 1);
    assert_int_equal(one(f, "h2", 1), 1);
    assert_int_equal(one(f, "h2", 2), 1);
    assert_int_equal(one(f, "h2", 3), 0);
    assert_true(q1(f->db, "SELECT count(*) FROM view_events v JOIN sessions s "
                          "ON s.id = v.session_id WHERE s.skey IN ('h1', "
                          "'h2')") == 12);
    assert_true(q1(f->db, "SELECT count(DISTINCT v.session_id || '/' || "
                          "v.seq) FROM view_events v") ==
                q1(f->db, "SELECT count(*) FROM view_events"));
    /* More than HOLES_MAX (8) gaps: the lowest are forgotten, and a seq
     * from them counts as a duplicate rather than growing the row. */
    for (int seq = 1; seq <= 40; seq += 2)
        assert_int_equal(one(f, "h3", seq), 1);
    assert_int_equal(one(f, "h3", 38), 1);
    assert_int_equal(one(f, "h3", 2), 0);
}

/* Another connection's commit (a second process, the CLI) makes the
 * writer read its cached sessions again, so what that connection stored
 * is a duplicate here too; a long holes column in any order keeps its
 * highest ranges. */
static void caches_follow_other_connections(void **state)
{
    fx *f = *state;
    cat_db *mine = f->db, *other = NULL;
    char path[600];

    assert_int_equal(one(f, "o1", 1), 1);
    assert_int_equal(one(f, "o1", 2), 1); /* cached by this connection */
    snprintf(path, sizeof(path), "%s/yunling.db", f->dir);
    assert_int_equal(cat_db_open(path, 0, &other), 0);
    f->db = other;
    assert_int_equal(one(f, "o1", 3), 1);
    f->db = mine;
    assert_int_equal(one(f, "o1", 3), 0);
    assert_int_equal(one(f, "o1", 4), 1);
    assert_true(q1(f->db, "SELECT count(*) FROM view_events v JOIN sessions s "
                          "ON s.id = v.session_id WHERE s.skey = 'o1'") == 4);
    /* 12 one-seq holes written in reverse order by someone else */
    assert_int_equal(one(f, "o2", 30), 1);
    assert_int_equal(cat_exec(other,
                              "UPDATE sessions SET holes = '25-25,23-23,21-21,"
                              "19-19,17-17,15-15,13-13,11-11,9-9,7-7,5-5,3-3' "
                              "WHERE skey = 'o2'"),
                     0);
    assert_int_equal(one(f, "o2", 25), 1);
    assert_int_equal(one(f, "o2", 11), 1); /* the 8th highest */
    assert_int_equal(one(f, "o2", 9), 0);  /* forgotten */
    assert_int_equal(one(f, "o2", 25), 0);
    cat_db_close(other);
}

/* A start at recv and a beat secs later (ts and receipt agree), at 95%
 * of the lesson for 东镇's station, 15 s in otherwise. */
static void rollup_session(fx *f, const char *sess, const char *site,
                           int64_t recv, int secs)
{
    const char *pos = strcmp(site, T1) == 0 ? "95" : "15";

    ingest(f, recv, NULL,
           "{\"events\":[{\"session\":\"%s\",\"seq\":1,\"site\":\"%s\","
           "\"lesson\":%lld,\"kind\":\"start\",\"position_s\":0,"
           "\"ts\":%lld}]}",
           sess, site, (long long)f->lesson, (long long)recv);
    ingest(f, recv + secs * 1000, NULL,
           "{\"events\":[{\"session\":\"%s\",\"seq\":2,\"site\":\"%s\","
           "\"lesson\":%lld,\"kind\":\"beat\",\"position_s\":%s,"
           "\"ts\":%lld}]}",
           sess, site, (long long)f->lesson, pos,
           (long long)(recv + secs * 1000));
}

static void rollups_cover_every_level_and_day(void **state)
{
    fx *f = *state;
    int64_t t = f->t0, L = f->lesson, day;

    /* One session in 一村 and one at the township station 东镇, another
     * day in 二村; each beat arrives as long after its start as it claims
     * (credit is bounded by the server's clock). */
    rollup_session(f, "r1", V1, t, 15);
    rollup_session(f, "r2", T1, t, 10);
    rollup_session(f, "r3", V2, t + 86400000, 5);
    day = cat_day_of_ms(t);
    /* Station rows. */
    assert_true(q1(f->db,
                   "SELECT watched_s FROM roll_site_lesson_day WHERE "
                   "site_id=" V1 " AND day=%lld",
                   (long long)day) == 15);
    assert_true(q1(f->db,
                   "SELECT sessions FROM roll_region_day WHERE region_id=" T1
                   " AND day=%lld",
                   (long long)day) == 2); /* its own + 一村's */
    assert_true(q1(f->db,
                   "SELECT watched_s FROM roll_region_day WHERE region_id=" T1
                   " AND day=%lld",
                   (long long)day) == 25);
    assert_true(q1(f->db,
                   "SELECT completions FROM roll_region_day WHERE "
                   "region_id=91 AND parent_id=0 AND day=%lld",
                   (long long)day) == 1);
    assert_true(q1(f->db,
                   "SELECT parent_id FROM roll_region_day WHERE "
                   "region_id=910101 AND day=%lld",
                   (long long)day) == 9101);
    assert_true(q1(f->db,
                   "SELECT watched_s FROM roll_region_day WHERE "
                   "region_id=9101 AND day=%lld",
                   (long long)day + 1) == 5);
    /* Region sums equal the station sums at every level. */
    for (int len = 2; len <= 9; len++) {
        if (len == 3 || len == 5 || len == 7 || len == 8)
            continue;
        assert_true(q1(f->db,
                       "SELECT sum(watched_s) FROM roll_region_day WHERE "
                       "length(region_id) = %d",
                       len) == 30);
    }
    /* Activity bitmaps: two stations on day 1, one on day 2. */
    assert_true(q1(f->db, "SELECT count(*) FROM site_activity") == 3);

    /* A session that completes the day after it started counts its
     * completion on its first day, with its session. */
    ingest(f, t, NULL,
           "{\"events\":[" EV("r4", 1, V2, "%lld", "start", "0",
                              ",\"ts\":1000") "]}",
           (long long)L);
    ingest(f, t + 86400000, NULL,
           "{\"events\":[" EV("r4", 2, V2, "%lld", "beat", "95",
                              ",\"ts\":11000") "]}",
           (long long)L);
    assert_true(q1(f->db,
                   "SELECT completions FROM roll_site_lesson_day WHERE "
                   "site_id=" V2 " AND day=%lld",
                   (long long)day) == 1);
    assert_true(q1(f->db,
                   "SELECT completions FROM roll_site_lesson_day WHERE "
                   "site_id=" V2 " AND day=%lld",
                   (long long)day + 1) == 0);
    assert_true(q1(f->db,
                   "SELECT watched_s FROM roll_site_lesson_day WHERE "
                   "site_id=" V2 " AND day=%lld",
                   (long long)day + 1) == 5 + 10);
}

/* Events seq0 .. seq0 + n - 1 of session sess at site, all received at
 * recv, their ts from ts0 in steps of step_ms (seq 1 is the start). */
static int feed(fx *f, int64_t recv, const char *sess, const char *site,
                int seq0, int n, int64_t ts0, int64_t step_ms)
{
    json_t *body = json_object(), *evs = json_array();
    cat_view_batch *b = NULL;
    char err[256];
    int acc = -1, dup = -1;

    for (int k = 0; k < n; k++)
        json_array_append_new(
            evs, json_pack("{s:s, s:i, s:s, s:I, s:s, s:f, s:I}", "session",
                           sess, "seq", seq0 + k, "site", site, "lesson",
                           (json_int_t)f->lesson, "kind",
                           seq0 + k == 1 ? "start" : "beat", "position_s", 1.0,
                           "ts", (json_int_t)(ts0 + k * step_ms)));
    json_object_set_new(body, "events", evs);
    if (cat_views_parse(body, NULL, 500, recv, &b, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    if (cat_views_apply(f->db, b, &acc, &dup) != 0)
        fail_msg("apply: %s", cat_db_errmsg(f->db));
    cat_view_batch_free(b);
    json_decref(body);
    return acc;
}

static double watched(fx *f, const char *sess)
{
    return q1(f->db, "SELECT watched_s FROM sessions WHERE skey='%s'", sess);
}

static double capped(fx *f, const char *sess)
{
    return q1(f->db, "SELECT capped FROM sessions WHERE skey='%s'", sess);
}

/* A ts more than 2 min ahead of the receipt is refused, naming the event;
 * within the skew it is taken. */
static void future_ts_is_refused(void **state)
{
    int64_t now = fx_ms("2026-03-01", 10, 0);
    cat_view_batch *b = NULL;
    char err[256];
    (void)state;

    assert_int_equal(
        parse(NULL, now, &b, err,
              "{\"events\":[" EV("f1", 1, V1, "1", "start", "0",
                                 ",\"ts\":%lld") "," EV("f1", 2, V1, "1",
                                                        "beat", "15",
                                                        ",\"ts\":%lld") "]}",
              (long long)now, (long long)(now + 121000)),
        YL_EINVAL);
    assert_null(b);
    assert_non_null(strstr(err, "events[1].ts: "));
    assert_non_null(strstr(err, "121 s ahead of the server clock"));
    assert_int_equal(parse(NULL, now, &b, err,
                           "{\"events\":[" EV("f1", 1, V1, "1", "start", "0",
                                              ",\"ts\":%lld") "]}",
                           (long long)(now + 119000)),
                     0);
    cat_view_batch_free(b);
}

/* The report's attack: 20 batches of 500 beats, 20 s apart by their ts,
 * sent within a second. Before: 55.4 watch hours. Now the session earns
 * no more than the server saw pass (plus its station's silence before,
 * 60 s here), and is flagged. */
static void credit_is_bounded_by_server_time(void **state)
{
    fx *f = *state;
    int64_t t = f->t0, ts0 = t - 3 * 86400000LL;

    /* the station was heard from a minute before */
    assert_int_equal(feed(f, t, "honest", V1, 1, 1, t, 0), 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(feed(f, t + 60000 + i * 40, "x", V1, i * 500 + 1, 500,
                              ts0 + i * 500 * 20000LL, 20000),
                         500);
    /* span 0.76 s (+ as much slack) + the 60 s silence + the 40 ms
     * silences between the batches */
    assert_true(watched(f, "x") <= 60 + 3 * 0.76 + 1e-6);
    assert_true(watched(f, "x") >= 60);
    assert_true(q1(f->db, "SELECT claimed_s FROM sessions WHERE skey='x'") ==
                9999 * 20);
    assert_true(capped(f, "x") == 1);
    assert_true(capped(f, "honest") == 0);
    assert_true(q1(f->db, "SELECT sum(watched_s) FROM roll_site_lesson_day") ==
                watched(f, "x"));
    assert_true(q1(f->db, "SELECT sum(watched_s) FROM roll_region_day WHERE "
                          "region_id = 910101") == watched(f, "x"));

    /* Many one-shot sessions share what the station's silence gives (the
     * 0.24 s since x's last batch), however many there are. */
    for (int i = 0; i < 50; i++) {
        char sess[16];

        snprintf(sess, sizeof(sess), "y%d", i);
        assert_int_equal(feed(f, t + 61000, sess, V1, 1, 10, t - 200000, 20000),
                         10);
        assert_true(capped(f, sess) == 1);
    }
    assert_true(q1(f->db, "SELECT sum(watched_s) FROM sessions WHERE skey "
                          "LIKE 'y%%'") <= 0.24 + 1e-6);

    /* A session that keeps going gets what it claimed as real time passes,
     * never more than the time passed (at a station first heard from now,
     * so its past offers nothing; its ts run 10 min behind). */
    assert_int_equal(feed(f, t + 100000, "z", T1, 1, 1, t - 500000, 0), 1);
    assert_int_equal(feed(f, t + 101000, "z", T1, 2, 30, t - 499000, 20000),
                     30);
    /* 1 s span + 1 s slack + the 1 s silence since the first event */
    assert_true(fabs(watched(f, "z") - 3) < 1e-6);
    assert_true(capped(f, "z") == 1);
    assert_int_equal(feed(f, t + 800000, "z", T1, 32, 1, t + 200000, 0), 1);
    /* 1 s + 29 claims of 20 s + the last (20 s) = 601 s, now within the
     * 700 s span: credited in full, though it was held back. */
    assert_true(fabs(watched(f, "z") - 601) < 1e-6);
}

/* A village link goes down for an hour; the player queues its events and
 * sends them all when the link comes back. A session that began online
 * and one that began offline are both credited in full; a third claim on
 * the same hour gets only what is left of the silence. */
static void offline_queue_counts_within_real_time(void **state)
{
    fx *f = *state;
    int64_t t = f->t0, back = t + 3700000;

    assert_int_equal(feed(f, t, "o1", V2, 1, 1, t, 0), 1);
    assert_int_equal(feed(f, t + 15000, "o1", V2, 2, 1, t + 15000, 0), 1);
    assert_true(watched(f, "o1") == 15);
    /* the link drops after t + 15 s */
    /* back an hour later: o1's queued beats up to t + 3600 s, and o2, a
     * 20 min session started while offline */
    assert_int_equal(feed(f, back, "o1", V2, 3, 239, t + 30000, 15000), 239);
    assert_int_equal(feed(f, back + 50, "o2", V2, 1, 81, t + 1800000, 15000),
                     81);
    assert_true(watched(f, "o1") == 3600);
    assert_true(watched(f, "o2") == 1200);
    assert_true(capped(f, "o1") == 0);
    assert_true(capped(f, "o2") == 0);
    /* the silence was 3685 s: 1200 s of it went to o2 */
    assert_true(fabs(q1(f->db, "SELECT backlog_s FROM site_credit WHERE "
                               "site_id = " V2) -
                     2485) < 1e-6);
    /* a third session claiming 50 min of the same hour */
    assert_int_equal(feed(f, back + 100, "o3", V2, 1, 201, t, 15000), 201);
    assert_true(fabs(watched(f, "o3") - 2485) < 1e-6);
    assert_true(capped(f, "o3") == 1);
    assert_true(fabs(q1(f->db, "SELECT sum(watched_s) FROM "
                               "roll_site_lesson_day WHERE site_id = " V2) -
                     (3600 + 1200 + 2485)) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_rejects_bad_shapes_naming_the_field),
        cmocka_unit_test(batch_over_the_limit_is_refused),
        cmocka_unit_test_setup_teardown(
            unknown_site_or_lesson_rejects_the_whole_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(
            watched_seconds_follow_the_clock_not_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(late_events_fill_holes_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(caches_follow_other_connections, setup,
                                        teardown),
        cmocka_unit_test(future_ts_is_refused),
        cmocka_unit_test_setup_teardown(credit_is_bounded_by_server_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(offline_queue_counts_within_real_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rollups_cover_every_level_and_day,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("cat_views", tests, NULL, NULL);
}
