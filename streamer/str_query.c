/* str_query.c - work that would stall the event loop, on small pools of
 * threads with their own catalog reader connections (STYLE.md §5):
 * - slow reads: a ranking over 90 days or a site's history can take
 *   milliseconds to tens of them, during which no HLS response would move;
 * - viewing batches: parsing and checking the JSON is most of the loop's
 *   cost per event; the ingest thread does it and submits the batch to the
 *   writer itself.
 * Answers come back through the outbox and leave from WRITEABLE, like the
 * writer's results.
 *
 * Threads: str_query_submit*() on the service thread; run_query() on a pool
 * thread; reply() on the service thread again. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/cat_stats.h"
#include "catalog/cat_tokens.h"
#include "catalog/cat_users.h"
#include "catalog/cat_views.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "streamer/str_api.h"
#include "streamer/str_ws.h"

typedef struct str_query {
    str_msg base; /* first: the query travels back as the message */
    struct str_query *qnext;
    uint64_t serial;
    int kind;
    char code[CAT_CODE_MAX];
    char from[16], to[16];
    bool has_from, has_to;
    int64_t now_ms;
    /* views: the request body (owned) and who sent it */
    char *in;
    size_t in_len;
    cat_token_info tok;
    bool body_token; /* no Authorization header: "token" in the body */
    int max_events;
    /* sign-in: who, from where; the password (owned, wiped); the session */
    char *pw;
    char name[CAT_USER_NAME_MAX + 1];
    char addr[64];
    int ttl_s;
    json_t *res;
    /* result (pool thread) */
    int rc;
    int status;        /* an error with its own status and code, or 0 */
    const char *ecode; /* error code, a static string */
    char *body;        /* JSON, malloc'd */
    char err[512];
} str_query;

typedef struct str_qpool {
    char db_path[PATH_MAX];
    char name[16];
    pthread_t th[8];
    int nth;
    cat_writer *w;        /* thread-safe */
    pthread_mutex_t lock; /* guards head, tail, stop */
    pthread_cond_t cond;
    str_query *head, *tail;
    bool stop;
    bool queued;     /* service thread only: enqueued since the last kick */
    str_server *srv; /* only for str_outbox_post (thread-safe) */
} str_qpool;

static void query_free(str_msg *m)
{
    str_query *q = (str_query *)m;

    free(q->body);
    free(q->in);
    if (q->pw != NULL) {
        explicit_bzero(q->pw, strlen(q->pw));
        free(q->pw);
    }
    json_decref(q->res);
    free(q);
}

/* The answer of a failed query: {"error": {"code", "message"}}. */
static void reply_error(str_req *r, str_query *q)
{
    json_t *o;
    char *body = NULL;

    if (q->status == 0) {
        str_api_defer_error(r, q->rc, q->err);
        return;
    }
    o = json_pack("{s:{s:s,s:s}}", "error", "code", q->ecode, "message",
                  q->err);
    if (o != NULL)
        body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body == NULL) {
        str_api_defer_error(r, -ENOMEM, "out of memory");
        return;
    }
    str_api_defer_reply(r, q->status, body, strlen(body));
}

/* The error code of a failed batch without its own status. */
static const char *ws_code(int rc)
{
    switch (rc) {
    case YL_EINVAL:
    case YL_EBADTIME:
    case YL_EBADUTF8:
        return "invalid";
    case YL_EFORBIDDEN:
        return "forbidden";
    case YL_ENOTFOUND:
        return "not_found";
    default:
        return "internal";
    }
}

/* Service thread: the answer is back. */
static void reply(str_server *srv, str_msg *m)
{
    str_query *q = (str_query *)m;
    str_req *r;

    if (q->kind == STR_Q_VIEWS) {
        if (q->rc == 0)
            return; /* with the writer now; its result answers */
        srv->m.events_rejected++;
    }
    if (q->kind == STR_Q_SIGNIN) {
        str_session_signin_done(srv, q->serial, q->rc, q->res, q->err, q->name,
                                q->addr);
        return;
    }
    r = str_waiting_find(srv, q->serial);
    if (r == NULL) {
        /* A batch from the websocket channel, or the client left. */
        if (q->kind == STR_Q_VIEWS)
            str_ws_views_answer(srv, q->serial, q->rc < 0 ? q->rc : YL_EINVAL,
                                q->status ? q->ecode : ws_code(q->rc), q->err,
                                0, 0);
        return;
    }
    if (q->rc < 0) {
        reply_error(r, q);
        return;
    }
    str_api_defer_reply(r, 200, q->body, strlen(q->body));
    q->body = NULL; /* now the request's */
}

