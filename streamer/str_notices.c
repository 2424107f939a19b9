/* str_notices.c - notices over REST (一键发文到村): send, list, report,
 * read, withdraw; and the batch of receipts the channel and REST feed to
 * the writer.
 *
 * A notice is answered 201 only after the writer committed it and its
 * per-site rows; then it is pushed (str_ws_notice_sent). kill -9 between
 * the two loses no delivery: every targeted site replays what it has not
 * acknowledged when it connects.
 *
 * Threads: handlers on the service thread; *_done callbacks on the writer
 * thread, which only copy and post to the loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/cat_notices.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_tokens.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "streamer/str_api.h"
#include "streamer/str_ws.h"

#define ACK_BATCH 4096 /* receipts per writer request */

/* A writer result on its way to the loop. */
typedef struct nmsg {
    str_msg base;
    str_server *srv;
    uint64_t serial; /* the waiting request; 0 none */
    int kind;
    int rc;
    int64_t id, n, sent_ms;
    json_t *targets; /* a copy made on the writer thread */
    str_fbuf *frame;
    cat_notice_ack *rows; /* receipts: what changed */
    int nrows;
    char error[512];
} nmsg;

enum { NM_CREATE, NM_WITHDRAW, NM_READ, NM_ACKS };

static void nmsg_free(str_msg *m)
{
    nmsg *d = (nmsg *)m;

    json_decref(d->targets);
    str_fbuf_unref(d->frame);
    free(d->rows);
    free(d);
}

static void reply_body(str_server *srv, uint64_t serial, int status, json_t *o)
{
    str_req *r = serial ? str_waiting_find(srv, serial) : NULL;
    char *s;

    if (r == NULL) {
        json_decref(o);
        return; /* the client left; what it asked for is done */
    }
    s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    str_api_defer_reply(r, status, s, s ? strlen(s) : 0);
}

/* Service thread. */
static void nmsg_run(str_server *srv, str_msg *m)
{
    nmsg *d = (nmsg *)m;
    str_req *r;

    if (d->kind == NM_ACKS) {
        if (d->rc < 0)
            YL_LOGW("str", "notice receipts not stored: %s", d->error);
        else
            str_ws_receipts(srv, d->rows, d->nrows);
        return;
    }
    if (d->rc < 0) {
        r = str_waiting_find(srv, d->serial);
        if (r != NULL)
            str_api_defer_error(r, d->rc, d->error);
        return;
    }
    switch (d->kind) {
    case NM_CREATE:
        YL_LOGI("str", "[notice=%" PRId64 "] stored for %" PRId64 " site(s)",
                d->id, d->n);
        reply_body(srv, d->serial, 201,
                   json_pack("{s:I, s:I, s:I}", "id", (json_int_t)d->id,
                             "targets", (json_int_t)d->n, "sent_ms",
                             (json_int_t)d->sent_ms));
        str_ws_notice_sent(srv, d->id, d->frame, d->targets);
        break;
    case NM_WITHDRAW:
        YL_LOGI("str", "[notice=%" PRId64 "] withdrawn", d->id);
        reply_body(
            srv, d->serial, 200,
            json_pack("{s:I, s:b}", "id", (json_int_t)d->id, "withdrawn", 1));
        str_ws_notice_withdrawn(srv, d->id, d->targets);
        break;
    case NM_READ:
        reply_body(srv, d->serial, 200,
                   json_pack("{s:I, s:s, s:b}", "notice", (json_int_t)d->id,
                             "state", "read", "changed", d->n > 0));
        if (d->nrows > 0)
            str_ws_receipts(srv, d->rows, d->nrows);
        break;
    }
}

static nmsg *nmsg_new(str_server *srv, uint64_t serial, int kind)
{
    nmsg *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->base.run = nmsg_run;
    d->base.free_fn = nmsg_free;
    d->srv = srv;
    d->serial = serial;
    d->kind = kind;
    return d;
}

