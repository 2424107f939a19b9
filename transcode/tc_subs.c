/* tc_subs.c - subtitles: what every format shares (lines and UTF-8,
 * timestamps, cue text, the cue list), detecting the format of a file and
 * handing it to its parser (tc_subs_srt.c, tc_subs_vtt.c, tc_subs_ass.c),
 * and the accessors. No shared state: any thread; one tc_subs belongs to
 * one thread at a time. */
#include "transcode/tc_subs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"
#include "transcode/tc_playlist.h"
#include "transcode/tc_subs_internal.h"

#define MAX_FILE_BYTES (64u << 20)
#define MAX_HOURS      99999 /* ~11 years: beyond it a time is garbage */

/* Records why parsing stopped; line_idx is 0-based, (size_t)-1 for none. */
int tcs_fail(struct parser *p, int ret, size_t line_idx, const char *fmt, ...)
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
            return tcs_fail(p, YL_ECORRUPT, p->n_lines,
                            "NUL byte at offset %zu: not a text file",
                            p->base + i);
        } else {
            size_t n = yl_utf8_seq(u + i, len - i);

            if (n == 0)
                return tcs_fail(p, YL_EBADUTF8, p->n_lines,
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

int tcs_is_space(int c)
{
    return c == ' ' || c == '\t';
}

int tcs_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

int tcs_blank(const struct line *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!tcs_is_space((unsigned char)l->s[i]))
            return 0;
    return 1;
}

int tcs_all_digits(const struct line *l)
{
    size_t i = 0, n = l->n;

    while (n > 0 && tcs_is_space((unsigned char)l->s[n - 1]))
        n--;
    while (i < n && tcs_is_space((unsigned char)l->s[i]))
        i++;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!tcs_is_digit((unsigned char)l->s[i]))
            return 0;
    return 1;
}

int tcs_has_arrow(const struct line *l)
{
    for (size_t i = 0; i + 3 <= l->n; i++)
        if (memcmp(l->s + i, "-->", 3) == 0)
            return 1;
    return 0;
}

int tcs_starts_with(const struct line *l, const char *word)
{
    size_t n = strlen(word);

    return l->n >= n && memcmp(l->s, word, n) == 0;
}

/* "NOTE", "NOTE text", not "NOTES". */
int tcs_starts_with_word(const struct line *l, const char *word)
{
    size_t n = strlen(word);

    return tcs_starts_with(l, word) &&
           (l->n == n || tcs_is_space((unsigned char)l->s[n]));
}

/* ---- timestamps -------------------------------------------------------- */

static size_t digits(const char *s, size_t n, size_t i, int64_t *v)
{
    size_t k = 0;

    *v = 0;
    while (i + k < n && tcs_is_digit((unsigned char)s[i + k]) && k < 12) {
        *v = *v * 10 + (s[i + k] - '0');
        k++;
    }
    return k;
}

/* Parses [H+:]MM:SS[.,]f{1,3} at s[*i]; MM and SS are two digits < 60, the
 * fraction is decimal (2 digits = centiseconds as in ASS). need_hours: the
 * hour field is required (SRT, ASS). Advances *i. 0 or -1. */
