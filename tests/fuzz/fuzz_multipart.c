/* fuzz_multipart.c - multipart/form-data uploads (streamer/str_multipart.c).
 *
 * Input: the Content-Type header value, a newline, then the body. The body
 * is parsed fed whole and fed in arbitrary pieces; both must report the
 * same parts, the same bytes in each and the same outcome. Data and part
 * ends come only inside a part; nothing is called after a callback
 * stopped the parse; a finished parse leaves no part open. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/yl_err.h"
#include "streamer/str_multipart.h"
#include "tests/fuzz/fuzz_util.h"

typedef struct mprun {
    fz_log log;
    bool in_part, stopped;
    int parts;
    int stop_at; /* part_begin of this part returns an error, -1 never */
} mprun;

static int on_begin(void *ud, const char *name, const char *filename,
                    const char *ctype)
{
    mprun *r = ud;

    FZ_CHECK(!r->stopped && !r->in_part);
    FZ_CHECK(name != NULL && name[0] != '\0' && strlen(name) < STR_MP_NAME_MAX);
    FZ_CHECK(filename == NULL || strlen(filename) < STR_MP_FILE_MAX);
    r->in_part = true;
    fz_log_event(&r->log, 'N', name, strlen(name), 0);
    if (filename)
        fz_log_event(&r->log, 'f', filename, strlen(filename), 0);
    if (ctype)
        fz_log_event(&r->log, 't', ctype, strlen(ctype), 0);
    if (r->parts++ == r->stop_at) {
        r->stopped = true;
        return YL_EINVAL;
    }
    return 0;
}

static int on_data(void *ud, const char *d, size_t len)
{
    mprun *r = ud;

    FZ_CHECK(!r->stopped && r->in_part && len > 0);
    fz_log_event(&r->log, 'D', d, len, 1);
    return 0;
}

static int on_end(void *ud)
{
    mprun *r = ud;

    FZ_CHECK(!r->stopped && r->in_part);
    r->in_part = false;
    fz_log_event(&r->log, 'E', NULL, 0, 0);
    return 0;
}

static const str_mp_cbs cbs = {on_begin, on_data, on_end};

static int run(mprun *r, const char *boundary, const char *body, size_t len,
               int stop_at, fz_split *sp)
{
    str_mp *mp = NULL;
    size_t off = 0, n;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->stop_at = stop_at;
    FZ_CHECK(str_mp_new(boundary, &cbs, r, &mp) == 0);
    while (off < len) {
        n = sp ? fz_split_next(sp, len - off) : len - off;
        rc = str_mp_feed(mp, body + off, n);
        off += n;
        if (rc < 0) {
            FZ_CHECK(str_mp_error(mp)[0] != '\0');
            r->stopped = true; /* no callback may follow an error */
            FZ_CHECK(str_mp_feed(mp, body + off, len - off) < 0);
            break;
        }
    }
    if (rc == 0) {
        rc = str_mp_finish(mp);
        if (rc == 0)
            FZ_CHECK(!r->in_part);
        else
            FZ_CHECK(rc == YL_ETRUNC);
    }
    FZ_CHECK(str_mp_parts(mp) == r->parts);
    FZ_CHECK(r->parts <= 65);
    str_mp_free(mp);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char ct[256], boundary[80];
    const uint8_t *nl = memchr(data, '\n', size);
    const char *body;
    size_t clen, blen;
    mprun whole, split;
    int stop_at = -1, rc1, rc2;
    fz_split sp;

    if (nl == NULL || (size_t)(nl - data) >= sizeof(ct))
        return 0;
    clen = (size_t)(nl - data);
    memcpy(ct, data, clen);
    ct[clen] = '\0';
    if (clen > 0 && ct[clen - 1] == '\r')
        ct[clen - 1] = '\0';
    if (str_mp_boundary(ct, boundary, sizeof(boundary)) < 0)
        return 0;
    FZ_CHECK(boundary[0] != '\0' && strlen(boundary) <= 70);
    body = (const char *)nl + 1;
    blen = size - clen - 1;
    if (blen > 0 && (unsigned char)body[blen - 1] >= 0xfe)
        stop_at = body[blen - 1] & 1; /* stop from a callback, sometimes */
    if (memchr(boundary, '\r', strlen(boundary)) ||
        memchr(boundary, '\n', strlen(boundary)))
        return 0; /* str_mp_new refuses; the server answers 400 */

    fz_split_init(&sp, data, size);
    rc1 = run(&whole, boundary, body, blen, stop_at, NULL);
    rc2 = run(&split, boundary, body, blen, stop_at, &sp);
    if (rc1 != rc2 || whole.parts != split.parts ||
        whole.log.len != split.log.len ||
        (whole.log.len > 0 &&
         memcmp(whole.log.buf, split.log.buf, whole.log.len) != 0)) {
        fprintf(stderr,
                "whole (rc %d, %d parts): %.*s\nsplit (rc %d, %d "
                "parts): %.*s\n",
                rc1, whole.parts, (int)whole.log.len, whole.log.buf, rc2,
                split.parts, (int)split.log.len, split.log.buf);
        FZ_CHECK(!"whole and split parses differ");
    }
    fz_log_free(&whole.log);
    fz_log_free(&split.log);
    return 0;
}
