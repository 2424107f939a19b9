/* str_meetings.c - live meetings over REST (create, start, stop, read, "the
 * meeting of this site now"), the registry of running pipelines (live/),
 * /live/<id>/ delivery, and the "meeting" messages on the channel.
 *
 * A start is answered after the writer committed the state; then the
 * pipeline starts and every targeted connected site is told. A pipeline
 * that fails ends its meeting (state "failed"), never the server.
 *
 * Threads: handlers and *_run on the service thread; writer_done on the
 * writer thread and on_live_event on a meeting's thread, which only copy
 * and post to the loop (str_outbox_post). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/cat_meetings.h"
#include "catalog/cat_tokens.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_log.h"
#include "live/live.h"
#include "streamer/str_api.h"
#include "streamer/str_livews.h"
#include "streamer/str_ws.h"

#define MAX_LIVE 16 /* pipelines at once: 2 cores encode two or three */

/* A running pipeline. Service thread. */
typedef struct live_ent {
    int64_t id;
    live_meeting *m;
    json_t *frame_live; /* the "meeting" message, state live */
    json_t *targets;
    bool ready, stopping;
} live_ent;

struct str_live {
    live_ent v[MAX_LIVE];
    int n;
};

/* ---- the registry (service thread) ---- */

static live_ent *ent_find(str_server *srv, int64_t id)
{
    if (srv->live == NULL)
        return NULL;
    for (int i = 0; i < srv->live->n; i++)
        if (srv->live->v[i].id == id)
            return &srv->live->v[i];
    return NULL;
}

/* Frees e's pipeline (waiting for its thread) and drops it. */
static void ent_drop(str_server *srv, live_ent *e)
{
    struct str_live *l = srv->live;

    str_livews_meeting_gone(srv, e->id);
    live_meeting_free(e->m);
    json_decref(e->frame_live);
    json_decref(e->targets);
    *e = l->v[--l->n];
}

/* The channel message for meeting mt in state. New reference or NULL. */
static json_t *frame_of(const json_t *mt, const char *state)
{
    return json_pack("{s:s, s:O, s:s, s:O, s:O, s:O}", "type", "meeting", "id",
                     json_object_get(mt, "id"), "state", state, "title",
                     json_object_get(mt, "title"), "hls",
                     json_object_get(mt, "hls"), "ws",
                     json_object_get(mt, "ws"));
}

/* ---- messages to the loop ---- */

enum { M_CREATE, M_START, M_STOP, M_FAIL, M_EVENT };

typedef struct mmsg {
    str_msg base;
    str_server *srv;
    uint64_t serial; /* the waiting request; 0 none */
    int kind, rc, ev;
    int64_t id;
    json_t *meeting; /* a copy made on the posting thread */
    char error[512];
} mmsg;

static void mmsg_free(str_msg *m)
{
    mmsg *d = (mmsg *)m;

    json_decref(d->meeting);
    free(d);
}

static void mmsg_run(str_server *srv, str_msg *m);

static mmsg *mmsg_new(str_server *srv, uint64_t serial, int kind)
{
    mmsg *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->base.run = mmsg_run;
    d->base.free_fn = mmsg_free;
    d->srv = srv;
    d->serial = serial;
    d->kind = kind;
    return d;
}

/* Writer thread, after COMMIT. */
static void writer_done(void *ud, int rc, const cat_write_result *res)
{
    mmsg *d = ud;

    d->rc = rc;
    if (res != NULL) {
        snprintf(d->error, sizeof(d->error), "%s", res->error);
        if (rc == 0 && res->json != NULL)
            d->meeting = json_deep_copy(res->json); /* counts not atomic */
        if (rc == 0 && d->meeting == NULL)
            d->rc = -ENOMEM;
    }
    str_outbox_post(d->srv, &d->base);
}

/* A meeting's thread: an event of its pipeline. */
static void on_live_event(void *ud, int64_t id, int ev, const char *detail)
{
    str_server *srv = ud;
    mmsg *d = mmsg_new(srv, 0, M_EVENT);

    if (d == NULL) {
        YL_LOGE("str", "[meeting=%" PRId64 "] event %d lost: out of memory", id,
                ev);
        return;
    }
    d->id = id;
    d->ev = ev;
    if (detail != NULL)
        snprintf(d->error, sizeof(d->error), "%s", detail);
    str_outbox_post(srv, &d->base);
}

