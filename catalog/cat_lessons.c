/* cat_lessons.c - lessons: create with their job, publish, list/search,
 * get, delete. */
#include "catalog/cat_lessons.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/cat_courses.h"
#include "catalog/cat_internal.h"
#include "catalog/cat_lang.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"
#include "common/yl_log.h"
#include "common/yl_fs.h"

#define TITLE_MAX 400

/* A relative file name inside the job directory: no "/" prefix, no "..". */
static bool safe_rel(const char *s)
{
    if (s == NULL || s[0] == '\0' || s[0] == '/' || strlen(s) > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return strcmp(s, "..") != 0 && strncmp(s, "../", 3) != 0 &&
           strstr(s, "/../") == NULL &&
           (strlen(s) < 3 || strcmp(s + strlen(s) - 3, "/..") != 0);
}

static int check_lang_map(cat_db *db, const json_t *m, const char *field)
{
    const char *k;
    json_t *v;
    char canon[64];

    if (m == NULL)
        return 0;
    if (!json_is_object(m))
        return cat_fail(db, YL_EINVAL, "inputs.%s: want an object", field);
    json_object_foreach((json_t *)m, k, v)
    {
        if (cat_lang_normalize(k, canon, sizeof(canon)) < 0)
            return cat_fail(db, YL_EBADLANG,
                            "inputs.%s: \"%s\" is not a BCP-47 tag", field, k);
        if (!json_is_string(v) || !safe_rel(json_string_value(v)))
            return cat_fail(db, YL_EINVAL,
                            "inputs.%s.%s: want a file name in the job "
                            "directory",
                            field, k);
    }
    return 0;
}

/* inputs.burn: languages of inputs.subs, each once (--burn-subs). */
static int check_burn(cat_db *db, const json_t *inputs)
{
    const json_t *b = json_object_get(inputs, "burn");
    const json_t *subs = json_object_get(inputs, "subs");
    size_t i, k;

    if (b == NULL)
        return 0;
    if (!json_is_array(b))
        return cat_fail(db, YL_EINVAL, "inputs.burn: want an array");
    for (i = 0; i < json_array_size(b); i++) {
        const char *lang = json_string_value(json_array_get(b, i));

        if (lang == NULL || json_object_get(subs, lang) == NULL)
            return cat_fail(db, YL_EINVAL,
                            "burn_subs %s: no subs.%s file to burn in",
                            lang ? lang : "?", lang ? lang : "LANG");
        for (k = 0; k < i; k++)
            if (strcmp(lang, json_string_value(json_array_get(b, k))) == 0)
                return cat_fail(db, YL_EINVAL, "burn_subs %s: given twice",
                                lang);
    }
    return 0;
}

static int check_new(cat_db *db, const cat_lesson_new *ln)
{
    const char *k;
    json_t *v;
    char canon[64];
    int rc;

    if (!json_is_object(ln->titles) || json_object_size(ln->titles) == 0)
        return cat_fail(db, YL_EINVAL, "title: at least one title.LANG");
    json_object_foreach(ln->titles, k, v)
    {
        const char *t = json_string_value(v);
        if (cat_lang_normalize(k, canon, sizeof(canon)) < 0)
            return cat_fail(db, YL_EBADLANG,
                            "title.%s: \"%s\" is not a BCP-47 tag", k, k);
        if (t == NULL || t[0] == '\0' || !yl_utf8_text(t) ||
            cat_utf8_len(t) > TITLE_MAX)
            return cat_fail(db, YL_EINVAL,
                            "title.%s: want 1..%d characters of UTF-8 text", k,
                            TITLE_MAX);
    }
    if (ln->category != NULL &&
        (ln->category[0] == '\0' || !yl_utf8_text(ln->category) ||
         cat_utf8_len(ln->category) > 64))
        return cat_fail(db, YL_EINVAL, "category: want 1..64 characters");
    if (!json_is_object(ln->inputs) ||
        !safe_rel(json_string_value(json_object_get(ln->inputs, "source"))))
        return cat_fail(db, YL_EINVAL,
                        "source: want a file name in the job directory");
    rc = check_lang_map(db, json_object_get(ln->inputs, "audio"), "audio");
    if (rc == 0)
        rc = check_lang_map(db, json_object_get(ln->inputs, "subs"), "subs");
    if (rc == 0)
        rc = check_burn(db, ln->inputs);
    if (rc == 0 && ln->course == NULL && ln->course_index != 0)
        rc = cat_fail(db, YL_EINVAL, "course_index: given without a course");
    if (rc == 0 && ln->uploads_dir == NULL)
        rc = cat_fail(db, YL_EINVAL, "uploads_dir: missing");
    if (rc == 0 && ln->owner != NULL) {
        /* An unknown owner must not become NULL (province-wide). */
        rc = cat_sites_within(db, ln->owner, ln->owner);
        if (rc == YL_ENOTFOUND)
            rc = cat_fail(db, YL_EINVAL, "owner: unknown region %s", ln->owner);
        else if (rc > 0)
            rc = 0;
    }
    return rc;
}

int cat_lessons_idem_find(cat_db *db, int64_t token_id, const char *key,
                          int64_t *lesson_id, int64_t *job_id)
{
    static const char sql[] =
        "SELECT k.lesson_id, k.job_id FROM upload_keys k "
        "JOIN lessons l ON l.id = k.lesson_id "
        "WHERE k.token_id = ?1 AND k.key = ?2 AND l.state <> 'deleted'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, token_id);
    cat_bind_text(st, 2, key);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *lesson_id = sqlite3_column_int64(st, 0);
        *job_id = sqlite3_column_int64(st, 1);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "upload key");
    }
    cat_stmt_done(st);
    return rc;
}

