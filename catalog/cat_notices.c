/* cat_notices.c - notices and their per-site receipts (cat_notices.h).
 *
 * Site ids are the numeric division codes (001_init.sql), so a receipt
 * row is keyed by (site id, notice id) without a lookup, and a site's
 * replay is one range of the primary key. */
#include "catalog/cat_notices.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/cat_internal.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"

/* ---- checking a new notice (pure) ---- */

int cat_notices_check(const json_t *in, char *err, size_t errlen)
{
    const json_t *title, *body, *targets, *att, *v;
    const char *t;
    size_t i;

    if (!json_is_object(in)) {
        snprintf(err, errlen, "body: want a JSON object");
        return YL_EINVAL;
    }
    title = json_object_get(in, "title");
    body = json_object_get(in, "body");
    targets = json_object_get(in, "targets");
    att = json_object_get(in, "attachments");
    if (cat_check_title(title, CAT_NOTICE_TITLE_MAX, err, errlen) < 0)
        return YL_EINVAL;
    if (!json_is_string(body)) {
        snprintf(err, errlen, "body: want a string (plain text)");
        return YL_EINVAL;
    }
    t = json_string_value(body);
    if (strlen(t) != json_string_length(body) ||
        json_string_length(body) > CAT_NOTICE_BODY_MAX) {
        snprintf(err, errlen, "body: want plain text of at most %d bytes",
                 CAT_NOTICE_BODY_MAX);
        return YL_EINVAL;
    }
    for (const char *p = t; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
            snprintf(err, errlen, "body: control character 0x%02x", c);
            return YL_EINVAL;
        }
    }
    if (!yl_utf8_valid(t)) {
        snprintf(err, errlen, "body: not UTF-8");
        return YL_EINVAL;
    }
    if (cat_check_targets(targets, CAT_NOTICE_TARGETS, err, errlen) < 0)
        return YL_EINVAL;
    if (att != NULL && !json_is_null(att)) {
        if (!json_is_array(att) ||
            json_array_size(att) > CAT_NOTICE_ATTACH_MAX) {
            snprintf(err, errlen,
                     "attachments: want an array of at most %d "
                     "upload ids",
                     CAT_NOTICE_ATTACH_MAX);
            return YL_EINVAL;
        }
        json_array_foreach(att, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                snprintf(err, errlen, "attachments[%zu]: want an upload id", i);
                return YL_EINVAL;
            }
        }
    }
    return 0;
}

/* ---- create ---- */

struct create_arg {
    json_t *in;
    char from[CAT_CODE_MAX];
    int64_t token_id, sent_ms;
};

static void create_free(void *p)
{
    struct create_arg *a = p;

    json_decref(a->in);
    free(a);
}

/* The sender's site id into *from_id, then a check that every target
 * code names a site. */
static int create_check_codes(cat_db *db, const struct create_arg *a,
                              const json_t *targets, int64_t *from_id)
{
    static const char sql_site[] = "SELECT id FROM sites WHERE code = ?1";
    const json_t *v;
    sqlite3_stmt *st;
    size_t i;
    int rc;

    st = cat_stmt(db, sql_site);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, a->from);
    rc = sqlite3_step(st);
    *from_id = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE
                   ? cat_fail(db, YL_EINVAL, "from: unknown region %s", a->from)
                   : cat_err(db, rc, "notice sender");
    json_array_foreach(targets, i, v)
    {
        st = cat_stmt(db, sql_site);
        if (st == NULL)
            return YL_EDB;
        cat_bind_text(st, 1, json_string_value(v));
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        if (rc == SQLITE_DONE)
            return cat_fail(db, YL_EINVAL, "targets[%zu]: unknown code %s", i,
                            json_string_value(v));
        if (rc != SQLITE_ROW)
            return cat_err(db, rc, "notice target");
    }
    return 0;
}

/* Attachment ids become what a client shows and fetches: replaces a
 * non-empty "attachments" in a->in by the full records (without file and
 * owner) and points *att at them. */
