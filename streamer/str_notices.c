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
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "catalog/cat_notices.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_tokens.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_log.h"
#include "common/yl_utf8.h"
#include "streamer/str_multipart.h"
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
    case NM_CREATE: {
        /* How long storing took before the push (sent_ms is taken when
         * the transaction starts): part of every client's latency. */
        int64_t at_ms = cat_now_ms();
        int conns;

        reply_body(srv, d->serial, 201,
                   json_pack("{s:I, s:I, s:I}", "id", (json_int_t)d->id,
                             "targets", (json_int_t)d->n, "sent_ms",
                             (json_int_t)d->sent_ms));
        conns = str_ws_notice_sent(srv, d->id, d->frame, d->targets);
        YL_LOGI("str",
                "[notice=%" PRId64 "] stored for %" PRId64 " site(s), "
                "queued for %d connection(s) %" PRId64 " ms after sent_ms "
                "(queueing took %" PRId64 " ms)",
                d->id, d->n, conns, at_ms - d->sent_ms, cat_now_ms() - at_ms);
        break;
    }
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
            d->sent_ms =
                json_integer_value(json_object_get(res->json, "sent_ms"));
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
    rc = cat_notices_create_submit(srv->w, in, r->tok.scope, r->tok.id, 0,
                                   writer_done, d);
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

/* ---- attachments: POST /api/v1/attachments, GET .../{id} ---- */

#define ATTACH_MAX (20 << 20) /* bytes of one attachment */

/* The type of a file by its first bytes: PDF, JPEG, PNG or WebP. NULL for
 * anything else (whatever its name or Content-Type claims). */
static const char *sniff(const unsigned char *p, size_t n, const char **ext)
{
    if (n >= 5 && memcmp(p, "%PDF-", 5) == 0) {
        *ext = "pdf";
        return "application/pdf";
    }
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
        *ext = "jpg";
        return "image/jpeg";
    }
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
        *ext = "png";
        return "image/png";
    }
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
        *ext = "webp";
        return "image/webp";
    }
    return NULL;
}

/* The file field's bytes: a slice of the request body while the parser
 * hands them over contiguously (the whole body is in memory already: no
 * second copy of up to ATTACH_MAX bytes), else a copy of its own. */
typedef struct att_parse {
    const char *ref; /* into the request body; NULL once copied */
    char *data;      /* the copy, when the slices were not contiguous */
    size_t len, cap;
    char name[STR_MP_FILE_MAX];
    int files;
    bool in_file;
    bool too_big;
} att_parse;

static const char *att_bytes(const att_parse *a)
{
    return a->data != NULL ? a->data : a->ref;
}

static int att_begin(void *ud, const char *name, const char *filename,
                     const char *ctype)
{
    att_parse *a = ud;

    (void)ctype;
    a->in_file = filename != NULL && strcmp(name, "file") == 0;
    if (a->in_file) {
        a->files++;
        snprintf(a->name, sizeof(a->name), "%s", filename);
    }
    return 0;
}

static int att_data(void *ud, const char *data, size_t len)
{
    att_parse *a = ud;

    if (!a->in_file || a->files > 1)
        return 0;
    if (a->len + len > ATTACH_MAX) {
        a->too_big = true;
        return YL_ETOOBIG;
    }
    if (a->data == NULL && (a->len == 0 || data == a->ref + a->len)) {
        if (a->len == 0)
            a->ref = data;
        a->len += len;
        return 0;
    }
    if (a->len + len > a->cap) {
        size_t cap = a->cap ? a->cap : 65536;
        char *n;

        while (cap < a->len + len)
            cap *= 2;
        n = realloc(a->data, cap);
        if (n == NULL)
            return -ENOMEM;
        if (a->data == NULL && a->len > 0)
            memcpy(n, a->ref, a->len); /* the slice so far */
        a->data = n;
        a->cap = cap;
    }
    memcpy(a->data + a->len, data, len);
    a->len += len;
    return 0;
}

static int att_end(void *ud)
{
    ((att_parse *)ud)->in_file = false;
    return 0;
}

