/* cat_meetings.c - live meetings and their targeted stations
 * (cat_meetings.h). Site ids are the numeric division codes
 * (001_init.sql), as for notices. */
#include "catalog/cat_meetings.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_code.h"
#include "catalog/cat_internal.h"
#include "catalog/cat_lang.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"

#define MEETING_TARGETS 1000

/* ---- checking (pure) ---- */

/* YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM], loosely: digits where digits go. */
static bool iso8601(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd";
    size_t i;

    for (i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    for (s += i; *s; s++)
        if (strchr("0123456789:.Z+-", *s) == NULL)
            return false;
    return true;
}

/* One element of "audio": its normalised tag into tag, and its own
 * source (borrowed from el) into *src, NULL for a track of the main
 * source. 0 or YL_EINVAL with why. */
static int audio_elem(const json_t *el, size_t i, char *tag, size_t taglen,
                      const char **src, char *err, size_t errlen)
{
    const json_t *lang = el, *source = NULL, *v;
    const char *k;

    *src = NULL;
    if (json_is_object(el)) {
        json_object_foreach((json_t *)el, k, v)
        {
            if (strcmp(k, "lang") != 0 && strcmp(k, "source") != 0) {
                snprintf(err, errlen,
                         "audio[%zu]: unknown key \"%.40s\" (want lang, "
                         "source)",
                         i, k);
                return YL_EINVAL;
            }
        }
        lang = json_object_get(el, "lang");
        source = json_object_get(el, "source");
        if (!json_is_string(source) || json_string_length(source) == 0 ||
            json_string_length(source) > CAT_MEETING_SOURCE_MAX ||
            strlen(json_string_value(source)) != json_string_length(source)) {
            snprintf(err, errlen,
                     "audio[%zu].source: want an srt:// URI of at most %d "
                     "bytes",
                     i, CAT_MEETING_SOURCE_MAX);
            return YL_EINVAL;
        }
        *src = json_string_value(source);
    } else if (!json_is_string(el)) {
        snprintf(err, errlen,
                 "audio[%zu]: want a language tag or {\"lang\": TAG, "
                 "\"source\": URI}",
                 i);
        return YL_EINVAL;
    }
    if (!json_is_string(lang) || json_string_length(lang) > 64 ||
        strlen(json_string_value(lang)) != json_string_length(lang) ||
        cat_lang_normalize(json_string_value(lang), tag, taglen) < 0) {
        snprintf(err, errlen, "audio[%zu]%s: not a BCP-47 language tag", i,
                 json_is_object(el) ? ".lang" : "");
        return YL_EINVAL;
    }
    return 0;
}

int cat_meetings_audio(const json_t *audio, json_t **out, char *err,
                       size_t errlen)
{
    char tags[CAT_MEETING_AUDIO_MAX][64];
    const json_t *el;
    const char *src;
    json_t *res = NULL, *item;
    size_t i;
    int rc;

    *out = NULL;
    if (audio == NULL || json_is_null(audio))
        return 0;
    if (!json_is_array(audio) || json_array_size(audio) == 0 ||
        json_array_size(audio) > CAT_MEETING_AUDIO_MAX) {
        snprintf(err, errlen,
                 "audio: want an array of 1 to %d language tags (the "
                 "source's audio tracks)",
                 CAT_MEETING_AUDIO_MAX);
        return YL_EINVAL;
    }
    res = json_array();
    if (res == NULL)
        goto nomem;
    json_array_foreach(audio, i, el)
    {
        rc = audio_elem(el, i, tags[i], sizeof(tags[i]), &src, err, errlen);
        if (rc < 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[j], tags[i]) == 0) {
                snprintf(err, errlen,
                         "audio[%zu]: %s is given twice (audio[%zu])", i,
                         tags[i], j);
                rc = YL_EINVAL;
                goto fail;
            }
        item = src == NULL
                   ? json_string(tags[i])
                   : json_pack("{s:s, s:s}", "lang", tags[i], "source", src);
        if (json_array_append_new(res, item) < 0)
            goto nomem;
    }
    *out = res;
    return 0;
nomem:
    snprintf(err, errlen, "audio: out of memory");
    rc = -ENOMEM;
fail:
    json_decref(res);
    return rc;
}

