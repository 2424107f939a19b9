/* tc_subs_srt.c - SRT: cues of a SubRip file, their formatting tags
 * removed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "transcode/tc_subs_internal.h"

/* s[0..n) is the inside of <...> plus the '>'. Only <font ...> takes
 * attributes, so "a<b && c>d" is text, not a bold tag. */
static int tag_is(const char *s, size_t n, const char *name)
{
    size_t k = strlen(name);

    return n > k && strncasecmp(s, name, k) == 0 &&
           (s[k] == '>' || (s[k] == ' ' && strcmp(name, "font") == 0));
}

/* SRT line: removes the formatting tags players know (<i> <b> <u> <s>
 * <font ...> and their ends) and ASS-style {\...} blocks that many SRT
 * files carry; any other '<' is text. */
static int srt_text(yl_buf *t, const char *s, size_t n)
{
    static const char *const tags[] = {"i", "b", "u", "s", "font"};
    int ret;

    for (size_t i = 0; i < n;) {
        if (s[i] == '<') {
            const char *gt = memchr(s + i, '>', n - i);
            size_t k = i + 1 + (i + 1 < n && s[i + 1] == '/');
            int known = 0;

            for (size_t j = 0; gt != NULL && j < 5; j++)
                known |= tag_is(s + k, (size_t)(gt - (s + k)) + 1, tags[j]);
            if (known) {
                i = (size_t)(gt - s) + 1;
                continue;
            }
        } else if (s[i] == '{' && i + 1 < n && s[i + 1] == '\\') {
            const char *cb = memchr(s + i, '}', n - i);

            if (cb != NULL) {
                i = (size_t)(cb - s) + 1;
                continue;
            }
        }
        if ((ret = yl_buf_putc(t, s[i])) < 0)
            return ret;
        i++;
    }
    return 0;
}

int tcs_parse_srt(struct parser *p)
{
    size_t li = 0;
    int ret;

    while (li < p->n_lines) {
        yl_buf raw = {0};
        int64_t start, end;
        size_t stop;

        ret = 0;
        if (tcs_blank(&p->lines[li])) {
            li++;
            continue;
        }
        if (tcs_all_digits(&p->lines[li]) && !tcs_has_arrow(&p->lines[li])) {
            li++; /* cue number */
            if (li >= p->n_lines || tcs_blank(&p->lines[li]))
                return tcs_fail(p, YL_EBADTIME, li - 1,
                                "cue number without a timing line");
            if (!tcs_has_arrow(&p->lines[li]))
                return tcs_fail(
                    p, YL_EBADTIME, li,
                    "expected \"start --> end\" after the cue "
                    "number, got \"%.*s\"",
                    (int)(p->lines[li].n > 60 ? 60 : p->lines[li].n),
                    p->lines[li].s);
        } else if (!tcs_has_arrow(&p->lines[li])) {
            if (p->subs->n == 0)
                return tcs_fail(p, YL_ECORRUPT, li,
                                "expected a cue number or \"start --> end\"");
            /* Text after a blank line inside a cue: keep it with the
             * previous cue rather than lose it. */
            stop = tcs_text_end(p, li, 1);
            raw.s = p->subs->cues[p->subs->n - 1].text;
            raw.len = strlen(raw.s);
            raw.cap = raw.len + 1;
            p->subs->cues[p->subs->n - 1].text = NULL;
            ret = tcs_cue_lines(p, &li, stop, srt_text, &raw);
            if (ret >= 0)
                ret =
                    tcs_text_finish(&raw, &p->subs->cues[p->subs->n - 1].text);
            free(raw.s);
            if (ret < 0)
                return ret;
            continue;
        }
        ret = tcs_parse_timing(p, li, 0, &start, &end);
        if (ret < 0)
            return ret;
        li++;
        stop = tcs_text_end(p, li, 1);
        ret = tcs_cue_lines(p, &li, stop, srt_text, &raw);
        ret = tcs_cue_done(p->subs, &raw, ret, start, end);
        if (ret < 0)
            return ret;
    }
    return 0;
}