static int start_pipeline(str_server *srv, const json_t *mt, char *why,
                          size_t whylen)
{
    int64_t id = json_integer_value(json_object_get(mt, "id"));
    char dir[PATH_MAX];
    live_opts o = {0};
    live_ent *e;
    int rc;

    if (srv->live == NULL || srv->live->n == MAX_LIVE) {
        snprintf(why, whylen, "%d meetings are live: the most at once",
                 MAX_LIVE);
        return YL_ETOOBIG;
    }
    rc = str_pathf(dir, sizeof(dir), "%s/live/%" PRId64, srv->cfg.cat.data_dir,
                   id);
    if (rc < 0)
        return rc;
    yl_rmtree(dir); /* an earlier run of this meeting */
    e = &srv->live->v[srv->live->n];
    memset(e, 0, sizeof(*e));
    o.id = id;
    o.source = json_string_value(json_object_get(mt, "source"));
    o.out_dir = dir;
    o.slate = srv->cfg.live_slate[0] != '\0' ? srv->cfg.live_slate : NULL;
    o.event = on_live_event;
    o.chunk = str_livews_chunk;
    o.ud = srv;
    e->frame_live = frame_of(mt, "live");
    e->targets = json_deep_copy(json_object_get(mt, "targets"));
    if (e->frame_live == NULL || e->targets == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = live_meeting_start(&o, &e->m);
    if (rc < 0) {
        live_source_check(o.source, why, whylen);
        goto fail;
    }
    e->id = id;
    srv->live->n++;
    return 0;
fail:
    json_decref(e->frame_live);
    json_decref(e->targets);
    if (why[0] == '\0')
        yl_strerror(rc, why, whylen);
    return rc;
}

/* Records an end nobody asked for in the catalog: "failed" (why) or
 * "ended" (the source ended). The answer is only logged. */
static void submit_end(str_server *srv, int64_t id, const char *state,
                       const char *why)
{
    mmsg *d;

    if (srv->w == NULL) /* stopping: the state stays, the next run resumes */
        return;
    d = mmsg_new(srv, 0, M_FAIL);
    if (d == NULL)
        return;
    d->id = id;
    if (cat_meetings_set_state_submit(srv->w, id, state, why, writer_done, d) <
        0)
        mmsg_free(&d->base);
}

static void submit_failed(str_server *srv, int64_t id, const char *why)
{
    submit_end(srv, id, "failed", why);
}

static void reply_meeting(str_server *srv, uint64_t serial, int status,
                          const json_t *mt)
{
    str_req *r = serial ? str_waiting_find(srv, serial) : NULL;
    char *s;

    if (r == NULL)
        return; /* the client left; what it asked for is done */
    s = json_dumps(mt, JSON_COMPACT);
    str_api_defer_reply(r, s ? status : 500, s, s ? strlen(s) : 0);
}

static void on_event(str_server *srv, mmsg *d)
{
    live_ent *e = ent_find(srv, d->id);
    json_t *f;

    if (e == NULL)
        return;
    switch (d->ev) {
    case LIVE_EV_READY:
        e->ready = true;
        break;
    case LIVE_EV_FAILED:
        if (!e->stopping) {
            submit_failed(srv, d->id, d->error);
            f = json_deep_copy(e->frame_live);
            if (f != NULL) {
                json_object_set_new(f, "state", json_string("ended"));
                json_object_set_new(f, "error", json_string(d->error));
                str_ws_meeting(srv, f, e->targets);
            }
            json_decref(f);
        }
        ent_drop(srv, e);
        break;
    case LIVE_EV_ENDED:
        if (!e->stopping) {
            /* The source ended by itself (a rehearsal file's end). */
            submit_end(srv, d->id, "ended", NULL);
            f = json_deep_copy(e->frame_live);
            if (f != NULL) {
                json_object_set_new(f, "state", json_string("ended"));
                str_ws_meeting(srv, f, e->targets);
            }
            json_decref(f);
        }
        ent_drop(srv, e);
        break;
    }
}

/* Service thread. */
static void mmsg_run(str_server *srv, str_msg *m)
{
    mmsg *d = (mmsg *)m;
    char why[512] = "", src[256];
    str_req *r;
    json_t *f;
    live_ent *e;
    int64_t id;

    if (d->kind == M_EVENT) {
        on_event(srv, d);
        return;
    }
    if (d->rc < 0) {
        if (d->kind == M_FAIL) {
            YL_LOGW("str", "[meeting=%" PRId64 "] its end not stored: %s",
                    d->id, d->error);
            return;
        }
        r = str_waiting_find(srv, d->serial);
        if (r != NULL)
            str_api_defer_error(r, d->rc, d->error);
        return;
    }
    id = json_integer_value(json_object_get(d->meeting, "id"));
    switch (d->kind) {
    case M_CREATE:
        YL_LOGI("str", "[meeting=%" PRId64 "] created for %" PRId64 " site(s)",
                id,
                (int64_t)json_integer_value(
                    json_object_get(d->meeting, "n_sites")));
        reply_meeting(srv, d->serial, 201, d->meeting);
        break;
    case M_START:
        if (srv->live == NULL) { /* stopping: the next run starts it */
            YL_LOGW("str", "[meeting=%" PRId64 "] not started: stopping", id);
            return;
        }
        if (start_pipeline(srv, d->meeting, why, sizeof(why)) < 0) {
            YL_LOGE("str", "[meeting=%" PRId64 "] cannot start: %s", id, why);
            submit_failed(srv, id, why);
            r = str_waiting_find(srv, d->serial);
            if (r != NULL)
                str_api_defer_error(r, YL_EDB, why);
            return;
        }
        YL_LOGI("str", "[meeting=%" PRId64 "] live from %s", id,
                live_source_redact(
                    json_string_value(json_object_get(d->meeting, "source")),
                    src, sizeof(src)));
        e = ent_find(srv, id);
        str_ws_meeting(srv, e->frame_live, e->targets);
        reply_meeting(srv, d->serial, 200, d->meeting);
        break;
    case M_STOP:
        e = ent_find(srv, id);
        if (e != NULL && !e->stopping) {
            e->stopping = true;
            live_meeting_stop(e->m); /* ENDLIST follows; then EV_ENDED */
        }
        f = frame_of(d->meeting, "ended");
        if (f != NULL)
            str_ws_meeting(srv, f, json_object_get(d->meeting, "targets"));
        json_decref(f);
        YL_LOGI("str", "[meeting=%" PRId64 "] ended", id);
        reply_meeting(srv, d->serial, 200, d->meeting);
        break;
    case M_FAIL:
        break;
    }
}

live_meeting *str_meetings_pipeline(str_server *srv, int64_t id)
{
    live_ent *e = ent_find(srv, id);

    return e != NULL && !e->stopping ? e->m : NULL;
}

bool str_meetings_nth(str_server *srv, int i, const json_t **frame,
                      const json_t **targets)
{
    struct str_live *l = srv->live;

    for (int k = 0; l != NULL && k < l->n; k++) {
        if (l->v[k].stopping)
            continue;
        if (i-- == 0) {
            *frame = l->v[k].frame_live;
            *targets = l->v[k].targets;
            return true;
        }
    }
    return false;
}

/* ---- handlers ---- */

int str_meetings_post(str_req *r)
{
    int ret;

    if (str_api_need_admin(r, "creating a meeting", &ret))
        return ret;
    return str_body_begin(r, STR_BODY_JSON, r->srv->cfg.cat.max_body_bytes);
}

int str_meetings_post_body(str_req *r)
{
    str_server *srv = r->srv;
    json_error_t jerr;
    json_t *in, *t;
    char err[512];
    size_t i;
    mmsg *d;
    int rc, ret = 0;

    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    if (cat_meetings_check(in, err, sizeof(err)) < 0 ||
        live_source_check(json_string_value(json_object_get(in, "source")), err,
                          sizeof(err)) < 0) {
        ret = str_reply_error(r, 400, "invalid", "%s", err);
        goto out;
    }
    json_array_foreach(json_object_get(in, "targets"), i, t)
    {
        const char *code = json_string_value(t);

        rc = cat_tokens_allows(srv->rd, &r->tok, code);
        if (rc == YL_ENOTFOUND) {
            ret = str_reply_error(r, 400, "invalid",
                                  "targets[%zu]: unknown code %s", i, code);
            goto out;
        }
        if (rc == 0) {
            ret = str_reply_error(r, 403, "forbidden",
                                  "targets[%zu]: %s is outside this token's "
                                  "region %s",
                                  i, code, r->tok.scope);
            goto out;
        }
        if (rc < 0) {
            ret = str_api_reply_cat_error(r, rc, cat_db_errmsg(srv->rd));
            goto out;
        }
    }
    d = mmsg_new(srv, r->serial, M_CREATE);
    if (d == NULL) {
        ret = str_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    rc = cat_meetings_create_submit(srv->w, in, r->tok.scope, r->tok.id,
                                    writer_done, d);
    if (rc < 0) {
        mmsg_free(&d->base);
        ret = str_reply_error(r, 503, "unavailable",
                              "the server is stopping; retry");
        goto out;
    }
    str_waiting_add(srv, r);
out:
    json_decref(in);
    return ret;
}

/* The meeting r->id for an admin of its owner's region: 0 and *out, or 1
 * when it answered (*ret). */
static int admin_meeting(str_req *r, const char *what, json_t **out, int *ret)
{
    const char *owner;
    int rc;

    *out = NULL;
    if (str_api_need_admin(r, what, ret))
        return 1;
    rc = cat_meetings_get(r->srv->rd, r->id, out);
    if (rc < 0) {
        *ret = str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
        return 1;
    }
    owner = json_string_value(json_object_get(*out, "owner"));
    if (cat_tokens_allows(r->srv->rd, &r->tok, owner ? owner : "") != 1) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "meeting %" PRId64 " belongs to region %s, "
                               "outside this token's region %s",
                               r->id, owner ? owner : "?", r->tok.scope);
        json_decref(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static int set_state(str_req *r, const char *state, int kind)
{
    mmsg *d = mmsg_new(r->srv, r->serial, kind);

    if (d == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    if (cat_meetings_set_state_submit(r->srv->w, r->id, state, NULL,
                                      writer_done, d) < 0) {
        mmsg_free(&d->base);
        return str_reply_error(r, 503, "unavailable",
                               "the server is stopping; retry");
    }
    str_waiting_add(r->srv, r);
    return 0;
}

int str_meetings_start(str_req *r)
{
    json_t *mt;
    int ret;

    if (admin_meeting(r, "starting a meeting", &mt, &ret))
        return ret;
    json_decref(mt);
    if (ent_find(r->srv, r->id) != NULL)
        return str_reply_error(r, 409, "conflict",
                               "meeting %" PRId64 " is still running", r->id);
    return set_state(r, "live", M_START);
}

int str_meetings_stop(str_req *r)
{
    json_t *mt;
    int ret;

    if (admin_meeting(r, "stopping a meeting", &mt, &ret))
        return ret;
    json_decref(mt);
    return set_state(r, "ended", M_STOP);
}

/* Adds what only the running server knows: the pipeline's health. */
static void add_health(str_server *srv, json_t *mt)
{
    live_ent *e = ent_find(srv, json_integer_value(json_object_get(mt, "id")));

    json_object_set_new(mt, "source_health",
                        json_string(e == NULL     ? "none"
                                    : e->stopping ? "stopping"
                                    : e->ready    ? "ok"
                                                  : "starting"));
}

int str_meetings_get(str_req *r)
{
    json_t *mt = NULL;
    int rc;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "meetings need a token (Authorization: "
                               "Bearer ...)");
    rc = cat_meetings_get(r->srv->rd, r->id, &mt);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    /* The source may hold an SRT passphrase or a camera's password: only
     * for admins of the meeting's region. */
    if (r->tok.role != CAT_ROLE_ADMIN ||
        cat_tokens_allows(r->srv->rd, &r->tok,
                          json_string_value(json_object_get(mt, "owner"))) != 1)
        json_object_del(mt, "source");
    add_health(r->srv, mt);
    return str_api_reply_json(r, 200, mt);
}

int str_meetings_current(str_req *r)
{
    char site[32];
    json_t *mt = NULL;
    int n, rc, ret;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "meetings need a token (Authorization: "
                               "Bearer ...)");
    n = str_req_query(r, "site", site, sizeof(site));
    if (r->tok.role == CAT_ROLE_SITE) {
        if (n > 0 && strcmp(site, r->tok.scope) != 0)
            return str_reply_error(r, 403, "forbidden",
                                   "the site token of %s cannot read the "
                                   "meetings of %s",
                                   r->tok.scope, site);
        snprintf(site, sizeof(site), "%s", r->tok.scope);
    } else {
        if (n <= 0)
            return str_reply_error(r, 400, "invalid",
                                   "site: want the site's division code");
        if (str_api_need_within(r, site, &ret))
            return ret;
    }
    rc = cat_meetings_current(r->srv->rd, site, &mt);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (mt != NULL) {
        json_object_del(mt, "source");
        add_health(r->srv, mt);
    }
    return str_api_reply_json(
        r, 200, json_pack("{s:o}", "meeting", mt != NULL ? mt : json_null()));
}

/* ---- set-up ---- */

void str_meetings_open(str_server *srv)
{
    int64_t ids[MAX_LIVE];
    char why[512];
    json_t *mt;
    int n;

    srv->live = calloc(1, sizeof(*srv->live));
    if (srv->live == NULL || srv->rd == NULL)
        return;
    n = cat_meetings_live_ids(srv->rd, ids, MAX_LIVE);
    for (int i = 0; i < n; i++) {
        if (cat_meetings_get(srv->rd, ids[i], &mt) < 0)
            continue;
        why[0] = '\0';
        if (start_pipeline(srv, mt, why, sizeof(why)) < 0) {
            YL_LOGE("str", "[meeting=%" PRId64 "] cannot restart: %s", ids[i],
                    why);
            submit_failed(srv, ids[i], why);
        } else {
            YL_LOGI("str", "[meeting=%" PRId64 "] live again after a restart",
                    ids[i]);
        }
        json_decref(mt);
    }
}

void str_meetings_close(str_server *srv)
{
    struct str_live *l = srv->live;

    if (l == NULL)
        return;
    for (int i = 0; i < l->n; i++)
        live_meeting_stop(l->v[i].m); /* all at once: EOS in parallel */
    while (l->n > 0)
        ent_drop(srv, &l->v[l->n - 1]);
    srv->live = NULL; /* events posted meanwhile find no meeting */
    free(l);
}
