/* str_api.c - the JSON API under /api/v1/: lessons, jobs, sites, views,
 * stats; bearer-token auth; deferred answers after the catalog writer
 * commits.
 *
 * Threads: the service thread runs every handler and reads through its own
 * catalog connection (srv->rd). Writes go to the catalog writer thread;
 * its completion callbacks (writer thread) only copy the result into a
 * str_msg and post it to the loop, which answers the waiting request if
 * the client is still there. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "catalog/cat_courses.h"
#include "catalog/cat_jobs.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_metrics.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_stats.h"
#include "catalog/cat_tokens.h"
#include "catalog/cat_views.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_fs.h"
#include "streamer/str_api.h"
#include "streamer/str_ws.h"

#define WRITER_BUSY 20000 /* queued writes before we answer 503 */
#define TOKCACHE_N  256   /* verified tokens kept (direct-mapped) */

/* ---- token cache: the service thread's, saves a lookup per request ---- */

typedef struct tok_ent {
    char tok[CAT_TOKEN_LEN + 1];
    int rc; /* of cat_tokens_verify */
    cat_token_info info;
    int64_t at_ms;
} tok_ent;

typedef struct str_tokcache {
    tok_ent e[TOKCACHE_N];
} str_tokcache;

static unsigned tok_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % TOKCACHE_N;
}

static int token_verify(str_server *srv, const char *tok, int64_t now,
                        cat_token_info *info)
{
    tok_ent *e = &srv->tokcache->e[tok_hash(tok)];
    int rc;

    if (e->tok[0] && strcmp(e->tok, tok) == 0 &&
        now - e->at_ms < srv->cfg.token_cache_ms && now >= e->at_ms) {
        rc = e->rc;
        *info = e->info;
    } else {
        memset(info, 0, sizeof(*info));
        rc = cat_tokens_verify(srv->rd, tok, now, info);
        if (rc == 0 || rc == YL_ENOTFOUND) {
            snprintf(e->tok, sizeof(e->tok), "%s", tok);
            e->rc = rc;
            e->info = *info;
            e->at_ms = now;
        }
    }
    if (rc == 0)
        info->expired = info->expires_ms != 0 && info->expires_ms <= now;
    return rc;
}

/* ---- small helpers ---- */

static int status_of(int rc)
{
    switch (rc) {
    case YL_EINVAL:
    case YL_EBADLANG:
    case YL_EBADUTF8:
    case YL_EBADTIME:
        return 400;
    case YL_EFORBIDDEN:
        return 403;
    case YL_ENOTFOUND:
        return 404;
    case YL_EEXIST:
        return 409;
    case YL_ETOOBIG:
        return 413;
    case YL_EINTR:
    case YL_EDBLOST:
    case -EROFS:
        return 503;
    case -ENOSPC:
        return 507;
    default:
        return 500;
    }
}

static const char *code_of(int status)
{
    switch (status) {
    case 400:
        return "invalid";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 409:
        return "conflict";
    case 413:
        return "too_large";
    case 503:
        return "unavailable";
    case 507:
        return "no_space";
    default:
        return "internal";
    }
}

/* The error code of rc's answer: by status, but a read-only database
 * has its own (503 read_only), so an operator tells it from stopping. */
static const char *code_of_rc(int rc, int status)
{
    return rc == -EROFS ? "read_only" : code_of(status);
}

/* Answers a catalog error: message from the catalog connection. */
static int reply_cat_error(str_req *r, int rc, const char *msg)
{
    int st = status_of(rc);
    char buf[128];

    if (msg == NULL || msg[0] == '\0')
        msg = yl_strerror(rc, buf, sizeof(buf));
    return str_reply_error(r, st, code_of_rc(rc, st), "%s", msg);
}