static int create_attachments(cat_db *db, struct create_arg *a, json_t **att)
{
    const json_t *v;
    json_t *full;
    size_t i;
    int rc;

    if (!json_is_array(*att) || json_array_size(*att) == 0)
        return 0;
    full = json_array();
    json_array_foreach(*att, i, v)
    {
        json_t *o = NULL;

        rc = cat_attachments_get(db, json_integer_value(v), &o);
        if (rc == YL_ENOTFOUND) {
            json_decref(full);
            return cat_fail(db, YL_EINVAL,
                            "attachments[%zu]: unknown attachment %" PRId64, i,
                            (int64_t)json_integer_value(v));
        }
        if (rc < 0) {
            json_decref(full);
            return rc;
        }
        json_object_del(o, "file");
        json_object_del(o, "owner");
        json_array_append_new(full, o);
    }
    json_object_set_new(a->in, "attachments", full);
    *att = full;
    return 0;
}

/* Inserts the notice row, n_sites 0 until its receipts are written; *id
 * is its id. */
static int create_insert(cat_db *db, const struct create_arg *a,
                         int64_t from_id, const char *att_s, const char *tgt_s,
                         int64_t *id)
{
    static const char sql_ins[] =
        "INSERT INTO notices(title, body, attachments, targets, from_id, "
        "token_id, n_sites, sent_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)";
    sqlite3_stmt *st;
    int rc;

    st = cat_stmt(db, sql_ins);
    if (st == NULL)
        return YL_EDB;
    cat_bind_text(st, 1, json_string_value(json_object_get(a->in, "title")));
    cat_bind_text(st, 2, json_string_value(json_object_get(a->in, "body")));
    cat_bind_text(st, 3, att_s);
    cat_bind_text(st, 4, tgt_s);
    sqlite3_bind_int64(st, 5, from_id);
    if (a->token_id > 0)
        sqlite3_bind_int64(st, 6, a->token_id);
    sqlite3_bind_int64(st, 7, a->sent_ms);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "insert notice");
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

/* Writes a receipt row for every station under the targets of notice id,
 * then their number into the notice; *n is that number. */
static int create_receipts(cat_db *db, const json_t *targets, int64_t id,
                           int64_t *n)
{
    static const char sql_expand[] =
        "WITH RECURSIVE sub(id, level) AS ("
        " SELECT id, level FROM sites WHERE code = ?1"
        " UNION ALL SELECT s.id, s.level FROM sites s JOIN sub"
        " ON s.parent_id = sub.id)"
        " INSERT OR IGNORE INTO notice_sites(notice_id, site_id)"
        " SELECT ?2, id FROM sub WHERE level >= 4 ORDER BY id";
    /* n_sites: the rows the expansions inserted (INSERT OR IGNORE counts
     * a station under two targets once), not a count(*) over the 16,000
     * rows just written: that took ~10 ms of every notice to a province,
     * and sent_ms, taken in create_op, is when its clients' latency
     * starts. */
    static const char sql_count[] =
        "UPDATE notices SET n_sites = ?2 WHERE id = ?1";
    const json_t *v;
    sqlite3_stmt *st;
    size_t i;
    int rc;

    json_array_foreach(targets, i, v)
    {
        st = cat_stmt(db, sql_expand);
        if (st == NULL)
            return YL_EDB;
        cat_bind_text(st, 1, json_string_value(v));
        sqlite3_bind_int64(st, 2, id);
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        if (rc != SQLITE_DONE)
            return cat_err(db, rc, "notice receipts");
        *n += sqlite3_changes(db->h);
    }
    st = cat_stmt(db, sql_count);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, *n);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "count notice receipts");
    return 0;
}

/* Stores a new notice and its receipts in the writer's transaction, and
 * answers with the notice as clients receive it. */
static int create_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct create_arg *a = arg;
    const json_t *targets = json_object_get(a->in, "targets");
    json_t *att = json_object_get(a->in, "attachments");
    char *att_s = NULL, *tgt_s = NULL;
    int64_t from_id, id = 0, n = 0;
    int rc;

    if (a->sent_ms == 0) /* accepted now, in the transaction storing it */
        a->sent_ms = cat_now_ms();
    rc = create_check_codes(db, a, targets, &from_id);
    if (rc < 0)
        return rc;
    rc = create_attachments(db, a, &att);
    if (rc < 0)
        return rc;
    att_s = json_is_array(att) ? json_dumps(att, JSON_COMPACT) : strdup("[]");
    tgt_s = json_dumps(targets, JSON_COMPACT);
    if (!json_is_array(att))
        att = NULL;
    if (att_s == NULL || tgt_s == NULL) {
        rc = cat_fail(db, -ENOMEM, "out of memory");
        goto out;
    }
    rc = create_insert(db, a, from_id, att_s, tgt_s, &id);
    if (rc < 0)
        goto out;
    rc = create_receipts(db, targets, id, &n);
    if (rc < 0)
        goto out;
    if (n == 0) {
        rc = cat_fail(db, YL_EINVAL,
                      "targets: no station (township or village) lies in "
                      "them");
        goto out;
    }
    res->id = id;
    res->accepted = (int)n;
    res->json = json_pack(
        "{s:s, s:I, s:O, s:O, s:o, s:s, s:I, s:O}", "type", "notice", "id",
        (json_int_t)id, "title", json_object_get(a->in, "title"), "body",
        json_object_get(a->in, "body"), "attachments",
        att != NULL ? json_incref(att) : json_array(), "from", a->from,
        "sent_ms", (json_int_t)a->sent_ms, "targets", targets);
    rc = res->json != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