/* Writer thread: res->json [[site, notice, state], ...] → C rows. */
static void copy_rows(nmsg *d, const json_t *arr)
{
    const json_t *row;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return;
    d->rows = calloc(json_array_size(arr), sizeof(*d->rows));
    if (d->rows == NULL)
        return;
    json_array_foreach(arr, i, row)
    {
        cat_notice_ack *k = &d->rows[d->nrows++];

        snprintf(k->site, sizeof(k->site), "%s",
                 json_string_value(json_array_get(row, 0)));
        k->notice = json_integer_value(json_array_get(row, 1));
        k->state = (int)json_integer_value(json_array_get(row, 2));
    }
}

/* Writer thread, after COMMIT. ud: the nmsg to fill and post. */
static void writer_done(void *ud, int rc, const cat_write_result *res)
{
    nmsg *d = ud;

    d->rc = rc;
    if (res != NULL) {
        snprintf(d->error, sizeof(d->error), "%s", res->error);
        d->id = d->id ? d->id : res->id;
        d->n = res->accepted;
    }
    if (rc == 0 && res != NULL && res->json != NULL) {
        if (d->kind == NM_CREATE) {
            /* The pushed frame, without the targets; encoded once, here.
             * Copies, not references: jansson's counts are not atomic. */
            json_t *f = json_copy(res->json);

            d->targets = json_deep_copy(json_object_get(res->json, "targets"));
            json_object_del(f, "targets");
            {
                char *s = json_dumps(f, JSON_COMPACT);

                if (s != NULL)
                    d->frame = str_fbuf_new(s, strlen(s), STR_FAN_HIGH, 0);
                free(s);
            }
            json_decref(f);
            if (d->frame == NULL || d->targets == NULL)
                d->rc = -ENOMEM; /* stored: sites get it on replay */
        } else if (d->kind == NM_WITHDRAW) {
            d->targets = json_deep_copy(json_object_get(res->json, "targets"));
        } else {
            copy_rows(d, res->json);
        }
    }
    str_outbox_post(d->srv, &d->base);
}

/* ---- POST /api/v1/notices ---- */

int str_notices_post(str_req *r)
{
    int ret;

    if (str_api_need_admin(r, "sending a notice", &ret))
        return ret;
    return str_body_begin(r, STR_BODY_JSON, r->srv->cfg.cat.max_body_bytes);
}

