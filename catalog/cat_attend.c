/* cat_attend.c - meeting attendance (cat_attend.h): view events of kind
 * live into meeting_sessions and meeting_sites (016_attendance.sql), the
 * headcount, and the reports. Site ids are the numeric division codes. */
#include "catalog/cat_attend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_code.h"
#include "catalog/cat_internal.h"
#include "common/yl_err.h"

/* The same bound on one event's claim as lessons (cat_views.c). */
#define CLAIM_MAX_MS 20000

/* The stations below region ?2, as notices count them (cat_notices.c). */
#define SUBTREE                                                                \
    "WITH RECURSIVE sub(id) AS (SELECT id FROM sites WHERE code = ?2 "         \
    "UNION ALL SELECT s.id FROM sites s JOIN sub ON s.parent_id = sub.id) "

/* Stations within region as two ranges of site ids [r0, r1) (townships,
 * 9 digits) and [r2, r3) (villages, 12): a station's code starts with
 * its region's (cat_sites.c refuses any other parent), so these are the
 * subtree's stations without walking it, and meeting_sites' primary key
 * (site_id, meeting_id) serves them. For the totals, which the wall's
 * pushes ask for each second: a province's walk costs 14 ms here, the
 * ranges 5 ms. */
static void station_ranges(const char *region, int64_t r[4])
{
    static const int64_t p10[] = {1LL,          10LL,          100LL,
                                  1000LL,       10000LL,       100000LL,
                                  1000000LL,    10000000LL,    100000000LL,
                                  1000000000LL, 10000000000LL, 100000000000LL};
    size_t len = strlen(region);
    int64_t code = strtoll(region, NULL, 10);

    r[0] = r[1] = r[2] = r[3] = 0;
    if (len == 0 || len > 12)
        return;
    if (len <= 9) {
        r[0] = code * p10[9 - len];
        r[1] = (code + 1) * p10[9 - len];
    }
    r[2] = code * p10[12 - len];
    r[3] = (code + 1) * p10[12 - len];
}

#define IN_REGION                                                              \
    "((ms.site_id >= ?2 AND ms.site_id < ?3) OR "                              \
    "(ms.site_id >= ?4 AND ms.site_id < ?5))"

/* ---- view events of kind live: writer thread, inside the views
 * transaction (cat_views.c calls these) ---- */

int cat_attend_check(cat_db *db, int i, const cat_attend_ev *e)
{
    static const char sql_m[] =
        "SELECT m.started_ms IS NOT NULL, ms.site_id IS NOT NULL "
        "FROM meetings m LEFT JOIN meeting_sites ms ON ms.meeting_id = m.id "
        "AND ms.site_id = ?2 WHERE m.id = ?1";
    static const char sql_s[] =
        "SELECT meeting_id, site_id FROM meeting_sessions WHERE skey = ?1";
    sqlite3_stmt *st;
    int rc, started = 0, targeted = 0;
    int64_t sm = 0, ss = 0;

    st = cat_query(db, sql_m, "ii", e->meeting, e->site_id);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        started = sqlite3_column_int(st, 0);
        targeted = sqlite3_column_int(st, 1);
    }
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return cat_fail(db, YL_EINVAL,
                        "events[%d].meeting: unknown meeting %" PRId64, i,
                        e->meeting);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "attend meeting");
    if (!started)
        return cat_fail(db, YL_EINVAL,
                        "events[%d].meeting: meeting %" PRId64
                        " has not started",
                        i, e->meeting);
    if (!targeted)
        return cat_fail(db, YL_EINVAL,
                        "events[%d].site: meeting %" PRId64
                        " is not sent to site %" PRId64,
                        i, e->meeting, e->site_id);
    st = cat_query(db, sql_s, "t", e->skey);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sm = sqlite3_column_int64(st, 0);
        ss = sqlite3_column_int64(st, 1);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cat_err(db, rc, "attend session");
    if (rc == SQLITE_ROW && ss != e->site_id)
        return cat_fail(db, YL_EINVAL,
                        "events[%d].site: session \"%s\" belongs to site "
                        "%" PRId64,
                        i, e->skey, ss);
    if (rc == SQLITE_ROW && sm != e->meeting)
        return cat_fail(db, YL_EINVAL,
                        "events[%d].meeting: session \"%s\" belongs to "
                        "meeting %" PRId64,
                        i, e->skey, sm);
    return 0;
}