/* Makes the staged upload durable before the job that reads it can exist:
 * fsync of every file in it, then of the directory. Runs on the writer
 * thread, never on the event loop (a 200 MB upload's fsync stalled every
 * client for 279 ms there); the upload started writeback as it went, so
 * little is left to flush here. */
static int fsync_staged(cat_db *db, const char *dir)
{
    struct dirent *de;
    int dfd, fd, rc = 0;
    DIR *d;

    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cat_fail(db, -errno, "open \"%s\": %s", dir, strerror(errno));
    d = fdopendir(dfd);
    if (d == NULL) {
        rc = -errno;
        close(dfd);
        return cat_fail(db, rc, "open \"%s\": %s", dir, strerror(-rc));
    }
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (fsync(fd) < 0)
            rc = cat_fail(db, -errno, "fsync \"%s/%s\": %s", dir, de->d_name,
                          strerror(errno));
        close(fd);
    }
    if (rc == 0 && fsync(dfd) < 0)
        rc = cat_fail(db, -errno, "fsync \"%s\": %s", dir, strerror(errno));
    closedir(d); /* closes dfd */
    return rc;
}

/* An upload whose key is stored already: 1 with the first upload's answer
 * in *lesson_id and *job_id (this copy of the files goes), 0 when the key
 * is new or absent, or an error. */
static int create_replay(cat_db *db, const cat_lesson_new *ln,
                         int64_t *lesson_id, int64_t *job_id)
{
    int64_t lid = 0, jid = 0;
    int rc;

    if (ln->replayed != NULL)
        *ln->replayed = false;
    if (ln->idem_key == NULL)
        return 0;
    rc = cat_lessons_idem_find(db, ln->idem_token, ln->idem_key, &lid, &jid);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        /* The same upload again: the first one's answer, and this
         * copy of the files goes. */
        if (ln->staged_dir != NULL)
            yl_rmtree(ln->staged_dir);
        if (ln->replayed != NULL)
            *ln->replayed = true;
        *lesson_id = lid;
        *job_id = jid;
        return 1;
    }
    return 0;
}

/* Inside the create transaction: the pending lesson, its titles and its
 * place in a course. 0 with its id in *lid, or an error. */
