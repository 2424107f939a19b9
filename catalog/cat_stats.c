/* cat_stats.c - /stats/now (from the writer's active view), ranking and
 * per-site history (from the daily rollups, on a reader connection). */
#include "catalog/cat_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_sites.h"
#include "common/yl_err.h"

int cat_stats_now_depth(cat_writer *w, const char *region, int depth,
                        int64_t now_ms, json_t **out)
{
    void *j = NULL;
    int rc = cat_live_now_json(cat_writer_live(w), region, depth, now_ms, &j);

    if (rc == 0)
        *out = j;
    return rc;
}

int cat_stats_now(cat_writer *w, const char *region, int64_t now_ms,
                  json_t **out)
{
    return cat_stats_now_depth(w, region, 1, now_ms, out);
}

int cat_stats_now_refresh(cat_writer *w, cat_db *rd, const char *region)
{
    static const char sql[] = "SELECT 1 FROM sites WHERE code = ?1";
    sqlite3_stmt *st = cat_stmt(rd, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, region);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return cat_err(rd, rc, "find region");
    rc = cat_live_reload_tree(cat_writer_live(w), rd);
    return rc < 0 ? rc : 1;
}

/* Parses from/to (NULL: the 30 days ending today). */
static int day_range(cat_db *db, const char *from, const char *to,
                     int64_t now_ms, int64_t *d0, int64_t *d1)
{
    if (to != NULL && to[0] != '\0') {
        if (cat_day_parse(to, d1) < 0)
            return cat_fail(db, YL_EINVAL, "to: \"%.20s\" is not YYYY-MM-DD",
                            to);
    } else {
        *d1 = cat_day_of_ms(now_ms);
    }
    if (from != NULL && from[0] != '\0') {
        if (cat_day_parse(from, d0) < 0)
            return cat_fail(db, YL_EINVAL, "from: \"%.20s\" is not YYYY-MM-DD",
                            from);
    } else {
        *d0 = *d1 - 29;
    }
    if (*d0 > *d1)
        return cat_fail(db, YL_EINVAL, "from: after to");
    if (*d1 - *d0 >= 366)
        return cat_fail(db, YL_EINVAL, "from: range over 366 days");
    return 0;
}

typedef struct region {
    int64_t id;
    char code[CAT_CODE_MAX];
    char name[128];
    int level;
} region;

static int find_region(cat_db *db, const char *code, region *r)
{
    static const char sql[] =
        "SELECT id, code, name, level FROM sites WHERE code = ?1";
    char root[CAT_CODE_MAX];
    sqlite3_stmt *st;
    int rc;

    if (code == NULL || code[0] == '\0') {
        rc = cat_sites_root(db, root);
        if (rc < 0)
            return rc;
        code = root;
    }
    if (cat_code_level(code) < 0)
        return cat_fail(db, YL_ENOTFOUND, "region: \"%.20s\" is not a code",
                        code);
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, code);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        snprintf(r->code, sizeof(r->code), "%s", cat_col_text(st, 1));
        snprintf(r->name, sizeof(r->name), "%s", cat_col_text(st, 2));
        r->level = sqlite3_column_int(st, 3);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE
                 ? cat_fail(db, YL_ENOTFOUND, "region: unknown site %s", code)
                 : cat_err(db, rc, "region");
    }
    cat_stmt_done(st);
    return rc;
}

static json_t *region_json(const region *r)
{
    return json_pack("{s:s, s:s, s:s}", "code", r->code, "name", r->name,
                     "level", cat_level_name(r->level));
}

/* true when the bitmap has a day in [d0, d1]. */
static bool any_bit(const unsigned char *bits, int len, int64_t base,
                    int64_t d0, int64_t d1)
{
    int64_t lo = d0 - base, hi = d1 - base;

    if (lo < 0)
        lo = 0;
    if (hi >= (int64_t)len * 8)
        hi = (int64_t)len * 8 - 1;
    for (int64_t b = lo; b <= hi; b++) {
        if ((b & 7) == 0 && b + 7 <= hi) {
            if (bits[b / 8] != 0)
                return true;
            b += 7;
            continue;
        }
        if (bits[b / 8] & (1u << (b & 7)))
            return true;
    }
    return false;
}

typedef struct child {
    int64_t id;
    char code[CAT_CODE_MAX];
    char name[128];
    int level, stations, active;
    double watched;
    int64_t sessions, completions;
    double per_site;
} child;