static void fail(str_query *q, int rc, int status, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(str_query *q, int rc, int status, const char *code,
                 const char *fmt, ...)
{
    va_list ap;

    q->rc = rc;
    q->status = status;
    q->ecode = code;
    va_start(ap, fmt);
    vsnprintf(q->err, sizeof(q->err), fmt, ap);
    va_end(ap);
}

/* Admin tokens, a province's too: every event's site must lie inside the
 * token's region (site tokens are checked by cat_views_parse). A catalog
 * may hold several provinces, so a province token is no exception. The
 * check walks the site's ancestors (a few indexed reads); consecutive
 * events of one site, the usual batch, are checked once. */
static int views_admin_scope(cat_db *rd, str_query *q, const json_t *body)
{
    const json_t *evs = json_object_get(body, "events"), *ev;
    const char *prev = NULL;
    size_t i;

    if (!json_is_array(evs))
        return 0;
    json_array_foreach(evs, i, ev)
    {
        const char *site = json_string_value(json_object_get(ev, "site"));

        if (site == NULL || (prev != NULL && strcmp(prev, site) == 0))
            continue; /* shape errors are cat_views_parse's to report */
        if (cat_tokens_allows(rd, &q->tok, site) == 0) {
            fail(q, YL_EFORBIDDEN, 403, "forbidden",
                 "events[%zu].site: %s is outside this token's region %s", i,
                 site, q->tok.scope);
            return -1;
        }
        prev = site;
    }
    return 0;
}

/* A batch sent without an Authorization header (navigator.sendBeacon
 * cannot set one) carries its token as "token" in the body; it is checked
 * here like the header's: unknown, revoked or expired → 401. */
static int body_token(cat_db *rd, str_query *q, const json_t *body)
{
    const char *tok = json_string_value(json_object_get(body, "token"));
    const char *code;
    char msg[128];
    int rc, st;

    if (tok == NULL) {
        fail(q, YL_EINVAL, 401, "unauthorized",
             "viewing events need a site or admin token (Authorization: "
             "Bearer ..., or \"token\" in the body)");
        return -1;
    }
    memset(&q->tok, 0, sizeof(q->tok));
    rc = strlen(tok) == CAT_TOKEN_LEN
             ? cat_tokens_verify(rd, tok, q->now_ms, &q->tok)
             : YL_ENOTFOUND;
    st = str_token_judge(rc, &q->tok, &code, msg, sizeof(msg));
    if (st < 0)
        fail(q, rc, 500, "internal", "%s", cat_db_errmsg(rd));
    else if (st > 0)
        fail(q, YL_EINVAL, st, code, "%s", msg);
    return st == 0 ? 0 : -1;
}

/* Ingest thread: JSON → checked batch → the writer. */
static void run_views(cat_db *rd, str_qpool *p, str_query *q)
{
    cat_view_batch *batch = NULL;
    json_error_t jerr;
    json_t *body;
    int rc;

    body = json_loadb(q->in, q->in_len, JSON_REJECT_DUPLICATES, &jerr);
    free(q->in);
    q->in = NULL;
    if (body == NULL) {
        fail(q, YL_EINVAL, 400, "malformed_json",
             "body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
             jerr.column);
        return;
    }
    if (q->body_token && body_token(rd, q, body) < 0) {
        json_decref(body);
        return;
    }
    if (q->tok.role == CAT_ROLE_VIEWER) {
        fail(q, YL_EFORBIDDEN, 403, "forbidden",
             "a viewer token reads statistics; it cannot send viewing "
             "events");
        json_decref(body);
        return;
    }
    if (q->tok.role == CAT_ROLE_ADMIN && views_admin_scope(rd, q, body) < 0) {
        json_decref(body);
        return;
    }
    rc = cat_views_parse(
        body, q->tok.role == CAT_ROLE_SITE ? q->tok.scope : NULL, q->max_events,
        q->now_ms, &batch, q->err, sizeof(q->err));
    json_decref(body);
    if (rc == YL_ETOOBIG) {
        char msg[sizeof(q->err)];

        memcpy(msg, q->err, sizeof(msg));
        fail(q, rc, 413, "batch_too_large", "%s", msg);
        return;
    }
    if (rc < 0) {
        q->rc = rc; /* status and code from rc; err from the catalog */
        return;
    }
    cat_view_batch_set_addr(batch, q->addr);
    rc = str_api_submit_views(p->srv, q->serial, batch); /* takes batch */
    if (rc < 0)
        fail(q, rc, 503, "unavailable", "the server is stopping; retry");
}

/* Pool thread: the password's check (slow), then the session through
 * the writer. */
static void run_signin(cat_db *rd, str_qpool *p, str_query *q)
{
    int64_t uid = 0;
    cat_sync s;

    q->rc = cat_users_check(rd, q->name, q->pw, &uid);
    explicit_bzero(q->pw, strlen(q->pw));
    if (q->rc < 0) {
        snprintf(q->err, sizeof(q->err), "%s", cat_db_errmsg(rd));
        return;
    }
    cat_sync_init(&s);
    q->rc = cat_users_session_submit(p->w, uid, q->ttl_s, cat_sync_done, &s);
    if (q->rc == 0)
        q->rc = cat_sync_wait(&s);
    if (q->rc == 0 && s.res.json != NULL)
        q->res = json_deep_copy(s.res.json);
    else if (q->rc == 0)
        q->rc = -ENOMEM;
    if (q->rc < 0)
        snprintf(q->err, sizeof(q->err), "%s",
                 s.res.error[0] ? s.res.error : "the session was not stored");
    cat_sync_fini(&s);
}

/* Pool thread. */
static void run_query(cat_db *rd, str_qpool *p, str_query *q)
{
    json_t *out = NULL;

    if (q->kind == STR_Q_VIEWS) {
        run_views(rd, p, q);
        return;
    }
    if (q->kind == STR_Q_SIGNIN) {
        run_signin(rd, p, q);
        return;
    }
    switch (q->kind) {
    case STR_Q_RANKING:
        q->rc = cat_stats_ranking(rd, q->code, q->has_from ? q->from : NULL,
                                  q->has_to ? q->to : NULL, q->now_ms, &out);
        break;
    case STR_Q_SITE:
        q->rc = cat_stats_site(rd, q->code, q->has_from ? q->from : NULL,
                               q->has_to ? q->to : NULL, q->now_ms, &out);
        if (q->rc == YL_ENOTFOUND)
            snprintf(q->err, sizeof(q->err), "unknown site %s", q->code);
        break;
    default:
        q->rc = YL_EINVAL;
    }
    if (q->rc < 0 && q->err[0] == '\0')
        snprintf(q->err, sizeof(q->err), "%s", cat_db_errmsg(rd));
    if (q->rc == 0) {
        q->body = json_dumps(out, JSON_COMPACT);
        if (q->body == NULL) {
            q->rc = -ENOMEM;
            snprintf(q->err, sizeof(q->err), "out of memory");
        }
    }
    json_decref(out);
}

static void *pool_main(void *arg)
{
    str_qpool *p = arg;
    cat_db *rd = NULL;
    int rc;

    pthread_setname_np(pthread_self(), p->name);
    rc = cat_reader_open(p->db_path, &rd);
    if (rc < 0)
        YL_LOGE("str", "query thread: cannot open a reader on %s", p->db_path);
    for (;;) {
        str_query *q;

        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        q = p->head;
        if (q != NULL) {
            p->head = q->qnext;
            if (p->head == NULL)
                p->tail = NULL;
        }
        pthread_mutex_unlock(&p->lock);
        if (q == NULL)
            break; /* stopping and nothing left */
        if (rd != NULL) {
            run_query(rd, p, q);
        } else {
            q->rc = YL_EDB;
            snprintf(q->err, sizeof(q->err), "no database connection");
        }
        if (q->kind == STR_Q_VIEWS && q->rc == 0)
            query_free(&q->base); /* the writer answers; nothing for the
                                   * loop to do, so no wake-up for it */
        else
            str_outbox_post(p->srv, &q->base); /* hands q to the loop */
    }
    cat_db_close(rd);
    return NULL;
}

int str_query_start(str_server *srv, const char *name, int n, str_qpool **out)
{
    str_qpool *p = calloc(1, sizeof(*p));
    int i, rc;

    if (p == NULL)
        return -ENOMEM;
    if (n < 1 || n > (int)(sizeof(p->th) / sizeof(p->th[0])))
        n = 1;
    p->srv = srv;
    p->w = srv->w;
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->db_path, sizeof(p->db_path), "%s", srv->cfg.cat.db_path);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    for (i = 0; i < n; i++) {
        rc = pthread_create(&p->th[i], NULL, pool_main, p);
        if (rc != 0) {
            *out = p;
            return -rc;
        }
        p->nth++;
    }
    *out = p;
    return 0;
}