int cat_meetings_check(const json_t *in, char *err, size_t errlen)
{
    const json_t *title, *starts, *targets, *source;
    json_t *audio = NULL;
    int rc;

    if (!json_is_object(in)) {
        snprintf(err, errlen, "body: want a JSON object");
        return YL_EINVAL;
    }
    title = json_object_get(in, "title");
    starts = json_object_get(in, "starts_at");
    targets = json_object_get(in, "targets");
    source = json_object_get(in, "source");
    if (cat_check_title(title, CAT_MEETING_TITLE_MAX, err, errlen) < 0)
        return YL_EINVAL;
    if (starts != NULL && !json_is_null(starts) &&
        (!json_is_string(starts) || json_string_length(starts) > 40 ||
         !iso8601(json_string_value(starts)))) {
        snprintf(err, errlen,
                 "starts_at: want an ISO 8601 time such as "
                 "2026-05-01T09:00:00+08:00");
        return YL_EINVAL;
    }
    if (!json_is_string(source) || json_string_length(source) == 0 ||
        json_string_length(source) > CAT_MEETING_SOURCE_MAX ||
        strlen(json_string_value(source)) != json_string_length(source)) {
        snprintf(err, errlen,
                 "source: want a URI (srt://, rtsp://, file://, test:) of "
                 "at most %d bytes",
                 CAT_MEETING_SOURCE_MAX);
        return YL_EINVAL;
    }
    rc = cat_meetings_audio(json_object_get(in, "audio"), &audio, err, errlen);
    json_decref(audio);
    if (rc < 0)
        return rc;
    return cat_check_targets(targets, MEETING_TARGETS, err, errlen);
}

/* ---- reads ---- */

#define MEETING_COLS                                                           \
    "m.id, m.title, m.starts_at, m.source, m.targets, s.code, m.state, "       \
    "m.error, m.n_sites, m.created_ms, m.started_ms, m.ended_ms, "             \
    "m.rec_state, m.rec_lesson_id, m.rec_job_id, "                             \
    "(SELECT state FROM jobs WHERE id = m.rec_job_id), m.audio"

static json_t *opt_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? json_null()
               : json_integer(sqlite3_column_int64(st, i));
}

static json_t *opt_text(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? json_null()
               : json_string(cat_col_text(st, i));
}

/* {"lesson", "job", "state"} of columns 12..15, or null when the meeting
 * never ended since recordings were kept. "state" is the job's while
 * there is one, else why there is none ("none", "off", "lost"). */
static json_t *recording_json(sqlite3_stmt *st)
{
    const char *rec = cat_col_text(st, 12), *job = cat_col_text(st, 15);

    if (sqlite3_column_type(st, 12) == SQLITE_NULL)
        return json_null();
    if (strcmp(rec, "job") == 0)
        rec = sqlite3_column_type(st, 15) == SQLITE_NULL ? "lost" : job;
    return json_pack("{s:o, s:o, s:s}", "lesson", opt_int(st, 13), "job",
                     opt_int(st, 14), "state", rec);
}

static json_t *meeting_json(sqlite3_stmt *st)
{
    int64_t id = sqlite3_column_int64(st, 0);
    json_t *targets = json_loads(cat_col_text(st, 4), 0, NULL);
    json_t *audio = sqlite3_column_type(st, 16) == SQLITE_NULL
                        ? NULL
                        : json_loads(cat_col_text(st, 16), 0, NULL);
    char hls[64], ws[64];

    snprintf(hls, sizeof(hls), "/live/%" PRId64 "/master.m3u8", id);
    snprintf(ws, sizeof(ws), "/ws/live/%" PRId64, id);
    return json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:I, s:I, "
                     "s:o, s:o, s:s, s:s, s:o}",
                     "id", (json_int_t)id, "title", cat_col_text(st, 1),
                     "starts_at", opt_text(st, 2), "source",
                     cat_col_text(st, 3), "audio", audio ? audio : json_null(),
                     "targets", targets ? targets : json_array(), "owner",
                     cat_col_text(st, 5), "state", cat_col_text(st, 6), "error",
                     opt_text(st, 7), "n_sites",
                     (json_int_t)sqlite3_column_int64(st, 8), "created_ms",
                     (json_int_t)sqlite3_column_int64(st, 9), "started_ms",
                     opt_int(st, 10), "ended_ms", opt_int(st, 11), "hls", hls,
                     "ws", ws, "recording", recording_json(st));
}

