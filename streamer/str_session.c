/* str_session.c - people signed in to the admin console: sign-in
 * (POST /api/v1/session), who am I (GET), sign-out (DELETE); the session
 * cookie read before every API request; the CSRF check of state-changing
 * requests that a cookie authenticates; and the limit on failed sign-ins
 * per user and per address.
 *
 * A session maps onto the token model: r->tok gets the user's role and
 * scope, so every handler's role and region checks apply unchanged.
 *
 * The cookie is HttpOnly (page scripts never see it), SameSite=Strict (no
 * other site's page makes the browser send it) and Path=/; its value is
 * 256 random bits whose SHA-256 is all the catalog keeps. The CSRF token
 * comes with the sign-in's answer (and GET /api/v1/session) and must come
 * back as X-CSRF-Token on every POST and DELETE the cookie authenticates:
 * a second line of defence behind SameSite for browsers that ignore it.
 * Bearer-token requests carry no cookie and need no CSRF token.
 *
 * Threads: service thread, except the writer's done callback (copies and
 * posts to the loop). The password check runs on a query pool thread
 * (str_query.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "catalog/cat_users.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "streamer/str_api.h"
#include "streamer/str_route.h"

/* ---- failed sign-ins: a small set-associative table ---- */

#define LIM_SETS 256
#define LIM_WAYS 4

typedef struct lim_ent {
    char key[CAT_USER_NAME_MAX + 8]; /* "u:NAME" or "a:ADDR"; "" free */
    int n;                           /* attempts in the window */
    int64_t since_ms;                /* the window's start */
} lim_ent;

/* Keyed hashing (SipHash, random key per run): nobody can pick names that
 * crowd one set to push a user's count out. */
struct str_signin_limits {
    unsigned char key[crypto_shorthash_KEYBYTES];
    lim_ent e[LIM_SETS][LIM_WAYS];
};

/* The entry for key: its own, else a free or stale one, else the oldest
 * of its set (taken over). */
static lim_ent *lim_find(struct str_signin_limits *l, const char *key,
                         int64_t now, int64_t window_ms, bool create)
{
    unsigned char h[crypto_shorthash_BYTES];
    lim_ent *set, *pick = NULL;
    uint64_t v;
    int i;

    crypto_shorthash(h, (const unsigned char *)key, strlen(key), l->key);
    memcpy(&v, h, sizeof(v));
    set = l->e[v % LIM_SETS];
    for (i = 0; i < LIM_WAYS; i++)
        if (strcmp(set[i].key, key) == 0)
            return &set[i];
    if (!create)
        return NULL;
    for (i = 0; i < LIM_WAYS; i++) {
        lim_ent *e = &set[i];

        if (e->key[0] == '\0' || now - e->since_ms >= window_ms) {
            pick = e;
            break;
        }
        if (pick == NULL || e->since_ms < pick->since_ms)
            pick = e;
    }
    snprintf(pick->key, sizeof(pick->key), "%s", key);
    pick->n = 0;
    pick->since_ms = now;
    return pick;
}

/* Seconds until key may try again, or 0. */
static int lim_wait(str_server *srv, const char *key, int max)
{
    int64_t now = cat_now_ms(), win = (int64_t)srv->cfg.signin_window_s * 1000;
    lim_ent *e = lim_find(srv->limits, key, now, win, false);

    if (e == NULL || now - e->since_ms >= win || e->n < max)
        return 0;
    return (int)((e->since_ms + win - now + 999) / 1000);
}

/* Counts an attempt (before it is checked: parallel guesses count too). */
static void lim_hit(str_server *srv, const char *key)
{
    int64_t now = cat_now_ms(), win = (int64_t)srv->cfg.signin_window_s * 1000;
    lim_ent *e = lim_find(srv->limits, key, now, win, true);

    if (now - e->since_ms >= win) {
        e->n = 0;
        e->since_ms = now;
    }
    e->n++;
}

/* A good sign-in takes its attempt back (all of them for the user). */
static void lim_ok(str_server *srv, const char *key, bool all)
{
    int64_t now = cat_now_ms(), win = (int64_t)srv->cfg.signin_window_s * 1000;
    lim_ent *e = lim_find(srv->limits, key, now, win, false);

    if (e == NULL)
        return;
    if (all || e->n <= 1)
        e->key[0] = '\0';
    else
        e->n--;
}

int str_session_open(str_server *srv)
{
    if (sodium_init() < 0)
        return YL_EDB;
    srv->limits = calloc(1, sizeof(*srv->limits));
    if (srv->limits == NULL)
        return -ENOMEM;
    crypto_shorthash_keygen(srv->limits->key);
    return 0;
}

void str_session_close(str_server *srv)
{
    free(srv->limits);
    srv->limits = NULL;
}

/* ---- the cookie ---- */

/* Finds NAME=value in a Cookie header; copies value into out. 1 when
 * found with a value that fits. */