int str_notices_post_body(str_req *r)
{
    str_server *srv = r->srv;
    json_error_t jerr;
    json_t *in, *t;
    char err[256];
    size_t i;
    nmsg *d;
    int rc, ret = 0;

    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    if (cat_notices_check(in, err, sizeof(err)) < 0) {
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
    d = nmsg_new(srv, r->serial, NM_CREATE);
    if (d == NULL) {
        ret = str_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    d->sent_ms = cat_now_ms();
    rc = cat_notices_create_submit(srv->w, in, r->tok.scope, r->tok.id,
                                   d->sent_ms, writer_done, d);
    if (rc < 0) {
        nmsg_free(&d->base);
        ret = str_reply_error(r, 503, "unavailable",
                              "the server is stopping; retry");
        goto out;
    }
    str_waiting_add(srv, r);
out:
    json_decref(in);
    return ret;
}

/* ---- reads ---- */

static int qcode(str_req *r, const char *name, char *buf, size_t len)
{
    int n = str_req_query(r, name, buf, len);

    if (n <= 0) {
        buf[0] = '\0';
        return 0;
    }
    return cat_code_level(buf) < 0 ? -1 : 1;
}

int str_notices_list(str_req *r)
{
    char site[32], region[32];
    int64_t since = 0;
    json_t *items = NULL;
    int rc, ret, s, g, sn = 0;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "notices need a token (Authorization: "
                               "Bearer ...)");
    s = qcode(r, "site", site, sizeof(site));
    g = qcode(r, "region", region, sizeof(region));
    if (s < 0 || g < 0)
        return str_reply_error(r, 400, "invalid", "%s: not a division code",
                               s < 0 ? "site" : "region");
    if (str_api_qint(r, "since", 0, 2000000000, &sn, &ret) < 0)
        return ret;
    since = sn;
    if (r->tok.role == CAT_ROLE_SITE) {
        if (s > 0 && strcmp(site, r->tok.scope) != 0)
            return str_reply_error(r, 403, "forbidden",
                                   "the site token of %s cannot read the "
                                   "notices of %s",
                                   r->tok.scope, site);
        snprintf(site, sizeof(site), "%s", r->tok.scope);
        s = 1;
    } else if (s > 0 && str_api_need_within(r, site, &ret)) {
        return ret;
    }
    if (s > 0) {
        rc = cat_notices_for_site(r->srv->rd, site, since, 200, &items);
    } else {
        if (g == 0)
            snprintf(region, sizeof(region), "%s", r->tok.scope);
        else if (str_api_need_within(r, region, &ret))
            return ret;
        rc = cat_notices_list(r->srv->rd, region, since, 200, &items);
    }
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return str_api_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* 1 when the notice may be seen by an admin/viewer token: sent from within
 * its region, or to a site within it. 0 otherwise; negative on error. */
static int visible(str_req *r, int64_t id, json_t *n)
{
    const char *from = json_string_value(json_object_get(n, "from"));
    int64_t t[3];
    int rc;

    rc = cat_tokens_allows(r->srv->rd, &r->tok, from ? from : "");
    if (rc == 1)
        return 1;
    rc = cat_notices_totals(r->srv->rd, id, r->tok.scope, t);
    if (rc < 0)
        return rc;
    return t[0] > 0;
}

int str_notices_get(str_req *r)
{
    char region[32];
    json_t *n = NULL, *rep = NULL;
    int rc, ret, g;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "notices need a token (Authorization: "
                               "Bearer ...)");
    rc = cat_notices_get(r->srv->rd, r->id, &n);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no notice %" PRId64,
                               r->id);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (r->tok.role == CAT_ROLE_SITE) {
        json_t *mine = NULL, *it;
        size_t i;

        /* Its own receipt, from the site's list around this id. */
        rc =
            cat_notices_for_site(r->srv->rd, r->tok.scope, r->id - 1, 1, &mine);
        it = rc == 0 ? json_array_get(mine, 0) : NULL;
        if (it == NULL ||
            json_integer_value(json_object_get(it, "id")) != r->id) {
            json_decref(mine);
            json_decref(n);
            return str_reply_error(r, 404, "not_found",
                                   "no notice %" PRId64 " for %s", r->id,
                                   r->tok.scope);
        }
        (void)i;
        json_incref(it);
        json_decref(mine);
        json_decref(n);
        json_object_del(it, "targets");
        return str_api_reply_json(r, 200, it);
    }
    rc = visible(r, r->id, n);
    json_decref(n);
    if (rc <= 0)
        return rc < 0 ? str_api_reply_cat_error(r, rc, NULL)
                      : str_reply_error(r, 404, "not_found",
                                        "no notice %" PRId64 " in %s", r->id,
                                        r->tok.scope);
    g = qcode(r, "region", region, sizeof(region));
    if (g < 0)
        return str_reply_error(r, 400, "invalid",
                               "region: not a division code");
    if (g == 0)
        snprintf(region, sizeof(region), "%s", r->tok.scope);
    else if (str_api_need_within(r, region, &ret))
        return ret;
    rc = cat_notices_report(r->srv->rd, r->id, region, &rep);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    return str_api_reply_json(r, 200, rep);
}

/* ---- POST /api/v1/notices/{id}/read ---- */