int cat_meetings_get(cat_db *db, int64_t id, json_t **out)
{
    static const char sql[] =
        "SELECT " MEETING_COLS " FROM meetings m JOIN sites s ON s.id = "
        "m.owner_id WHERE m.id = ?1";
    sqlite3_stmt *st = cat_query(db, sql, "i", id);
    int rc;

    *out = NULL;
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = meeting_json(st);
        rc = *out != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "no meeting %" PRId64, id);
    } else {
        rc = cat_err(db, rc, "meeting");
    }
    cat_stmt_done(st);
    return rc;
}

int cat_meetings_current(cat_db *db, const char *site, json_t **out)
{
    static const char sql[] = "SELECT " MEETING_COLS " FROM meeting_sites ms"
                              " JOIN meetings m ON m.id = ms.meeting_id"
                              " JOIN sites s ON s.id = m.owner_id"
                              " WHERE ms.site_id = ?1 AND m.state = 'live'"
                              " ORDER BY m.started_ms DESC, m.id DESC LIMIT 1";
    sqlite3_stmt *st =
        cat_query(db, sql, "i", (int64_t)strtoll(site, NULL, 10));
    int rc;

    *out = NULL;
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = meeting_json(st);
        rc = *out != NULL ? 0 : cat_fail(db, -ENOMEM, "out of memory");
    } else {
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "current meeting");
    }
    cat_stmt_done(st);
    return rc;
}

int cat_meetings_live_ids(cat_db *db, int64_t *ids, int max)
{
    static const char sql[] =
        "SELECT id FROM meetings WHERE state = 'live' ORDER BY id";
    sqlite3_stmt *st = cat_query(db, sql, "");
    int rc, n = 0;

    if (st == NULL)
        return YL_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
        ids[n++] = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cat_err(db, rc, "live meetings");
    return n;
}