out:
    free(att_s);
    free(tgt_s);
    return rc;
}

int cat_notices_create_submit(cat_writer *w, const json_t *in, const char *from,
                              int64_t token_id, int64_t sent_ms,
                              cat_write_done done, void *ud)
{
    struct create_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->in = json_deep_copy(in); /* jansson refcounts are not thread-safe */
    if (a->in == NULL) {
        free(a);
        return -ENOMEM;
    }
    snprintf(a->from, sizeof(a->from), "%s", from);
    a->token_id = token_id;
    a->sent_ms = sent_ms;
    return cat_writer_submit(w, create_op, a, create_free, done, ud);
}

/* ---- receipts ---- */

struct ack_arg {
    int n;
    cat_notice_ack acks[];
};

static int ack_step(cat_db *db, const char *sql, const cat_notice_ack *k,
                    int state, cat_write_result *res)
{
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, strtoll(k->site, NULL, 10));
    sqlite3_bind_int64(st, 2, k->notice);
    sqlite3_bind_int64(st, 3, k->at_ms);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "notice receipt");
    if (sqlite3_changes(db->h) == 0)
        return 0;
    res->accepted++;
    if (res->json == NULL)
        res->json = json_array();
    json_array_append_new(res->json, json_pack("[s, I, i]", k->site,
                                               (json_int_t)k->notice, state));
    return 0;
}

static int ack_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql_del[] =
        "UPDATE notice_sites SET delivered_ms = ?3 "
        "WHERE site_id = ?1 AND notice_id = ?2 AND delivered_ms IS NULL";
    static const char sql_read[] =
        "UPDATE notice_sites SET read_ms = ?3 "
        "WHERE site_id = ?1 AND notice_id = ?2 AND read_ms IS NULL";
    struct ack_arg *a = arg;
    int i, rc = 0;

    /* "read" implies delivered: both steps, each reported on its own. */
    for (i = 0; i < a->n && rc == 0; i++) {
        rc = ack_step(db, sql_del, &a->acks[i], CAT_NOTICE_DELIVERED, res);
        if (rc == 0 && a->acks[i].state == CAT_NOTICE_READ)
            rc = ack_step(db, sql_read, &a->acks[i], CAT_NOTICE_READ, res);
    }
    return rc;
}

int cat_notices_ack_submit(cat_writer *w, const cat_notice_ack *acks, int n,
                           cat_write_done done, void *ud)
{
    struct ack_arg *a;

    if (n <= 0)
        return YL_EINVAL;
    a = malloc(sizeof(*a) + (size_t)n * sizeof(a->acks[0]));
    if (a == NULL)
        return -ENOMEM;
    a->n = n;
    memcpy(a->acks, acks, (size_t)n * sizeof(a->acks[0]));
    return cat_writer_submit(w, ack_op, a, free, done, ud);
}

struct withdraw_arg {
    int64_t id, now_ms;
};

static int withdraw_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql[] =
        "UPDATE notices SET withdrawn_ms = coalesce(withdrawn_ms, ?2) "
        "WHERE id = ?1";
    struct withdraw_arg *a = arg;
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->now_ms);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "withdraw notice");
    if (sqlite3_changes(db->h) == 0)
        return cat_fail(db, YL_ENOTFOUND, "no notice %" PRId64, a->id);
    res->id = a->id;
    return cat_notices_get(db, a->id, &res->json);
}