int cat_attend_apply(cat_db *db, const cat_attend_ev *e, int *accepted,
                     int *dups)
{
    static const char sql_get[] = "SELECT last_seq, last_clock, start_ms, "
                                  "watched_s "
                                  "FROM meeting_sessions WHERE skey = ?1";
    static const char sql_new[] =
        "INSERT INTO meeting_sessions(skey, meeting_id, site_id, client, "
        "start_ms, last_ms, last_seq, last_clock, ended) "
        "VALUES (?1, ?2, ?3, nullif(?4, ''), ?5, ?5, ?6, ?7, ?8)";
    static const char sql_upd[] =
        "UPDATE meeting_sessions SET last_ms = max(last_ms, ?2), "
        "last_seq = ?3, last_clock = ?4, watched_s = watched_s + ?5, "
        "ended = max(ended, ?6) WHERE skey = ?1";
    /* The station's row is the sum of its sessions: one per device. */
    static const char sql_site[] =
        "UPDATE meeting_sites SET "
        "joined_ms = coalesce(min(joined_ms, ?3), ?3), "
        "left_ms = coalesce(max(left_ms, ?3), ?3), "
        "watched_s = (SELECT CAST(round(total(watched_s)) AS INTEGER) "
        " FROM meeting_sessions WHERE meeting_id = ?1 AND site_id = ?2), "
        "devices = (SELECT count(*) FROM meeting_sessions "
        " WHERE meeting_id = ?1 AND site_id = ?2) "
        "WHERE meeting_id = ?1 AND site_id = ?2";
    int64_t clock = e->ts > 0 ? e->ts : e->recv_ms;
    int64_t last_seq = -1, last_clock = 0, start_ms = 0, claim, room;
    double watched = 0;
    sqlite3_stmt *st;
    int rc;

    st = cat_query(db, sql_get, "t", e->skey);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        last_seq = sqlite3_column_int64(st, 0);
        last_clock = sqlite3_column_int64(st, 1);
        start_ms = sqlite3_column_int64(st, 2);
        watched = sqlite3_column_double(st, 3);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cat_err(db, rc, "attend session");
    if (rc == SQLITE_DONE) {
        rc = cat_run(db, "attend new session", sql_new, "tiitiiiI", e->skey,
                     e->meeting, e->site_id, e->client, e->recv_ms, e->seq,
                     clock, e->kind == 2 ? 1 : 0);
    } else if (e->seq <= last_seq) {
        /* A resend, or an event overtaken by a later one: live sessions
         * keep no holes (unlike lessons), so either counts as a
         * duplicate and changes nothing. */
        (*dups)++;
        return 0;
    } else {
        /* Each event claims the gap since the previous one, at most 20 s,
         * and the session's total never more than the server saw pass
         * since its first event plus that slack. */
        claim = clock - last_clock;
        if (claim < 0)
            claim = 0;
        if (claim > CLAIM_MAX_MS)
            claim = CLAIM_MAX_MS;
        room =
            e->recv_ms - start_ms + CLAIM_MAX_MS - (int64_t)(watched * 1000.0);
        if (claim > room)
            claim = room > 0 ? room : 0;
        rc = cat_run(db, "attend session", sql_upd, "tiiidI", e->skey,
                     e->recv_ms, e->seq, clock, (double)claim / 1000.0,
                     e->kind == 2 ? 1 : 0);
    }
    if (rc == 0)
        rc = cat_run(db, "attend site", sql_site, "iii", e->meeting, e->site_id,
                     e->recv_ms);
    if (rc == 0)
        (*accepted)++;
    return rc;
}

/* ---- headcount ---- */

int cat_attend_headcount_check(const json_t *in, char *site, size_t sitelen,
                               int *count, char *err, size_t errlen)
{
    const json_t *s, *c;
    int lv;

    if (!json_is_object(in)) {
        snprintf(err, errlen, "body: want a JSON object");
        return YL_EINVAL;
    }
    s = json_object_get(in, "site");
    c = json_object_get(in, "count");
    lv = json_is_string(s) ? cat_code_level(json_string_value(s)) : -1;
    if (lv != CAT_LEVEL_TOWNSHIP && lv != CAT_LEVEL_VILLAGE) {
        snprintf(err, errlen,
                 "site: want a station code (township 9 digits or "
                 "village 12)");
        return YL_EINVAL;
    }
    if (!json_is_integer(c) || json_integer_value(c) < 0 ||
        json_integer_value(c) > CAT_HEADCOUNT_MAX) {
        snprintf(err, errlen, "count: want an integer 0..%d",
                 CAT_HEADCOUNT_MAX);
        return YL_EINVAL;
    }
    snprintf(site, sitelen, "%s", json_string_value(s));
    *count = (int)json_integer_value(c);
    return 0;
}

struct head_arg {
    int64_t id;
    int64_t site;
    int count;
};