int cat_meetings_list(cat_db *db, const char *region, int limit, json_t **out)
{
    /* Owned within region, or sent to a station within it (a county
     * office follows the province's meeting in its villages). */
    static const char sql[] =
        "WITH RECURSIVE sub(id) AS (SELECT id FROM sites WHERE code = ?1 "
        "UNION ALL SELECT s.id FROM sites s JOIN sub ON s.parent_id = sub.id) "
        "SELECT " MEETING_COLS " FROM meetings m JOIN sites s ON s.id = "
        "m.owner_id WHERE m.owner_id IN (SELECT id FROM sub) OR EXISTS "
        "(SELECT 1 FROM meeting_sites ms JOIN sub ON sub.id = ms.site_id "
        "WHERE ms.meeting_id = m.id) ORDER BY m.id DESC LIMIT ?2";
    sqlite3_stmt *st = cat_query(db, sql, "tI", region, limit);
    json_t *arr = json_array(), *m;
    int rc;

    *out = NULL;
    if (st == NULL || arr == NULL) {
        cat_stmt_done(st);
        json_decref(arr);
        return st == NULL ? YL_EDB : cat_fail(db, -ENOMEM, "out of memory");
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        m = meeting_json(st);
        if (m == NULL || json_array_append_new(arr, m) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return cat_err(db, rc, "meetings list");
    }
    *out = arr;
    return 0;
}

/* ---- create ---- */

struct create_arg {
    json_t *in;
    char owner[CAT_CODE_MAX];
    int64_t token_id;
};

static void create_free(void *p)
{
    struct create_arg *a = p;

    json_decref(a->in);
    free(a);
}

static int create_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql_site[] = "SELECT id FROM sites WHERE code = ?1";
    static const char sql_ins[] =
        "INSERT INTO meetings(title, starts_at, source, targets, owner_id, "
        "token_id, created_ms, audio) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8)";
    static const char sql_expand[] =
        "WITH RECURSIVE sub(id, level) AS ("
        " SELECT id, level FROM sites WHERE code = ?1"
        " UNION ALL SELECT s.id, s.level FROM sites s JOIN sub"
        " ON s.parent_id = sub.id)"
        " INSERT OR IGNORE INTO meeting_sites(site_id, meeting_id)"
        " SELECT id, ?2 FROM sub WHERE level >= 4";
    static const char sql_count[] =
        "UPDATE meetings SET n_sites = (SELECT count(*) FROM meeting_sites "
        "WHERE meeting_id = ?1) WHERE id = ?1 RETURNING n_sites";
    struct create_arg *a = arg;
    const json_t *targets = json_object_get(a->in, "targets"), *v;
    const json_t *starts = json_object_get(a->in, "starts_at");
    sqlite3_stmt *st;
    char *tgt_s = NULL, *audio_s = NULL, err[256];
    json_t *audio = NULL;
    int64_t owner_id, id, n;
    size_t i;
    int rc;

    st = cat_query(db, sql_site, "t", a->owner);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    owner_id = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE
                   ? cat_fail(db, YL_EINVAL, "owner: unknown region %s",
                              a->owner)
                   : cat_err(db, rc, "meeting owner");
    json_array_foreach(targets, i, v)
    {
        st = cat_query(db, sql_site, "t", json_string_value(v));
        if (st == NULL)
            return YL_EDB;
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        if (rc == SQLITE_DONE)
            return cat_fail(db, YL_EINVAL, "targets[%zu]: unknown code %s", i,
                            json_string_value(v));
        if (rc != SQLITE_ROW)
            return cat_err(db, rc, "meeting target");
    }
    /* Stored normalised (checked by cat_meetings_check() before). */
    rc = cat_meetings_audio(json_object_get(a->in, "audio"), &audio, err,
                            sizeof(err));
    if (rc < 0)
        return cat_fail(db, rc, "%s", err);
    tgt_s = json_dumps(targets, JSON_COMPACT);
    audio_s = audio != NULL ? json_dumps(audio, JSON_COMPACT) : NULL;
    json_decref(audio);
    if (tgt_s == NULL || (audio != NULL && audio_s == NULL)) {
        free(tgt_s);
        free(audio_s);
        return cat_fail(db, -ENOMEM, "out of memory");
    }
    st = cat_query(db, sql_ins, "tttti",
                   json_string_value(json_object_get(a->in, "title")),
                   json_is_string(starts) ? json_string_value(starts) : NULL,
                   json_string_value(json_object_get(a->in, "source")), tgt_s,
                   owner_id);
    free(tgt_s);
    if (st == NULL) {
        free(audio_s);
        return YL_EDB;
    }
    if (a->token_id > 0)
        sqlite3_bind_int64(st, 6, a->token_id);
    sqlite3_bind_int64(st, 7, cat_now_ms());
    if (audio_s != NULL)
        sqlite3_bind_text(st, 8, audio_s, -1, SQLITE_TRANSIENT);
    free(audio_s);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "insert meeting");
    id = sqlite3_last_insert_rowid(db->h);
    json_array_foreach(targets, i, v)
    {
        rc = cat_run(db, "meeting sites", sql_expand, "ti",
                     json_string_value(v), id);
        if (rc < 0)
            return rc;
    }
    st = cat_query(db, sql_count, "i", id);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    n = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "count meeting sites");
    if (n == 0)
        return cat_fail(db, YL_EINVAL,
                        "targets: no station (township or village) lies in "
                        "them");
    res->id = id;
    res->accepted = (int)n;
    return cat_meetings_get(db, id, &res->json);
}

int cat_meetings_create_submit(cat_writer *w, const json_t *in,
                               const char *owner, int64_t token_id,
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
    snprintf(a->owner, sizeof(a->owner), "%s", owner);
    a->token_id = token_id;
    return cat_writer_submit(w, create_op, a, create_free, done, ud);
}