static int insert_lesson(cat_db *db, const cat_lesson_new *ln, int64_t now,
                         int64_t *lid)
{
    static const char sql_l[] =
        "INSERT INTO lessons(state, category, source_name, created_ms, "
        "owner_id) VALUES ('pending', ?1, ?2, ?3, "
        "(SELECT id FROM sites WHERE code = ?4))";
    static const char sql_t[] =
        "INSERT INTO lesson_titles(lesson_id, lang, title) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO UPDATE SET title = excluded.title";
    char canon[64];
    const char *k;
    json_t *v;
    int rc;

    rc = cat_run(db, "insert lesson", sql_l, "ttit", ln->category,
                 ln->source_name, now, ln->owner);
    if (rc < 0)
        return rc;
    *lid = sqlite3_last_insert_rowid(db->h);
    json_object_foreach(ln->titles, k, v)
    {
        cat_lang_normalize(k, canon, sizeof(canon));
        rc = cat_run(db, "insert title", sql_t, "itt", *lid, canon,
                     json_string_value(v));
        if (rc < 0)
            return rc;
    }
    if (ln->course != NULL) {
        rc = cat_courses_attach(db, *lid, ln->course, ln->course_index,
                                ln->owner, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Inside the create transaction: the lesson's queued job and its directory
 * under uploads_dir (named by the job's id, written to dir). 0 with the
 * job's id in *jid, or an error. */
static int insert_job(cat_db *db, int64_t lid, const char *inputs, int64_t now,
                      const char *uploads_dir, int64_t *jid, char *dir,
                      size_t dirlen)
{
    static const char sql_j[] =
        "INSERT INTO jobs(lesson_id, state, dir, inputs, created_ms, "
        "updated_ms) VALUES (?1, 'queued', '', ?2, ?3, ?3)";
    static const char sql_d[] = "UPDATE jobs SET dir = ?2 WHERE id = ?1";
    int rc;

    rc = cat_run(db, "insert job", sql_j, "iti", lid, inputs, now);
    if (rc < 0)
        return rc;
    *jid = sqlite3_last_insert_rowid(db->h);
    snprintf(dir, dirlen, "%s/%lld", uploads_dir, (long long)*jid);
    return cat_run(db, "job dir", sql_d, "it", *jid, dir);
}

/* Inside the create transaction: the staged upload becomes job jid's
 * directory dir. */
static int move_staged(cat_db *db, const char *staged_dir, const char *dir,
                       int64_t jid)
{
    struct stat sb;

    /* A directory left by a transaction that never committed (crash
     * between rename and COMMIT) holds no job: replace it. */
    if (lstat(dir, &sb) == 0) {
        YL_LOGW("cat", "[job=%lld] removing orphan \"%s\"", (long long)jid,
                dir);
        yl_rmtree(dir);
    }
    /* Moved back if this request or its batch rolls back. */
    return cat_tx_rename(db, staged_dir, dir);
}

int cat_lessons_create(cat_db *db, const cat_lesson_new *ln, int64_t *lesson_id,
                       int64_t *job_id)
{
    static const char sql_k[] =
        "INSERT OR REPLACE INTO upload_keys(token_id, key, lesson_id, job_id, "
        "created_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
    int64_t now = cat_now_ms(), lid = 0, jid = 0;
    char dir[CAT_PATH_MAX + 32];
    char *inputs = NULL;
    cat_tx tx;
    int rc;

    rc = check_new(db, ln);
    if (rc < 0)
        return rc;
    rc = create_replay(db, ln, lesson_id, job_id);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (ln->staged_dir != NULL) {
        rc = fsync_staged(db, ln->staged_dir);
        if (rc < 0)
            return rc;
    }
    inputs = json_dumps(ln->inputs, JSON_COMPACT);
    if (inputs == NULL)
        return -ENOMEM;
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        goto out;
    rc = insert_lesson(db, ln, now, &lid);
    if (rc < 0)
        goto end;
    rc = insert_job(db, lid, inputs, now, ln->uploads_dir, &jid, dir,
                    sizeof(dir));
    if (rc == 0 && ln->idem_key != NULL)
        rc = cat_run(db, "upload key", sql_k, "itiii", ln->idem_token,
                     ln->idem_key, lid, jid, now);
    if (rc == 0 && ln->staged_dir != NULL)
        rc = move_staged(db, ln->staged_dir, dir, jid);
end:
    rc = cat_tx_end(db, &tx, rc);
    if (rc == 0) {
        *lesson_id = lid;
        *job_id = jid;
    }
out:
    free(inputs);
    return rc;
}

void cat_lesson_copy_fini(cat_lesson_copy *c)
{
    json_decref(c->titles);
    json_decref(c->inputs);
    free(c->category);
    free(c->source_name);
    free(c->staged_dir);
    free(c->uploads_dir);
    free(c->owner);
    free(c->idem_key);
    free(c->course);
    memset(c, 0, sizeof(*c));
}

static char *dup_or_null(const char *s, bool *fail)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *fail = true;
    return d;
}

int cat_lesson_copy_init(cat_lesson_copy *c, const cat_lesson_new *ln)
{
    bool fail = false;

    memset(c, 0, sizeof(*c));
    c->titles = ln->titles ? json_deep_copy(ln->titles) : NULL;
    c->inputs = ln->inputs ? json_deep_copy(ln->inputs) : NULL;
    c->category = dup_or_null(ln->category, &fail);
    c->source_name = dup_or_null(ln->source_name, &fail);
    c->staged_dir = dup_or_null(ln->staged_dir, &fail);
    c->uploads_dir = dup_or_null(ln->uploads_dir, &fail);
    c->owner = dup_or_null(ln->owner, &fail);
    c->idem_key = dup_or_null(ln->idem_key, &fail);
    c->course = dup_or_null(ln->course, &fail);
    if (fail || (ln->titles && !c->titles) || (ln->inputs && !c->inputs)) {
        cat_lesson_copy_fini(c);
        return -ENOMEM;
    }
    c->ln = *ln; /* the scalars */
    c->ln.titles = c->titles;
    c->ln.inputs = c->inputs;
    c->ln.category = c->category;
    c->ln.source_name = c->source_name;
    c->ln.staged_dir = c->staged_dir;
    c->ln.uploads_dir = c->uploads_dir;
    c->ln.owner = c->owner;
    c->ln.idem_key = c->idem_key;
    c->ln.course = c->course;
    c->ln.replayed = NULL;
    return 0;
}

static void create_free(void *p)
{
    cat_lesson_copy *c = p;

    cat_lesson_copy_fini(c);
    free(c);
}

static int create_op(cat_db *db, void *arg, cat_write_result *res)
{
    cat_lesson_copy *c = arg;

    c->ln.replayed = &res->replayed;
    return cat_lessons_create(db, &c->ln, &res->id, &res->job_id);
}

int cat_lessons_create_submit(cat_writer *w, const cat_lesson_new *ln,
                              cat_write_done done, void *ud)
{
    cat_lesson_copy *c = malloc(sizeof(*c));

    if (c == NULL)
        return -ENOMEM;
    /* Deep copies: the caller's json may change after we return. */
    if (cat_lesson_copy_init(c, ln) < 0) {
        free(c);
        return -ENOMEM;
    }
    return cat_writer_submit(w, create_op, c, create_free, done, ud);
}

static int meta_err(char *err, size_t len, const char *path, const char *field,
                    const char *what)
{
    snprintf(err, len, "%s: %s: %s", path, field, what);
    return YL_ECORRUPT;
}

static int check_tags(const json_t *a, const char *path, const char *field,
                      char *err, size_t len)
{
    size_t i;
    json_t *v;
    char canon[64];

    if (!json_is_array(a))
        return meta_err(err, len, path, field, "want an array");
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) ||
            cat_lang_normalize(json_string_value(v), canon, sizeof(canon)) < 0)
            return meta_err(err, len, path, field, "want BCP-47 language tags");
    }
    return 0;
}

