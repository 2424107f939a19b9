/* tc_subs_internal.h - what the files of the subtitle parser share
 * (tc_subs.c: lines, timestamps, cue text, the cue list, format detection;
 * tc_subs_srt.c, tc_subs_vtt.c, tc_subs_ass.c: one format each). Only
 * tc_subs*.c include it; transcode/tc_subs.h is the public header. */
#ifndef YL_TC_SUBS_INTERNAL_H
#define YL_TC_SUBS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/yl_buf.h"
#include "transcode/tc_subs.h"

struct tc_subs {
    tc_cue *cues; /* owned, and each cue's text */
    size_t n, cap;
    enum tc_subs_format format;
};

/* One input line, without its terminator; borrowed from the input. */
struct line {
    const char *s;
    size_t n;
};

struct parser {
    struct line *lines; /* owned by tc_subs_parse_ex */
    size_t n_lines;
    size_t base; /* bytes skipped before data (a BOM), for offsets */
    tc_subs *subs;
    int err_line;
    char *why;
    size_t whylen;
};

/* tc_subs.c */
int tcs_fail(struct parser *p, int ret, size_t line_idx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tcs_is_space(int c);
int tcs_is_digit(int c);
int tcs_blank(const struct line *l);
int tcs_all_digits(const struct line *l);
int tcs_has_arrow(const struct line *l);
int tcs_starts_with(const struct line *l, const char *word);
int tcs_starts_with_word(const struct line *l, const char *word);
int tcs_parse_ts(const char *s, size_t n, size_t *i, int need_hours,
                 int64_t *ms);
void tcs_fmt_ts(char *buf, size_t len, int64_t ms);
int tcs_parse_timing(struct parser *p, size_t li, int need_hours,
                     int64_t *start, int64_t *end);
int tcs_text_finish(yl_buf *raw, char **out);
int tcs_add_cue(tc_subs *s, int64_t start, int64_t end, char *text);
size_t tcs_text_end(struct parser *p, size_t li, int srt);
/* A format's text converter: one line of cue text (s, n) onto t. */
typedef int (*tcs_text_fn)(yl_buf *t, const char *s, size_t n);
int tcs_cue_lines(struct parser *p, size_t *li, size_t stop, tcs_text_fn text,
                  yl_buf *raw);
int tcs_cue_done(tc_subs *s, yl_buf *raw, int ret, int64_t start, int64_t end);

/* One per format: the cues of p->lines into p->subs. 0 or an error
 * recorded with tcs_fail() (-ENOMEM as it is). */
int tcs_parse_srt(struct parser *p);                        /* tc_subs_srt.c */
int tcs_parse_vtt(struct parser *p, size_t li);             /* tc_subs_vtt.c */
int tcs_parse_ass(struct parser *p);                        /* tc_subs_ass.c */
int tcs_is_ass(struct parser *p, const struct line *first); /* tc_subs_ass.c */

#endif
