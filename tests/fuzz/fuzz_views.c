/* fuzz_views.c - a viewing batch as the ingest thread reads it
 * (streamer/str_query.c run_views): JSON text through json_loadb() with
 * duplicate keys refused, the beacon form's "token" taken from the body,
 * then cat_views_parse() for an admin token (any site) and for a site
 * token (its own site only, a small batch limit).
 *
 * Invariants: a parse that fails says why and hands out no batch; one
 * that succeeds holds at least one event and no more than the limit; the
 * same JSON dumped and loaded again is judged the same way. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "catalog/cat_tokens.h"
#include "catalog/cat_views.h"
#include "common/yl_err.h"
#include "tests/fuzz/fuzz_util.h"

#define NOW_MS 1777777777000LL /* a fixed receipt time: replays agree */

static int parse(const json_t *body, const char *scope, int max)
{
    cat_view_batch *b = (cat_view_batch *)&b; /* must be left alone */
    cat_view_batch *const sentinel = b;
    char err[256];
    int rc;

    err[0] = '\0';
    rc = cat_views_parse(body, scope, max, NOW_MS, &b, err, sizeof(err));
    if (rc < 0) {
        FZ_CHECK(rc == YL_EINVAL || rc == YL_ETOOBIG || rc == YL_EFORBIDDEN);
        FZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        FZ_CHECK(b == sentinel);
        return rc;
    }
    FZ_CHECK(rc == 0 && b != NULL && b != sentinel);
    FZ_CHECK(cat_view_batch_count(b) >= 0 && cat_view_batch_count(b) <= max);
    rc = cat_view_batch_count(b);
    cat_view_batch_free(b);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body, *again;
    json_error_t jerr;
    const char *tok;
    char *text;
    int a, s;

    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    /* navigator.sendBeacon's form: {"token": ..., "events": [...]}. */
    tok = json_string_value(json_object_get(body, "token"));
    if (tok != NULL)
        (void)(strlen(tok) == CAT_TOKEN_LEN);
    a = parse(body, NULL, 500);
    s = parse(body, "532901104201", 4);

    text = json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
    FZ_CHECK(text != NULL);
    again = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    FZ_CHECK(again != NULL);
    FZ_CHECK(parse(again, NULL, 500) == a);
    FZ_CHECK(parse(again, "532901104201", 4) == s);
    json_decref(again);
    free(text);
    json_decref(body);
    return 0;
}
