/* str_upload.c - POST /api/v1/lessons: a multipart upload streamed to
 * DATA/uploads/.staging-PID-N-RAND/ as it arrives (nothing whole in memory),
 * then a lesson and its job created by the catalog writer, which renames the
 * staging dir to DATA/uploads/<job-id>/ in the same transaction.
 *
 * Fields (DESIGN.md): source (file), audio.LANG (file), subs.LANG (file),
 * title.LANG (text), category (text), audio_lang.N (text: the language
 * of the source's audio stream N, for untagged sources), course (text: a
 * course id or title), course_index (text: the lesson's place in it) and
 * burn_subs (text, repeatable: a language of a subs.LANG file to burn into
 * a 480p rung, docs/transcode.md).
 * Anything else is a 400 and nothing is kept.
 *
 * Threads: service thread only (the lws body callbacks). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "catalog/cat_courses.h"
#include "catalog/cat_lang.h"
#include "catalog/cat_lessons.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_fs.h"
#include "streamer/str_api.h"
#include "streamer/str_multipart.h"

#define TEXT_MAX       4096      /* one text field */
#define WRITEBACK_STEP (8 << 20) /* bytes between writeback starts */
#define IDEM_MAX       128       /* Idempotency-Key */

enum part_kind {
    P_NONE,
    P_SOURCE,
    P_AUDIO,
    P_SUBS,
    P_TITLE,
    P_CATEGORY,
    P_AUDIO_LANG,
    P_COURSE,
    P_COURSE_INDEX,
    P_BURN
};

typedef struct str_upload {
    str_req *r;
    str_mp *mp;
    char staged[PATH_MAX]; /* DATA/uploads/.staging-<pid>-<serial>-<rnd> */
    bool staged_owned;     /* ours to remove (until handed to the catalog) */
    int fd;                /* file part being written, -1 */
    int kind;
    char field[STR_MP_NAME_MAX];
    char lang[40];
    char fname[96];          /* file name inside staged */
    char text[TEXT_MAX + 1]; /* + 1: room for a NUL after a full field */
    size_t text_len;
    int64_t file_bytes;
    int64_t synced;          /* writeback started up to here */
    char idem[IDEM_MAX + 1]; /* Idempotency-Key, or "" */
    json_t *titles, *audio, *subs, *audio_lang; /* owned */
    json_t *burn;                               /* owned: ["bo", ...] */
    char source[96];
    char source_name[STR_MP_FILE_MAX];
    char category[TEXT_MAX + 1];
    bool have_category;
    char course[TEXT_MAX + 1]; /* "" when none */
    int course_index;          /* 0: none given */
    int err_status;
    char err[400];
} str_upload;