int cat_lessons_meta_load(const char *path, json_t **meta, char *err,
                          size_t errlen)
{
    json_error_t je;
    json_t *m, *v;
    int rc = 0, i;

    m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (m == NULL) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return YL_ECORRUPT;
    }
    if (!json_is_object(m)) {
        rc = meta_err(err, errlen, path, "(top)", "want an object");
        goto out;
    }
    if (json_integer_value(json_object_get(m, "version")) != 1) {
        rc = meta_err(err, errlen, path, "version", "want 1");
        goto out;
    }
    v = json_object_get(m, "duration_s");
    if (!json_is_number(v) || json_number_value(v) <= 0) {
        rc = meta_err(err, errlen, path, "duration_s", "want a number > 0");
        goto out;
    }
    if (!json_is_array(json_object_get(m, "video"))) {
        rc = meta_err(err, errlen, path, "video", "want an array");
        goto out;
    }
    if (!json_is_array(json_object_get(m, "audio"))) {
        rc = meta_err(err, errlen, path, "audio", "want an array");
        goto out;
    }
    for (i = 0; i < 3; i++) {
        const char *key = i == 0 ? "poster" : i == 1 ? "thumb" : "thumbs";

        v = json_object_get(m, key);
        if (v != NULL && !json_is_null(v) &&
            (!json_is_string(v) || !safe_rel(json_string_value(v)))) {
            rc = meta_err(err, errlen, path, key, "want a relative path");
            goto out;
        }
    }
    rc = check_tags(json_object_get(m, "languages"), path, "languages", err,
                    errlen);
    if (rc == 0 && json_object_get(m, "subtitle_languages") != NULL)
        rc = check_tags(json_object_get(m, "subtitle_languages"), path,
                        "subtitle_languages", err, errlen);
out:
    if (rc < 0)
        json_decref(m);
    else
        *meta = m;
    return rc;
}

int cat_lessons_publish(cat_db *db, int64_t lesson_id, const json_t *meta)
{
    static const char sql[] =
        "UPDATE lessons SET state = 'ready', duration_s = ?2, languages = ?3, "
        "subtitles = ?4, meta = ?5, published_ms = ?6 "
        "WHERE id = ?1 AND state <> 'deleted'";
    static const char sql_lang[] =
        "INSERT OR IGNORE INTO lesson_langs(lang, lesson_id) VALUES (?2, ?1)";
    json_t *langs = json_object_get(meta, "languages");
    json_t *subs = json_object_get(meta, "subtitle_languages");
    json_t *empty = json_array();
    char *s_langs = NULL, *s_subs = NULL, *s_meta = NULL;
    sqlite3_stmt *st;
    cat_tx tx;
    size_t i;
    json_t *v;
    int rc;

    if (!json_is_number(json_object_get(meta, "duration_s")) ||
        !json_is_array(langs)) {
        json_decref(empty);
        return cat_fail(db, YL_ECORRUPT,
                        "lesson.json: duration_s and languages required");
    }
    if (!json_is_array(subs))
        subs = empty;
    s_langs = json_dumps(langs, JSON_COMPACT);
    s_subs = json_dumps(subs, JSON_COMPACT);
    s_meta = json_dumps(meta, JSON_COMPACT);
    st = cat_stmt(db, sql);
    if (s_langs == NULL || s_subs == NULL || s_meta == NULL || st == NULL) {
        rc = st == NULL ? YL_EDB : -ENOMEM;
        goto out;
    }
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_double(st, 2,
                        json_number_value(json_object_get(meta, "duration_s")));
    cat_bind_text(st, 3, s_langs);
    cat_bind_text(st, 4, s_subs);
    cat_bind_text(st, 5, s_meta);
    sqlite3_bind_int64(st, 6, cat_now_ms());
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "publish lesson");
    cat_views_forget_lesson(db, lesson_id);
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "unknown lesson %lld",
                      (long long)lesson_id);
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        json_array_foreach(pass == 0 ? langs : subs, i, v)
        {
            char canon[64];
            if (rc < 0)
                break;
            st = cat_stmt(db, sql_lang);
            if (st == NULL || cat_lang_normalize(json_string_value(v), canon,
                                                 sizeof(canon)) < 0) {
                rc = st == NULL ? YL_EDB
                                : cat_fail(db, YL_ECORRUPT,
                                           "lesson.json: bad language tag");
                break;
            }
            sqlite3_bind_int64(st, 1, lesson_id);
            cat_bind_text(st, 2, canon);
            rc = sqlite3_step(st);
            cat_stmt_done(st);
            rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "lesson langs");
        }
    }
    rc = cat_tx_end(db, &tx, rc);
out:
    free(s_langs);
    free(s_subs);
    free(s_meta);
    json_decref(empty);
    return rc;
}

