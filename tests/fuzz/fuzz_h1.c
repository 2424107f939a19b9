/* fuzz_h1.c - HTTP/1.1 request framing (streamer/str_h1.c over
 * http-parser), driven the way str_conn.c drives it: paused after each
 * message, upgrades cleared and parsing resumed, a callback may stop it.
 *
 * Invariants: callbacks come in order (begin, url, headers, body, done);
 * body bytes never exceed the Content-Length and equal it at done; no
 * callback runs after one stopped the parse or after an error; and the
 * same bytes fed whole or in arbitrary pieces give the same events. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "streamer/str_h1.h"
#include "tests/fuzz/fuzz_util.h"

enum { PH_IDLE, PH_HEAD, PH_BODY };

typedef struct h1run {
    str_h1 *h;
    fz_log log;
    int phase;
    bool stopped; /* a callback returned non-zero, or an error came */
    bool closing; /* CONNECT: str_conn answers 405 and reads no more */
    bool upgrade; /* the current message asked for one */
    bool chunked;
    uint64_t cl;   /* Content-Length at headers, UINT64_MAX if none */
    uint64_t body; /* body bytes of the current message */
    int msgs;
    int stop_at; /* return non-zero from this message's headers cb */
} h1run;

static int cb_begin(void *ud)
{
    h1run *r = ud;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_IDLE);
    r->phase = PH_HEAD;
    r->body = 0;
    fz_log_event(&r->log, 'B', NULL, 0, 0);
    return 0;
}

static int cb_url(void *ud, const char *at, size_t len)
{
    h1run *r = ud;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_HEAD);
    fz_log_event(&r->log, 'U', at, len, 1);
    return 0;
}

static int cb_field(void *ud, const char *at, size_t len)
{
    h1run *r = ud;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_HEAD);
    fz_log_event(&r->log, 'F', at, len, 1);
    return 0;
}

static int cb_value(void *ud, const char *at, size_t len)
{
    h1run *r = ud;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_HEAD);
    fz_log_event(&r->log, 'V', at, len, 1);
    return 0;
}

static int cb_headers(void *ud)
{
    h1run *r = ud;
    char sum[96];
    int n;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_HEAD);
    r->phase = PH_BODY;
    r->chunked = str_h1_chunked(r->h);
    r->cl = str_h1_remaining(r->h);
    r->upgrade = str_h1_upgrade(r->h);
    n = snprintf(sum, sizeof(sum), "m%d c%d l%llu k%d u%d", str_h1_method(r->h),
                 r->chunked, (unsigned long long)r->cl, str_h1_keep_alive(r->h),
                 r->upgrade);
    fz_log_event(&r->log, 'H', sum, (size_t)n, 0);
    if (r->msgs == r->stop_at) {
        r->stopped = true;
        return 1;
    }
    if (str_h1_method(r->h) == STR_H1_CONNECT) {
        r->closing = true; /* as str_conn.c: refuse, stop reading */
        str_h1_pause(r->h, 1);
    }
    return 0;
}

static int cb_body(void *ud, const char *at, size_t len)
{
    h1run *r = ud;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_BODY);
    FZ_CHECK(len > 0);
    r->body += len;
    if (!r->chunked && r->cl != UINT64_MAX)
        FZ_CHECK(r->body <= r->cl);
    fz_log_event(&r->log, 'D', at, len, 1);
    return 0;
}

static int cb_done(void *ud)
{
    h1run *r = ud;

    FZ_CHECK(!r->stopped);
    FZ_CHECK(r->phase == PH_BODY);
    if (!r->chunked && r->cl != UINT64_MAX && !r->upgrade)
        FZ_CHECK(r->body == r->cl);
    if (r->cl == UINT64_MAX && !r->chunked)
        FZ_CHECK(r->body == 0); /* a request without length has no body */
    r->phase = PH_IDLE;
    r->msgs++;
    fz_log_event(&r->log, 'E', NULL, 0, 0);
    str_h1_pause(r->h, 1); /* the next request waits for the answer */
    return 0;
}

