/* cat_views_parse.c - viewing events: parsing a batch (any thread, no DB)
 * and the batch object. cat_views.c validates and applies it. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_lang.h"
#include "catalog/cat_code.h"
#include "catalog/cat_views_internal.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"

/* Watch credit (docs/api.md "Watch credit"): a ts further than this ahead
 * of the server's receipt is refused; clocks of village PCs drift, but
 * not by minutes once they sync. */
#define TS_SKEW_MS (2 * 60 * 1000)

static int perr(char *err, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(char *err, size_t len, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return code;
}

/* Optional short token string [A-Za-z0-9_.-]: "" when absent. */
static int opt_word(const json_t *o, const char *key, char *out, size_t len,
                    int i, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, key);
    const char *s;
    size_t n;

    out[0] = '\0';
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return perr(err, errlen, YL_EINVAL, "events[%d].%s: want a string", i,
                    key);
    s = json_string_value(v);
    n = strlen(s);
    if (n == 0 || n >= len)
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].%s: want 1..%zu characters", i, key, len - 1);
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return perr(err, errlen, YL_EINVAL,
                        "events[%d].%s: \"%s\" has characters outside "
                        "[A-Za-z0-9_.-]",
                        i, key, s);
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* The session key and sequence number of event i. */
static int parse_session(const json_t *o, int i, view_ev *e, char *err,
                         size_t errlen)
{
    const json_t *v;
    const char *s;

    v = json_object_get(o, "session");
    if (!json_is_string(v))
        return perr(err, errlen, YL_EINVAL, "events[%d].session: want a string",
                    i);
    s = json_string_value(v);
    if (s[0] == '\0' || strlen(s) > SKEY_MAX || !yl_utf8_text(s))
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].session: want 1..%d characters of text", i,
                    SKEY_MAX);
    scopy(e->skey, sizeof(e->skey), s);
    e->khash = cat_hash_str(e->skey, strlen(e->skey));

    v = json_object_get(o, "seq");
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (1LL << 53))
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].seq: want an integer >= 0", i);
    e->seq = json_integer_value(v);
    return 0;
}

/* The station of event i: a township or village code, and the token's own
 * site when the token is scoped to one. */
static int parse_site(const json_t *o, int i, const char *scope, view_ev *e,
                      char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, "site");
    const char *s;
    int lv;

    if (!json_is_string(v))
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].site: want a site code string", i);
    s = json_string_value(v);
    lv = cat_code_level(s);
    if (lv != CAT_LEVEL_TOWNSHIP && lv != CAT_LEVEL_VILLAGE)
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].site: \"%.20s\" is not a station code "
                    "(township 9 digits or village 12)",
                    i, s);
    if (scope != NULL && strcmp(scope, s) != 0)
        return perr(err, errlen, YL_EFORBIDDEN,
                    "events[%d].site: %s is not this token's site %s", i, s,
                    scope);
    e->site_id = strtoll(s, NULL, 10);
    return 0;
}

/* A lesson, or (kind live) a meeting: exactly one of the two. */
static int parse_watched(const json_t *o, int i, view_ev *e, char *err,
                         size_t errlen)
{
    const json_t *v = json_object_get(o, "meeting");

    e->meeting = 0;
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return perr(err, errlen, YL_EINVAL,
                        "events[%d].meeting: want a meeting id (integer > 0)",
                        i);
        if (json_object_get(o, "lesson") != NULL)
            return perr(err, errlen, YL_EINVAL,
                        "events[%d]: name a lesson or a meeting, not both", i);
        e->meeting = json_integer_value(v);
        e->lesson = 0;
    } else {
        v = json_object_get(o, "lesson");
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return perr(err, errlen, YL_EINVAL,
                        "events[%d].lesson: want a lesson id (integer > 0)", i);
        e->lesson = json_integer_value(v);
    }
    return 0;
}

/* The kind of event i (start, beat or end) and its position in seconds. */
static int parse_kind_pos(const json_t *o, int i, view_ev *e, char *err,
                          size_t errlen)
{
    const json_t *v = json_object_get(o, "kind");
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    double d;

    if (strcmp(s, "start") == 0)
        e->kind = KIND_START;
    else if (strcmp(s, "beat") == 0)
        e->kind = KIND_BEAT;
    else if (strcmp(s, "end") == 0)
        e->kind = KIND_END;
    else
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].kind: want \"start\", \"beat\" or \"end\"", i);

    v = json_object_get(o, "position_s");
    if (!json_is_number(v))
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].position_s: want a number", i);
    d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > 1e7)
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].position_s: want seconds >= 0", i);
    e->pos = d;
    return 0;
}