int cat_notices_withdraw_submit(cat_writer *w, int64_t id, int64_t now_ms,
                                cat_write_done done, void *ud)
{
    struct withdraw_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    a->now_ms = now_ms;
    return cat_writer_submit(w, withdraw_op, a, free, done, ud);
}

/* ---- reads ---- */

int cat_notices_pending(cat_db *db, const char *site, int64_t since,
                        int64_t *ids, int max)
{
    static const char sql[] =
        "SELECT n.id FROM notices n CROSS JOIN notice_sites ns "
        "ON ns.notice_id = n.id AND ns.site_id = ?1 "
        "WHERE n.id > ?2 AND n.withdrawn_ms IS NULL "
        "AND ns.delivered_ms IS NULL ORDER BY n.id LIMIT ?3";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int n = 0, rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, strtoll(site, NULL, 10));
    sqlite3_bind_int64(st, 2, since < 0 ? 0 : since);
    sqlite3_bind_int(st, 3, max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
        ids[n++] = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cat_err(db, rc, "pending notices");
    return n;
}

#define NOTICE_COLS                                                            \
    "n.id, n.title, n.body, n.attachments, s.code, n.sent_ms, "                \
    "n.withdrawn_ms, n.n_sites, n.targets"

/* A notice row (NOTICE_COLS at column 0) as JSON. */
static json_t *notice_json(sqlite3_stmt *st)
{
    json_t *att = json_loads(cat_col_text(st, 3), 0, NULL);
    json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:s, s:I}", "id",
                          (json_int_t)sqlite3_column_int64(st, 0), "title",
                          cat_col_text(st, 1), "body", cat_col_text(st, 2),
                          "attachments", att != NULL ? att : json_array(),
                          "from", cat_col_text(st, 4), "sent_ms",
                          (json_int_t)sqlite3_column_int64(st, 5));

    if (o != NULL) {
        json_t *t = json_loads(cat_col_text(st, 8), 0, NULL);

        json_object_set_new(o, "targets", t != NULL ? t : json_array());
    }
    if (o != NULL && sqlite3_column_type(st, 6) != SQLITE_NULL)
        json_object_set_new(o, "withdrawn_ms",
                            json_integer(sqlite3_column_int64(st, 6)));
    return o;
}

int cat_notices_get(cat_db *db, int64_t id, json_t **out)
{
    static const char sql[] =
        "SELECT " NOTICE_COLS " FROM notices n JOIN sites s ON s.id = "
        "n.from_id WHERE n.id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    *out = NULL;
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = notice_json(st);
        rc = *out != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "no notice %" PRId64, id);
    } else {
        rc = cat_err(db, rc, "notice");
    }
    cat_stmt_done(st);
    return rc;
}

/* 1 when sql (?1 the site's id, ?2 id) has a row, 0 when not. */
static int site_has(cat_db *db, const char *sql, int64_t id, const char *site,
                    const char *what)
{
    sqlite3_stmt *st =
        cat_query(db, sql, "ii", (int64_t)strtoll(site, NULL, 10), id);
    int rc;

    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, what);
}

int cat_notices_sent_to(cat_db *db, int64_t id, const char *site)
{
    static const char sql[] = "SELECT 1 FROM notice_sites "
                              "WHERE site_id = ?1 AND notice_id = ?2";

    return site_has(db, sql, id, site, "notice receipt");
}

static void set_ms(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
    json_object_set_new(o, key,
                        sqlite3_column_type(st, col) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int64(st, col)));
}

int cat_notices_for_site(cat_db *db, const char *site, int64_t since, int limit,
                         json_t **out)
{
    static const char sql[] =
        "SELECT " NOTICE_COLS ", ns.delivered_ms, ns.read_ms "
        "FROM notices n CROSS JOIN notice_sites ns "
        "ON ns.notice_id = n.id AND ns.site_id = ?1 "
        "JOIN sites s ON s.id = n.from_id "
        "WHERE n.id > ?2 ORDER BY n.id LIMIT ?3";
    sqlite3_stmt *st = cat_stmt(db, sql);
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (st == NULL || arr == NULL) {
        json_decref(arr);
        return st == NULL ? YL_EDB : -ENOMEM;
    }
    sqlite3_bind_int64(st, 1, strtoll(site, NULL, 10));
    sqlite3_bind_int64(st, 2, since < 0 ? 0 : since);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = notice_json(st);

        if (o == NULL)
            break;
        set_ms(o, "delivered_ms", st, 9);
        set_ms(o, "read_ms", st, 10);
        json_array_append_new(arr, o);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return rc == SQLITE_ROW ? cat_fail(db, -ENOMEM, "out of memory")
                                : cat_err(db, rc, "notices of a site");
    }
    *out = arr;
    return 0;
}