/* Columns shared by list and get. */
#define ITEM_COLS                                                              \
    "SELECT l.id, l.state, l.category, l.duration_s, l.languages, "            \
    "l.subtitles, l.created_ms, json_extract(l.meta, '$.poster'), "            \
    "(SELECT json_group_object(t.lang, t.title) FROM lesson_titles t "         \
    "WHERE t.lesson_id = l.id), json_extract(l.meta, '$.thumb'), "             \
    "l.owner_id, json_extract(l.meta, '$.thumbs'), l.course_id, c.title, "     \
    "(SELECT count(*) FROM lessons x WHERE x.course_id = l.course_id AND "     \
    "x.state = 'ready' AND (x.course_index, x.id) < "                          \
    "(l.course_index, l.id)), "                                                \
    "(SELECT count(*) FROM lessons x WHERE x.course_id = l.course_id AND "     \
    "x.state = 'ready'), "                                                     \
    "(SELECT x.id FROM lessons x WHERE x.course_id = l.course_id AND "         \
    "x.state = 'ready' AND (x.course_index, x.id) > "                          \
    "(l.course_index, l.id) ORDER BY x.course_index, x.id LIMIT 1), "          \
    "json_type(l.meta, '$.poster'), "                                          \
    "(SELECT json_group_array(json_extract(b.value, '$.lang')) "               \
    "FROM json_each(l.meta, '$.burned') b) "                                   \
    "FROM lessons l LEFT JOIN courses c ON c.id = l.course_id "

static json_t *parse_or(const char *s, json_t *dflt)
{
    json_t *j = s != NULL && s[0] ? json_loads(s, 0, NULL) : NULL;

    if (j == NULL)
        return dflt;
    json_decref(dflt);
    return j;
}

static json_t *item_from(sqlite3_stmt *st, const char *pref)
{
    int64_t id = sqlite3_column_int64(st, 0);
    const char *state = cat_col_text(st, 1);
    bool ready = strcmp(state, "ready") == 0;
    json_t *titles = parse_or(cat_col_text(st, 8), json_object());
    const char *title = NULL, *k;
    json_t *v, *item;
    char buf[CAT_PATH_MAX];

    if (pref != NULL)
        title = json_string_value(json_object_get(titles, pref));
    if (title == NULL)
        title = json_string_value(json_object_get(titles, "zh"));
    if (title == NULL) {
        const char *best = NULL;
        json_object_foreach(titles, k, v)
        {
            if (best == NULL || strcmp(k, best) < 0)
                best = k;
        }
        title = best ? json_string_value(json_object_get(titles, best)) : "";
    }
    item = json_pack(
        "{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:I}", "id", (json_int_t)id,
        "title", title ? title : "", "titles", titles, "languages",
        parse_or(cat_col_text(st, 4), json_array()), "subtitles",
        parse_or(cat_col_text(st, 5), json_array()), "duration_s",
        sqlite3_column_type(st, 3) == SQLITE_NULL
            ? json_null()
            : json_real(sqlite3_column_double(st, 3)),
        "category",
        sqlite3_column_type(st, 2) == SQLITE_NULL
            ? json_null()
            : json_string(cat_col_text(st, 2)),
        "state", state, "created_ms", (json_int_t)sqlite3_column_int64(st, 6));
    if (item == NULL)
        return NULL;
    /* Languages with a burned-in subtitle rung, each played from
     * master-burn-LANG.m3u8 beside the master (docs/api.md). */
    json_object_set_new(
        item, "burned",
        parse_or(ready ? cat_col_text(st, 18) : NULL, json_array()));
    /* Site ids are the numeric division codes. */
    json_object_set_new(item, "owner",
                        sqlite3_column_type(st, 10) == SQLITE_NULL
                            ? json_null()
                            : json_string(cat_col_text(st, 10)));
    if (ready) {
        const char *poster = cat_col_text(st, 7);
        snprintf(buf, sizeof(buf), "/hls/%lld/%s", (long long)id,
                 poster[0] ? poster : "poster.jpg");
        /* "poster": null in lesson.json: an audio-only lesson transcoded
         * before cards existed has no picture; null, not a 404. */
        json_object_set_new(item, "poster",
                            strcmp(cat_col_text(st, 17), "null") == 0
                                ? json_null()
                                : json_string(buf));
        /* A small picture for lists (lessons transcoded before it existed
         * have none: clients use the poster). */
        if (sqlite3_column_type(st, 9) == SQLITE_TEXT) {
            snprintf(buf, sizeof(buf), "/hls/%lld/%s", (long long)id,
                     cat_col_text(st, 9));
            json_object_set_new(item, "thumb", json_string(buf));
        } else {
            json_object_set_new(item, "thumb", json_null());
        }
        snprintf(buf, sizeof(buf), "/hls/%lld/master.m3u8", (long long)id);
        json_object_set_new(item, "hls", json_string(buf));
    } else {
        json_object_set_new(item, "poster", json_null());
        json_object_set_new(item, "thumb", json_null());
        json_object_set_new(item, "hls", json_null());
    }
    /* The seek-preview track (lessons transcoded before it, and
     * audio-only ones, have none). */
    if (ready && sqlite3_column_type(st, 11) == SQLITE_TEXT) {
        snprintf(buf, sizeof(buf), "/hls/%lld/%s", (long long)id,
                 cat_col_text(st, 11));
        json_object_set_new(item, "thumbs", json_string(buf));
    } else {
        json_object_set_new(item, "thumbs", json_null());
    }
    if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
        /* Among the course's published lessons; one not yet published
         * counts itself too (admins see it in its place). */
        json_int_t count = sqlite3_column_int64(st, 15) + (ready ? 0 : 1);

        json_object_set_new(
            item, "course",
            json_pack("{s:I, s:s, s:I, s:I}", "id",
                      (json_int_t)sqlite3_column_int64(st, 12), "title",
                      cat_col_text(st, 13), "index",
                      (json_int_t)sqlite3_column_int64(st, 14) + 1, "count",
                      count));
    }
    json_object_set_new(item, "next",
                        sqlite3_column_type(st, 16) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int64(st, 16)));
    return item;
}