static int reply_json_obj(str_req *r, int status, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    int ret;

    json_decref(obj);
    if (s == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    ret = str_reply_json(r, status, s, strlen(s));
    free(s);
    return ret;
}

/* Copies query argument name into buf; 1 when present and non-empty.
 * query_check() has already refused values that would not fit. */
static int qarg(str_req *r, const char *name, char *buf, int len)
{
    return str_req_query(r, name, buf, (size_t)len) > 0;
}

/* The query parameters the API reads, with the room each gets. */
static const struct {
    const char *name;
    int max; /* bytes, without the NUL */
} query_params[] = {
    {"q", 255},   {"lang", 63},     {"category", 127}, {"state", 15},
    {"page", 31}, {"per_page", 31}, {"parent", 31},    {"region", 31},
    {"from", 31}, {"to", 31},       {"site", 31},      {"since", 31},
};

/* Refuses, by name, a known query parameter too long for its handler or
 * holding %00 (rather than dropping it silently). 1 when it answered. */
static int query_check(str_req *r, int *ret)
{
    char buf[256];
    size_t i;
    int n;

    for (i = 0; i < sizeof(query_params) / sizeof(query_params[0]); i++) {
        n = str_req_query(r, query_params[i].name, buf,
                          (size_t)query_params[i].max + 1);
        if (n == -2) {
            *ret = str_reply_error(r, 400, "invalid",
                                   "query parameter %s is longer than %d "
                                   "bytes",
                                   query_params[i].name, query_params[i].max);
            return 1;
        }
        if (n == -3) {
            *ret = str_reply_error(r, 400, "invalid",
                                   "query parameter %s holds a NUL byte",
                                   query_params[i].name);
            return 1;
        }
    }
    return 0;
}

static int qint(str_req *r, const char *name, int lo, int hi, int *out,
                int *ret)
{
    char buf[32], *end;
    long v;

    *out = 0;
    if (!qarg(r, name, buf, sizeof(buf)))
        return 0;
    errno = 0;
    v = strtol(buf, &end, 10);
    /* strtol skips leading blanks ("%2010" is " 10"): digits only. */
    if (!isdigit((unsigned char)buf[0]) || errno || *end != '\0' || v < lo ||
        v > hi) {
        *ret = str_reply_error(r, 400, "invalid",
                               "%s: \"%s\" is not an integer in %d..%d", name,
                               buf, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* ---- auth ---- */

int str_token_judge(int rc, const cat_token_info *info, const char **code,
                    char *msg, size_t len)
{
    if (rc == YL_ENOTFOUND) {
        *code = "unauthorized";
        snprintf(msg, len, "unknown or revoked token");
        return 401;
    }
    if (rc < 0)
        return rc;
    if (info->expired) {
        time_t t = (time_t)(info->expires_ms / 1000);
        char date[32];
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
        *code = "token_expired";
        snprintf(msg, len, "token expired at %s: ask for a new one", date);
        return 401;
    }
    return 0;
}

/* Reads the Authorization header. Returns 0 (r->has_token set when a valid
 * token came), or 1 when it answered 401 (*ret holds the callback's
 * return). A missing header is anonymous, not an error. */
static int authenticate(str_req *r, int *ret)
{
    char h[256], msg[128];
    const char *tok, *code;
    int64_t now = cat_now_ms();
    int n, rc;

    r->has_token = false;
    n = str_req_hdr(r, "authorization", h, sizeof(h));
    if (n == -1) {
        /* No header: a person's session cookie, if any. A stale cookie
         * is anonymous (the player shares the origin), and handlers that
         * need a caller say why (session_expired). */
        rc = str_session_auth(r);
        if (rc < 0) {
            *ret = reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
            return 1;
        }
        return 0;
    }
    if (n <= 0 || strncasecmp(h, "Bearer ", 7) != 0) {
        *ret = str_reply_error(r, 401, "unauthorized",
                               "Authorization must be \"Bearer <token>\"");
        return 1;
    }
    tok = h + 7;
    while (*tok == ' ')
        tok++;
    rc = strlen(tok) == CAT_TOKEN_LEN ? token_verify(r->srv, tok, now, &r->tok)
                                      : YL_ENOTFOUND;
    n = str_token_judge(rc, &r->tok, &code, msg, sizeof(msg));
    if (n < 0) {
        *ret = reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
        return 1;
    }
    if (n > 0) {
        *ret = str_reply_error(r, n, code, "%s", msg);
        return 1;
    }
    r->has_token = true;
    return 0;
}

/* 1 when it answered (no token → 401, site token → 403). */
static int need_admin(str_req *r, const char *what, int *ret)
{
    if (!r->has_token && r->session_state == STR_SESSION_EXPIRED) {
        *ret =
            str_reply_error(r, 401, "session_expired",
                            "%s: the session has expired; sign in again", what);
        return 1;
    }
    if (!r->has_token) {
        *ret = str_reply_error(r, 401, "unauthorized",
                               "%s needs an admin token (Authorization: "
                               "Bearer ...)",
                               what);
        return 1;
    }
    if (r->tok.role != CAT_ROLE_ADMIN) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "%s needs an admin token; this is the %s "
                               "token of %s",
                               what, cat_role_name(r->tok.role), r->tok.scope);
        return 1;
    }
    return 0;
}

/* 1 when it answered: code outside the admin token's region (403) or
 * unknown (404). */
static int need_within(str_req *r, const char *code, int *ret)
{
    int rc = cat_tokens_allows(r->srv->rd, &r->tok, code);

    if (rc == 1)
        return 0;
    if (rc == 0)
        *ret = str_reply_error(r, 403, "forbidden",
                               "%s is outside this token's region %s", code,
                               r->tok.scope);
    else if (rc == YL_ENOTFOUND)
        *ret = str_reply_error(r, 404, "not_found", "unknown site %s", code);
    else
        *ret = reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return 1;
}

/* 1 when it answered: lesson id (deleted or not) belongs to a region
 * outside the admin token's (403), or is unknown (404). what says what was
 * attempted, for the message. A lesson without an owner is province-wide:
 * a province admin's only. */
static int need_owner(str_req *r, int64_t id, const char *what, int *ret)
{
    char owner[CAT_CODE_MAX];
    int rc = cat_lessons_owner(r->srv->rd, id, owner);

    if (rc == YL_ENOTFOUND) {
        *ret = str_reply_error(r, 404, "not_found", "no lesson %" PRId64, id);
        return 1;
    }
    if (rc < 0) {
        *ret = reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
        return 1;
    }
    if (owner[0] == '\0') {
        if (r->tok.scope_level == CAT_LEVEL_PROVINCE)
            return 0;
        *ret = str_reply_error(r, 403, "forbidden",
                               "%s: lesson %" PRId64 " is province-wide; "
                               "only a province admin may (this token's "
                               "region is %s)",
                               what, id, r->tok.scope);
        return 1;
    }
    rc = cat_tokens_allows(r->srv->rd, &r->tok, owner);
    if (rc == 1)
        return 0;
    if (rc == 0 || rc == YL_ENOTFOUND) /* an owner since removed: not ours */
        *ret = str_reply_error(r, 403, "forbidden",
                               "%s: lesson %" PRId64 " belongs to region %s, "
                               "outside this token's region %s",
                               what, id, owner, r->tok.scope);
    else
        *ret = reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return 1;
}

/* ---- deferred answers: writer thread → loop ---- */

enum defer_kind {
    DEF_VIEWS,
    DEF_CREATE,
    DEF_DELETE,
    DEF_COURSE,
    DEF_RETRY,
    DEF_PROVISION,
    DEF_REVOKE,
    DEF_EDIT,
    DEF_LANG
};

typedef struct defer_ctx {
    str_server *srv;
    uint64_t serial;
    int kind;
    int64_t arg;  /* lesson id (delete) */
    char *staged; /* upload staging dir (create), removed on failure */
    char code[CAT_CODE_MAX]; /* provision, revoke: the site */
} defer_ctx;

typedef struct defer_msg {
    str_msg base;
    defer_ctx *ctx;
    int rc;
    int64_t id, job_id;
    int accepted, duplicates;
    bool replayed; /* create: the Idempotency-Key was known */
    json_t *json;  /* delete: the lesson's jobs as they were */
    char error[512];
} defer_msg;

static void defer_ctx_free(defer_ctx *c)
{
    if (c == NULL)
        return;
    free(c->staged);
    free(c);
}

static void defer_msg_free(str_msg *m)
{
    defer_msg *d = (defer_msg *)m;

    defer_ctx_free(d->ctx);
    json_decref(d->json);
    free(d);
}

void str_api_defer_reply(str_req *r, int status, char *body, size_t len)
{
    free(r->pend_body);
    r->pend_status = status;
    r->pend_body = body;
    r->pend_len = body != NULL ? len : 0; /* NULL: out of memory, a 500 */
    str_waiting_remove(r->srv, r);
    str_conn_wake(r);
}

/* code400: the code of a 400 answer (NULL: the generic "invalid"). */
static void defer_error_as(str_req *r, int rc, const char *msg,
                           const char *code400)
{
    char *body = NULL, emsg[700], buf[128];
    int st = status_of(rc), n;
    json_t *o;

    if (msg == NULL || msg[0] == '\0')
        msg = yl_strerror(rc, buf, sizeof(buf));
    o = json_pack("{s:{s:s,s:s}}", "error", "code",
                  st == 400 && code400 != NULL ? code400 : code_of_rc(rc, st),
                  "message", msg);
    if (o != NULL) {
        body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
    }
    if (body == NULL) {
        n = snprintf(emsg, sizeof(emsg),
                     "{\"error\":{\"code\":\"internal\",\"message\":"
                     "\"out of memory\"}}");
        body = strndup(emsg, (size_t)n);
        st = 500;
    }
    if (body != NULL)
        str_api_defer_reply(r, st, body, strlen(body));
}

void str_api_defer_error(str_req *r, int rc, const char *msg)
{
    defer_error_as(r, rc, msg, NULL);
}

void str_api_defer_error_code(str_req *r, int status, const char *code,
                              const char *msg)
{
    json_t *o =
        json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    str_api_defer_reply(r, body != NULL ? status : 500, body,
                        body != NULL ? strlen(body) : 0);
}

/* Service thread: the lesson's delete committed and cancelled its queued
 * or running job (jobs: its jobs as they were before). A running
 * transcoder is stopped by the runner; the sources of every job that did
 * not finish (queued, running, failed) go now: nothing will read them. */
static void cancel_jobs(str_server *srv, int64_t lesson, const json_t *jobs)
{
    const json_t *job;
    size_t i;

    json_array_foreach(jobs, i, job)
    {
        int64_t id = json_integer_value(json_object_get(job, "id"));
        const char *st = json_string_value(json_object_get(job, "state"));
        char src[PATH_MAX];
        int rc;

        if (st == NULL || strcmp(st, "done") == 0)
            continue; /* its sources went when it published */
        if (strcmp(st, "running") == 0 && srv->jobs != NULL)
            str_jobs_cancel(srv->jobs, id);
        if (strcmp(st, "failed") != 0)
            YL_LOGI("str",
                    "[lesson=%" PRId64 " job=%" PRId64 "] %s job cancelled",
                    lesson, id, st);
        /* Not the job's recorded dir: only ever a dir under uploads/. */
        rc = str_pathf(src, sizeof(src), "%s/uploads/%" PRId64,
                       srv->cfg.cat.data_dir, id);
        if (rc == 0)
            rc = yl_rmtree(src);
        if (rc < 0 && rc != -ENOENT)
            YL_LOGW("str", "[job=%" PRId64 "] remove sources: %s", id,
                    strerror(-rc));
    }
}

/* Service thread: the site tokens of a region are made; the answer lists
 * each with its site's name and setup path, for a printable page. */
static void provision_answer(str_server *srv, str_req *r, defer_ctx *c,
                             defer_msg *d)
{
    json_t *items, *tok;
    size_t i;

    if (d->rc == 0)
        YL_LOGI("str", "[region=%s] %d site token(s) made, %d kept", c->code,
                d->accepted, d->duplicates);
    if (r == NULL)
        return;
    if (d->rc < 0 || d->json == NULL) {
        str_api_defer_error(r, d->rc < 0 ? d->rc : -ENOMEM, d->error);
        return;
    }
    items = json_object_get(d->json, "tokens");
    json_array_foreach(items, i, tok)
    {
        const char *code = json_string_value(json_object_get(tok, "code"));
        const char *t = json_string_value(json_object_get(tok, "token"));
        json_t *s = NULL;
        char setup[128];

        if (code == NULL || t == NULL)
            continue;
        if (cat_sites_get(srv->rd, code, &s) == 0 &&
            json_is_string(json_object_get(s, "name")))
            json_object_set(tok, "name", json_object_get(s, "name"));
        json_decref(s);
        snprintf(setup, sizeof(setup), "/?setup=%s.%s", code, t);
        json_object_set_new(tok, "setup", json_string(setup));
    }
    json_object_set_new(d->json, "region", json_string(c->code));
    {
        char *body = json_dumps(d->json, JSON_COMPACT);

        str_api_defer_reply(r, 201, body, body != NULL ? strlen(body) : 0);
    }
}

/* Service thread: a batch of viewing events was stored (or not). */
static void views_answer(str_server *srv, str_req *r, defer_ctx *c,
                         defer_msg *d)
{
    char buf[160];
    int n;

    if (d->rc == 0) {
        srv->m.events_accepted += (uint64_t)d->accepted;
        srv->m.events_duplicate += (uint64_t)d->duplicates;
    } else {
        srv->m.events_rejected++;
    }
    if (r == NULL) { /* a websocket batch, or the client left */
        str_ws_views_answer(srv, c->serial, d->rc,
                            code_of_rc(d->rc, status_of(d->rc)), d->error,
                            d->accepted, d->duplicates);
        return;
    }
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    n = snprintf(buf, sizeof(buf), "{\"accepted\":%d,\"duplicates\":%d}",
                 d->accepted, d->duplicates);
    str_api_defer_reply(r, 200, strndup(buf, (size_t)n), (size_t)n);
}

/* Service thread: an upload's lesson and job were created (or not). */
static void create_answer(str_server *srv, str_req *r, defer_ctx *c,
                          defer_msg *d)
{
    char buf[160];
    int n;

    if (d->rc < 0) {
        srv->m.uploads_failed++;
        if (c->staged != NULL)
            yl_rmtree(c->staged); /* the rename did not happen */
        /* The catalog's checks (category, title tags) refuse the
         * upload as the multipart checks do: one code for both. */
        if (r != NULL)
            defer_error_as(r, d->rc, d->error, "invalid_upload");
        return;
    }
    if (d->replayed) {
        YL_LOGI("str",
                "[lesson=%" PRId64 " job=%" PRId64 "] upload repeated "
                "with its Idempotency-Key: the first one's answer",
                d->id, d->job_id);
    } else {
        srv->m.uploads_ok++;
        YL_LOGI("str", "[lesson=%" PRId64 " job=%" PRId64 "] upload queued",
                d->id, d->job_id);
        if (srv->jobs != NULL)
            str_jobs_wake(srv->jobs);
    }
    if (r == NULL)
        return;
    n = snprintf(buf, sizeof(buf),
                 "{\"lesson\":%" PRId64 ",\"job\":%" PRId64 "%s}", d->id,
                 d->job_id, d->replayed ? ",\"replayed\":true" : "");
    str_api_defer_reply(r, 202, strndup(buf, (size_t)n), (size_t)n);
}

/* Service thread: a lesson's course was set (or not). */
static void course_answer(str_server *srv, str_req *r, defer_ctx *c,
                          defer_msg *d)
{
    json_t *item = NULL;
    int rc;

    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    /* Committed: this thread's reader sees it. */
    rc = cat_lessons_get(srv->rd, c->arg, NULL, &item);
    if (rc < 0) {
        str_api_defer_error(r, rc, cat_db_errmsg(srv->rd));
        return;
    }
    {
        char *s = json_dumps(item, JSON_COMPACT);

        json_decref(item);
        str_api_defer_reply(r, 200, s, s != NULL ? strlen(s) : 0);
    }
}

/* Service thread: a lesson's delete committed (or not). */
static void delete_answer(str_server *srv, str_req *r, defer_ctx *c,
                          defer_msg *d)
{
    char buf[160];
    int n;

    if (d->rc == 0) {
        int rr = str_hls_remove(srv, c->arg);

        if (rr < 0 && rr != -ENOENT)
            YL_LOGW("str", "[lesson=%" PRId64 "] remove files: %s", c->arg,
                    strerror(-rr));
        cancel_jobs(srv, c->arg, d->json);
        YL_LOGI("str", "[lesson=%" PRId64 "] deleted", c->arg);
    }
    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    n = snprintf(buf, sizeof(buf), "{\"deleted\":%" PRId64 "}", c->arg);
    str_api_defer_reply(r, 200, strndup(buf, (size_t)n), (size_t)n);
}

/* Service thread: a lesson's titles or category were edited (or not). */
static void edit_answer(str_server *srv, str_req *r, defer_ctx *c, defer_msg *d)
{
    json_t *out = NULL;
    char *body;

    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    YL_LOGI("str", "[lesson=%" PRId64 "] titles or category edited", c->arg);
    if (cat_lessons_get(srv->rd, c->arg, NULL, &out) < 0) {
        str_api_defer_error(r, YL_EDB, cat_db_errmsg(srv->rd));
        return;
    }
    body = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    str_api_defer_reply(r, 200, body, body != NULL ? strlen(body) : 0);
}

/* Service thread: a site's default language was set (or not). */
static void lang_answer(str_server *srv, str_req *r, defer_ctx *c, defer_msg *d)
{
    json_t *out = NULL;
    char *body;
    int rc;

    if (d->rc == 0)
        YL_LOGI("str", "[site=%s] default language set", c->code);
    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    rc = cat_sites_get(srv->rd, c->code, &out);
    if (rc < 0) {
        str_api_defer_error(r, rc, cat_db_errmsg(srv->rd));
        return;
    }
    body = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    str_api_defer_reply(r, 200, body, body != NULL ? strlen(body) : 0);
}

/* Service thread: a site's tokens were revoked (or not). */
static void revoke_answer(str_server *srv, str_req *r, defer_ctx *c,
                          defer_msg *d)
{
    char buf[160];
    int n;

    if (d->rc == 0) {
        YL_LOGI("str", "[site=%s] %d site token(s) revoked", c->code,
                d->accepted);
        if (d->accepted > 0) {
            /* Refused from now on, not after the cache's 5 s: a station
             * closed 4401 below must not be welcomed again at once. */
            memset(srv->tokcache, 0, sizeof(*srv->tokcache));
            str_ws_site_revoked(srv, c->code);
        }
    }
    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    n = snprintf(buf, sizeof(buf), "{\"site\":\"%s\",\"revoked\":%d}", c->code,
                 d->accepted);
    str_api_defer_reply(r, 200, strndup(buf, (size_t)n), (size_t)n);
}

/* Service thread: a failed job was queued again (or not). */
static void retry_answer(str_server *srv, str_req *r, defer_ctx *c,
                         defer_msg *d)
{
    char buf[160];
    int n;

    if (d->rc == 0) {
        YL_LOGI("str", "[job=%" PRId64 " lesson=%" PRId64 "] queued again",
                c->arg, d->id);
        if (srv->jobs != NULL)
            str_jobs_wake(srv->jobs);
    }
    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    n = snprintf(buf, sizeof(buf),
                 "{\"job\":%" PRId64 ",\"lesson\":%" PRId64
                 ",\"state\":\"queued\"}",
                 c->arg, d->id);
    str_api_defer_reply(r, 202, strndup(buf, (size_t)n), (size_t)n);
}

/* Service thread: a writer result arrived. */
static void defer_run(str_server *srv, str_msg *m)
{
    defer_msg *d = (defer_msg *)m;
    defer_ctx *c = d->ctx;
    str_req *r = str_waiting_find(srv, c->serial);

    switch (c->kind) {
    case DEF_VIEWS:
        views_answer(srv, r, c, d);
        return;
    case DEF_CREATE:
        create_answer(srv, r, c, d);
        return;
    case DEF_COURSE:
        course_answer(srv, r, c, d);
        return;
    case DEF_DELETE:
        delete_answer(srv, r, c, d);
        return;
    case DEF_PROVISION:
        provision_answer(srv, r, c, d);
        return;
    case DEF_EDIT:
        edit_answer(srv, r, c, d);
        return;
    case DEF_LANG:
        lang_answer(srv, r, c, d);
        return;
    case DEF_REVOKE:
        revoke_answer(srv, r, c, d);
        return;
    case DEF_RETRY:
        retry_answer(srv, r, c, d);
        return;
    }
}

/* Writer thread: copy the result, hand it to the loop. Never blocks. */
static void defer_done(void *ud, int rc, const cat_write_result *res)
{
    defer_ctx *c = ud;
    defer_msg *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        /* Cannot tell the loop: the request times out; keep the data. */
        YL_LOGE("str", "out of memory passing a writer result");
        defer_ctx_free(c);
        return;
    }
    d->base.run = defer_run;
    d->base.free_fn = defer_msg_free;
    d->ctx = c;
    d->rc = rc;
    if (res != NULL) {
        d->id = res->id;
        d->job_id = res->job_id;
        d->accepted = res->accepted;
        d->duplicates = res->duplicates;
        d->replayed = res->replayed;
        /* A copy, not another reference (as cat_sync_done): the writer
         * drops its reference right after this callback while the loop
         * drops ours, and jansson's json_decref() reads the count
         * without atomics (ThreadSanitizer saw the race). */
        if ((c->kind == DEF_DELETE || c->kind == DEF_PROVISION) &&
            res->json != NULL)
            d->json = json_deep_copy(res->json);
        snprintf(d->error, sizeof(d->error), "%s", res->error);
    }
    str_outbox_post(c->srv, &d->base);
}

static defer_ctx *defer_new(str_req *r, int kind)
{
    defer_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->srv = r->srv;
    c->serial = r->serial;
    c->kind = kind;
    return c;
}

/* Registers r as waiting for c's result; submit with defer_done, c. */
static void defer_wait(str_req *r)
{
    /* The connection waits for the answer under its own deadline. */
    str_waiting_add(r->srv, r);
}

/* ---- handlers ---- */

int str_api_lessons_list(str_req *r)
{
    char q[256], lang[64], cat[128], state[16];
    cat_lesson_query lq;
    json_t *out = NULL;
    int rc, ret = 0;

    memset(&lq, 0, sizeof(lq));
    if (qarg(r, "q", q, sizeof(q)))
        lq.q = q;
    if (qarg(r, "lang", lang, sizeof(lang)))
        lq.lang = lang;
    if (qarg(r, "category", cat, sizeof(cat)))
        lq.category = cat;
    if (qint(r, "page", 1, CAT_LESSONS_PAGE_MAX, &lq.page, &ret) < 0 ||
        qint(r, "per_page", 1, 100, &lq.per_page, &ret) < 0)
        return ret;
    if (qarg(r, "state", state, sizeof(state))) {
        if (strcmp(state, "all") != 0)
            return str_reply_error(r, 400, "invalid",
                                   "state: only \"all\" is accepted");
        if (need_admin(r, "state=all", &ret))
            return ret;
        lq.all_states = true;
    }
    rc = cat_lessons_list(r->srv->rd, &lq, &out);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return reply_json_obj(r, 200, out);
}

int str_api_lesson_get(str_req *r)
{
    int64_t id = r->id;
    const char *st;
    char lang[64];
    json_t *out = NULL;
    int rc;

    rc = cat_lessons_get(r->srv->rd, id,
                         qarg(r, "lang", lang, sizeof(lang)) ? lang : NULL,
                         &out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no lesson %" PRId64, id);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    /* Pending and failed lessons are for admins (as in the list). */
    st = json_string_value(json_object_get(out, "state"));
    if (st != NULL && strcmp(st, "ready") != 0 &&
        !(r->has_token && r->tok.role == CAT_ROLE_ADMIN)) {
        json_decref(out);
        return str_reply_error(r, 404, "not_found",
                               "lesson %" PRId64 " is not published", id);
    }
    return reply_json_obj(r, 200, out);
}

/* ?state=all (admins only): 1 when set, 0 when not, -1 when it answered. */
static int state_all(str_req *r, int *ret)
{
    char state[16];

    if (!qarg(r, "state", state, sizeof(state)))
        return 0;
    if (strcmp(state, "all") != 0) {
        *ret = str_reply_error(r, 400, "invalid",
                               "state: only \"all\" is accepted");
        return -1;
    }
    if (need_admin(r, "state=all", ret))
        return -1;
    return 1;
}

int str_api_courses_list(str_req *r)
{
    cat_course_query cq;
    json_t *out = NULL;
    int rc, ret = 0, all;

    memset(&cq, 0, sizeof(cq));
    if (qint(r, "page", 1, CAT_LESSONS_PAGE_MAX, &cq.page, &ret) < 0 ||
        qint(r, "per_page", 1, 100, &cq.per_page, &ret) < 0)
        return ret;
    if ((all = state_all(r, &ret)) < 0)
        return ret;
    cq.all_states = all == 1;
    rc = cat_courses_list(r->srv->rd, &cq, &out);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return reply_json_obj(r, 200, out);
}

int str_api_course_get(str_req *r)
{
    cat_course_query cq;
    char lang[64];
    json_t *out = NULL;
    int rc;

    memset(&cq, 0, sizeof(cq));
    if (qarg(r, "lang", lang, sizeof(lang)))
        cq.lang = lang;
    /* Admins see pending and failed lessons in their place, as in
     * /lessons/{id}. */
    cq.all_states = r->has_token && r->tok.role == CAT_ROLE_ADMIN;
    rc = cat_courses_get(r->srv->rd, r->id, &cq, &out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "%s",
                               cat_db_errmsg(r->srv->rd));
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return reply_json_obj(r, 200, out);
}

int str_api_lesson_course_begin(str_req *r)
{
    int ret;

    if (need_admin(r, "changing a lesson's course", &ret))
        return ret;
    if (need_owner(r, r->id, "changing a lesson's course", &ret))
        return ret;
    if (cat_lessons_is_deleted(r->srv->rd, r->id) == 1)
        return str_reply_error(r, 404, "not_found", "no lesson %" PRId64,
                               r->id);
    if (cat_writer_queue_depth(r->srv->w) > WRITER_BUSY)
        return str_reply_error_hdrs(r, 503, "busy", "retry-after: 1\r\n",
                                    "the catalog writer is behind; retry");
    return str_body_begin(r, STR_BODY_JSON, r->srv->cfg.cat.max_body_bytes);
}

/* {"course": ID | "title" | null, "index": N}: the fields as the catalog
 * takes them (course as text; NULL for none). 1 when it answered. */
static int course_body(str_req *r, char *course, size_t len, bool *none,
                       int *index, int *ret)
{
    json_error_t jerr;
    json_t *body, *c, *ix, *v;
    const char *k;
    int rc = 1;

    body = json_loadb(r->body ? r->body : "", r->body_len,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        *ret = str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
        return 1;
    }
    if (!json_is_object(body)) {
        *ret = str_reply_error(r, 400, "invalid",
                               "body: want an object {\"course\": ..., "
                               "\"index\": ...}");
        goto out;
    }
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "course") != 0 && strcmp(k, "index") != 0) {
            *ret = str_reply_error(r, 400, "invalid",
                                   "%.64s: unknown field (expected course, "
                                   "index)",
                                   k);
            goto out;
        }
    }
    c = json_object_get(body, "course");
    ix = json_object_get(body, "index");
    *none = false;
    if (c == NULL) {
        *ret = str_reply_error(r, 400, "invalid",
                               "course: missing (a course id, a title, or "
                               "null for none)");
        goto out;
    } else if (json_is_null(c)) {
        *none = true;
    } else if (json_is_integer(c) && json_integer_value(c) > 0) {
        snprintf(course, len, "%" JSON_INTEGER_FORMAT, json_integer_value(c));
    } else if (json_is_string(c) && json_string_length(c) > 0 &&
               json_string_length(c) < len &&
               strlen(json_string_value(c)) == json_string_length(c)) {
        snprintf(course, len, "%s", json_string_value(c));
    } else {
        *ret = str_reply_error(r, 400, "invalid",
                               "course: want a course id (an integer > 0), "
                               "a title (a non-empty string) or null");
        goto out;
    }
    *index = 0;
    if (ix != NULL && !json_is_null(ix)) {
        if (!json_is_integer(ix) || json_integer_value(ix) < 1 ||
            json_integer_value(ix) > CAT_COURSE_INDEX_MAX) {
            *ret = str_reply_error(r, 400, "invalid",
                                   "index: want an integer in 1..%d",
                                   CAT_COURSE_INDEX_MAX);
            goto out;
        }
        if (*none) {
            *ret = str_reply_error(r, 400, "invalid",
                                   "index: given with \"course\": null");
            goto out;
        }
        *index = (int)json_integer_value(ix);
    }
    rc = 0;