/* s is within region ?2: a division code begins with its parents' (the
 * importer refuses one that does not), so the test is a prefix, read from
 * the row at hand. The recursive walk of ?2's subtree it replaces took
 * 22 ms for the province (16,500 sites) on every call, and a wall on the
 * province made 11 calls for each notice sent (its "notices" snapshot). */
#define WITHIN(s) "substr(" s ".code, 1, length(?2)) = ?2"

int cat_notices_totals(cat_db *db, int64_t id, const char *region,
                       int64_t out[3])
{
    static const char sql[] =
        "SELECT count(*), count(ns.delivered_ms), count(ns.read_ms) "
        "FROM notice_sites ns JOIN sites s ON s.id = ns.site_id "
        "WHERE ns.notice_id = ?1 AND " WITHIN("s");
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    cat_bind_text(st, 2, region);
    rc = sqlite3_step(st);
    for (int i = 0; i < 3; i++)
        out[i] = rc == SQLITE_ROW ? sqlite3_column_int64(st, i) : 0;
    cat_stmt_done(st);
    return rc == SQLITE_ROW ? 0 : cat_err(db, rc, "notice totals");
}

int cat_notices_list(cat_db *db, const char *region, int64_t since, int limit,
                     json_t **out)
{
    static const char sql[] =
        "SELECT " NOTICE_COLS " FROM notices n "
        "JOIN sites s ON s.id = n.from_id "
        "WHERE " WITHIN("s") " AND n.id > ?1 ORDER BY n.id DESC LIMIT ?3";
    sqlite3_stmt *st = cat_stmt(db, sql);
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (st == NULL || arr == NULL) {
        json_decref(arr);
        return st == NULL ? YL_EDB : -ENOMEM;
    }
    sqlite3_bind_int64(st, 1, since < 0 ? 0 : since);
    cat_bind_text(st, 2, region);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = notice_json(st);

        if (o == NULL)
            break;
        json_object_set_new(o, "targets_total",
                            json_integer(sqlite3_column_int64(st, 7)));
        json_array_append_new(arr, o);
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return rc == SQLITE_ROW ? cat_fail(db, -ENOMEM, "out of memory")
                                : cat_err(db, rc, "notices");
    }
    *out = arr;
    return 0;
}

int cat_notices_report(cat_db *db, int64_t id, const char *region, json_t **out)
{
    static const char sql[] =
        "WITH RECURSIVE sub(id, root) AS ("
        " SELECT c.id, c.id FROM sites c JOIN sites p ON c.parent_id = p.id"
        " WHERE p.code = ?2"
        " UNION ALL SELECT s.id, sub.root FROM sites s JOIN sub"
        " ON s.parent_id = sub.id) "
        "SELECT r.code, r.name, count(*), count(ns.delivered_ms), "
        "count(ns.read_ms) FROM notice_sites ns "
        "JOIN sub ON sub.id = ns.site_id JOIN sites r ON r.id = sub.root "
        "WHERE ns.notice_id = ?1 GROUP BY sub.root ORDER BY r.code";
    json_t *o = NULL, *kids = NULL;
    int64_t tot[3];
    sqlite3_stmt *st;
    int rc;

    *out = NULL;
    rc = cat_notices_get(db, id, &o);
    if (rc < 0)
        return rc;
    rc = cat_notices_totals(db, id, region, tot);
    if (rc < 0)
        goto fail;
    json_object_set_new(o, "region", json_string(region));
    json_object_set_new(
        o, "totals",
        json_pack("{s:I, s:I, s:I}", "targeted", (json_int_t)tot[0],
                  "delivered", (json_int_t)tot[1], "read", (json_int_t)tot[2]));
    kids = json_array();
    st = cat_stmt(db, sql);
    if (st == NULL || kids == NULL) {
        rc = st == NULL ? YL_EDB : -ENOMEM;
        goto fail;
    }
    sqlite3_bind_int64(st, 1, id);
    cat_bind_text(st, 2, region);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            kids,
            json_pack("{s:s, s:s, s:I, s:I, s:I}", "code", cat_col_text(st, 0),
                      "name", cat_col_text(st, 1), "targeted",
                      (json_int_t)sqlite3_column_int64(st, 2), "delivered",
                      (json_int_t)sqlite3_column_int64(st, 3), "read",
                      (json_int_t)sqlite3_column_int64(st, 4)));
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = cat_err(db, rc, "notice report");
        goto fail;
    }
    json_object_set_new(o, "children", kids);
    *out = o;
    return 0;