/* ---- state ---- */

struct state_arg {
    int64_t id;
    char state[16];
    char *error;
};

static void state_free(void *p)
{
    struct state_arg *a = p;

    free(a->error);
    free(a);
}

static int state_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql_live[] =
        "UPDATE meetings SET state = 'live', started_ms = ?2, ended_ms = "
        "NULL, error = NULL WHERE id = ?1 AND state IN ('scheduled', "
        "'failed')";
    static const char sql_end[] =
        "UPDATE meetings SET state = ?3, ended_ms = ?2, error = ?4 "
        "WHERE id = ?1 AND state = 'live'";
    struct state_arg *a = arg;
    json_t *cur = NULL;
    int rc;

    rc = cat_meetings_get(db, a->id, &cur);
    if (rc < 0)
        return rc;
    if (strcmp(a->state, "live") == 0)
        rc = cat_run(db, "start meeting", sql_live, "ii", a->id, cat_now_ms());
    else
        rc = cat_run(db, "end meeting", sql_end, "iitt", a->id, cat_now_ms(),
                     a->state, a->error);
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_EEXIST, "meeting %" PRId64 " is %s", a->id,
                      json_string_value(json_object_get(cur, "state")));
    json_decref(cur);
    if (rc < 0)
        return rc;
    res->id = a->id;
    return cat_meetings_get(db, a->id, &res->json);
}

int cat_meetings_set_state_submit(cat_writer *w, int64_t id, const char *state,
                                  const char *error, cat_write_done done,
                                  void *ud)
{
    struct state_arg *a;

    if (strcmp(state, "live") != 0 && strcmp(state, "ended") != 0 &&
        strcmp(state, "failed") != 0)
        return YL_EINVAL;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    snprintf(a->state, sizeof(a->state), "%s", state);
    if (error != NULL && (a->error = strdup(error)) == NULL) {
        free(a);
        return -ENOMEM;
    }
    return cat_writer_submit(w, state_op, a, state_free, done, ud);
}

/* ---- the recording ---- */

struct rec_arg {
    int64_t id;
    char state[8];
    bool has_ln;
    cat_lesson_copy lc; /* has_ln: the lesson to create */
};

static void rec_free(void *p)
{
    struct rec_arg *a = p;

    if (a->has_ln)
        cat_lesson_copy_fini(&a->lc);
    free(a);
}

static int rec_op(cat_db *db, void *arg, cat_write_result *res)
{
    static const char sql[] =
        "UPDATE meetings SET rec_state = ?2, rec_lesson_id = NULLIF(?3, 0), "
        "rec_job_id = NULLIF(?4, 0) WHERE id = ?1";
    struct rec_arg *a = arg;
    int64_t lid = 0, jid = 0;
    cat_tx tx;
    int rc;

    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    if (a->has_ln)
        rc = cat_lessons_create(db, &a->lc.ln, &lid, &jid);
    if (rc == 0)
        rc = cat_run(db, "meeting recording", sql, "itii", a->id, a->state, lid,
                     jid);
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "no meeting %" PRId64, a->id);
    rc = cat_tx_end(db, &tx, rc);
    if (rc < 0)
        return rc;
    res->id = lid;
    res->job_id = jid;
    return 0;
}

int cat_meetings_record_submit(cat_writer *w, int64_t id, const char *state,
                               const cat_lesson_new *ln, cat_write_done done,
                               void *ud)
{
    struct rec_arg *a;

    if ((ln != NULL) != (strcmp(state, "job") == 0) ||
        (strcmp(state, "job") != 0 && strcmp(state, "none") != 0 &&
         strcmp(state, "off") != 0 && strcmp(state, "lost") != 0))
        return YL_EINVAL;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    snprintf(a->state, sizeof(a->state), "%s", state);
    if (ln != NULL) {
        /* Deep copies: the caller's json may change after we return. */
        if (cat_lesson_copy_init(&a->lc, ln) < 0) {
            free(a);
            return -ENOMEM;
        }
        a->has_ln = true;
    }
    return cat_writer_submit(w, rec_op, a, rec_free, done, ud);
}