out:
    json_decref(body);
    return rc;
}

int str_api_lesson_course_done(str_req *r)
{
    char course[1024];
    bool none = false;
    int index = 0, rc, ret = 0;
    defer_ctx *c;

    if (course_body(r, course, sizeof(course), &none, &index, &ret))
        return ret;
    c = defer_new(r, DEF_COURSE);
    if (c == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    c->arg = r->id;
    defer_wait(r);
    rc = cat_courses_set_submit(r->srv->w, r->id, none ? NULL : course, index,
                                r->tok.scope, defer_done, c);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

int str_api_lesson_delete(str_req *r)
{
    int64_t id = r->id;
    defer_ctx *c;
    json_t *out = NULL;
    int rc, ret;

    if (need_admin(r, "deleting a lesson", &ret))
        return ret;
    rc = cat_lessons_get(r->srv->rd, id, NULL, &out);
    json_decref(out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no lesson %" PRId64, id);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (need_owner(r, id, "deleting a lesson", &ret))
        return ret;
    c = defer_new(r, DEF_DELETE);
    if (c == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    c->arg = id;
    defer_wait(r);
    rc = cat_lessons_delete_submit(r->srv->w, id, defer_done, c);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

int str_api_job_get(str_req *r)
{
    int64_t id = r->id;
    json_t *out = NULL;
    const char *err;
    int rc, ret;

    if (need_admin(r, "reading a job", &ret))
        return ret;
    rc = cat_jobs_get(r->srv->rd, id, &out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no job %" PRId64, id);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    /* A job is its lesson's: read within the lesson's region. */
    if (need_owner(r, json_integer_value(json_object_get(out, "lesson")),
                   "reading a job", &ret)) {
        json_decref(out);
        return ret;
    }
    /* Errors recorded before the runner named files relative to the data
     * directory may still hold server paths. */
    err = json_string_value(json_object_get(out, "error"));
    if (err != NULL) {
        char rel[1024];

        str_jobs_relpaths(r->srv->cfg.cat.data_dir, err, rel, sizeof(rel));
        json_object_set_new(out, "error", json_string(rel));
    }
    return reply_json_obj(r, 200, out);
}

/* POST /api/v1/lessons/{id} (JSON): edit titles and category (the
 * console), by an admin of the lesson's region. */
int str_api_lesson_edit_begin(str_req *r)
{
    int ret;

    if (need_admin(r, "editing a lesson", &ret) ||
        need_owner(r, r->id, "editing a lesson", &ret))
        return ret;
    return str_body_begin(r, STR_BODY_JSON, 64 * 1024);
}

int str_api_lesson_edit_done(str_req *r)
{
    json_error_t jerr;
    defer_ctx *c;
    json_t *in;
    int rc;

    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    c = defer_new(r, DEF_EDIT);
    if (c == NULL) {
        json_decref(in);
        return str_reply_error(r, 500, "internal", "out of memory");
    }
    c->arg = r->id;
    defer_wait(r);
    rc = cat_lessons_edit_submit(r->srv->w, r->id, in, defer_done, c);
    json_decref(in);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

/* POST /api/v1/jobs/{id}/retry: a failed job once more, from the sources
 * kept after its failure (keep_failed_sources). */
int str_api_job_retry(str_req *r)
{
    int64_t id = r->id;
    json_t *out = NULL;
    char src[PATH_MAX];
    struct stat stt;
    defer_ctx *c;
    int rc, ret;

    if (need_admin(r, "retrying a job", &ret))
        return ret;
    rc = cat_jobs_get(r->srv->rd, id, &out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no job %" PRId64, id);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    rc = need_owner(r, json_integer_value(json_object_get(out, "lesson")),
                    "retrying a job", &ret);
    json_decref(out);
    if (rc)
        return ret;
    rc = str_pathf(src, sizeof(src), "%s/uploads/%" PRId64,
                   r->srv->cfg.cat.data_dir, id);
    if (rc == 0 && stat(src, &stt) != 0)
        return str_reply_error(r, 409, "conflict",
                               "job %" PRId64 ": its uploaded files were "
                               "removed (kept %d s after a failure); upload "
                               "the lesson again",
                               id, r->srv->cfg.cat.keep_failed_sources_s);
    c = defer_new(r, DEF_RETRY);
    if (c == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    c->arg = id;
    defer_wait(r);
    rc = cat_jobs_retry_submit(r->srv->w, id, defer_done, c);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

/* The {code} of a /api/v1/sites/{code}/... row into buf; 0 or answered. */
static int path_code(str_req *r, char *buf, size_t len, int *ret)
{
    size_t n = r->arg != NULL ? strcspn(r->arg, "/") : 0;

    if (n == 0 || n >= len) {
        *ret = str_reply_error(r, 400, "invalid", "no site code in the path");
        return 1;
    }
    memcpy(buf, r->arg, n); /* the {code} segment of r->path */
    buf[n] = '\0';
    if (cat_code_level(buf) < 0) {
        *ret = str_reply_error(r, 400, "invalid",
                               "\"%s\" is not a division code", buf);
        return 1;
    }
    return 0;
}

/* POST /api/v1/sites/{code}/tokens?level=village&rotate=1: a site token
 * for every station of level under a county or smaller region that has
 * none (rotate: new ones for all, the old revoked) — the console's
 * provisioning page. Larger regions: `yunling token create --each-site`. */
int str_api_site_tokens(str_req *r)
{
    static const char *const names[] = {"township", "village"};
    char code[CAT_CODE_MAX], lv[16], rot[8];
    int level = CAT_LEVEL_VILLAGE, rc, ret;
    bool rotate = false;
    defer_ctx *c;

    if (need_admin(r, "provisioning stations", &ret) ||
        path_code(r, code, sizeof(code), &ret) || need_within(r, code, &ret))
        return ret;
    if (cat_code_level(code) < CAT_LEVEL_COUNTY)
        return str_reply_error(r, 400, "invalid",
                               "%s: provision a county or a township at a "
                               "time here (yunling token create --each-site "
                               "for larger regions)",
                               code);
    if (str_req_query(r, "level", lv, sizeof(lv)) > 0) {
        level = 0;
        for (int i = 0; i < 2; i++)
            if (strcmp(lv, names[i]) == 0)
                level = CAT_LEVEL_TOWNSHIP + i;
        if (level == 0)
            return str_reply_error(r, 400, "invalid",
                                   "level: want township or village");
    }
    rotate = str_req_query(r, "rotate", rot, sizeof(rot)) > 0 &&
             strcmp(rot, "1") == 0;
    c = defer_new(r, DEF_PROVISION);
    if (c == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    snprintf(c->code, sizeof(c->code), "%s", code);
    defer_wait(r);
    rc = cat_tokens_each_site_submit(r->srv->w, code, level, 0, rotate,
                                     defer_done, c);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

/* DELETE /api/v1/sites/{code}/tokens: revokes the station's site tokens
 * (a stolen or retired TV). */
int str_api_site_tokens_revoke(str_req *r)
{
    char code[CAT_CODE_MAX];
    defer_ctx *c;
    int rc, ret;

    if (need_admin(r, "revoking a station's token", &ret) ||
        path_code(r, code, sizeof(code), &ret) || need_within(r, code, &ret))
        return ret;
    c = defer_new(r, DEF_REVOKE);
    if (c == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    snprintf(c->code, sizeof(c->code), "%s", code);
    defer_wait(r);
    rc = cat_tokens_revoke_site_submit(r->srv->w, code, defer_done, c);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

/* ?state=1 on the site endpoints: who may read stations' state (an admin
 * or viewer token within code). 1 when it answered. */
static int need_state_reader(str_req *r, const char *code, int *ret)
{
    if (!r->has_token) {
        *ret = str_reply_error(r, 401, "unauthorized",
                               "state=1: stations' state needs an admin or "
                               "viewer token (Authorization: Bearer ...)");
        return 1;
    }
    if (r->tok.role == CAT_ROLE_SITE) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "state=1: stations' state needs an admin or "
                               "viewer token; this is a site token");
        return 1;
    }
    return need_within(r, code, ret);
}

/* Adds what the console's station browser shows: "online" (distinct
 * stations connected at or below it now) and, for a station (township or
 * village), "last_seen_ms" on the channel (0: never): one row by code. */
static int add_state(str_req *r, json_t *it)
{
    const char *code = json_string_value(json_object_get(it, "code"));
    const char *lv = json_string_value(json_object_get(it, "level"));
    int64_t ms = 0;
    int rc;

    if (code == NULL || lv == NULL)
        return 0;
    json_object_set_new(it, "online",
                        json_integer(str_ws_online(r->srv, code)));
    if (strcmp(lv, "township") != 0 && strcmp(lv, "village") != 0)
        return 0;
    rc = cat_sites_last_seen(r->srv->rd, code, &ms);
    if (rc < 0)
        return rc;
    json_object_set_new(it, "last_seen_ms", json_integer(ms));
    return 0;
}

/* Whether ?state=1 was asked (other values: 400). 1 yes, 0 no, -1
 * answered. */
static int want_state(str_req *r, int *ret)
{
    char v[8];

    if (!qarg(r, "state", v, sizeof(v)))
        return 0;
    if (strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "0") == 0)
        return 0;
    *ret = str_reply_error(r, 400, "invalid", "state: want 1 or 0");
    return -1;
}

int str_api_sites_list(str_req *r)
{
    char parent[32], root[CAT_CODE_MAX];
    json_t *out = NULL, *it;
    int page, per_page, rc, ret = 0, state;
    bool has_parent;
    size_t i;

    if (qint(r, "page", 1, 1000000, &page, &ret) < 0 ||
        qint(r, "per_page", 1, 1000, &per_page, &ret) < 0)
        return ret;
    has_parent = qarg(r, "parent", parent, sizeof(parent));
    if (has_parent && cat_code_level(parent) < 0)
        return str_reply_error(r, 400, "invalid",
                               "parent: \"%s\" is not a division code (2, "
                               "4, 6, 9 or 12 digits)",
                               parent);
    state = want_state(r, &ret);
    if (state < 0)
        return ret;
    if (state) {
        /* The provinces' list is the root's state: read within it. */
        if (!has_parent && cat_sites_root(r->srv->rd, root) < 0)
            return str_reply_error(r, 400, "invalid",
                                   "state=1: name the parent region");
        if (need_state_reader(r, has_parent ? parent : root, &ret))
            return ret;
    }
    rc = cat_sites_list(r->srv->rd, has_parent ? parent : NULL, page, per_page,
                        &out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "unknown site %s", parent);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (state)
        json_array_foreach(json_object_get(out, "items"), i, it)
        {
            rc = add_state(r, it);
            if (rc < 0) {
                json_decref(out);
                return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
            }
        }
    return reply_json_obj(r, 200, out);
}

int str_api_site_get(str_req *r)
{
    const char *code = r->arg;
    json_t *out = NULL;
    int rc, ret = 0, state;

    if (cat_code_level(code) < 0)
        return str_reply_error(r, 400, "invalid",
                               "\"%s\" is not a division code (2, 4, 6, 9 "
                               "or 12 digits)",
                               code);
    state = want_state(r, &ret);
    if (state < 0 || (state && need_state_reader(r, code, &ret)))
        return ret;
    rc = cat_sites_get(r->srv->rd, code, &out);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "unknown site %s", code);
    if (rc < 0)
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (state && (rc = add_state(r, out)) < 0) {
        json_decref(out);
        return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    }
    return reply_json_obj(r, 200, out);
}

/* POST /api/v1/sites/{code}/lang {"lang":"bo"} (or null to inherit): a
 * region's or a station's default language, by an admin within code. */
int str_api_site_lang_begin(str_req *r)
{
    char code[CAT_CODE_MAX];
    int ret;

    if (need_admin(r, "setting a default language", &ret) ||
        path_code(r, code, sizeof(code), &ret) || need_within(r, code, &ret))
        return ret;
    return str_body_begin(r, STR_BODY_JSON, 4096);
}

int str_api_site_lang_done(str_req *r)
{
    char code[CAT_CODE_MAX];
    json_error_t jerr;
    const json_t *v;
    const char *lang = NULL;
    defer_ctx *c;
    json_t *in;
    int rc, ret;

    if (path_code(r, code, sizeof(code), &ret))
        return ret;
    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    v = json_is_object(in) ? json_object_get(in, "lang") : NULL;
    if (v == NULL || !(json_is_string(v) || json_is_null(v))) {
        json_decref(in);
        return str_reply_error(r, 400, "invalid",
                               "lang: want a language tag such as \"bo\", "
                               "or null to inherit the parent's");
    }
    lang = json_string_value(v);
    if (lang != NULL && json_string_length(v) >= 64) {
        json_decref(in);
        return str_reply_error(r, 400, "invalid",
                               "lang: want a BCP-47 language tag such as "
                               "\"bo\" (at most 63 characters)");
    }
    c = defer_new(r, DEF_LANG);
    if (c == NULL) {
        json_decref(in);
        return str_reply_error(r, 500, "internal", "out of memory");
    }
    snprintf(c->code, sizeof(c->code), "%s", code);
    defer_wait(r);
    rc = cat_sites_set_lang_submit(r->srv->w, code, lang, defer_done, c);
    json_decref(in);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
        return reply_cat_error(r, rc, "the catalog writer is stopping");
    }
    return 0;
}

/* The region a stats request is about: ?region=, else the token's scope.
 * 1 when it answered. */
static int stats_region(str_req *r, char *region, size_t len, int *ret)
{
    if (!r->has_token) {
        *ret = str_reply_error(r, 401, "unauthorized",
                               "statistics need a token (Authorization: "
                               "Bearer ...)");
        return 1;
    }
    if (!qarg(r, "region", region, (int)len))
        snprintf(region, len, "%s", r->tok.scope);
    else if (cat_code_level(region) < 0) {
        *ret = str_reply_error(r, 400, "invalid",
                               "region: \"%s\" is not a division code", region);
        return 1;
    }
    if (r->tok.role == CAT_ROLE_SITE) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "a site token reads only "
                               "/api/v1/stats/sites/%s",
                               r->tok.scope);
        return 1;
    }
    return need_within(r, region, ret); /* admin or viewer, in scope */
}

int str_api_stats_now(str_req *r)
{
    char region[32];
    json_t *out = NULL;
    int rc, ret;

    if (stats_region(r, region, sizeof(region), &ret))
        return ret;
    rc = cat_stats_now(r->srv->w, region, cat_now_ms(), &out);
    if (rc == YL_ENOTFOUND && region[0] != '\0' &&
        lws_now_usecs() - r->srv->tree_checked_us > 2 * LWS_US_PER_SEC) {
        /* Sites imported while the server runs: the in-memory tree is
         * reloaded on demand (at most every 2 s, so unknown codes cannot
         * make the loop reload it in a tight loop). */
        r->srv->tree_checked_us = lws_now_usecs();
        if (cat_stats_now_refresh(r->srv->w, r->srv->rd, region) == 1)
            rc = cat_stats_now(r->srv->w, region, cat_now_ms(), &out);
    }
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "unknown region %s",
                               region);
    if (rc < 0)
        return reply_cat_error(r, rc, NULL);
    return reply_json_obj(r, 200, out);
}

int str_api_stats_ranking(str_req *r)
{
    char region[32], from[32], to[32];
    int ret;

    if (stats_region(r, region, sizeof(region), &ret))
        return ret;
    if (str_query_submit(r, STR_Q_RANKING, region,
                         qarg(r, "from", from, sizeof(from)) ? from : NULL,
                         qarg(r, "to", to, sizeof(to)) ? to : NULL) < 0)
        return str_reply_error(r, 500, "internal", "out of memory");
    return 0; /* answered from WRITEABLE when the pool is done */
}

int str_api_stats_site(str_req *r)
{
    const char *code = r->arg;
    char from[32], to[32];
    int ret;

    if (cat_code_level(code) < 0)
        return str_reply_error(r, 400, "invalid",
                               "\"%s\" is not a division code", code);
    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "statistics need a token (Authorization: "
                               "Bearer ...)");
    if (r->tok.role == CAT_ROLE_SITE) {
        if (strcmp(code, r->tok.scope) != 0)
            return str_reply_error(r, 403, "forbidden",
                                   "the site token of %s cannot read %s",
                                   r->tok.scope, code);
    } else if (need_within(r, code, &ret)) {
        return ret;
    }
    if (str_query_submit(r, STR_Q_SITE, code,
                         qarg(r, "from", from, sizeof(from)) ? from : NULL,
                         qarg(r, "to", to, sizeof(to)) ? to : NULL) < 0)
        return str_reply_error(r, 500, "internal", "out of memory");
    return 0;
}

#define BEACON_MAX 65536 /* bytes a browser lets beacons have in flight */

/* A request as navigator.sendBeacon sends a string: text/plain. */
static bool beacon_body(str_req *r)
{
    char ct[64];

    if (str_req_hdr(r, "content-type", ct, sizeof(ct)) <= 0)
        return false;
    return strncasecmp(ct, "text/plain", 10) == 0 &&
           (ct[10] == '\0' || ct[10] == ';' || ct[10] == ' ');
}

int str_api_views_done(str_req *r)
{
    /* Parsing and checking a batch (JSON, shapes, scope) is most of the
     * loop's work per event: it runs on the ingest thread, which hands the
     * batch to the writer itself. The answer comes back as usual. */
    if (str_query_submit_views(r) < 0)
        return str_reply_error(r, 500, "internal", "out of memory");
    return 0;
}

/* Any thread (the ingest thread): hands a parsed batch to the writer; the
 * request serial is answered when it commits. Takes ownership of b. */
int str_api_submit_views(str_server *srv, uint64_t serial, cat_view_batch *b)
{
    defer_ctx *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL) {
        cat_view_batch_free(b);
        return -ENOMEM;
    }
    c->srv = srv;
    c->serial = serial;
    c->kind = DEF_VIEWS;
    rc = cat_views_submit(srv->w, b, defer_done, c); /* takes b */
    if (rc < 0)
        defer_ctx_free(c);
    return rc;
}

/* ---- entry points from the route table (str_server.c) ---- */

int str_api_prepare(str_req *r, int *ret)
{
    *ret = 0;
    if (!r->srv->catalog_ok) {
        *ret = str_reply_error(r, 503, "unavailable",
                               "the catalog is not available");
        return 1;
    }
    if (query_check(r, ret))
        return 1;
    if (authenticate(r, ret)) {
        /* A station whose token is wrong or expired keeps its events
         * queued and resends them; /metrics shows the refusals. */
        if (r->route == STR_R_VIEWS)
            r->srv->m.events_rejected++;
        return 1;
    }
    if (r->via_session && str_session_csrf(r, ret))
        return 1;
    return 0;
}

/* GET /api/v1/whoami: which role, scope and site a token is for, so a
 * device refuses a wrong token at setup instead of losing its events. */
int str_api_whoami(str_req *r)
{
    json_t *out, *site = NULL;
    int rc;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "whoami needs a token (Authorization: "
                               "Bearer ...)");
    if (r->tok.role == CAT_ROLE_SITE) {
        json_t *s = NULL;

        rc = cat_sites_get(r->srv->rd, r->tok.scope, &s);
        if (rc < 0 && rc != YL_ENOTFOUND)
            return reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
        site = json_pack("{s:s, s:O}", "code", r->tok.scope, "name",
                         s != NULL && json_is_string(json_object_get(s, "name"))
                             ? json_object_get(s, "name")
                             : json_null());
        json_decref(s);
    }
    out = json_pack("{s:s, s:s, s:o}", "role", cat_role_name(r->tok.role),
                    "scope", r->tok.scope, "site",
                    site != NULL ? site : json_null());
    if (out == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    return reply_json_obj(r, 200, out);
}

int str_api_not_found(str_req *r)
{
    return str_reply_error(r, 404, "not_found", "no such endpoint: %s",
                           r->path);
}

int str_api_lesson_upload(str_req *r)
{
    int ret;

    if (need_admin(r, "uploading a lesson", &ret))
        return ret;
    return str_upload_begin(r);
}

int str_api_views_begin(str_req *r)
{
    str_server *srv = r->srv;

    /* Without an Authorization header the token may come in the body
     * ({"token": ..., "events": [...]}): navigator.sendBeacon, which a
     * player uses for its last events as the page closes, cannot set
     * headers. The ingest thread checks it (str_query.c). Only in the
     * text/plain body a beacon sends, and at most a beacon's 64 KB, so
     * anonymous requests cost no more than before. */
    if (r->has_token && r->tok.role == CAT_ROLE_VIEWER) {
        srv->m.events_rejected++;
        return str_reply_error(r, 403, "forbidden",
                               "a viewer token reads statistics; it cannot "
                               "send viewing events");
    }
    if (!r->has_token && !beacon_body(r)) {
        srv->m.events_rejected++;
        return str_reply_error(r, 401, "unauthorized",
                               "viewing events need a site or admin "
                               "token (Authorization: Bearer ..., or "
                               "\"token\" in a text/plain body as "
                               "navigator.sendBeacon sends it)");
    }
    if (cat_writer_queue_depth(srv->w) > WRITER_BUSY)
        return str_reply_error_hdrs(r, 503, "busy", "retry-after: 1\r\n",
                                    "the catalog writer is behind; retry");
    return str_body_begin(r, STR_BODY_JSON,
                          r->has_token ||
                                  srv->cfg.cat.max_body_bytes < BEACON_MAX
                              ? srv->cfg.cat.max_body_bytes
                              : BEACON_MAX);
}

int str_api_writeable(str_req *r)
{
    char *body;
    int ret;

    if (r->pend_status == 0)
        return 0;
    body = r->pend_body;
    r->pend_body = NULL;
    if (body == NULL) /* the answer could not be made (out of memory) */
        return str_reply_error(r, 500, "internal", "out of memory");
    if (r->pend_extra != NULL)
        ret = str_reply(r, r->pend_status, "application/json", body,
                        r->pend_len, r->pend_extra);
    else
        ret = str_reply_json(r, r->pend_status, body, r->pend_len);
    free(body);
    return ret;
}

void str_api_req_cleanup(str_req *r)
{
    free(r->pend_body);
    r->pend_body = NULL;
    free(r->pend_extra);
    r->pend_extra = NULL;
    str_upload_free(r);
}

/* ---- uploads → lessons (called by str_upload.c) ---- */

int str_api_create_lesson(str_req *r, const cat_lesson_new *ln,
                          const char *staged)
{
    defer_ctx *c = defer_new(r, DEF_CREATE);
    int rc;

    if (c == NULL)
        return -ENOMEM;
    c->staged = strdup(staged);
    defer_wait(r);
    rc = cat_lessons_create_submit(r->srv->w, ln, defer_done, c);
    if (rc < 0) {
        str_waiting_remove(r->srv, r);
        defer_ctx_free(c);
    }
    return rc;
}

/* ---- /metrics gauges from the catalog and the job runner ---- */

void str_metrics_extra(str_server *srv, void (*emit)(void *, const char *),
                       void *ud)
{
    cat_metrics m;
    char line[1024];
    int i;

    if (!srv->catalog_ok)
        return;
    memset(&m, 0, sizeof(m));
    if (cat_metrics_get(srv->w, srv->rd, cat_now_ms(), &m) < 0)
        return;
    emit(ud, "# HELP yunling_jobs Transcode jobs by state.\n"
             "# TYPE yunling_jobs gauge\n");
    for (i = 0; i < CAT_JOB_NSTATES; i++) {
        snprintf(line, sizeof(line), "yunling_jobs{state=\"%s\"} %" PRId64 "\n",
                 cat_job_state_name(i), m.jobs[i]);
        emit(ud, line);
    }
    snprintf(line, sizeof(line),
             "# HELP yunling_active_sessions Viewing sessions active now.\n"
             "# TYPE yunling_active_sessions gauge\n"
             "yunling_active_sessions %" PRId64 "\n"
             "# HELP yunling_active_sites Sites with an active session.\n"
             "# TYPE yunling_active_sites gauge\n"
             "yunling_active_sites %" PRId64 "\n",
             m.active_sessions, m.active_sites);
    emit(ud, line);
    snprintf(line, sizeof(line),
             "# HELP yunling_events_ingested_total Viewing events stored "
             "(catalog writer).\n"
             "# TYPE yunling_events_ingested_total counter\n"
             "yunling_events_ingested_total %" PRIu64 "\n"
             "# HELP yunling_view_credit_capped_total Viewing sessions whose "
             "watch credit was cut by the real-time caps.\n"
             "# TYPE yunling_view_credit_capped_total counter\n"
             "yunling_view_credit_capped_total %" PRIu64 "\n"
             "# HELP yunling_writer_transactions_total Writer commits.\n"
             "# TYPE yunling_writer_transactions_total counter\n"
             "yunling_writer_transactions_total %" PRIu64 "\n"
             "# HELP yunling_writer_queue Write requests waiting.\n"
             "# TYPE yunling_writer_queue gauge\n"
             "yunling_writer_queue %" PRId64 "\n"
             "# HELP yunling_lessons_ready Published lessons.\n"
             "# TYPE yunling_lessons_ready gauge\n"
             "yunling_lessons_ready %" PRId64 "\n",
             m.events_accepted, m.credit_capped, m.write_transactions,
             m.writer_queue, m.lessons_ready);
    emit(ud, line);
}

/* ---- lifecycle ---- */

/* Service thread: the writer found the database file gone. The API
 * answers 503 from now on, /healthz fails while the server drains, and
 * str_server_run()'s caller exits non-zero (cfg.fault). */
static void db_lost_run(str_server *srv, str_msg *m)
{
    (void)m;
    YL_LOGE("str",
            "the database file %s was removed or replaced while the server "
            "ran: stopping (restore it from a backup, then start again)",
            srv->cfg.cat.db_path);
    srv->catalog_ok = false;
    if (srv->cfg.fault != NULL)
        *srv->cfg.fault = YL_EDBLOST;
    /* The loop begins draining after this drain of the outbox. */
    atomic_store(&srv->stop, true);
}

static void db_lost_free(str_msg *m)
{
    free(m);
}

/* Writer thread (cat_writer_on_lost): hand it to the loop. */
static void on_db_lost(void *ud)
{
    str_server *srv = ud;
    str_msg *m = calloc(1, sizeof(*m));

    if (m == NULL) {
        /* Cannot tell the loop; writes are refused all the same. */
        atomic_store(&srv->stop, true);
        return;
    }
    m->run = db_lost_run;
    m->free_fn = db_lost_free;
    str_outbox_post(srv, m);
}

int str_api_open(str_server *srv)
{
    int rc;

    srv->tokcache = calloc(1, sizeof(*srv->tokcache));
    if (srv->tokcache == NULL)
        return -ENOMEM;
    rc = str_session_open(srv);
    if (rc < 0)
        return rc;
    rc = cat_writer_start(&srv->cfg.cat, &srv->w);
    if (rc < 0) {
        char buf[128];

        YL_LOGE("str", "catalog %s: cannot start the writer: %s",
                srv->cfg.cat.db_path, yl_strerror(rc, buf, sizeof(buf)));
        return rc;
    }
    cat_writer_on_lost(srv->w, on_db_lost, srv);
    rc = cat_reader_open(srv->cfg.cat.db_path, &srv->rd);
    if (rc < 0) {
        char buf[128];

        YL_LOGE("str", "catalog %s: cannot open a reader: %s",
                srv->cfg.cat.db_path, yl_strerror(rc, buf, sizeof(buf)));
        return rc;
    }
    srv->catalog_ok = true;
    return 0;
}

int str_api_start(str_server *srv)
{
    int rc;

    if (!srv->catalog_ok)
        return 0;
    rc = str_query_start(srv, "yl-query", STR_QUERY_THREADS, &srv->qpool);
    if (rc == 0)
        rc = str_query_start(srv, "yl-ingest", 1, &srv->vpool);
    if (rc < 0)
        return rc;
    return str_jobs_start(srv, &srv->jobs);
}

void str_api_stopping(str_server *srv)
{
    if (srv->jobs != NULL)
        str_jobs_stop(srv->jobs);
}

bool str_api_idle(str_server *srv)
{
    return srv->jobs == NULL || str_jobs_stopped(srv->jobs);
}

void str_api_close(str_server *srv)
{
    if (srv->jobs != NULL) {
        str_jobs_stop(srv->jobs);
        str_jobs_free(srv->jobs);
        srv->jobs = NULL;
    }
    str_query_stop(srv->qpool);
    srv->qpool = NULL;
    /* After the ingest thread: it submits to the writer. */
    str_query_stop(srv->vpool);
    srv->vpool = NULL;
    /* Commits everything queued; callbacks post to the outbox, which the
     * caller drains (without lws) afterwards. */
    cat_writer_stop(srv->w);
    srv->w = NULL;
    cat_db_close(srv->rd);
    srv->rd = NULL;
    free(srv->tokcache);
    srv->tokcache = NULL;
    str_session_close(srv);
    srv->catalog_ok = false;
}

/* ---- for the other handler files (str_notices.c, str_ws.c) ---- */

int str_api_token(str_server *srv, const char *tok, cat_token_info *info)
{
    if (tok == NULL || strlen(tok) != CAT_TOKEN_LEN) {
        memset(info, 0, sizeof(*info));
        return YL_ENOTFOUND;
    }
    return token_verify(srv, tok, cat_now_ms(), info);
}

int str_api_need_admin(str_req *r, const char *what, int *ret)
{
    return need_admin(r, what, ret);
}

int str_api_need_within(str_req *r, const char *code, int *ret)
{
    return need_within(r, code, ret);
}

int str_api_reply_cat_error(str_req *r, int rc, const char *msg)
{
    return reply_cat_error(r, rc, msg);
}

int str_api_reply_json(str_req *r, int status, json_t *obj)
{
    return reply_json_obj(r, status, obj);
}

int str_api_qint(str_req *r, const char *name, int lo, int hi, int *out,
                 int *ret)
{
    return qint(r, name, lo, hi, out, ret);
}