int str_attach_post(str_req *r)
{
    char ct[256], b[80];
    int ret;

    if (str_api_need_admin(r, "uploading an attachment", &ret))
        return ret;
    if (str_req_hdr(r, "content-type", ct, sizeof(ct)) <= 0 ||
        str_mp_boundary(ct, b, sizeof(b)) < 0)
        return str_reply_error(r, 415, "unsupported_media_type",
                               "an attachment is sent as multipart/form-data "
                               "with a file field \"file\"");
    return str_body_begin(r, STR_BODY_JSON, ATTACH_MAX + 64 * 1024);
}

/* Writer result of the attachment's row. */
typedef struct amsg {
    str_msg base;
    str_server *srv;
    uint64_t serial;
    int rc;
    int64_t id;
    char path[PATH_MAX];
    json_t *out; /* the answer, built on the loop */
    char type[32], name[STR_MP_FILE_MAX];
    int64_t bytes;
    char error[512];
} amsg;

static void amsg_free(str_msg *m)
{
    free(m);
}

static void amsg_run(str_server *srv, str_msg *m)
{
    amsg *d = (amsg *)m;
    str_req *r = str_waiting_find(srv, d->serial);
    char url[64];

    if (d->rc < 0) {
        unlink(d->path); /* not recorded: the bytes go */
        if (r != NULL)
            str_api_defer_error(r, d->rc, d->error);
        return;
    }
    YL_LOGI("str", "[attachment=%" PRId64 "] %s, %" PRId64 " bytes", d->id,
            d->type, d->bytes);
    snprintf(url, sizeof(url), "/api/v1/attachments/%" PRId64, d->id);
    reply_body(srv, d->serial, 201,
               json_pack("{s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)d->id,
                         "type", d->type, "name", d->name, "bytes",
                         (json_int_t)d->bytes, "url", url));
}

static void amsg_done(void *ud, int rc, const cat_write_result *res)
{
    amsg *d = ud;

    d->rc = rc;
    if (res != NULL) {
        d->id = res->id;
        snprintf(d->error, sizeof(d->error), "%s", res->error);
    }
    str_outbox_post(d->srv, &d->base);
}

int str_attach_post_body(str_req *r)
{
    str_server *srv = r->srv;
    static const str_mp_cbs cbs = {att_begin, att_data, att_end};
    att_parse a = {0};
    char ct[256], b[80], hex[33], file[64];
    unsigned char rnd[16];
    const char *type, *ext = "";
    str_mp *mp = NULL;
    amsg *d = NULL;
    int rc, ret = 0, fd = -1;

    str_req_hdr(r, "content-type", ct, sizeof(ct));
    if (str_mp_boundary(ct, b, sizeof(b)) < 0 ||
        str_mp_new(b, &cbs, &a, &mp) < 0) {
        ret = str_reply_error(r, 400, "invalid_upload", "bad multipart body");
        goto out;
    }
    rc = str_mp_feed(mp, r->body ? r->body : "", r->body_len);
    if (rc == 0)
        rc = str_mp_finish(mp);
    if (a.too_big) {
        ret = str_reply_error(r, 413, "too_large",
                              "an attachment is at most %d bytes", ATTACH_MAX);
        goto out;
    }
    if (rc < 0) {
        ret = str_reply_error(r, 400, "invalid_upload", "multipart: %s",
                              rc == YL_ETRUNC ? "the body ends early"
                                              : str_mp_error(mp));
        goto out;
    }
    if (a.files != 1 || a.len == 0) {
        ret = str_reply_error(r, 400, "invalid_upload",
                              "file: want exactly one non-empty file field "
                              "\"file\"");
        goto out;
    }
    type = sniff((const unsigned char *)att_bytes(&a), a.len, &ext);
    if (type == NULL) {
        ret = str_reply_error(r, 415, "unsupported_media_type",
                              "file: not a PDF, JPEG, PNG or WebP (checked "
                              "by its content, not its name)");
        goto out;
    }
    if (!yl_utf8_text(a.name) || a.name[0] == '\0')
        snprintf(a.name, sizeof(a.name), "attachment.%s", ext);
    /* A random name: the id is only known after the commit, and the file
     * must be whole before the row that points at it exists. */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ret = str_reply_error(r, 500, "internal", "no random bytes");
        goto out;
    }
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    snprintf(file, sizeof(file), "%s.%s", hex, ext);
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        ret = str_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    d->base.run = amsg_run;
    d->base.free_fn = amsg_free;
    d->srv = srv;
    d->serial = r->serial;
    d->bytes = (int64_t)a.len;
    snprintf(d->type, sizeof(d->type), "%s", type);
    snprintf(d->name, sizeof(d->name), "%s", a.name);
    if (str_pathf(d->path, sizeof(d->path), "%s/attachments",
                  srv->cfg.cat.data_dir) < 0 ||
        yl_mkdirs(d->path) < 0 ||
        str_pathf(d->path, sizeof(d->path), "%s/attachments/%s",
                  srv->cfg.cat.data_dir, file) < 0) {
        ret = str_reply_error(r, 500, "internal", "attachments directory");
        goto out;
    }
    fd = open(d->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    /* The fsync is the writer thread's (cat_attachments_add_submit). */
    if (fd < 0 || write(fd, att_bytes(&a), a.len) != (ssize_t)a.len) {
        int e = errno;

        if (fd >= 0)
            unlink(d->path);
        ret = e == ENOSPC
                  ? str_reply_error(r, 507, "no_space", "the disk is full")
                  : str_reply_error(r, 500, "internal", "store attachment: %s",
                                    strerror(e));
        goto out;
    }
    rc = cat_attachments_add_submit(srv->w, type, a.name, (int64_t)a.len, file,
                                    d->path, r->tok.scope, amsg_done, d);
    if (rc < 0) {
        unlink(d->path);
        ret = str_reply_error(r, 503, "unavailable",
                              "the server is stopping; retry");
        goto out;
    }
    d = NULL; /* the writer's now */
    str_waiting_add(srv, r);
out:
    if (fd >= 0)
        close(fd);
    free(d);
    str_mp_free(mp);
    free(a.data);
    return ret;
}