static void enqueue(str_qpool *p, str_req *r, str_query *q)
{
    if (r != NULL)
        str_waiting_add(r->srv, r);
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->qnext = q;
    else
        p->head = q;
    p->tail = q;
    pthread_mutex_unlock(&p->lock);
    p->queued = true; /* woken by str_query_kick() after this loop round */
}

void str_query_kick(str_qpool *p)
{
    if (p == NULL || !p->queued)
        return;
    p->queued = false;
    pthread_mutex_lock(&p->lock);
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* A query answering r; now_ms is its receipt time (stamped on every
 * viewing event of a batch). NULL when out of memory. */
static str_query *query_new(const str_req *r, int kind)
{
    str_query *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->base.run = reply;
    q->base.free_fn = query_free;
    q->serial = r->serial;
    q->kind = kind;
    q->now_ms = cat_now_ms();
    return q;
}

int str_query_submit_views(str_req *r)
{
    str_query *q = query_new(r, STR_Q_VIEWS);

    if (q == NULL)
        return -ENOMEM;
    q->in = r->body; /* the body is the query's now */
    q->in_len = r->body_len;
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    q->tok = r->tok;
    q->body_token = !r->has_token;
    q->max_events = r->srv->cfg.cat.max_batch_events;
    str_req_client(r, q->addr, sizeof(q->addr));
    enqueue(r->srv->vpool, r, q);
    return 0;
}

int str_query_submit_signin(str_req *r, const char *name, const char *password,
                            const char *addr)
{
    str_query *q = query_new(r, STR_Q_SIGNIN);

    if (q == NULL)
        return -ENOMEM;
    q->pw = strdup(password);
    if (q->pw == NULL) {
        query_free(&q->base);
        return -ENOMEM;
    }
    snprintf(q->name, sizeof(q->name), "%s", name);
    snprintf(q->addr, sizeof(q->addr), "%s", addr);
    q->ttl_s = r->srv->cfg.session_ttl_s;
    enqueue(r->srv->qpool, r, q);
    return 0;
}

int str_query_submit_raw_views(str_server *srv, uint64_t serial,
                               const cat_token_info *tok, const char *addr,
                               char *in, size_t len)
{
    str_query *q = calloc(1, sizeof(*q));

    if (q == NULL) {
        free(in);
        return -ENOMEM;
    }
    q->base.run = reply;
    q->base.free_fn = query_free;
    q->serial = serial;
    q->kind = STR_Q_VIEWS;
    q->now_ms = cat_now_ms();
    q->in = in;
    q->in_len = len;
    q->tok = *tok;
    q->max_events = srv->cfg.cat.max_batch_events;
    snprintf(q->addr, sizeof(q->addr), "%s", addr != NULL ? addr : "");
    enqueue(srv->vpool, NULL, q);
    return 0;
}

int str_query_submit(str_req *r, int kind, const char *code, const char *from,
                     const char *to)
{
    str_query *q = query_new(r, kind);

    if (q == NULL)
        return -ENOMEM;
    snprintf(q->code, sizeof(q->code), "%s", code);
    if (from != NULL) {
        snprintf(q->from, sizeof(q->from), "%s", from);
        q->has_from = true;
    }
    if (to != NULL) {
        snprintf(q->to, sizeof(q->to), "%s", to);
        q->has_to = true;
    }
    enqueue(r->srv->qpool, r, q);
    return 0;
}

void str_query_stop(str_qpool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