static int cookie_get(const char *h, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    const char *p = h;

    while (*p != '\0') {
        const char *end;
        size_t vl;

        while (*p == ' ' || *p == ';' || *p == ',')
            p++;
        end = p + strcspn(p, ";");
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 &&
            p[nl] == '=') {
            vl = (size_t)(end - p) - nl - 1;
            while (vl > 0 && p[nl + 1 + vl - 1] == ' ')
                vl--;
            if (vl + 1 > len)
                return 0;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

int str_session_cookie(const char *cookie, char sid[CAT_SESSION_LEN + 1])
{
    char v[CAT_SESSION_LEN + 2];

    if (cookie == NULL ||
        !cookie_get(cookie, STR_SESSION_COOKIE, v, sizeof(v)) ||
        strlen(v) != CAT_SESSION_LEN)
        return 0;
    memcpy(sid, v, CAT_SESSION_LEN + 1);
    return 1;
}

int str_session_auth(str_req *r)
{
    char h[4096], sid[CAT_SESSION_LEN + 2];
    cat_token_info info;
    int rc;

    r->via_session = false;
    r->session_state = STR_SESSION_NONE;
    if (r->rt != NULL && (r->rt->flags & STR_RF_NO_COOKIE))
        return 0;
    if (str_req_hdr(r, "cookie", h, sizeof(h)) <= 0 ||
        !cookie_get(h, STR_SESSION_COOKIE, sid, sizeof(sid)))
        return 0;
    rc =
        cat_users_session_verify(r->srv->rd, sid, cat_now_ms(), &info, r->csrf);
    if (rc == YL_ENOTFOUND) {
        r->session_state = STR_SESSION_UNKNOWN;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (info.expired) {
        r->session_state = STR_SESSION_EXPIRED;
        return 0;
    }
    r->session_state = STR_SESSION_OK;
    r->via_session = true;
    r->has_token = true;
    r->tok = info;
    memcpy(r->sid, sid, sizeof(r->sid));
    return 0;
}

int str_session_csrf(str_req *r, int *ret)
{
    char h[CAT_CSRF_LEN + 2];
    int n;

    if (r->method == STR_M_GET || r->method == STR_M_HEAD ||
        r->method == STR_M_OPTIONS)
        return 0;
    n = str_req_hdr(r, "x-csrf-token", h, sizeof(h));
    if (n == CAT_CSRF_LEN && strlen(r->csrf) == CAT_CSRF_LEN &&
        sodium_memcmp(h, r->csrf, CAT_CSRF_LEN) == 0)
        return 0;
    YL_LOGW("str", "[user=%s] %s refused: %s CSRF token", r->tok.name, r->path,
            n < 0 ? "no" : "a wrong");
    *ret = str_reply_error(r, 403, "csrf",
                           "a request signed in with a cookie must carry the "
                           "session's X-CSRF-Token header");
    return 1;
}

/* ---- GET /api/v1/session ---- */

static json_t *user_json(const cat_token_info *t)
{
    return json_pack("{s:s, s:s, s:s}", "name", t->name, "role",
                     cat_role_name(t->role), "scope", t->scope);
}

static int not_signed_in(str_req *r)
{
    if (r->session_state == STR_SESSION_EXPIRED)
        return str_reply_error(r, 401, "session_expired",
                               "the session has expired; sign in again");
    return str_reply_error(r, 401, "unauthorized", "not signed in");
}

int str_session_get(str_req *r)
{
    json_t *o;

    if (!r->via_session)
        return not_signed_in(r);
    o = json_pack("{s:o, s:s, s:I}", "user", user_json(&r->tok), "csrf",
                  r->csrf, "expires_ms", (json_int_t)r->tok.expires_ms);
    if (o == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    return str_api_reply_json(r, 200, o);
}

/* ---- POST /api/v1/session ---- */

int str_session_post(str_req *r)
{
    return str_body_begin(r, STR_BODY_JSON, 4096);
}

int str_session_post_body(str_req *r)
{
    str_server *srv = r->srv;
    char addr[64], ukey[CAT_USER_NAME_MAX + 8], akey[72], extra[48];
    const char *name, *pw;
    json_error_t jerr;
    json_t *in;
    int wait, ret = 0;

    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    name = json_string_value(json_object_get(in, "name"));
    pw = json_string_value(json_object_get(in, "password"));
    if (!json_is_object(in) || name == NULL || pw == NULL) {
        ret = str_reply_error(r, 400, "invalid",
                              "want {\"name\": ..., \"password\": ...}");
        goto out;
    }
    if (!cat_user_name_ok(name) || strlen(pw) > CAT_PASSWORD_MAX) {
        ret = str_reply_error(r, 401, "unauthorized", "wrong name or password");
        goto out;
    }
    str_req_client(r, addr, sizeof(addr));
    snprintf(ukey, sizeof(ukey), "u:%s", name);
    snprintf(akey, sizeof(akey), "a:%s", addr);
    wait = lim_wait(srv, ukey, srv->cfg.signin_fails);
    if (wait == 0)
        wait = lim_wait(srv, akey, srv->cfg.signin_fails_addr);
    if (wait > 0) {
        YL_LOGW("str", "[user=%s] sign-in from %s refused: too many failures",
                name, addr);
        snprintf(extra, sizeof(extra), "retry-after: %d\r\n", wait);
        ret = str_reply_error_hdrs(r, 429, "too_many_attempts", extra,
                                   "too many failed sign-ins; try again in "
                                   "%d s",
                                   wait);
        goto out;
    }
    lim_hit(srv, ukey);
    lim_hit(srv, akey);
    if (str_query_submit_signin(r, name, pw, addr) < 0)
        ret = str_reply_error(r, 500, "internal", "out of memory");
out:
    /* The body held the password: wipe it now, not at cleanup. */
    if (r->body != NULL)
        sodium_memzero(r->body, r->body_len);
    json_decref(in);
    return ret;
}

void str_session_signin_done(str_server *srv, uint64_t serial, int rc,
                             json_t *json, const char *err, const char *name,
                             const char *addr)
{
    str_req *r = str_waiting_find(srv, serial);
    char ukey[CAT_USER_NAME_MAX + 8], akey[72], extra[256];
    json_t *out;
    char *body;

    snprintf(ukey, sizeof(ukey), "u:%s", name);
    snprintf(akey, sizeof(akey), "a:%s", addr);
    if (rc < 0) {
        YL_LOGW("str", "[user=%s] sign-in from %s failed: %s", name, addr, err);
        if (r == NULL)
            return;
        if (rc == YL_ENOTFOUND)
            str_api_defer_error_code(r, 401, "unauthorized",
                                     "wrong name or password");
        else if (rc == YL_EFORBIDDEN)
            str_api_defer_error_code(r, 403, "user_disabled",
                                     "this user is disabled");
        else
            str_api_defer_error(r, rc, err);
        return;
    }
    lim_ok(srv, ukey, true);
    lim_ok(srv, akey, false);
    YL_LOGI("str", "[user=%s] signed in from %s", name, addr);
    if (r == NULL)
        return; /* the client left: the session is never used */
    out = json_pack("{s:O, s:O, s:O}", "user", json_object_get(json, "user"),
                    "csrf", json_object_get(json, "csrf"), "expires_ms",
                    json_object_get(json, "expires_ms"));
    body = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    snprintf(extra, sizeof(extra),
             "set-cookie: %s=%s; Path=/; Max-Age=%d; HttpOnly; "
             "SameSite=Strict\r\n"
             "cache-control: no-store\r\n",
             STR_SESSION_COOKIE,
             json_string_value(json_object_get(json, "session")),
             srv->cfg.session_ttl_s);
    free(r->pend_extra);
    r->pend_extra = strdup(extra);
    sodium_memzero(extra, sizeof(extra));
    str_api_defer_reply(r, 200, body, body != NULL ? strlen(body) : 0);
}

/* ---- DELETE /api/v1/session ---- */

typedef struct end_msg {
    str_msg base;
    str_server *srv;
    uint64_t serial;
    int rc;
    char error[512];
} end_msg;

static void end_msg_free(str_msg *m)
{
    free(m);
}

/* Service thread. */
static void end_run(str_server *srv, str_msg *m)
{
    end_msg *d = (end_msg *)m;
    str_req *r = str_waiting_find(srv, d->serial);
    static const char body[] = "{\"signed_out\":true}";

    if (r == NULL)
        return;
    if (d->rc < 0) {
        str_api_defer_error(r, d->rc, d->error);
        return;
    }
    free(r->pend_extra);
    r->pend_extra = strdup("set-cookie: " STR_SESSION_COOKIE "=; Path=/; "
                           "Max-Age=0; HttpOnly; SameSite=Strict\r\n"
                           "cache-control: no-store\r\n");
    str_api_defer_reply(r, 200, strdup(body), sizeof(body) - 1);
}

/* Writer thread, after the commit. */
static void end_done(void *ud, int rc, const cat_write_result *res)
{
    end_msg *d = ud;

    d->rc = rc;
    if (res != NULL)
        snprintf(d->error, sizeof(d->error), "%s", res->error);
    str_outbox_post(d->srv, &d->base);
}

int str_session_delete(str_req *r)
{
    end_msg *d;
    int rc;

    if (!r->via_session)
        return not_signed_in(r);
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    d->base.run = end_run;
    d->base.free_fn = end_msg_free;
    d->srv = r->srv;
    d->serial = r->serial;
    rc = cat_users_session_end_submit(r->srv->w, r->sid, end_done, d);
    if (rc < 0) {
        free(d);
        return str_reply_error(r, 503, "unavailable",
                               "the server is stopping; retry");
    }
    YL_LOGI("str", "[user=%s] signed out", r->tok.name);
    str_waiting_add(r->srv, r);
    return 0;
}