int str_notices_read(str_req *r)
{
    cat_notice_ack k;
    nmsg *d;
    int rc;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "a read receipt needs the site's token");
    if (r->tok.role != CAT_ROLE_SITE)
        return str_reply_error(r, 403, "forbidden",
                               "only a site records that it read a notice");
    rc = cat_notices_sent_to(r->srv->rd, r->id, r->tok.scope);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (rc == 0)
        return str_reply_error(r, 404, "not_found",
                               "notice %" PRId64 " was not sent to %s", r->id,
                               r->tok.scope);
    memset(&k, 0, sizeof(k));
    snprintf(k.site, sizeof(k.site), "%s", r->tok.scope);
    k.notice = r->id;
    k.state = CAT_NOTICE_READ;
    k.at_ms = cat_now_ms();
    d = nmsg_new(r->srv, r->serial, NM_READ);
    if (d == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    d->id = r->id;
    if (cat_notices_ack_submit(r->srv->w, &k, 1, writer_done, d) < 0) {
        nmsg_free(&d->base);
        return str_reply_error(r, 503, "unavailable",
                               "the server is stopping; retry");
    }
    str_waiting_add(r->srv, r);
    return 0;
}

/* ---- DELETE /api/v1/notices/{id} ---- */

int str_notices_withdraw(str_req *r)
{
    json_t *n = NULL;
    const char *from;
    nmsg *d;
    int rc, ret;

    if (str_api_need_admin(r, "withdrawing a notice", &ret))
        return ret;
    rc = cat_notices_get(r->srv->rd, r->id, &n);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no notice %" PRId64,
                               r->id);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    from = json_string_value(json_object_get(n, "from"));
    rc = cat_tokens_allows(r->srv->rd, &r->tok, from ? from : "");
    if (rc != 1) {
        ret = str_reply_error(r, 403, "forbidden",
                              "notice %" PRId64 " was sent by %s, outside "
                              "this token's region %s",
                              r->id, from ? from : "?", r->tok.scope);
        json_decref(n);
        return ret;
    }
    json_decref(n);
    d = nmsg_new(r->srv, r->serial, NM_WITHDRAW);
    if (d == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    d->id = r->id;
    if (cat_notices_withdraw_submit(r->srv->w, r->id, cat_now_ms(), writer_done,
                                    d) < 0) {
        nmsg_free(&d->base);
        return str_reply_error(r, 503, "unavailable",
                               "the server is stopping; retry");
    }
    str_waiting_add(r->srv, r);
    return 0;
}

/* ---- receipts from the channel ---- */

void str_notices_ack(str_server *srv, const char *site, int64_t notice,
                     int state)
{
    cat_notice_ack *k;

    if (srv->nacks == srv->cap_acks) {
        int cap = srv->cap_acks ? srv->cap_acks * 2 : 256;
        cat_notice_ack *na;

        if (cap > 16 * ACK_BATCH)
            return; /* the writer is far behind: the client re-acks */
        na = realloc(srv->acks, (size_t)cap * sizeof(*na));
        if (na == NULL)
            return;
        srv->acks = na;
        srv->cap_acks = cap;
    }
    k = &srv->acks[srv->nacks++];
    memset(k, 0, sizeof(*k));
    snprintf(k->site, sizeof(k->site), "%s", site);
    k->notice = notice;
    k->state = state;
    k->at_ms = cat_now_ms();
}

void str_notices_flush(str_server *srv)
{
    int off = 0;

    while (off < srv->nacks) {
        int n = srv->nacks - off < ACK_BATCH ? srv->nacks - off : ACK_BATCH;
        nmsg *d = nmsg_new(srv, 0, NM_ACKS);

        if (d == NULL || cat_notices_ack_submit(srv->w, srv->acks + off, n,
                                                writer_done, d) < 0) {
            if (d != NULL)
                nmsg_free(&d->base);
            YL_LOGW("str",
                    "%d notice receipt(s) dropped: the writer is "
                    "stopping",
                    n);
        }
        off += n;
    }
    srv->nacks = 0;
}
