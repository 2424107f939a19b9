/* fuzz_subs.c - subtitle files an administrator uploads (SRT, WebVTT,
 * ASS/SSA; transcode/tc_subs*.c), parsed and rendered to the WebVTT the
 * player gets.
 *
 * Invariants (tc_subs.h): cues sorted by start, 0 <= start <= end, text
 * non-empty UTF-8 with no empty line; a failure names a known code; and
 * the WebVTT we render parses back to the same cues. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/yl_err.h"
#include "common/yl_utf8.h"
#include "tests/fuzz/fuzz_util.h"
#include "transcode/tc_subs.h"

static void check_cues(const tc_subs *s)
{
    size_t i, n = tc_subs_count(s);

    FZ_CHECK(n > 0);
    for (i = 0; i < n; i++) {
        const tc_cue *c = tc_subs_cue(s, i);
        size_t tl;

        FZ_CHECK(c != NULL && c->text != NULL);
        FZ_CHECK(c->start_ms >= 0 && c->start_ms <= c->end_ms);
        if (i > 0)
            FZ_CHECK(tc_subs_cue(s, i - 1)->start_ms <= c->start_ms);
        tl = strlen(c->text);
        FZ_CHECK(tl > 0 && c->text[0] != '\n' && c->text[tl - 1] != '\n');
        FZ_CHECK(strstr(c->text, "\n\n") == NULL);
        for (size_t k = 0; k < tl;) {
            size_t q = yl_utf8_seq((const unsigned char *)c->text + k, tl - k);

            FZ_CHECK(q > 0);
            k += q;
        }
    }
    FZ_CHECK(tc_subs_cue(s, n) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_subs *s = NULL, *back = NULL;
    char why[160], *vtt = NULL;
    int line = -1, rc;
    size_t i;

    why[0] = '\0';
    rc =
        tc_subs_parse_ex((const char *)data, size, &s, &line, why, sizeof(why));
    if (rc < 0) {
        FZ_CHECK(rc == YL_EBADUTF8 || rc == YL_EBADTIME || rc == YL_ECORRUPT ||
                 rc == -ENOMEM);
        FZ_CHECK(s == NULL && line >= 0);
        FZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
        return 0;
    }
    check_cues(s);
    FZ_CHECK(tc_subs_render_vtt(s, 126000, &vtt) == 0);
    rc = tc_subs_parse_ex(vtt, strlen(vtt), &back, &line, why, sizeof(why));
    if (rc < 0)
        fprintf(stderr, "rendered WebVTT refused (line %d: %s):\n%s\n", line,
                why, vtt);
    FZ_CHECK(rc == 0);
    FZ_CHECK(tc_subs_format(back) == TC_SUBS_VTT);
    if (tc_subs_count(back) != tc_subs_count(s))
        fprintf(stderr, "%zu cues became %zu:\n%s\n", tc_subs_count(s),
                tc_subs_count(back), vtt);
    FZ_CHECK(tc_subs_count(back) == tc_subs_count(s));
    for (i = 0; i < tc_subs_count(s); i++) {
        const tc_cue *a = tc_subs_cue(s, i), *b = tc_subs_cue(back, i);

        if (strcmp(a->text, b->text) != 0)
            fprintf(stderr, "cue %zu: \"%s\" came back as \"%s\"\n", i, a->text,
                    b->text);
        FZ_CHECK(a->start_ms == b->start_ms && a->end_ms == b->end_ms);
        FZ_CHECK(strcmp(a->text, b->text) == 0);
    }
    free(vtt);
    tc_subs_free(back);
    tc_subs_free(s);
    return 0;
}
