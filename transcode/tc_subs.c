/* tc_subs.c - SRT / WebVTT / ASS parsing into plain-text cues, and WebVTT +
 * HLS subtitle playlist output. No shared state: any thread; one tc_subs
 * belongs to one thread at a time. */
#include "transcode/tc_subs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_utf8.h"
#include "transcode/tc_playlist.h"

#define MAX_FILE_BYTES (64u << 20)
#define MAX_HOURS      99999 /* ~11 years: beyond it a time is garbage */

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

static int fail(struct parser *p, int ret, size_t line_idx, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/* Records why parsing stopped; line_idx is 0-based, (size_t)-1 for none. */
static int fail(struct parser *p, int ret, size_t line_idx, const char *fmt,
                ...)
{
    va_list ap;

    p->err_line = line_idx == (size_t)-1 ? 0 : (int)line_idx + 1;
    if (p->why != NULL && p->whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(p->why, p->whylen, fmt, ap);
        va_end(ap);
    }
    return ret;
}

/* ---- UTF-8 and lines --------------------------------------------------- */

/* Splits data into lines (LF, CRLF or a lone CR end a line) and checks
 * that it is UTF-8 text without NUL bytes. */
static int split_lines(struct parser *p, const char *data, size_t len)
{
    const unsigned char *u = (const unsigned char *)data;
    size_t cap = 64, start = 0, i = 0;

    p->lines = malloc(cap * sizeof(*p->lines));
    if (p->lines == NULL)
        return -ENOMEM;
    while (i <= len) {
        size_t eol = 0; /* terminator length, 0 = not at an end */

        if (i == len) {
            if (start == len)
                break; /* no last line after a final terminator */
        } else if (u[i] == '\n') {
            eol = 1;
        } else if (u[i] == '\r') {
            eol = (i + 1 < len && u[i + 1] == '\n') ? 2 : 1;
        } else if (u[i] == 0) {
            return fail(p, YL_ECORRUPT, p->n_lines,
                        "NUL byte at offset %zu: not a text file", p->base + i);
        } else {
            size_t n = yl_utf8_seq(u + i, len - i);

            if (n == 0)
                return fail(p, YL_EBADUTF8, p->n_lines,
                            "invalid UTF-8 byte 0x%02x at offset %zu (GBK "
                            "or another legacy encoding? save as UTF-8)",
                            u[i], p->base + i);
            i += n;
            continue;
        }
        if (p->n_lines == cap) {
            struct line *l = realloc(p->lines, 2 * cap * sizeof(*l));

            if (l == NULL)
                return -ENOMEM;
            p->lines = l;
            cap *= 2;
        }
        p->lines[p->n_lines].s = data + start;
        p->lines[p->n_lines].n = i - start;
        p->n_lines++;
        if (i == len)
            break;
        i += eol;
        start = i;
    }
    return 0;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int blank(const struct line *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!is_space((unsigned char)l->s[i]))
            return 0;
    return 1;
}

static int all_digits(const struct line *l)
{
    size_t i = 0, n = l->n;

    while (n > 0 && is_space((unsigned char)l->s[n - 1]))
        n--;
    while (i < n && is_space((unsigned char)l->s[i]))
        i++;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!is_digit((unsigned char)l->s[i]))
            return 0;
    return 1;
}

static int has_arrow(const struct line *l)
{
    for (size_t i = 0; i + 3 <= l->n; i++)
        if (memcmp(l->s + i, "-->", 3) == 0)
            return 1;
    return 0;
}

static int starts_with(const struct line *l, const char *word)
{
    size_t n = strlen(word);

    return l->n >= n && memcmp(l->s, word, n) == 0;
}

/* "NOTE", "NOTE text", not "NOTES". */
static int starts_with_word(const struct line *l, const char *word)
{
    size_t n = strlen(word);

    return starts_with(l, word) &&
           (l->n == n || is_space((unsigned char)l->s[n]));
}

/* ---- timestamps -------------------------------------------------------- */

static size_t digits(const char *s, size_t n, size_t i, int64_t *v)
{
    size_t k = 0;

    *v = 0;
    while (i + k < n && is_digit((unsigned char)s[i + k]) && k < 12) {
        *v = *v * 10 + (s[i + k] - '0');
        k++;
    }
    return k;
}

/* Parses [H+:]MM:SS[.,]f{1,3} at s[*i]; MM and SS are two digits < 60, the
 * fraction is decimal (2 digits = centiseconds as in ASS). need_hours: the
 * hour field is required (SRT, ASS). Advances *i. 0 or -1. */