#define LIST_WHERE                                                             \
    "WHERE l.state <> 'deleted' AND (?1 OR l.state = 'ready') "                \
    "AND (?2 IS NULL OR l.category = ?2) "                                     \
    "AND (?3 IS NULL OR EXISTS (SELECT 1 FROM lesson_langs g "                 \
    "WHERE g.lang = ?3 AND g.lesson_id = l.id)) "
#define LIKE_WHERE                                                             \
    "AND (?4 IS NULL OR l.id IN (SELECT t.lesson_id FROM lesson_titles t "     \
    "WHERE t.title LIKE ?4 ESCAPE '\\')) "
#define FTS_WHERE                                                              \
    "AND l.id IN (SELECT t.lesson_id FROM lesson_titles t WHERE t.id IN "      \
    "(SELECT rowid FROM lesson_titles_fts WHERE lesson_titles_fts MATCH ?4)) "

int cat_lessons_list(cat_db *db, const cat_lesson_query *q, json_t **out)
{
    static const char sql_like[] =
        ITEM_COLS LIST_WHERE LIKE_WHERE "ORDER BY l.id DESC LIMIT ?5 OFFSET ?6";
    static const char sql_fts[] =
        ITEM_COLS LIST_WHERE FTS_WHERE "ORDER BY l.id DESC LIMIT ?5 OFFSET ?6";
    static const char cnt_like[] =
        "SELECT count(*) FROM lessons l " LIST_WHERE LIKE_WHERE;
    static const char cnt_fts[] =
        "SELECT count(*) FROM lessons l " LIST_WHERE FTS_WHERE;
    char lang[64], *pat = NULL;
    const char *qs = q->q;
    int page = q->page ? q->page : 1;
    int per = q->per_page ? q->per_page : 24;
    bool fts;
    sqlite3_stmt *st, *cs;
    json_t *items = NULL;
    int64_t total = 0;
    int rc;

    if (page < 1 || page > CAT_LESSONS_PAGE_MAX)
        return cat_fail(db, YL_EINVAL, "page: %d is not in 1..%d", page,
                        CAT_LESSONS_PAGE_MAX);
    if (per < 1 || per > 100)
        return cat_fail(db, YL_EINVAL, "per_page: %d is not in 1..100", per);
    if (q->lang != NULL && q->lang[0] != '\0' &&
        cat_lang_normalize(q->lang, lang, sizeof(lang)) < 0)
        return cat_fail(db, YL_EINVAL, "lang: \"%s\" is not a BCP-47 tag",
                        q->lang);
    if (qs != NULL && qs[0] == '\0')
        qs = NULL;
    if (qs != NULL && (strlen(qs) > 200 || !yl_utf8_text(qs)))
        return cat_fail(db, YL_EINVAL, "q: want up to 200 characters of text");
    /* Trigrams need 3 code points; shorter queries (two Chinese characters
     * make a word) scan titles with LIKE. */
    fts = qs != NULL && cat_utf8_len(qs) >= 3;
    if (qs != NULL) {
        size_t n = strlen(qs), o = 0;
        pat = malloc(2 * n + 3);
        if (pat == NULL)
            return -ENOMEM;
        if (fts) {
            pat[o++] = '"';
            for (size_t i = 0; i < n; i++) {
                if (qs[i] == '"')
                    pat[o++] = '"';
                pat[o++] = qs[i];
            }
            pat[o++] = '"';
        } else {
            pat[o++] = '%';
            for (size_t i = 0; i < n; i++) {
                if (qs[i] == '%' || qs[i] == '_' || qs[i] == '\\')
                    pat[o++] = '\\';
                pat[o++] = qs[i];
            }
            pat[o++] = '%';
        }
        pat[o] = '\0';
    }
    st = cat_stmt(db, fts ? sql_fts : sql_like);
    cs = cat_stmt(db, fts ? cnt_fts : cnt_like);
    if (st == NULL || cs == NULL) {
        free(pat);
        return YL_EDB;
    }
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *s = k == 0 ? st : cs;
        sqlite3_bind_int(s, 1, q->all_states ? 1 : 0);
        cat_bind_text(s, 2, q->category && q->category[0] ? q->category : NULL);
        cat_bind_text(s, 3, q->lang && q->lang[0] ? lang : NULL);
        cat_bind_text(s, 4, pat);
    }
    sqlite3_bind_int(st, 5, per);
    sqlite3_bind_int64(st, 6, (int64_t)(page - 1) * per);
    items = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            items, item_from(st, q->lang && q->lang[0] ? lang : NULL));
    cat_stmt_done(st);
    if (rc == SQLITE_DONE) {
        rc = sqlite3_step(cs);
        total = sqlite3_column_int64(cs, 0);
        rc = rc == SQLITE_ROW ? 0 : cat_err(db, rc, "count lessons");
    } else {
        rc = cat_err(db, rc, "list lessons");
    }
    cat_stmt_done(cs);
    free(pat);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total",
                     (json_int_t)total, "page", page, "per_page", per);
    return *out != NULL ? 0 : -ENOMEM;
}