static json_t *site_json(sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:s, s:s}", "code", cat_col_text(st, 0), "name",
                          cat_col_text(st, 1));
    static const char *const keys[] = {"joined_ms", "left_ms", "watched_s",
                                       "devices", "headcount"};

    for (int k = 0; o != NULL && k < 5; k++)
        json_object_set_new(
            o, keys[k],
            sqlite3_column_type(st, k + 2) == SQLITE_NULL
                ? json_null()
                : json_integer(sqlite3_column_int64(st, k + 2)));
    return o;
}

#define SITE_COLS                                                              \
    "s.code, s.name, ms.joined_ms, ms.left_ms, ms.watched_s, ms.devices, "     \
    "ms.headcount"

static int head_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql_m[] =
        "SELECT started_ms IS NULL FROM meetings WHERE id = ?1";
    static const char sql_set[] = "UPDATE meeting_sites SET headcount = ?3 "
                                  "WHERE meeting_id = ?1 AND site_id = ?2";
    static const char sql_get[] =
        "SELECT " SITE_COLS " FROM meeting_sites ms JOIN sites s ON s.id = "
        "ms.site_id WHERE ms.meeting_id = ?1 AND ms.site_id = ?2";
    struct head_arg *a = arg;
    sqlite3_stmt *st;
    bool scheduled;
    int rc;

    st = cat_query(db, sql_m, "i", a->id);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    scheduled = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return cat_fail(db, YL_ENOTFOUND, "no meeting %" PRId64, a->id);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "headcount meeting");
    /* A count of people present before anyone could be: a mistake (the
     * wrong meeting picked on the phone). 409, as a start of a live one. */
    if (scheduled)
        return cat_fail(db, YL_EEXIST,
                        "会议尚未开始，开始后才能填写到会人数 (meeting %" PRId64
                        " has not started: a headcount is entered once it "
                        "is live)",
                        a->id);
    rc = cat_run(db, "headcount", sql_set, "iiI", a->id, a->site, a->count);
    if (rc < 0)
        return rc;
    if (sqlite3_changes(db->h) == 0)
        return cat_fail(db, YL_EINVAL,
                        "site: meeting %" PRId64
                        " is not sent to site %" PRId64,
                        a->id, a->site);
    st = cat_query(db, sql_get, "ii", a->id, a->site);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        res->json = site_json(st);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "headcount row");
    res->id = a->id;
    return res->json != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
}

int cat_attend_headcount_submit(cat_writer *w, int64_t id, const char *site,
                                int count, cat_write_done done, void *ud)
{
    struct head_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    a->site = strtoll(site, NULL, 10);
    a->count = count;
    return cat_writer_submit(w, head_op, a, free, done, ud);
}

/* ---- reports: readers ---- */

static double share(int64_t part, int64_t whole)
{
    return whole > 0 ? (double)part / (double)whole : 0.0;
}

int cat_attend_totals(cat_db *db, int64_t id, const char *region, json_t **out)
{
    static const char sql[] =
        "SELECT count(*), count(ms.joined_ms), total(ms.watched_s), "
        "total(ms.devices), total(ms.headcount), count(ms.headcount) "
        "FROM meeting_sites ms WHERE ms.meeting_id = ?1 AND " IN_REGION;
    sqlite3_stmt *st;
    int64_t n, att, r[4];
    int rc;

    *out = NULL;
    station_ranges(region, r);
    st = cat_query(db, sql, "iiiii", id, r[0], r[1], r[2], r[3]);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        att = sqlite3_column_int64(st, 1);
        *out = json_pack(
            "{s:I, s:I, s:f, s:I, s:I, s:I, s:I}", "targeted", (json_int_t)n,
            "attended", (json_int_t)att, "share", share(att, n), "watched_s",
            (json_int_t)sqlite3_column_double(st, 2), "devices",
            (json_int_t)sqlite3_column_double(st, 3), "headcount",
            (json_int_t)sqlite3_column_double(st, 4), "headcount_sites",
            (json_int_t)sqlite3_column_int64(st, 5));
    }
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "attendance totals");
    return *out != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
}