/* The client's optional ts (-1 when absent), then the server's receipt
 * time recv. */
static int parse_ts(const json_t *o, int i, int64_t recv, view_ev *e, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(o, "ts");

    e->ts = -1;
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return perr(err, errlen, YL_EINVAL,
                        "events[%d].ts: want epoch milliseconds (integer)", i);
        e->ts = json_integer_value(v);
        /* Credit comes from the server's clock (see apply_one), but a ts
         * from the future is a client lying or a clock to fix: say so. */
        if (recv > 0 && e->ts > recv + TS_SKEW_MS)
            return perr(err, errlen, YL_EINVAL,
                        "events[%d].ts: %lld is %lld s ahead of the server "
                        "clock (at most %d s allowed)",
                        i, (long long)e->ts, (long long)((e->ts - recv) / 1000),
                        TS_SKEW_MS / 1000);
    }
    e->recv_ms = recv;
    return 0;
}

/* The optional player details of event i: audio_lang, rendition and
 * client. */
static int parse_player(const json_t *o, int i, view_ev *e, char *err,
                        size_t errlen)
{
    const json_t *v = json_object_get(o, "audio_lang");
    int rc;

    e->audio[0] = '\0';
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) ||
            cat_lang_normalize(json_string_value(v), e->audio,
                               sizeof(e->audio)) < 0)
            return perr(err, errlen, YL_EINVAL,
                        "events[%d].audio_lang: want a BCP-47 tag", i);
    }
    rc = opt_word(o, "rendition", e->rendition, sizeof(e->rendition), i, err,
                  errlen);
    if (rc < 0)
        return rc;
    rc = opt_word(o, "client", e->client, sizeof(e->client), i, err, errlen);
    if (rc < 0)
        return rc;
    if (e->client[0] != '\0' && strcmp(e->client, "tv") != 0 &&
        strcmp(e->client, "pc") != 0 && strcmp(e->client, "phone") != 0)
        return perr(err, errlen, YL_EINVAL,
                    "events[%d].client: want \"tv\", \"pc\" or \"phone\"", i);
    return 0;
}

/* Event i of a batch into e, checked field by field in this order; err
 * names the first field that is wrong. */
static int parse_one(const json_t *o, int i, const char *scope, int64_t recv,
                     view_ev *e, char *err, size_t errlen)
{
    int rc;

    if (!json_is_object(o))
        return perr(err, errlen, YL_EINVAL, "events[%d]: want an object", i);
    rc = parse_session(o, i, e, err, errlen);
    if (rc < 0)
        return rc;
    rc = parse_site(o, i, scope, e, err, errlen);
    if (rc < 0)
        return rc;
    rc = parse_watched(o, i, e, err, errlen);
    if (rc < 0)
        return rc;
    rc = parse_kind_pos(o, i, e, err, errlen);
    if (rc < 0)
        return rc;
    rc = parse_ts(o, i, recv, e, err, errlen);
    if (rc < 0)
        return rc;
    return parse_player(o, i, e, err, errlen);
}

int cat_views_parse(const json_t *body, const char *site_scope, int max_events,
                    int64_t recv_ms, cat_view_batch **out, char *err,
                    size_t errlen)
{
    const json_t *events;
    cat_view_batch *b = NULL;
    size_t n;
    int rc;

    if (!json_is_object(body))
        return perr(err, errlen, YL_EINVAL,
                    "body: want an object {\"events\": [...]}");
    events = json_object_get(body, "events");
    if (!json_is_array(events))
        return perr(err, errlen, YL_EINVAL, "events: want an array");
    n = json_array_size(events);
    if (max_events > 0 && n > (size_t)max_events)
        return perr(err, errlen, YL_ETOOBIG,
                    "events: %zu events, the limit is %d per batch", n,
                    max_events);
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->ev = calloc(n ? n : 1, sizeof(*b->ev));
    if (b->ev == NULL) {
        free(b);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rc = parse_one(json_array_get(events, i), (int)i, site_scope, recv_ms,
                       &b->ev[i], err, errlen);
        if (rc < 0) {
            cat_view_batch_free(b);
            return rc;
        }
    }
    b->n = (int)n;
    *out = b;
    return 0;
}

void cat_view_batch_set_addr(cat_view_batch *b, const char *addr)
{
    for (int i = 0; b != NULL && addr != NULL && i < b->n; i++)
        scopy(b->ev[i].addr, sizeof(b->ev[i].addr), addr);
}

int cat_view_batch_count(const cat_view_batch *b)
{
    return b != NULL ? b->n : 0;
}

void cat_view_batch_free(cat_view_batch *b)
{
    if (b == NULL)
        return;
    free(b->ev);
    free(b);
}