static int parse_ts(const char *s, size_t n, size_t *i, int need_hours,
                    int64_t *ms)
{
    int64_t f[3], frac;
    size_t k, nf = 0, at = *i, fd;

    for (;;) {
        k = digits(s, n, at, &f[nf]);
        if (k == 0)
            return -1;
        if (nf > 0 && (k != 2 || f[nf] > 59))
            return -1;
        at += k;
        nf++;
        if (at < n && s[at] == ':' && nf < 3) {
            at++;
            continue;
        }
        break;
    }
    if (nf < 2 || (need_hours && nf < 3))
        return -1;
    if (nf == 2 && (digits(s, n, *i, &f[2]) != 2 || f[0] > 59))
        return -1; /* MM:SS: minutes are two digits < 60 too */
    if (nf == 3 && f[0] > MAX_HOURS)
        return -1;
    if (at >= n || (s[at] != '.' && s[at] != ','))
        return -1;
    at++;
    fd = digits(s, n, at, &frac);
    if (fd == 0 || fd > 3)
        return -1;
    at += fd;
    for (; fd < 3; fd++)
        frac *= 10;
    if (nf == 3)
        *ms = ((f[0] * 60 + f[1]) * 60 + f[2]) * 1000 + frac;
    else
        *ms = (f[0] * 60 + f[1]) * 1000 + frac;
    *i = at;
    return 0;
}