static int children(cat_db *db, int64_t id, const char *region, json_t *arr)
{
    static const char sql[] =
        "WITH RECURSIVE sub(id, root) AS ("
        " SELECT c.id, c.id FROM sites c JOIN sites p ON c.parent_id = p.id"
        " WHERE p.code = ?2"
        " UNION ALL SELECT s.id, sub.root FROM sites s JOIN sub"
        " ON s.parent_id = sub.id) "
        "SELECT r.code, r.name, count(*), count(ms.joined_ms), "
        "total(ms.watched_s), total(ms.headcount) FROM meeting_sites ms "
        "JOIN sub ON sub.id = ms.site_id JOIN sites r ON r.id = sub.root "
        "WHERE ms.meeting_id = ?1 GROUP BY sub.root ORDER BY r.code";
    sqlite3_stmt *st = cat_query(db, sql, "it", id, region);
    int rc;

    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 2);
        int64_t att = sqlite3_column_int64(st, 3);

        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:I}", "code",
                           cat_col_text(st, 0), "name", cat_col_text(st, 1),
                           "targeted", (json_int_t)n, "attended",
                           (json_int_t)att, "share", share(att, n), "watched_h",
                           sqlite3_column_double(st, 4) / 3600.0, "headcount",
                           (json_int_t)sqlite3_column_double(st, 5)));
    }
    cat_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, "attendance children");
}

static int sites_of(cat_db *db, int64_t id, const char *region, json_t *arr)
{
    static const char sql[] =
        SUBTREE "SELECT " SITE_COLS " FROM meeting_sites ms "
                "JOIN sub ON sub.id = ms.site_id JOIN sites s ON s.id = "
                "ms.site_id WHERE ms.meeting_id = ?1 ORDER BY s.code";
    sqlite3_stmt *st = cat_query(db, sql, "it", id, region);
    int rc;

    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, site_json(st));
    cat_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, "attendance sites");
}

int cat_attend_report(cat_db *db, int64_t id, const char *region, bool sites,
                      json_t **out)
{
    static const char sql_m[] = "SELECT title, state FROM meetings "
                                "WHERE id = ?1";
    json_t *o = NULL, *tot = NULL, *kids = NULL, *list = NULL;
    sqlite3_stmt *st;
    int rc;

    *out = NULL;
    st = cat_query(db, sql_m, "i", id);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        o = json_pack("{s:I, s:s, s:s, s:s}", "meeting", (json_int_t)id,
                      "title", cat_col_text(st, 0), "state",
                      cat_col_text(st, 1), "region", region);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return cat_fail(db, YL_ENOTFOUND, "no meeting %" PRId64, id);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "attendance meeting");
    kids = json_array();
    list = sites ? json_array() : NULL;
    if (o == NULL || kids == NULL || (sites && list == NULL)) {
        rc = cat_fail(db, -ENOMEM, "out of memory");
        goto cleanup;
    }
    rc = cat_attend_totals(db, id, region, &tot);
    if (rc == 0)
        rc = children(db, id, region, kids);
    if (rc == 0 && sites)
        rc = sites_of(db, id, region, list);
    if (rc < 0)
        goto cleanup;
    json_object_set_new(o, "totals", tot);
    json_object_set_new(o, "children", kids);
    if (sites)
        json_object_set_new(o, "sites", list);
    tot = kids = list = NULL;
    *out = o;
    o = NULL;
cleanup:
    json_decref(tot);
    json_decref(kids);
    json_decref(list);
    json_decref(o);
    return rc;
}

int cat_attend_live(cat_db *db, const char *region, json_t **out)
{
    static const char sql[] =
        "SELECT m.id, m.title FROM meetings m WHERE m.state = 'live' AND "
        "EXISTS (SELECT 1 FROM meeting_sites ms WHERE ms.meeting_id = m.id "
        "AND " IN_REGION ") ORDER BY m.started_ms DESC, m.id DESC LIMIT 1";
    static const char sql_any[] =
        "SELECT 1 FROM meetings WHERE state = 'live' LIMIT 1";
    json_t *tot = NULL;
    sqlite3_stmt *st;
    char *title = NULL;
    int64_t id = 0, r[4];
    int rc;

    *out = NULL;
    /* Most of the time nothing is live: one index probe, no subtree. */
    st = cat_query(db, sql_any, "");
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "live meeting");
    station_ranges(region, r);
    st = cat_query(db, sql, "iiiii", (int64_t)0, r[0], r[1], r[2], r[3]);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        title = strdup(cat_col_text(st, 1));
    }
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "live meeting");
    if (title == NULL)
        return cat_fail(db, -ENOMEM, "out of memory");
    rc = cat_attend_totals(db, id, region, &tot);
    if (rc == 0) {
        *out = json_pack("{s:I, s:s, s:O, s:O, s:O}", "id", (json_int_t)id,
                         "title", title, "targeted",
                         json_object_get(tot, "targeted"), "attended",
                         json_object_get(tot, "attended"), "share",
                         json_object_get(tot, "share"));
        if (*out == NULL)
            rc = cat_fail(db, -ENOMEM, "out of memory");
    }
    json_decref(tot);
    free(title);
    return rc;
}