static int cmp_child(const void *a, const void *b)
{
    const child *x = a, *y = b;

    if (x->per_site != y->per_site)
        return x->per_site > y->per_site ? -1 : 1;
    return strcmp(x->code, y->code);
}

static int child_code_len(int level)
{
    static const int len[] = {0, 2, 4, 6, 9, 12};
    return level >= 1 && level <= 5 ? len[level] : 0;
}

/* Reads the children of region id into *kids (grown as cat_stats_ranking()
 * needs; the caller frees it even on error), *nkids of them. */
static int load_kids(cat_db *db, int64_t id, child **kids, int *nkids)
{
    static const char sql_kids[] =
        "SELECT id, code, name, level, stations FROM sites "
        "WHERE parent_id = ?1 ORDER BY code";
    int cap = 0, rc;
    sqlite3_stmt *st;

    st = cat_query(db, sql_kids, "i", id);
    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        child *c;
        if (*nkids == cap) {
            child *n =
                realloc(*kids, sizeof(**kids) * (size_t)(cap ? cap * 2 : 64));
            if (n == NULL) {
                rc = -ENOMEM;
                break;
            }
            *kids = n;
            cap = cap ? cap * 2 : 64;
        }
        c = &(*kids)[(*nkids)++];
        memset(c, 0, sizeof(*c));
        c->id = sqlite3_column_int64(st, 0);
        snprintf(c->code, sizeof(c->code), "%s", cat_col_text(st, 1));
        snprintf(c->name, sizeof(c->name), "%s", cat_col_text(st, 2));
        c->level = sqlite3_column_int(st, 3);
        c->stations = sqlite3_column_int(st, 4);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return rc < 0 ? rc : cat_err(db, rc, "children");
    return 0;
}

/* The sums of days [d0, d1] into the children of region id (idx: child
 * id -> index + 1). */
static int add_sums(cat_db *db, int64_t id, int64_t d0, int64_t d1,
                    const cat_map *idx, child *kids)
{
    static const char sql_sum[] =
        "SELECT region_id, sum(watched_s), sum(sessions), sum(completions) "
        "FROM roll_region_day WHERE parent_id = ?1 AND day BETWEEN ?2 AND ?3 "
        "GROUP BY region_id";
    sqlite3_stmt *st;
    int rc;

    /* Sums: children x days rows of one index range. */
    st = cat_query(db, sql_sum, "iii", id, d0, d1);
    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        void *v = cat_map_get(idx, (uint64_t)sqlite3_column_int64(st, 0));
        if (v != NULL) {
            child *c = &kids[(uintptr_t)v - 1];
            c->watched = sqlite3_column_double(st, 1);
            c->sessions = sqlite3_column_int64(st, 2);
            c->completions = sqlite3_column_int64(st, 3);
        }
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "ranking sums");
    return 0;
}

/* Counts into each child the stations below region code active in days
 * [d0, d1]; a child's code is the first clen digits of theirs (clen 0:
 * none). */
static int add_active(cat_db *db, const char *rcode, int clen, int64_t d0,
                      int64_t d1, const cat_map *idx, child *kids)
{
    static const char sql_act[] =
        "SELECT code, base_day, bits FROM site_activity "
        "WHERE code > ?1 AND code < ?1 || ':'";
    sqlite3_stmt *st;
    int rc = SQLITE_DONE;

    /* Active stations: one bitmap per station below the region. */
    st = cat_stmt(db, sql_act);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, rcode);
    while (clen > 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = cat_col_text(st, 0);
        char pre[CAT_CODE_MAX];
        void *v;

        if ((int)strlen(code) < clen)
            continue;
        if (!any_bit(sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2),
                     sqlite3_column_int64(st, 1), d0, d1))
            continue;
        memcpy(pre, code, (size_t)clen);
        pre[clen] = '\0';
        v = cat_map_get(idx, (uint64_t)strtoll(pre, NULL, 10));
        if (v != NULL)
            kids[(uintptr_t)v - 1].active++;
    }
    cat_stmt_done(st);
    if (clen > 0 && rc != SQLITE_DONE)
        return cat_err(db, rc, "ranking activity");
    return 0;
}

/* Ranks the children (watch hours per site, then code) into a new array of
 * items. */