int str_attach_get(str_req *r)
{
    json_t *o = NULL;
    char path[PATH_MAX], hdr[1024];
    unsigned char *p = (unsigned char *)hdr, *end = p + sizeof(hdr);
    const char *owner;
    struct stat sb;
    int rc, fd;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "attachments need a token (Authorization: "
                               "Bearer ...)");
    rc = cat_attachments_get(r->srv->rd, r->id, &o);
    if (rc == YL_ENOTFOUND)
        return str_reply_error(r, 404, "not_found", "no attachment %" PRId64,
                               r->id);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    owner = json_string_value(json_object_get(o, "owner"));
    if (r->tok.role == CAT_ROLE_SITE)
        rc = cat_attachments_for_site(r->srv->rd, r->id, r->tok.scope);
    else
        rc = cat_tokens_allows(r->srv->rd, &r->tok, owner ? owner : "");
    if (rc != 1) {
        json_decref(o);
        return str_reply_error(r, 404, "not_found",
                               "no attachment %" PRId64 " for this token",
                               r->id);
    }
    if (str_pathf(path, sizeof(path), "%s/attachments/%s",
                  r->srv->cfg.cat.data_dir,
                  json_string_value(json_object_get(o, "file"))) < 0 ||
        (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        json_decref(o);
        return str_reply_error(r, 404, "not_found",
                               "attachment %" PRId64 " has no file", r->id);
    }
    if (fstat(fd, &sb) < 0) {
        close(fd);
        json_decref(o);
        return str_reply_error(r, 500, "internal", "stat attachment");
    }
    if (str_hdr_begin(r, 200, json_string_value(json_object_get(o, "type")),
                      (int64_t)sb.st_size, &p, end) < 0 ||
        str_hdr_add(r, "cache-control:", "private, max-age=86400", &p, end) <
            0 ||
        str_hdr_add(r, "content-disposition:", "inline", &p, end) < 0 ||
        str_hdr_end(r, &p, end) < 0) {
        close(fd);
        json_decref(o);
        return str_reply_error(r, 500, "internal", "headers");
    }
    json_decref(o);
    if (r->head_only) {
        close(fd);
        return str_send_final(r, (unsigned char *)hdr,
                              (size_t)(p - (unsigned char *)hdr));
    }
    r->fd = fd;
    r->has_fd = true;
    r->off = 0;
    r->end = sb.st_size;
    return str_reply_start_file(r, (unsigned char *)hdr,
                                (size_t)(p - (unsigned char *)hdr));
}