static int up_fail(str_upload *up, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int up_fail(str_upload *up, int status, const char *fmt, ...)
{
    va_list ap;

    if (up->err_status == 0) {
        va_start(ap, fmt);
        vsnprintf(up->err, sizeof(up->err), fmt, ap);
        va_end(ap);
        up->err_status = status;
    }
    return YL_EINVAL;
}

/* "clip.MP4" → "mp4"; anything odd → "bin" (the transcoder reads the
 * content, not the name). */
static void safe_ext(const char *filename, char *out, size_t len)
{
    const char *dot = filename ? strrchr(filename, '.') : NULL;
    size_t n = 0;

    if (dot != NULL && dot[1] != '\0' && strlen(dot + 1) <= 8) {
        for (dot++; *dot && n + 1 < len; dot++) {
            if (!isalnum((unsigned char)*dot)) {
                n = 0;
                break;
            }
            out[n++] = (char)tolower((unsigned char)*dot);
        }
    }
    if (n == 0)
        n = (size_t)snprintf(out, len, "bin");
    out[n] = '\0';
}

static int open_part_file(str_upload *up, const char *name)
{
    char path[PATH_MAX];
    int n;

    n = snprintf(path, sizeof(path), "%s/%s", up->staged, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return up_fail(up, 500, "%s: path too long", up->field);
    up->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (up->fd < 0)
        return up_fail(up, 500, "%s: cannot create %s: %s", up->field, path,
                       strerror(errno));
    snprintf(up->fname, sizeof(up->fname), "%s", name);
    up->file_bytes = 0;
    return 0;
}

/* "audio.bo" → kind P_AUDIO, canonical lang "bo". */
static int lang_suffix(str_upload *up, const char *name, size_t plen)
{
    const char *tag = name + plen;

    if (*tag == '\0')
        return up_fail(up, 400,
                       "%s: the field name needs a language, "
                       "like %szh",
                       name, name);
    if (cat_lang_normalize(tag, up->lang, sizeof(up->lang)) < 0)
        return up_fail(up, 400, "%s: \"%s\" is not a BCP-47 language tag", name,
                       tag);
    return 0;
}

static int part_begin(void *ud, const char *name, const char *filename,
                      const char *ctype)
{
    str_upload *up = ud;
    char ext[16], fname[96];
    bool is_file = filename != NULL;
    int rc;

    (void)ctype;
    snprintf(up->field, sizeof(up->field), "%s", name);
    up->text_len = 0;
    up->lang[0] = '\0';
    if (strcmp(name, "source") == 0) {
        up->kind = P_SOURCE;
    } else if (strncmp(name, "audio.", 6) == 0) {
        up->kind = P_AUDIO;
        if ((rc = lang_suffix(up, name, 6)) < 0)
            return rc;
    } else if (strncmp(name, "subs.", 5) == 0) {
        up->kind = P_SUBS;
        if ((rc = lang_suffix(up, name, 5)) < 0)
            return rc;
    } else if (strncmp(name, "title.", 6) == 0) {
        up->kind = P_TITLE;
        if ((rc = lang_suffix(up, name, 6)) < 0)
            return rc;
    } else if (strcmp(name, "category") == 0) {
        up->kind = P_CATEGORY;
    } else if (strcmp(name, "course") == 0) {
        up->kind = P_COURSE;
    } else if (strcmp(name, "course_index") == 0) {
        up->kind = P_COURSE_INDEX;
    } else if (strcmp(name, "burn_subs") == 0) {
        up->kind = P_BURN;
    } else if (strncmp(name, "audio_lang.", 11) == 0) {
        const char *d = name + 11;

        up->kind = P_AUDIO_LANG;
        if (*d == '\0' || strlen(d) > 2)
            return up_fail(up, 400,
                           "%s: want audio_lang.N with N the "
                           "source's audio stream number",
                           name);
        for (; *d; d++)
            if (!isdigit((unsigned char)*d))
                return up_fail(up, 400,
                               "%s: want audio_lang.N with N "
                               "a number",
                               name);
    } else {
        return up_fail(up, 400,
                       "unknown field \"%s\" (expected source, "
                       "audio.LANG, subs.LANG, title.LANG, "
                       "category, audio_lang.N, course, course_index, "
                       "burn_subs)",
                       name);
    }

    switch (up->kind) {
    case P_SOURCE:
    case P_AUDIO:
    case P_SUBS:
        if (!is_file)
            return up_fail(up, 400,
                           "%s: must be a file (a form field with "
                           "a filename)",
                           name);
        safe_ext(filename, ext, sizeof(ext));
        if (up->kind == P_SOURCE) {
            if (up->source[0])
                return up_fail(up, 400, "source: given twice");
            snprintf(fname, sizeof(fname), "source.%s", ext);
            snprintf(up->source_name, sizeof(up->source_name), "%s", filename);
        } else {
            json_t *map = up->kind == P_AUDIO ? up->audio : up->subs;

            if (json_object_get(map, up->lang) != NULL)
                return up_fail(up, 400, "%s: language %s given twice", name,
                               up->lang);
            snprintf(fname, sizeof(fname), "%s.%s.%s",
                     up->kind == P_AUDIO ? "audio" : "subs", up->lang, ext);
        }
        return open_part_file(up, fname);
    default:
        if (is_file)
            return up_fail(up, 400, "%s: must be a text field, not a file",
                           name);
        return 0;
    }
}

static int part_data(void *ud, const char *data, size_t len)
{
    str_upload *up = ud;

    if (up->fd >= 0) {
        while (len > 0) {
            ssize_t n = write(up->fd, data, len);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return up_fail(up, errno == ENOSPC ? 507 : 500,
                               "%s: write failed: %s", up->field,
                               strerror(errno));
            data += n;
            len -= (size_t)n;
            up->file_bytes += n;
        }
        /* Start writeback every 8 MB without waiting for it, so the fsync
         * the catalog writer does before the job exists finds little left
         * to flush (it used to run here, stalling every client). */
        if (up->file_bytes - up->synced >= WRITEBACK_STEP) {
            sync_file_range(up->fd, up->synced, up->file_bytes - up->synced,
                            SYNC_FILE_RANGE_WRITE);
            up->synced = up->file_bytes;
        }
        return 0;
    }
    if (up->text_len + len > TEXT_MAX)
        return up_fail(up, 400, "%s: longer than %d bytes", up->field,
                       TEXT_MAX);
    memcpy(up->text + up->text_len, data, len);
    up->text_len += len;
    return 0;
}

static int part_end(void *ud)
{
    str_upload *up = ud;
    json_t *s;

    if (up->fd >= 0) {
        /* Made durable by the catalog writer before the job exists
         * (cat_lessons_create), off the event loop. */
        close(up->fd);
        up->fd = -1;
        up->synced = 0;
        if (up->file_bytes == 0)
            return up_fail(up, 400, "%s: the file is empty", up->field);
        if (up->kind == P_SOURCE)
            snprintf(up->source, sizeof(up->source), "%s", up->fname);
        else if (json_object_set_new(up->kind == P_AUDIO ? up->audio : up->subs,
                                     up->lang, json_string(up->fname)) < 0)
            return up_fail(up, 500, "out of memory");
        return 0;
    }
    if (up->kind == P_COURSE_INDEX) {
        char *end;
        long v;

        up->text[up->text_len] = '\0';
        if (up->course_index != 0)
            return up_fail(up, 400, "course_index: given twice");
        errno = 0;
        v = strtol(up->text, &end, 10);
        if (!isdigit((unsigned char)up->text[0]) || errno != 0 ||
            *end != '\0' || v < 1 || v > CAT_COURSE_INDEX_MAX)
            return up_fail(up, 400,
                           "course_index: \"%.40s\" is not an integer in "
                           "1..%d",
                           up->text, CAT_COURSE_INDEX_MAX);
        up->course_index = (int)v;
        return 0;
    }
    if (up->kind == P_BURN) {
        char tag[40];
        size_t i;

        up->text[up->text_len] = '\0';
        if (strlen(up->text) != up->text_len ||
            cat_lang_normalize(up->text, tag, sizeof(tag)) < 0)
            return up_fail(up, 400,
                           "burn_subs: \"%.40s\" is not a BCP-47 language tag",
                           up->text);
        for (i = 0; i < json_array_size(up->burn); i++)
            if (strcmp(json_string_value(json_array_get(up->burn, i)), tag) ==
                0)
                return up_fail(up, 400, "burn_subs: %s given twice", tag);
        if (json_array_size(up->burn) >= 4)
            return up_fail(up, 400, "burn_subs: at most 4 languages");
        json_array_append_new(up->burn, json_string(tag));
        return 0;
    }
    if (up->kind == P_CATEGORY || up->kind == P_TITLE ||
        up->kind == P_AUDIO_LANG || up->kind == P_COURSE) {
        /* jansson refuses strings that are not UTF-8. */
        s = json_stringn(up->text, up->text_len);
        if (s == NULL)
            return up_fail(up, 400, "%s: not valid UTF-8 text", up->field);
        if (up->text_len == 0) {
            json_decref(s);
            return up_fail(up, 400, "%s: empty", up->field);
        }
        if (up->kind == P_COURSE) {
            /* Checked by the catalog (an id it knows, or a title). */
            json_decref(s);
            if (up->course[0] != '\0')
                return up_fail(up, 400, "course: given twice");
            memcpy(up->course, up->text, up->text_len);
            up->course[up->text_len] = '\0';
            if (strlen(up->course) != up->text_len)
                return up_fail(up, 400, "course: holds a NUL byte");
            return 0;
        }
        if (up->kind == P_CATEGORY) {
            json_decref(s);
            if (up->have_category)
                return up_fail(up, 400, "category: given twice");
            memcpy(up->category, up->text, up->text_len);
            up->category[up->text_len] = '\0';
            up->have_category = true;
            return 0;
        }
        if (up->kind == P_AUDIO_LANG) {
            char tag[40];

            json_decref(s);
            up->text[up->text_len] = '\0';
            if (cat_lang_normalize(up->text, tag, sizeof(tag)) < 0)
                return up_fail(up, 400,
                               "%s: \"%s\" is not a BCP-47 language tag",
                               up->field, up->text);
            if (json_object_get(up->audio_lang, up->field + 11) != NULL)
                return up_fail(up, 400, "%s: given twice", up->field);
            json_object_set_new(up->audio_lang, up->field + 11,
                                json_string(tag));
            return 0;
        }
        if (json_object_get(up->titles, up->lang) != NULL) {
            json_decref(s);
            return up_fail(up, 400, "%s: language %s given twice", up->field,
                           up->lang);
        }
        json_object_set_new(up->titles, up->lang, s);
    }
    return 0;
}

static const str_mp_cbs mp_cbs = {part_begin, part_data, part_end};

void str_upload_free(str_req *r)
{
    str_upload *up = r->up;

    if (up == NULL)
        return;
    if (up->fd >= 0)
        close(up->fd);
    if (up->staged_owned) {
        /* Unfinished, refused or abandoned: keep nothing. */
        int rc = yl_rmtree(up->staged);

        if (rc < 0)
            YL_LOGW("str", "remove %s: %s", up->staged, strerror(-rc));
    }
    str_mp_free(up->mp);
    json_decref(up->titles);
    json_decref(up->audio);
    json_decref(up->subs);
    json_decref(up->audio_lang);
    json_decref(up->burn);
    free(up);
    r->up = NULL;
}

/* Answers with the upload's error and drops everything received. */
static int up_reply_error(str_req *r)
{
    str_upload *up = r->up;
    int st = up->err_status ? up->err_status : 400;
    char msg[sizeof(up->err)];

    snprintf(msg, sizeof(msg), "%s",
             up->err[0] ? up->err : str_mp_error(up->mp));
    r->srv->m.uploads_failed++;
    YL_LOGI("str", "upload refused: %s", msg);
    str_upload_free(r);
    return str_reply_error(r, st,
                           st == 400   ? "invalid_upload"
                           : st == 507 ? "no_space"
                                       : "internal",
                           "%s", msg);
}

/* An Idempotency-Key is a client's opaque token: printable ASCII. */
static bool idem_ok(const char *k)
{
    for (; *k; k++)
        if (*k < 0x21 || *k > 0x7e)
            return false;
    return true;
}

int str_upload_begin(str_req *r)
{
    char ct[256], boundary[80], key[IDEM_MAX + 1];
    str_upload *up;
    int n, rc;

    n = str_req_hdr(r, "content-type", ct, sizeof(ct));
    if (n <= 0)
        ct[0] = '\0';
    if (str_mp_boundary(ct, boundary, sizeof(boundary)) < 0)
        return str_reply_error(r, 415, "unsupported_media_type",
                               "an upload is multipart/form-data with a "
                               "boundary (got \"%s\")",
                               ct);
    if (str_body_refused(r, r->srv->cfg.cat.max_upload_bytes, &rc))
        return rc; /* 411 / 413: nothing received, nothing made */
    n = str_req_hdr(r, "idempotency-key", key, sizeof(key));
    if (n == -2 || n == 0 || (n > 0 && !idem_ok(key)))
        return str_reply_error(r, 400, "invalid_upload",
                               "Idempotency-Key: 1 to %d printable ASCII "
                               "characters",
                               IDEM_MAX);
    if (n > 0) {
        int64_t lid, jid;

        /* A retry of an upload that was created: answered before its
         * bytes come again (they are dropped, or the connection closes). */
        rc = cat_lessons_idem_find(r->srv->rd, r->tok.id, key, &lid, &jid);
        if (rc < 0)
            return str_reply_error(r, 500, "internal", "upload key: %s",
                                   cat_db_errmsg(r->srv->rd));
        if (rc == 1) {
            char buf[96];

            n = snprintf(buf, sizeof(buf),
                         "{\"lesson\":%" PRId64 ",\"job\":%" PRId64
                         ",\"replayed\":true}",
                         lid, jid);
            return str_reply_json(r, 202, buf, (size_t)n);
        }
    }
    up = calloc(1, sizeof(*up));
    if (up == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    r->up = up;
    up->r = r;
    up->fd = -1;
    if (n > 0)
        snprintf(up->idem, sizeof(up->idem), "%s", key);
    up->titles = json_object();
    up->audio = json_object();
    up->subs = json_object();
    up->audio_lang = json_object();
    up->burn = json_array();
    if (!up->titles || !up->audio || !up->subs || !up->audio_lang ||
        !up->burn || str_mp_new(boundary, &mp_cbs, up, &up->mp) < 0) {
        str_upload_free(r);
        return str_reply_error(r, 500, "internal", "out of memory");
    }
    /* A name no earlier run used (pid, serial, random), made with mkdir:
     * EEXIST means another path is there, so take a new name. */
    {
        char uploads[PATH_MAX];
        int tries = 0, e = 0;

        snprintf(uploads, sizeof(uploads), "%s/uploads",
                 r->srv->cfg.cat.data_dir);
        do {
            e = str_unique_name(up->staged, sizeof(up->staged), uploads,
                                ".staging", r->serial) < 0
                    ? ENAMETOOLONG
                : mkdir(up->staged, 0755) < 0 ? errno
                                              : 0;
        } while (e == EEXIST && ++tries < 8);
        if (e != 0) {

            str_upload_free(r);
            return str_reply_error(r, e == ENOSPC ? 507 : 500,
                                   e == ENOSPC ? "no_space" : "internal",
                                   "cannot create %s: %s",
                                   "the upload directory", strerror(e));
        }
    }
    up->staged_owned = true;
    /* Cannot refuse now (checked above); on failure the connection
     * closes and the cleanup removes the staging dir. */
    return str_body_begin(r, STR_BODY_UPLOAD, r->srv->cfg.cat.max_upload_bytes);
}

int str_upload_feed(str_req *r, const char *in, size_t len)
{
    str_upload *up = r->up;

    if (up == NULL)
        return 0;
    if (str_mp_feed(up->mp, in, len) < 0)
        return up_reply_error(r);
    return 0;
}

int str_upload_done(str_req *r)
{
    str_upload *up = r->up;
    cat_lesson_new ln;
    json_t *inputs;
    int rc;

    if (up == NULL)
        return 0;
    if (str_mp_finish(up->mp) < 0) {
        up_fail(up, 400, "truncated upload: %s", str_mp_error(up->mp));
        return up_reply_error(r);
    }
    if (up->source[0] == '\0') {
        up_fail(up, 400,
                "source: missing (the lesson's video, a file "
                "field named \"source\")");
        return up_reply_error(r);
    }
    if (up->course_index != 0 && up->course[0] == '\0') {
        up_fail(up, 400,
                "course_index: given without a course (a course id or "
                "title)");
        return up_reply_error(r);
    }
    if (json_object_size(up->titles) == 0) {
        up_fail(up, 400,
                "title.LANG: at least one title is needed (e.g. "
                "title.zh)");
        return up_reply_error(r);
    }
    /* Burned in from a subtitle file of this upload (the transcoder draws
     * --subs files; the fields may come in any order, so checked here). */
    {
        size_t i;

        for (i = 0; i < json_array_size(up->burn); i++) {
            const char *l = json_string_value(json_array_get(up->burn, i));

            if (json_object_get(up->subs, l) == NULL) {
                up_fail(up, 400,
                        "burn_subs: %s has no subs.%s file in this upload "
                        "(burned subtitles are drawn from one)",
                        l, l);
                return up_reply_error(r);
            }
        }
    }
    inputs = json_pack("{s:s}", "source", up->source);
    if (inputs == NULL) {
        up_fail(up, 500, "out of memory");
        return up_reply_error(r);
    }
    if (json_object_size(up->audio))
        json_object_set(inputs, "audio", up->audio);
    if (json_object_size(up->subs))
        json_object_set(inputs, "subs", up->subs);
    if (json_object_size(up->audio_lang))
        json_object_set(inputs, "audio_lang", up->audio_lang);
    if (json_array_size(up->burn))
        json_object_set(inputs, "burn", up->burn);

    memset(&ln, 0, sizeof(ln));
    ln.titles = up->titles;
    ln.category = up->have_category ? up->category : NULL;
    ln.source_name = up->source_name[0] ? up->source_name : NULL;
    ln.inputs = inputs;
    ln.staged_dir = up->staged;
    /* The lesson belongs to the uploader's region (only admins upload). */
    ln.owner = r->tok.scope;
    ln.idem_key = up->idem[0] ? up->idem : NULL;
    ln.idem_token = r->tok.id;
    ln.course = up->course[0] ? up->course : NULL;
    ln.course_index = up->course_index;
    {
        char uploads[PATH_MAX];

        snprintf(uploads, sizeof(uploads), "%s/uploads",
                 r->srv->cfg.cat.data_dir);
        ln.uploads_dir = uploads;
        rc = str_api_create_lesson(r, &ln, up->staged);
    }
    json_decref(inputs);
    if (rc < 0) {
        up_fail(up, 503, "the server is stopping; retry the upload");
        return up_reply_error(r);
    }
    /* The writer renames the staging dir (or the failure path removes
     * it): no longer ours. */
    up->staged_owned = false;
    str_upload_free(r);
    return 0;
}