static json_t *rank_items(child *kids, int nkids)
{
    json_t *items;

    for (int i = 0; i < nkids; i++) {
        child *c = &kids[i];
        c->per_site = c->stations > 0 ? c->watched / 3600.0 / c->stations : 0;
    }
    qsort(kids, (size_t)nkids, sizeof(*kids), cmp_child);
    items = json_array();
    for (int i = 0; i < nkids; i++) {
        child *c = &kids[i];
        json_array_append_new(
            items,
            json_pack(
                "{s:i, s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:I, "
                "s:I, s:f}",
                "rank", i + 1, "code", c->code, "name", c->name, "level",
                cat_level_name(c->level), "sites", c->stations, "active_sites",
                c->active, "active_share",
                c->stations > 0 ? (double)c->active / c->stations : 0.0,
                "watch_hours", c->watched / 3600.0, "watch_hours_per_site",
                c->per_site, "sessions", (json_int_t)c->sessions, "completions",
                (json_int_t)c->completions, "completion_rate",
                c->sessions > 0 ? (double)c->completions / c->sessions : 0.0));
    }
    return items;
}

int cat_stats_ranking(cat_db *db, const char *region_code, const char *from,
                      const char *to, int64_t now_ms, json_t **out)
{
    child *kids = NULL;
    int nkids = 0, rc, clen;
    int64_t d0, d1;
    region r;
    cat_map idx;
    json_t *items = NULL;
    char f0[11], f1[11];

    cat_map_init(&idx);
    rc = day_range(db, from, to, now_ms, &d0, &d1);
    if (rc == 0)
        rc = find_region(db, region_code, &r);
    if (rc < 0)
        return rc;
    clen = child_code_len(r.level + 1);
    rc = load_kids(db, r.id, &kids, &nkids);
    if (rc < 0)
        goto out;
    for (int i = 0; i < nkids; i++)
        if (cat_map_put(&idx, (uint64_t)kids[i].id,
                        (void *)(uintptr_t)(i + 1)) < 0) {
            rc = -ENOMEM;
            goto out;
        }
    rc = add_sums(db, r.id, d0, d1, &idx, kids);
    if (rc == 0)
        rc = add_active(db, r.code, clen, d0, d1, &idx, kids);
    if (rc < 0)
        goto out;
    items = rank_items(kids, nkids);
    cat_day_format(d0, f0);
    cat_day_format(d1, f1);
    *out = json_pack("{s:o, s:s, s:s, s:o}", "region", region_json(&r), "from",
                     f0, "to", f1, "items", items);
    items = NULL;
    rc = *out != NULL ? 0 : -ENOMEM;
out:
    json_decref(items);
    cat_map_fini(&idx);
    free(kids);
    return rc;
}

typedef struct site_totals {
    double watched;
    int64_t sessions, completions;
    int ndays;
} site_totals;

/* The days of region id in [d0, d1] appended to days, summed into t. */
static int site_days(cat_db *db, int64_t id, int64_t d0, int64_t d1,
                     json_t *days, site_totals *t)
{
    static const char sql_days[] =
        "SELECT day, watched_s, sessions, completions FROM roll_region_day "
        "WHERE region_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day";
    sqlite3_stmt *st;
    int rc;

    st = cat_query(db, sql_days, "iii", id, d0, d1);
    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char d[11];
        double w = sqlite3_column_double(st, 1);
        int64_t s = sqlite3_column_int64(st, 2),
                c = sqlite3_column_int64(st, 3);

        cat_day_format(sqlite3_column_int64(st, 0), d);
        json_array_append_new(days, json_pack("{s:s, s:f, s:I, s:I}", "day", d,
                                              "watch_hours", w / 3600.0,
                                              "sessions", (json_int_t)s,
                                              "completions", (json_int_t)c));
        t->watched += w;
        t->sessions += s;
        t->completions += c;
        t->ndays++;
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "site days");
    return 0;
}

/* The two ranges [lo, hi) of station ids below (or at) site r. */
static void station_ranges(const region *r, int64_t lo[2], int64_t hi[2])
{
    int len;

    /* Station ranges: the site itself when it is a station, else its
     * townships (9 digits) and villages (12 digits). */
    len = (int)strlen(r->code);
    if (len >= 9) {
        lo[0] = r->id, hi[0] = r->id + 1;
        lo[1] = len == 9 ? r->id * 1000 : 0,
        hi[1] = len == 9 ? (r->id + 1) * 1000 : 0;
    } else {
        int64_t m9 = 1, m12;
        for (int i = len; i < 9; i++)
            m9 *= 10;
        m12 = m9 * 1000;
        lo[0] = r->id * m9, hi[0] = (r->id + 1) * m9;
        lo[1] = r->id * m12, hi[1] = (r->id + 1) * m12;
    }
}