int cat_lessons_get(cat_db *db, int64_t id, const char *pref_lang, json_t **out)
{
    static const char sql[] =
        ITEM_COLS "WHERE l.id = ?1 AND l.state <> 'deleted'";
    sqlite3_stmt *st = cat_stmt(db, sql);
    char lang[64];
    int rc;

    if (st == NULL)
        return YL_EDB;
    if (pref_lang != NULL && pref_lang[0] != '\0' &&
        cat_lang_normalize(pref_lang, lang, sizeof(lang)) < 0)
        return cat_fail(db, YL_EINVAL, "lang: \"%s\" is not a BCP-47 tag",
                        pref_lang);
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = item_from(st, pref_lang && pref_lang[0] ? lang : NULL);
        rc = *out != NULL ? 0 : -ENOMEM;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "unknown lesson %lld", (long long)id);
    } else {
        rc = cat_err(db, rc, "lesson");
    }
    cat_stmt_done(st);
    return rc;
}

int cat_lessons_is_deleted(cat_db *db, int64_t id)
{
    static const char sql[] = "SELECT state = 'deleted' FROM lessons "
                              "WHERE id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = sqlite3_column_int(st, 0) != 0;
    else if (rc == SQLITE_DONE)
        rc = 0;
    else
        rc = cat_err(db, rc, "lesson state");
    cat_stmt_done(st);
    return rc;
}

int cat_lessons_owner(cat_db *db, int64_t id, char code[CAT_CODE_MAX])
{
    static const char sql[] = "SELECT owner_id FROM lessons WHERE id = ?1";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        /* Site ids are the numeric division codes. */
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
            code[0] = '\0';
        else
            snprintf(code, CAT_CODE_MAX, "%lld",
                     (long long)sqlite3_column_int64(st, 0));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = cat_fail(db, YL_ENOTFOUND, "unknown lesson %lld", (long long)id);
    } else {
        rc = cat_err(db, rc, "lesson owner");
    }
    cat_stmt_done(st);
    return rc;
}

/* The lesson's jobs and their states, before the delete changes them. */
static int jobs_of(cat_db *db, int64_t lesson, json_t **out)
{
    static const char sql[] =
        "SELECT id, state FROM jobs WHERE lesson_id = ?1 ORDER BY id";
    sqlite3_stmt *st = cat_stmt(db, sql);
    json_t *a = json_array();
    int rc;

    if (st == NULL || a == NULL) {
        cat_stmt_done(st);
        json_decref(a);
        return st == NULL ? YL_EDB : -ENOMEM;
    }
    sqlite3_bind_int64(st, 1, lesson);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(
                a, json_pack("{s:I, s:s}", "id",
                             (json_int_t)sqlite3_column_int64(st, 0), "state",
                             cat_col_text(st, 1))) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return cat_err(db, rc, "jobs of lesson");
    }
    *out = a;
    return 0;
}

int cat_lessons_delete(cat_db *db, int64_t id, json_t **jobs)
{
    static const char sql[] =
        "UPDATE lessons SET state = 'deleted', deleted_ms = ?2 "
        "WHERE id = ?1 AND state <> 'deleted'";
    /* A job of a deleted lesson would only fail at publish ("unknown
     * lesson"), three times, holding the queue: it ends here. The runner's
     * reports (progress, finish, fail) match state 'running' only, so a
     * transcoder still running changes nothing any more. */
    static const char sql_jobs[] =
        "UPDATE jobs SET state = 'cancelled', not_before_ms = 0, "
        "updated_ms = ?2 WHERE lesson_id = ?1 AND "
        "state IN ('queued', 'running')";
    sqlite3_stmt *st;
    json_t *before = NULL;
    int64_t now = cat_now_ms();
    cat_tx tx;
    int rc;

    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql);
    if (st == NULL) {
        rc = YL_EDB;
        goto end;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "delete lesson");
    if (rc == 0 && sqlite3_changes(db->h) == 0)
        rc = cat_fail(db, YL_ENOTFOUND, "unknown lesson %lld", (long long)id);
    if (rc == 0)
        rc = jobs_of(db, id, &before);
    if (rc == 0) {
        st = cat_stmt(db, sql_jobs);
        if (st == NULL) {
            rc = YL_EDB;
            goto end;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "cancel job");
    }
end:
    rc = cat_tx_end(db, &tx, rc);
    if (rc == 0 && jobs != NULL) {
        *jobs = before;
        before = NULL;
    }
    json_decref(before);
    return rc;
}

static int delete_op(cat_db *db, void *arg, cat_write_result *res)
{
    json_t *jobs = NULL;
    int rc;

    res->id = *(int64_t *)arg;
    rc = cat_lessons_delete(db, res->id, &jobs);
    if (rc == 0)
        res->json = jobs;
    return rc;
}