static const str_h1_cb cbs = {
    .begin = cb_begin,
    .url = cb_url,
    .field = cb_field,
    .value = cb_value,
    .headers = cb_headers,
    .body = cb_body,
    .done = cb_done,
};

/* Feeds data as str_conn.c's conn_parse() does, the input arriving in
 * pieces from sp (NULL: all at once). Returns the final error. */
static int drive(h1run *r, const char *d, size_t len, fz_split *sp)
{
    size_t off = 0, end = 0, n;
    int e = STR_H1_OK;

    for (;;) {
        if (off == end) {
            if (end == len)
                break;
            end += sp ? fz_split_next(sp, len - end) : len - end;
        }
        n = str_h1_execute(r->h, d + off, end - off, &e);
        FZ_CHECK(n <= end - off);
        off += n;
        if (e == STR_H1_PAUSED) {
            str_h1_pause(r->h, 0);
            if (r->closing)
                break;
            continue;
        }
        if (e != STR_H1_OK) {
            r->stopped = true;
            /* str_conn.c never calls again; were it to, nothing may run. */
            n = str_h1_execute(r->h, d + off, end - off, &e);
            FZ_CHECK(n == 0 && e != STR_H1_OK);
            fz_log_event(&r->log, 'X', NULL, 0, 0);
            return e;
        }
        if (str_h1_upgrade(r->h)) {
            str_h1_clear_upgrade(r->h);
            continue;
        }
        if (n == 0) { /* waits for more bytes */
            if (end == len)
                break;
            end += sp ? fz_split_next(sp, len - end) : len - end;
        }
    }
    return r->closing ? -1 : e;
}

static void run(h1run *r, const uint8_t *data, size_t len, int stop_at,
                fz_split *sp, int *err)
{
    memset(r, 0, sizeof(*r));
    r->stop_at = stop_at;
    r->cl = UINT64_MAX;
    r->h = str_h1_new(&cbs, r);
    FZ_CHECK(r->h != NULL);
    *err = drive(r, (const char *)data, len, sp);
    str_h1_free(r->h);
}

/* Offset of the last message's begin record in the log. */
static size_t last_begin(const fz_log *l)
{
    size_t i;

    for (i = l->len; i >= 2; i--)
        if (l->buf[i - 2] == '\n' && l->buf[i - 1] == 'B')
            return i - 2;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h1run whole, split;
    int stop_at = -1, e1, e2;
    fz_split sp;

    /* Stop from the headers callback of some message, now and then. */
    if (size > 0 && data[0] >= 0xf0)
        stop_at = data[0] & 3;
    fz_split_init(&sp, data, size);
    run(&whole, data, size, stop_at, NULL, &e1);
    run(&split, data, size, stop_at, &sp, &e2);
    if (e1 > STR_H1_PAUSED && e1 == e2) {
        /* Data of a token is handed out at the end of each piece, so the
         * message that failed may have shown more of itself when split:
         * compare the messages before it. */
        whole.log.len = last_begin(&whole.log);
        split.log.len = last_begin(&split.log);
    }
    if (e1 != e2 || whole.msgs != split.msgs ||
        whole.log.len != split.log.len ||
        (whole.log.len > 0 &&
         memcmp(whole.log.buf, split.log.buf, whole.log.len) != 0)) {
        fprintf(stderr,
                "whole (err %d, %d msgs): %.*s\nsplit (err %d, %d "
                "msgs): %.*s\n",
                e1, whole.msgs, (int)whole.log.len, whole.log.buf, e2,
                split.msgs, (int)split.log.len, split.log.buf);
        FZ_CHECK(!"whole and split parses differ");
    }
    fz_log_free(&whole.log);
    fz_log_free(&split.log);
    return 0;
}