/* The 50 most watched lessons of the stations in ranges lo/hi in days
 * [d0, d1], appended to lessons. */
static int site_lessons(cat_db *db, const int64_t lo[2], const int64_t hi[2],
                        int64_t d0, int64_t d1, json_t *lessons)
{
    /* A site's own rows and those of the stations below it: townships and
     * villages are two ranges of numeric codes. */
    static const char sql_lessons[] =
        "SELECT r.lesson_id, sum(r.watched_s) AS w, sum(r.sessions), "
        "sum(r.completions), (SELECT title FROM lesson_titles t WHERE "
        "t.lesson_id = r.lesson_id ORDER BY t.lang = 'zh' DESC, t.lang "
        "LIMIT 1) FROM roll_site_lesson_day r WHERE "
        "((r.site_id >= ?1 AND r.site_id < ?2) OR "
        "(r.site_id >= ?3 AND r.site_id < ?4)) AND r.day BETWEEN ?5 AND ?6 "
        "GROUP BY r.lesson_id ORDER BY w DESC, r.lesson_id LIMIT 50";
    sqlite3_stmt *st;
    int rc;

    st = cat_query(db, sql_lessons, "iiiiii", lo[0], hi[0], lo[1], hi[1], d0,
                   d1);
    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            lessons,
            json_pack("{s:I, s:s, s:f, s:I, s:I}", "lesson",
                      (json_int_t)sqlite3_column_int64(st, 0), "title",
                      cat_col_text(st, 4), "watch_hours",
                      sqlite3_column_double(st, 1) / 3600.0, "sessions",
                      (json_int_t)sqlite3_column_int64(st, 2), "completions",
                      (json_int_t)sqlite3_column_int64(st, 3)));
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "site lessons");
    return 0;
}

int cat_stats_site(cat_db *db, const char *code, const char *from,
                   const char *to, int64_t now_ms, json_t **out)
{
    json_t *site = NULL, *days = NULL, *lessons = NULL;
    site_totals t = {0};
    int64_t d0, d1, lo[2], hi[2];
    int rc;
    region r;
    char f0[11], f1[11];

    rc = day_range(db, from, to, now_ms, &d0, &d1);
    if (rc == 0)
        rc = find_region(db, code, &r);
    if (rc == 0)
        rc = cat_sites_get(db, r.code, &site);
    if (rc < 0)
        return rc;
    days = json_array();
    lessons = json_array();
    rc = site_days(db, r.id, d0, d1, days, &t);
    if (rc < 0)
        goto out;
    station_ranges(&r, lo, hi);
    rc = site_lessons(db, lo, hi, d0, d1, lessons);
    if (rc < 0)
        goto out;
    cat_day_format(d0, f0);
    cat_day_format(d1, f1);
    *out =
        json_pack("{s:o, s:s, s:s, s:{s:f, s:I, s:I, s:f, s:i}, s:o, s:o}",
                  "site", site, "from", f0, "to", f1, "totals", "watch_hours",
                  t.watched / 3600.0, "sessions", (json_int_t)t.sessions,
                  "completions", (json_int_t)t.completions, "completion_rate",
                  t.sessions > 0 ? (double)t.completions / t.sessions : 0.0,
                  "active_days", t.ndays, "days", days, "lessons", lessons);
    site = days = lessons = NULL;
    rc = *out != NULL ? 0 : -ENOMEM;
out:
    json_decref(site);
    json_decref(days);
    json_decref(lessons);
    return rc;
}

int cat_stats_hours_today(cat_db *db, const char *code, int64_t now_ms,
                          double *hours)
{
    static const char sql[] =
        "SELECT coalesce(sum(r.watched_s), 0) FROM sites s "
        "JOIN roll_region_day r ON r.region_id = s.id AND r.day = ?2 "
        "WHERE s.code = ?1";
    sqlite3_stmt *st = cat_query(db, sql, "ti", code, cat_day_of_ms(now_ms));
    int rc;

    *hours = 0;
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *hours = sqlite3_column_double(st, 0) / 3600.0;
    cat_stmt_done(st);
    return rc == SQLITE_ROW ? 0 : cat_err(db, rc, "hours today");
}