fail:
    json_decref(kids);
    json_decref(o);
    return rc;
}

/* ---- attachments ---- */

struct attach_arg {
    char type[32];
    char *name;
    int64_t bytes;
    char file[80];
    char *path;
    char owner[CAT_CODE_MAX];
};

static void attach_free(void *p)
{
    struct attach_arg *a = p;

    free(a->name);
    free(a->path);
    free(a);
}

/* fsync of the file at path, then of its directory (the new name). */
static int fsync_file_dir(cat_db *db, char *path)
{
    char *slash = strrchr(path, '/');
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = cat_fail(db, -errno, "fsync \"%s\": %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (rc < 0 || slash == NULL)
        return rc;
    *slash = '\0';
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = cat_fail(db, -errno, "fsync \"%s\": %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    *slash = '/';
    return rc;
}

static int attach_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql[] =
        "INSERT INTO attachments(type, name, bytes, file, owner_id, "
        "created_ms) SELECT ?1, ?2, ?3, ?4, id, ?6 FROM sites "
        "WHERE code = ?5";
    struct attach_arg *a = arg;
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    rc = fsync_file_dir(db, a->path);
    if (rc < 0)
        return rc;
    cat_bind_text(st, 1, a->type);
    cat_bind_text(st, 2, a->name);
    sqlite3_bind_int64(st, 3, a->bytes);
    cat_bind_text(st, 4, a->file);
    cat_bind_text(st, 5, a->owner);
    sqlite3_bind_int64(st, 6, cat_now_ms());
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "insert attachment");
    if (sqlite3_changes(db->h) == 0)
        return cat_fail(db, YL_EINVAL, "owner: unknown region %s", a->owner);
    res->id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

int cat_attachments_add_submit(cat_writer *w, const char *type,
                               const char *name, int64_t bytes,
                               const char *file, const char *path,
                               const char *owner, cat_write_done done, void *ud)
{
    struct attach_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->name = strdup(name);
    a->path = strdup(path);
    if (a->name == NULL || a->path == NULL) {
        attach_free(a);
        return -ENOMEM;
    }
    snprintf(a->type, sizeof(a->type), "%s", type);
    a->bytes = bytes;
    snprintf(a->file, sizeof(a->file), "%s", file);
    snprintf(a->owner, sizeof(a->owner), "%s", owner);
    return cat_writer_submit(w, attach_op, a, attach_free, done, ud);
}

int cat_attachments_get(cat_db *db, int64_t id, json_t **out)
{
    static const char sql[] =
        "SELECT a.type, a.name, a.bytes, a.file, s.code FROM attachments a "
        "JOIN sites s ON s.id = a.owner_id WHERE a.id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    char url[64];
    int rc;

    *out = NULL;
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(url, sizeof(url), "/api/v1/attachments/%" PRId64, id);
        *out = json_pack(
            "{s:I, s:s, s:s, s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "type",
            cat_col_text(st, 0), "name", cat_col_text(st, 1), "bytes",
            (json_int_t)sqlite3_column_int64(st, 2), "file",
            cat_col_text(st, 3), "owner", cat_col_text(st, 4), "url", url);
        rc = *out != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "no attachment %" PRId64, id);
    } else {
        rc = cat_err(db, rc, "attachment");
    }
    cat_stmt_done(st);
    return rc;
}

int cat_attachments_for_site(cat_db *db, int64_t id, const char *site)
{
    static const char sql[] =
        "SELECT 1 FROM notices n "
        "WHERE n.withdrawn_ms IS NULL AND n.attachments != '[]' "
        "AND EXISTS (SELECT 1 FROM notice_sites ns "
        " WHERE ns.notice_id = n.id AND ns.site_id = ?1) AND EXISTS "
        "(SELECT 1 FROM json_each(n.attachments) j "
        " WHERE json_extract(j.value, '$.id') = ?2) "
        "ORDER BY n.id DESC LIMIT 1";

    return site_has(db, sql, id, site, "attachment access");
}