int cat_lessons_delete_submit(cat_writer *w, int64_t id, cat_write_done done,
                              void *ud)
{
    int64_t *a = malloc(sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    *a = id;
    return cat_writer_submit(w, delete_op, a, free, done, ud);
}

int cat_lessons_edit(cat_db *db, int64_t id, const json_t *edit)
{
    static const char sql_live[] =
        "SELECT 1 FROM lessons WHERE id = ?1 AND state <> 'deleted'";
    static const char sql_set[] =
        "INSERT INTO lesson_titles(lesson_id, lang, title) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(lesson_id, lang) DO UPDATE SET title = excluded.title";
    static const char sql_del[] =
        "DELETE FROM lesson_titles WHERE lesson_id = ?1 AND lang = ?2";
    static const char sql_count[] =
        "SELECT count(*) FROM lesson_titles WHERE lesson_id = ?1";
    static const char sql_cat[] =
        "UPDATE lessons SET category = ?2 WHERE id = ?1";
    const json_t *titles = json_object_get(edit, "titles");
    const json_t *cat = json_object_get(edit, "category");
    const char *k;
    json_t *v;
    char canon[64];
    sqlite3_stmt *st;
    cat_tx tx;
    int rc;

    if (!json_is_object(edit) || (titles != NULL && !json_is_object(titles)))
        return cat_fail(db, YL_EINVAL,
                        "want {\"titles\": {LANG: title}, \"category\": ...}");
    json_object_foreach((json_t *)titles, k, v)
    {
        const char *t = json_string_value(v);

        if (cat_lang_normalize(k, canon, sizeof(canon)) < 0)
            return cat_fail(db, YL_EBADLANG,
                            "titles.%s: \"%s\" is not a BCP-47 tag", k, k);
        if (!json_is_null(v) &&
            (t == NULL || t[0] == '\0' || !yl_utf8_text(t) ||
             cat_utf8_len(t) > TITLE_MAX))
            return cat_fail(db, YL_EINVAL,
                            "titles.%s: want 1..%d characters of UTF-8 text "
                            "(null removes it)",
                            k, TITLE_MAX);
    }
    if (cat != NULL && !json_is_null(cat) &&
        (!json_is_string(cat) || json_string_value(cat)[0] == '\0' ||
         !yl_utf8_text(json_string_value(cat)) ||
         cat_utf8_len(json_string_value(cat)) > 64))
        return cat_fail(db, YL_EINVAL,
                        "category: want 1..64 characters (null clears it)");
    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    st = cat_stmt(db, sql_live);
    if (st == NULL) {
        rc = YL_EDB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE
                 ? cat_fail(db, YL_ENOTFOUND, "no lesson %lld", (long long)id)
                 : cat_err(db, rc, "edit lesson");
        goto out;
    }
    rc = 0;
    json_object_foreach((json_t *)titles, k, v)
    {
        cat_lang_normalize(k, canon, sizeof(canon));
        st = cat_stmt(db, json_is_null(v) ? sql_del : sql_set);
        if (st == NULL) {
            rc = YL_EDB;
            goto out;
        }
        sqlite3_bind_int64(st, 1, id);
        cat_bind_text(st, 2, canon);
        if (!json_is_null(v))
            cat_bind_text(st, 3, json_string_value(v));
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        if (rc != SQLITE_DONE) {
            rc = cat_err(db, rc, "edit title");
            goto out;
        }
        rc = 0;
    }
    st = cat_stmt(db, sql_count);
    if (st == NULL) {
        rc = YL_EDB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    cat_stmt_done(st);
    if (rc <= 0) {
        rc = rc < 0 ? cat_err(db, SQLITE_ERROR, "count titles")
                    : cat_fail(db, YL_EINVAL,
                               "titles: a lesson keeps at least one title");
        goto out;
    }
    rc = 0;
    if (cat != NULL) {
        st = cat_stmt(db, sql_cat);
        if (st == NULL) {
            rc = YL_EDB;
            goto out;
        }
        sqlite3_bind_int64(st, 1, id);
        cat_bind_text(st, 2, json_string_value(cat)); /* NULL clears */
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "edit category");
    }
out:
    return cat_tx_end(db, &tx, rc);
}

struct edit_arg {
    int64_t id;
    json_t *edit;
};

static void edit_arg_free(void *p)
{
    struct edit_arg *a = p;

    if (a != NULL)
        json_decref(a->edit);
    free(a);
}

/* Writer thread. */
static int edit_op(cat_db *db, void *arg, cat_write_result *res)
{
    struct edit_arg *a = arg;

    res->id = a->id;
    return cat_lessons_edit(db, a->id, a->edit);
}

int cat_lessons_edit_submit(cat_writer *w, int64_t id, const json_t *edit,
                            cat_write_done done, void *ud)
{
    struct edit_arg *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->id = id;
    /* A copy: the writer thread owns it (jansson counts are not atomic). */
    a->edit = json_deep_copy(edit);
    if (a->edit == NULL) {
        free(a);
        return -ENOMEM;
    }
    return cat_writer_submit(w, edit_op, a, edit_arg_free, done, ud);
}