int tcs_parse_ts(const char *s, size_t n, size_t *i, int need_hours,
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

void tcs_fmt_ts(char *buf, size_t len, int64_t ms)
{
    snprintf(buf, len, "%02" PRId64 ":%02d:%02d.%03d", ms / 3600000,
             (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
}

/* "start --> end[ settings]" of SRT and WebVTT. */
int tcs_parse_timing(struct parser *p, size_t li, int need_hours,
                     int64_t *start, int64_t *end)
{
    const struct line *l = &p->lines[li];
    size_t i = 0;
    char a[48], b[48];

    while (i < l->n && tcs_is_space((unsigned char)l->s[i]))
        i++;
    if (tcs_parse_ts(l->s, l->n, &i, need_hours, start) < 0)
        goto bad;
    while (i < l->n && tcs_is_space((unsigned char)l->s[i]))
        i++;
    if (i + 3 > l->n || memcmp(l->s + i, "-->", 3) != 0)
        goto bad;
    i += 3;
    while (i < l->n && tcs_is_space((unsigned char)l->s[i]))
        i++;
    if (tcs_parse_ts(l->s, l->n, &i, need_hours, end) < 0)
        goto bad;
    if (i < l->n && !tcs_is_space((unsigned char)l->s[i]))
        goto bad;
    if (*end < *start) {
        tcs_fmt_ts(a, sizeof(a), *start);
        tcs_fmt_ts(b, sizeof(b), *end);
        return tcs_fail(p, YL_EBADTIME, li,
                        "cue ends (%s) before it starts (%s)", b, a);
    }
    return 0;
bad:
    return tcs_fail(p, YL_EBADTIME, li, "malformed cue timing \"%.*s\"",
                    (int)(l->n > 60 ? 60 : l->n), l->s);
}

/* ---- cue text ---------------------------------------------------------- */

/* Appends a line of text, dropping trailing blanks; a line that ends up
 * empty is left out (an empty line would end a WebVTT cue). */
static int text_add_line(yl_buf *t, const char *s, size_t n)
{
    int ret;

    while (n > 0 && (tcs_is_space((unsigned char)s[n - 1])))
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
int tcs_text_finish(yl_buf *raw, char **out)
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

/* Appends lines [*li, stop) to raw, each converted by text() and joined
 * with '\n' (one before the first too when raw holds text already);
 * *li ends at stop, or just past the line that failed. */
int tcs_cue_lines(struct parser *p, size_t *li, size_t stop, tcs_text_fn text,
                  yl_buf *raw)
{
    int ret = 0;

    for (; *li < stop && ret >= 0; (*li)++) {
        if (raw->len > 0)
            ret = yl_buf_putc(raw, '\n');
        if (ret >= 0)
            ret = text(raw, p->lines[*li].s, p->lines[*li].n);
    }
    return ret;
}

/* Ends a cue built in raw: when ret (the building's result) is not an
 * error, its text is finished and the cue [start, end) added. raw is
 * freed either way. */
int tcs_cue_done(tc_subs *s, yl_buf *raw, int ret, int64_t start, int64_t end)
{
    char *text = NULL;

    if (ret >= 0)
        ret = tcs_text_finish(raw, &text);
    free(raw->s);
    raw->s = NULL;
    if (ret >= 0)
        ret = tcs_add_cue(s, start, end, text);
    return ret;
}

/* ---- cue list ---------------------------------------------------------- */

/* Takes ownership of text (NULL: an empty cue, skipped). */
int tcs_add_cue(tc_subs *s, int64_t start, int64_t end, char *text)
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

    while (i < l->n && tcs_is_space((unsigned char)l->s[i]))
        i++;
    if (i == l->n || !tcs_is_digit((unsigned char)l->s[i]))
        return 0;
    while (i < l->n && tcs_is_digit((unsigned char)l->s[i]))
        i++;
    return i < l->n && l->s[i] == ':' && tcs_has_arrow(l);
}

/* A cue's text lines from li until a blank line or the start of the next
 * cue when the blank line between them is missing: in WebVTT any "-->"
 * line (as the WebVTT parser does), in SRT a timing-like line or a cue
 * number before one. The caller then parses that timing, so a malformed
 * one is reported, not swallowed as text. */
size_t tcs_text_end(struct parser *p, size_t li, int srt)
{
    for (; li < p->n_lines && !tcs_blank(&p->lines[li]); li++) {
        const struct line *l = &p->lines[li];

        if (!srt && tcs_has_arrow(l))
            break;
        if (srt &&
            (timing_like(l) || (tcs_all_digits(l) && li + 1 < p->n_lines &&
                                timing_like(&p->lines[li + 1]))))
            break;
    }
    return li;
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
        ret = tcs_fail(&p, YL_EBADUTF8, 0,
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
        if (!tcs_blank(&p.lines[i])) {
            first = &p.lines[i];
            first_idx = i;
        }
    if (first == NULL) {
        ret = tcs_fail(&p, YL_ECORRUPT, (size_t)-1, "empty file: no cues");
        goto out;
    }
    p.subs = calloc(1, sizeof(*p.subs));
    if (p.subs == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (tcs_starts_with_word(first, "WEBVTT")) {
        p.subs->format = TC_SUBS_VTT;
        ret = tcs_parse_vtt(&p, first_idx + 1);
    } else if (tcs_is_ass(&p, first)) {
        p.subs->format = TC_SUBS_ASS;
        ret = tcs_parse_ass(&p);
    } else {
        int arrow = tcs_all_digits(first); /* SRT cue number */

        for (size_t i = 0; i < p.n_lines && !arrow; i++)
            arrow = tcs_has_arrow(&p.lines[i]);
        if (!arrow) {
            ret =
                tcs_fail(&p, YL_ECORRUPT, (size_t)-1,
                         "not SRT, WebVTT or ASS: no \"-->\" cue timing and no "
                         "[Script Info] header");
            goto out;
        }
        p.subs->format = TC_SUBS_SRT;
        ret = tcs_parse_srt(&p);
    }
    if (ret < 0)
        goto out;
    if (p.subs->n == 0) {
        ret = tcs_fail(&p, YL_ECORRUPT, (size_t)-1, "no cues with text");
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

void tc_subs_free(tc_subs *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->cues[i].text);
    free(s->cues);
    free(s);
}