static void fmt_ts(char *buf, size_t len, int64_t ms)
{
    snprintf(buf, len, "%02" PRId64 ":%02d:%02d.%03d", ms / 3600000,
             (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
}

/* "start --> end[ settings]" of SRT and WebVTT. */
static int parse_timing(struct parser *p, size_t li, int need_hours,
                        int64_t *start, int64_t *end)
{
    const struct line *l = &p->lines[li];
    size_t i = 0;
    char a[48], b[48];

    while (i < l->n && is_space((unsigned char)l->s[i]))
        i++;
    if (parse_ts(l->s, l->n, &i, need_hours, start) < 0)
        goto bad;
    while (i < l->n && is_space((unsigned char)l->s[i]))
        i++;
    if (i + 3 > l->n || memcmp(l->s + i, "-->", 3) != 0)
        goto bad;
    i += 3;
    while (i < l->n && is_space((unsigned char)l->s[i]))
        i++;
    if (parse_ts(l->s, l->n, &i, need_hours, end) < 0)
        goto bad;
    if (i < l->n && !is_space((unsigned char)l->s[i]))
        goto bad;
    if (*end < *start) {
        fmt_ts(a, sizeof(a), *start);
        fmt_ts(b, sizeof(b), *end);
        return fail(p, YL_EBADTIME, li, "cue ends (%s) before it starts (%s)",
                    b, a);
    }
    return 0;
bad:
    return fail(p, YL_EBADTIME, li, "malformed cue timing \"%.*s\"",
                (int)(l->n > 60 ? 60 : l->n), l->s);
}

/* ---- cue text ---------------------------------------------------------- */

/* Appends a line of text, dropping trailing blanks; a line that ends up
 * empty is left out (an empty line would end a WebVTT cue). */
static int text_add_line(yl_buf *t, const char *s, size_t n)
{
    int ret;

    while (n > 0 && (is_space((unsigned char)s[n - 1])))
        n--;
    if (n == 0)
        return 0;
    if (t->len > 0 && (ret = yl_buf_putc(t, '\n')) < 0)
        return ret;
    return yl_buf_put(t, s, n);
}

/* Normalises built text: no leading blanks on the first line handled by
 * callers; here the lines are re-split so markup removal that emptied a
 * line leaves no empty line behind. Takes ownership of raw->s. */
static int text_finish(yl_buf *raw, char **out)
{
    yl_buf t = {0};
    const char *s = raw->s != NULL ? raw->s : "";
    int ret = 0;

    while (*s != '\0') {
        size_t n = strcspn(s, "\n");

        ret = text_add_line(&t, s, n);
        if (ret < 0)
            break;
        s += n + (s[n] == '\n');
    }
    free(raw->s);
    raw->s = NULL;
    if (ret < 0) {
        free(t.s);
        return ret;
    }
    *out = t.s; /* NULL when empty */
    return 0;
}

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

/* WebVTT character references we decode; others stay as written. */
static const struct {
    const char *name;
    const char *utf8;
} entities[] = {
    {"amp;", "&"},
    {"lt;", "<"},
    {"gt;", ">"},
    {"quot;", "\""},
    {"apos;", "'"},
    {"nbsp;", "\xc2\xa0"},
    {"lrm;", "\xe2\x80\x8e"},
    {"rlm;", "\xe2\x80\x8f"},
};

/* A decoded character reference. Control characters other than tab
 * become U+FFFD like NUL: "&#13;" or "&#10;" in a cue would otherwise put
 * a line break into the text, and two of them an empty line, which ends
 * the cue in the WebVTT we write and lets the rest of the line pass for
 * a new cue. */
static int put_codepoint(yl_buf *t, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp == 0 || (cp < 0x20 && cp != '\t') || cp == 0x7f || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return yl_buf_put(t, u, n);
}

/* WebVTT cue line: every <...> is markup (a literal '<' is written &lt;),
 * so tags go and character references are decoded. */
static int vtt_text(yl_buf *t, const char *s, size_t n)
{
    int ret;

    for (size_t i = 0; i < n;) {
        if (s[i] == '<') {
            const char *gt = memchr(s + i, '>', n - i);

            i = gt != NULL ? (size_t)(gt - s) + 1 : n;
            continue;
        }
        if (s[i] == '&') {
            size_t rest = n - i - 1, j;
            const char *e = s + i + 1;

            for (j = 0; j < sizeof(entities) / sizeof(entities[0]); j++) {
                size_t k = strlen(entities[j].name);

                if (rest >= k && memcmp(e, entities[j].name, k) == 0)
                    break;
            }
            if (j < sizeof(entities) / sizeof(entities[0])) {
                ret = yl_buf_put(t, entities[j].utf8, strlen(entities[j].utf8));
                if (ret < 0)
                    return ret;
                i += 1 + strlen(entities[j].name);
                continue;
            }
            if (rest >= 3 && e[0] == '#') {
                int hex = e[1] == 'x' || e[1] == 'X';
                size_t k = 1 + hex;
                unsigned long cp = 0;

                while (k < rest && k < 10 &&
                       (hex ? strchr("0123456789abcdefABCDEF", e[k]) != NULL
                            : is_digit((unsigned char)e[k])) &&
                       e[k] != '\0') {
                    cp = cp * (hex ? 16 : 10) +
                         (unsigned long)(is_digit((unsigned char)e[k])
                                             ? e[k] - '0'
                                             : (e[k] | 0x20) - 'a' + 10);
                    k++;
                }
                if (k > 1u + hex && k < rest && e[k] == ';') {
                    if ((ret = put_codepoint(t, cp)) < 0)
                        return ret;
                    i += 1 + k + 1;
                    continue;
                }
            }
        }
        if ((ret = yl_buf_putc(t, s[i])) < 0)
            return ret;
        i++;
    }
    return 0;
}

/* ASS Text field: {...} override blocks go (and drawings between {\pN}
 * and {\p0}), \N is a hard line break, \n a soft one (a space unless the
 * script's WrapStyle is 2, which we do not track), \h a no-break space. */
static int ass_text(yl_buf *t, const char *s, size_t n)
{
    int drawing = 0, ret = 0;

    for (size_t i = 0; i < n && ret == 0;) {
        if (s[i] == '{') {
            const char *cb = memchr(s + i, '}', n - i);

            if (cb != NULL) {
                for (const char *q = s + i; q + 2 < cb; q++)
                    if (q[0] == '\\' && q[1] == 'p' &&
                        is_digit((unsigned char)q[2]))
                        drawing = q[2] != '0';
                i = (size_t)(cb - s) + 1;
                continue;
            }
        }
        if (drawing) {
            i++;
            continue;
        }
        if (s[i] == '\\' && i + 1 < n &&
            (s[i + 1] == 'N' || s[i + 1] == 'n' || s[i + 1] == 'h')) {
            if (s[i + 1] == 'N')
                ret = yl_buf_putc(t, '\n');
            else if (s[i + 1] == 'n')
                ret = yl_buf_putc(t, ' ');
            else
                ret = yl_buf_put(t, "\xc2\xa0", 2);
            i += 2;
            continue;
        }
        ret = yl_buf_putc(t, s[i]);
        i++;
    }
    return ret;
}

/* ---- cue list ---------------------------------------------------------- */

/* Takes ownership of text (NULL: an empty cue, skipped). */
static int add_cue(tc_subs *s, int64_t start, int64_t end, char *text)
{
    if (text == NULL)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        tc_cue *c = realloc(s->cues, cap * sizeof(*c));

        if (c == NULL) {
            free(text);
            return -ENOMEM;
        }
        s->cues = c;
        s->cap = cap;
    }
    s->cues[s->n].start_ms = start;
    s->cues[s->n].end_ms = end;
    s->cues[s->n].text = text;
    s->n++;
    return 0;
}

/* Stable merge sort by start time: WebVTT wants cues in start order and
 * ASS files often list them by layer or style. */
static int sort_cues(tc_subs *s)
{
    tc_cue *tmp;

    if (s->n < 2)
        return 0;
    tmp = malloc(s->n * sizeof(*tmp));
    if (tmp == NULL)
        return -ENOMEM;
    for (size_t w = 1; w < s->n; w *= 2) {
        for (size_t lo = 0; lo < s->n; lo += 2 * w) {
            size_t mid = lo + w < s->n ? lo + w : s->n;
            size_t hi = lo + 2 * w < s->n ? lo + 2 * w : s->n;
            size_t a = lo, b = mid, k = lo;

            while (a < mid && b < hi)
                tmp[k++] = s->cues[b].start_ms < s->cues[a].start_ms
                               ? s->cues[b++]
                               : s->cues[a++];
            while (a < mid)
                tmp[k++] = s->cues[a++];
            while (b < hi)
                tmp[k++] = s->cues[b++];
        }
        memcpy(s->cues, tmp, s->n * sizeof(*tmp));
    }
    free(tmp);
    return 0;
}

/* ---- formats ----------------------------------------------------------- */

/* An SRT line meant as a cue timing: digits, ':' and a "-->" somewhere
 * ("5 --> 6" in a maths lesson is text). */
static int timing_like(const struct line *l)
{
    size_t i = 0;

    while (i < l->n && is_space((unsigned char)l->s[i]))
        i++;
    if (i == l->n || !is_digit((unsigned char)l->s[i]))
        return 0;
    while (i < l->n && is_digit((unsigned char)l->s[i]))
        i++;
    return i < l->n && l->s[i] == ':' && has_arrow(l);
}

/* A cue's text lines from li until a blank line or the start of the next
 * cue when the blank line between them is missing: in WebVTT any "-->"
 * line (as the WebVTT parser does), in SRT a timing-like line or a cue
 * number before one. The caller then parses that timing, so a malformed
 * one is reported, not swallowed as text. */
static size_t text_end(struct parser *p, size_t li, int srt)
{
    for (; li < p->n_lines && !blank(&p->lines[li]); li++) {
        const struct line *l = &p->lines[li];

        if (!srt && has_arrow(l))
            break;
        if (srt && (timing_like(l) || (all_digits(l) && li + 1 < p->n_lines &&
                                       timing_like(&p->lines[li + 1]))))
            break;
    }
    return li;
}

static int parse_srt(struct parser *p)
{
    size_t li = 0;
    int ret;

    while (li < p->n_lines) {
        yl_buf raw = {0};
        int64_t start, end;
        size_t stop;
        char *text = NULL;

        ret = 0;
        if (blank(&p->lines[li])) {
            li++;
            continue;
        }
        if (all_digits(&p->lines[li]) && !has_arrow(&p->lines[li])) {
            li++; /* cue number */
            if (li >= p->n_lines || blank(&p->lines[li]))
                return fail(p, YL_EBADTIME, li - 1,
                            "cue number without a timing line");
            if (!has_arrow(&p->lines[li]))
                return fail(p, YL_EBADTIME, li,
                            "expected \"start --> end\" after the cue "
                            "number, got \"%.*s\"",
                            (int)(p->lines[li].n > 60 ? 60 : p->lines[li].n),
                            p->lines[li].s);
        } else if (!has_arrow(&p->lines[li])) {
            if (p->subs->n == 0)
                return fail(p, YL_ECORRUPT, li,
                            "expected a cue number or \"start --> end\"");
            /* Text after a blank line inside a cue: keep it with the
             * previous cue rather than lose it. */
            stop = text_end(p, li, 1);
            raw.s = p->subs->cues[p->subs->n - 1].text;
            raw.len = strlen(raw.s);
            raw.cap = raw.len + 1;
            p->subs->cues[p->subs->n - 1].text = NULL;
            for (; li < stop; li++)
                if ((ret = yl_buf_putc(&raw, '\n')) < 0 ||
                    (ret = srt_text(&raw, p->lines[li].s, p->lines[li].n)) < 0)
                    break;
            if (ret >= 0)
                ret = text_finish(&raw, &p->subs->cues[p->subs->n - 1].text);
            free(raw.s);
            if (ret < 0)
                return ret;
            continue;
        }
        ret = parse_timing(p, li, 0, &start, &end);
        if (ret < 0)
            return ret;
        li++;
        stop = text_end(p, li, 1);
        for (ret = 0; li < stop && ret >= 0; li++) {
            if (raw.len > 0)
                ret = yl_buf_putc(&raw, '\n');
            if (ret >= 0)
                ret = srt_text(&raw, p->lines[li].s, p->lines[li].n);
        }
        if (ret >= 0)
            ret = text_finish(&raw, &text);
        free(raw.s);
        if (ret >= 0)
            ret = add_cue(p->subs, start, end, text);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int parse_vtt(struct parser *p, size_t li)
{
    int ret;

    /* Header lines (X-TIMESTAMP-MAP, old-style metadata) end at a blank
     * line; a cue timing there means the blank line was left out. */
    while (li < p->n_lines && !blank(&p->lines[li]) &&
           !has_arrow(&p->lines[li]))
        li++;
    while (li < p->n_lines) {
        yl_buf raw = {0};
        int64_t start, end;
        size_t stop;
        char *text = NULL;

        if (blank(&p->lines[li])) {
            li++;
            continue;
        }
        if (starts_with_word(&p->lines[li], "NOTE") ||
            starts_with_word(&p->lines[li], "STYLE") ||
            starts_with_word(&p->lines[li], "REGION")) {
            while (li < p->n_lines && !blank(&p->lines[li]))
                li++;
            continue;
        }
        if (!has_arrow(&p->lines[li])) {
            li++; /* cue identifier */
            if (li >= p->n_lines || !has_arrow(&p->lines[li]))
                return fail(
                    p, YL_EBADTIME, li < p->n_lines ? li : li - 1,
                    "expected \"start --> end\" after cue "
                    "identifier \"%.*s\"",
                    (int)(p->lines[li - 1].n > 60 ? 60 : p->lines[li - 1].n),
                    p->lines[li - 1].s);
        }
        ret = parse_timing(p, li, 0, &start, &end);
        if (ret < 0)
            return ret;
        li++;
        stop = text_end(p, li, 0);
        for (ret = 0; li < stop && ret >= 0; li++) {
            if (raw.len > 0)
                ret = yl_buf_putc(&raw, '\n');
            if (ret >= 0)
                ret = vtt_text(&raw, p->lines[li].s, p->lines[li].n);
        }
        if (ret >= 0)
            ret = text_finish(&raw, &text);
        free(raw.s);
        if (ret >= 0)
            ret = add_cue(p->subs, start, end, text);
        if (ret < 0)
            return ret;
    }
    return 0;
}

#define ASS_MAX_FIELDS 16

/* Field positions in [Events] from its Format: line. */
struct ass_format {
    int n, start, end, text;
};

static int ass_parse_format(struct parser *p, size_t li, struct ass_format *f)
{
    const struct line *l = &p->lines[li];
    size_t i = strlen("Format:");

    f->n = 0;
    f->start = f->end = f->text = -1;
    while (i <= l->n) {
        size_t j = i, a, b;

        while (j < l->n && l->s[j] != ',')
            j++;
        a = i;
        b = j;
        while (a < b && is_space((unsigned char)l->s[a]))
            a++;
        while (b > a && is_space((unsigned char)l->s[b - 1]))
            b--;
        if (f->n == ASS_MAX_FIELDS)
            return fail(p, YL_ECORRUPT, li,
                        "[Events] Format has too many "
                        "fields");
        if (b - a == 5 && strncasecmp(l->s + a, "Start", 5) == 0)
            f->start = f->n;
        else if (b - a == 3 && strncasecmp(l->s + a, "End", 3) == 0)
            f->end = f->n;
        else if (b - a == 4 && strncasecmp(l->s + a, "Text", 4) == 0)
            f->text = f->n;
        f->n++;
        i = j + 1;
    }
    if (f->start < 0 || f->end < 0 || f->text != f->n - 1)
        return fail(p, YL_ECORRUPT, li,
                    "[Events] Format needs Start, End and Text (last)");
    return 0;
}

static int ass_time(struct parser *p, size_t li, const char *s, size_t n,
                    int64_t *ms)
{
    size_t a = 0, b = n, i;

    while (a < b && is_space((unsigned char)s[a]))
        a++;
    while (b > a && is_space((unsigned char)s[b - 1]))
        b--;
    i = a;
    if (parse_ts(s, b, &i, 1, ms) < 0 || i != b)
        return fail(p, YL_EBADTIME, li, "malformed time \"%.*s\"",
                    (int)((b - a) > 40 ? 40 : b - a), s + a);
    return 0;
}

static int parse_ass(struct parser *p)
{
    /* ASS v4+ and SSA v4 default field order when Format: is missing. */
    struct ass_format fmt = {10, 1, 2, 9};
    int in_events = 0, ret;

    for (size_t li = 0; li < p->n_lines; li++) {
        const struct line *l = &p->lines[li];
        const char *field[ASS_MAX_FIELDS];
        size_t flen[ASS_MAX_FIELDS], i, k;
        yl_buf raw = {0};
        int64_t start, end;
        char *text = NULL;

        if (l->n > 0 && l->s[0] == '[') {
            in_events = l->n >= 8 && strncasecmp(l->s, "[Events]", 8) == 0;
            continue;
        }
        if (!in_events)
            continue;
        if (starts_with(l, "Format:")) {
            if ((ret = ass_parse_format(p, li, &fmt)) < 0)
                return ret;
            continue;
        }
        if (!starts_with(l, "Dialogue:"))
            continue; /* Comment:, Picture:, Sound:, ... are not shown */
        i = strlen("Dialogue:");
        for (k = 0; k < (size_t)fmt.n; k++) {
            size_t j = i;

            if (k + 1 < (size_t)fmt.n) {
                while (j < l->n && l->s[j] != ',')
                    j++;
                if (j == l->n)
                    return fail(p, YL_ECORRUPT, li,
                                "Dialogue has %zu fields, Format has %d", k + 1,
                                fmt.n);
            } else {
                j = l->n; /* Text takes the rest, commas included */
            }
            field[k] = l->s + i;
            flen[k] = j - i;
            i = j + 1;
        }
        if ((ret = ass_time(p, li, field[fmt.start], flen[fmt.start], &start)) <
                0 ||
            (ret = ass_time(p, li, field[fmt.end], flen[fmt.end], &end)) < 0)
            return ret;
        if (end < start) {
            char a[48], b[48];

            fmt_ts(a, sizeof(a), start);
            fmt_ts(b, sizeof(b), end);
            return fail(p, YL_EBADTIME, li,
                        "Dialogue ends (%s) before it starts (%s)", b, a);
        }
        ret = ass_text(&raw, field[fmt.text], flen[fmt.text]);
        if (ret >= 0)
            ret = text_finish(&raw, &text);
        free(raw.s);
        if (ret >= 0)
            ret = add_cue(p->subs, start, end, text);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* ASS/SSA: starts with [Script Info], or (after comments) has an [Events]
 * section with a Format: or Dialogue: line. */
static int is_ass(struct parser *p, const struct line *first)
{
    int events = 0;

    if (first->n >= 13 && strncasecmp(first->s, "[Script Info]", 13) == 0)
        return 1;
    for (size_t i = 0; i < p->n_lines; i++) {
        const struct line *l = &p->lines[i];

        if (l->n > 0 && l->s[0] == '[')
            events = l->n >= 8 && strncasecmp(l->s, "[Events]", 8) == 0;
        else if (events &&
                 (starts_with(l, "Format:") || starts_with(l, "Dialogue:")))
            return 1;
    }
    return 0;
}

/* After sorting: an exact repeat (same times, same text), as ASS files
 * make for layered outlines, would show the text twice. */
static void drop_duplicates(tc_subs *s)
{
    size_t w = 0;

    for (size_t i = 0; i < s->n; i++) {
        const tc_cue *c = &s->cues[i];
        int dup = 0;

        /* Sorted by start: a repeat is among the last kept cues with the
         * same start. */
        for (size_t j = w; j > 0 && !dup; j--) {
            const tc_cue *k = &s->cues[j - 1];

            if (k->start_ms != c->start_ms)
                break;
            dup = k->end_ms == c->end_ms && strcmp(k->text, c->text) == 0;
        }
        if (dup)
            free(s->cues[i].text);
        else
            s->cues[w++] = s->cues[i];
    }
    s->n = w;
}

/* ---- public ------------------------------------------------------------ */

int tc_subs_parse_ex(const char *data, size_t len, tc_subs **out, int *err_line,
                     char *why, size_t whylen)
{
    struct parser p = {.why = why, .whylen = whylen};
    const struct line *first = NULL;
    size_t first_idx = 0;
    int ret;

    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (err_line != NULL)
        *err_line = 0;
    if (out == NULL || (data == NULL && len > 0))
        return YL_EINVAL;
    if (len >= 2 && (memcmp(data, "\xff\xfe", 2) == 0 ||
                     memcmp(data, "\xfe\xff", 2) == 0)) {
        ret = fail(&p, YL_EBADUTF8, 0,
                   "UTF-16 text (byte-order mark %02x %02x): save as UTF-8",
                   (unsigned char)data[0], (unsigned char)data[1]);
        goto out;
    }
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        data += 3; /* UTF-8 BOM */
        len -= 3;
        p.base = 3;
    }
    ret = split_lines(&p, data, len);
    if (ret < 0)
        goto out;
    for (size_t i = 0; i < p.n_lines && first == NULL; i++)
        if (!blank(&p.lines[i])) {
            first = &p.lines[i];
            first_idx = i;
        }
    if (first == NULL) {
        ret = fail(&p, YL_ECORRUPT, (size_t)-1, "empty file: no cues");
        goto out;
    }
    p.subs = calloc(1, sizeof(*p.subs));
    if (p.subs == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (starts_with_word(first, "WEBVTT")) {
        p.subs->format = TC_SUBS_VTT;
        ret = parse_vtt(&p, first_idx + 1);
    } else if (is_ass(&p, first)) {
        p.subs->format = TC_SUBS_ASS;
        ret = parse_ass(&p);
    } else {
        int arrow = all_digits(first); /* SRT cue number */

        for (size_t i = 0; i < p.n_lines && !arrow; i++)
            arrow = has_arrow(&p.lines[i]);
        if (!arrow) {
            ret = fail(&p, YL_ECORRUPT, (size_t)-1,
                       "not SRT, WebVTT or ASS: no \"-->\" cue timing and no "
                       "[Script Info] header");
            goto out;
        }
        p.subs->format = TC_SUBS_SRT;
        ret = parse_srt(&p);
    }
    if (ret < 0)
        goto out;
    if (p.subs->n == 0) {
        ret = fail(&p, YL_ECORRUPT, (size_t)-1, "no cues with text");
        goto out;
    }
    ret = sort_cues(p.subs);
    if (ret < 0)
        goto out;
    drop_duplicates(p.subs);
    *out = p.subs;
    p.subs = NULL;
out:
    if (ret < 0 && err_line != NULL)
        *err_line = p.err_line;
    if (ret == -ENOMEM && why != NULL && whylen > 0)
        snprintf(why, whylen, "out of memory");
    tc_subs_free(p.subs);
    free(p.lines);
    return ret;
}

int tc_subs_parse(const char *data, size_t len, tc_subs **out, int *err_line)
{
    return tc_subs_parse_ex(data, len, out, err_line, NULL, 0);
}

int tc_subs_load_ex(const char *path, tc_subs **out, int *err_line, char *why,
                    size_t whylen)
{
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    int fd = -1, ret;

    if (err_line != NULL)
        *err_line = 0;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        ret = -errno;
        goto io_error;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EISDIR;
        if (S_ISDIR(st.st_mode))
            goto io_error;
        ret = YL_ECORRUPT;
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "not a regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
        ret = YL_ETOOBIG;
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "%lld bytes, over the %u MiB limit",
                     (long long)st.st_size, MAX_FILE_BYTES >> 20);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto io_error;
        }
        if (n == 0)
            break; /* file shrank: parse what is there */
        len += (size_t)n;
    }
    ret = tc_subs_parse_ex(data, len, out, err_line, why, whylen);
    goto out;
io_error:
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", strerror(-ret));
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return ret;
}

int tc_subs_load(const char *path, tc_subs **out, int *err_line)
{
    return tc_subs_load_ex(path, out, err_line, NULL, 0);
}

tc_subs *tc_subs_new(void)
{
    tc_subs *s = calloc(1, sizeof(*s));

    if (s != NULL)
        s->format = TC_SUBS_ASS;
    return s;
}

int tc_subs_add_ass(tc_subs *s, int64_t start_ms, int64_t end_ms,
                    const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;
    yl_buf raw = {0};
    char *t = NULL;
    int ret;

    if (start_ms < 0 || end_ms < start_ms)
        return YL_EBADTIME;
    for (size_t i = 0; i < len;) {
        size_t n = u[i] == 0 ? 0 : yl_utf8_seq(u + i, len - i);

        if (n == 0)
            return YL_EBADUTF8;
        i += n;
    }
    ret = ass_text(&raw, text, len);
    if (ret >= 0)
        ret = text_finish(&raw, &t);
    free(raw.s);
    if (ret >= 0)
        ret = add_cue(s, start_ms, end_ms, t);
    return ret;
}

int tc_subs_finish(tc_subs *s)
{
    int ret;

    if (s->n == 0)
        return YL_ECORRUPT;
    ret = sort_cues(s);
    if (ret < 0)
        return ret;
    drop_duplicates(s);
    return 0;
}

size_t tc_subs_count(const tc_subs *s)
{
    return s != NULL ? s->n : 0;
}

const tc_cue *tc_subs_cue(const tc_subs *s, size_t i)
{
    return s != NULL && i < s->n ? &s->cues[i] : NULL;
}

enum tc_subs_format tc_subs_format(const tc_subs *s)
{
    return s != NULL ? s->format : 0;
}

int tc_subs_render_vtt(const tc_subs *s, int64_t mpegts, char **out)
{
    yl_buf b = {0};
    char head[96], a[48], e[48], line[112];
    int ret;

    if (s == NULL || out == NULL)
        return YL_EINVAL;
    /* X-TIMESTAMP-MAP ties cue time 0 to the media's MPEG-TS clock so
     * players line the cues up with the segments (RFC 8216 3.5). */
    snprintf(head, sizeof(head),
             "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:%" PRId64 ",LOCAL:00:00:00.000\n",
             mpegts);
    ret = yl_buf_put(&b, head, strlen(head));
    for (size_t i = 0; i < s->n && ret >= 0; i++) {
        const tc_cue *c = &s->cues[i];

        fmt_ts(a, sizeof(a), c->start_ms);
        fmt_ts(e, sizeof(e), c->end_ms);
        snprintf(line, sizeof(line), "\n%s --> %s\n", a, e);
        ret = yl_buf_put(&b, line, strlen(line));
        for (const char *t = c->text; *t != '\0' && ret >= 0; t++) {
            if (*t == '&')
                ret = yl_buf_put(&b, "&amp;", 5);
            else if (*t == '<')
                ret = yl_buf_put(&b, "&lt;", 4);
            else if (*t == '>')
                ret = yl_buf_put(&b, "&gt;", 4);
            else
                ret = yl_buf_putc(&b, *t);
        }
        if (ret >= 0)
            ret = yl_buf_putc(&b, '\n');
    }
    if (ret < 0) {
        free(b.s);
        return ret;
    }
    *out = b.s;
    return 0;
}

int tc_subs_write_vtt(const tc_subs *s, const char *path, int64_t mpegts)
{
    char *text = NULL;
    int ret;

    ret = tc_subs_render_vtt(s, mpegts, &text);
    if (ret < 0)
        return ret;
    ret = yl_write_file_atomic(path, text, strlen(text));
    free(text);
    return ret;
}

/* ASS times are H:MM:SS.cc (centiseconds). */
static void fmt_ass_ts(char *buf, size_t len, int64_t ms)
{
    int64_t cs = (ms + 5) / 10;

    snprintf(buf, len, "%" PRId64 ":%02d:%02d.%02d", cs / 360000,
             (int)(cs / 6000 % 60), (int)(cs / 100 % 60), (int)(cs % 100));
}

int tc_subs_render_ass(const tc_subs *s, const char *font, char **out)
{
    yl_buf b = {0};
    char line[1024], a[48], e[48];
    int ret;

    if (s == NULL || out == NULL || font == NULL || font[0] == '\0' ||
        strpbrk(font, ",\r\n") != NULL || strlen(font) > 128)
        return YL_EINVAL;
    /* libavcodec's default header for text subtitles (PlayRes 384x288),
     * with the style TC_SUBS_ASS_STYLE describes: the same picture the
     * ffmpeg CLI draws from an SRT with that force_style. */
    snprintf(line, sizeof(line),
             "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\n"
             "PlayResY: 288\nScaledBorderAndShadow: yes\n\n"
             "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, "
             "PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
             "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
             "Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
             "MarginR, MarginV, Encoding\n"
             "Style: Default,%s,%d,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,"
             "100,0,0,1,%d,%d,2,10,10,%d,1\n\n"
             "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, "
             "MarginR, MarginV, Effect, Text\n",
             font, TC_SUBS_ASS_SIZE, TC_SUBS_ASS_OUTLINE, TC_SUBS_ASS_SHADOW,
             TC_SUBS_ASS_MARGINV);
    ret = yl_buf_put(&b, line, strlen(line));
    for (size_t i = 0; i < s->n && ret >= 0; i++) {
        const tc_cue *c = &s->cues[i];

        fmt_ass_ts(a, sizeof(a), c->start_ms);
        fmt_ass_ts(e, sizeof(e), c->end_ms);
        snprintf(line, sizeof(line), "Dialogue: 0,%s,%s,Default,,0,0,0,,", a,
                 e);
        ret = yl_buf_put(&b, line, strlen(line));
        /* Plain text: a line break is \N; '{' would open an override
         * block and a backslash before N, n, h, '{' or '}' an escape,
         * so those get libass's escapes (\{ \}) or a word joiner. */
        for (const char *t = c->text; *t != '\0' && ret >= 0; t++) {
            if (*t == '\n')
                ret = yl_buf_put(&b, "\\N", 2);
            else if (*t == '{' || *t == '}')
                ret = (ret = yl_buf_putc(&b, '\\')) < 0 ? ret
                                                        : yl_buf_putc(&b, *t);
            else if (*t == '\\' && t[1] != '\0' && strchr("Nnh{}", t[1]))
                ret = yl_buf_put(&b, "\\\xe2\x81\xa0", 4);
            else
                ret = yl_buf_putc(&b, *t);
        }
        if (ret >= 0)
            ret = yl_buf_putc(&b, '\n');
    }
    if (ret < 0) {
        free(b.s);
        return ret;
    }
    *out = b.s;
    return 0;
}

int tc_subs_write_ass(const tc_subs *s, const char *path, const char *font)
{
    char *text = NULL;
    int ret;

    ret = tc_subs_render_ass(s, font, &text);
    if (ret < 0)
        return ret;
    ret = yl_write_file_atomic(path, text, strlen(text));
    free(text);
    return ret;
}

int tc_subs_write_playlist(const char *path, const char *vtt_uri,
                           double duration_s)
{
    char buf[512];
    int n;

    if (path == NULL || vtt_uri == NULL || vtt_uri[0] == '\0' ||
        vtt_uri[0] == '#' || strpbrk(vtt_uri, "\r\n") != NULL ||
        !(duration_s > 0) || duration_s > 1e7)
        return YL_EINVAL;
    /* One segment covering the lesson; TARGETDURATION is the EXTINF
     * rounded up so the RFC 8216 4.3.3.1 rule holds. */
    n = snprintf(buf, sizeof(buf),
                 "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%.0f\n"
                 "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
                 "#EXTINF:%.3f,\n%s\n#EXT-X-ENDLIST\n",
                 ceil(duration_s), duration_s, vtt_uri);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return YL_EINVAL;
    return yl_write_file_atomic(path, buf, (size_t)n);
}

void tc_subs_free(tc_subs *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->cues[i].text);
    free(s->cues);
    free(s);
}
