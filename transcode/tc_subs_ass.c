/* tc_subs_ass.c - ASS/SSA: cues of an ASS or SSA script and of a
 * subtitle stream's ASS events (override blocks removed), and the ASS
 * script libass draws burned-in subtitles from. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_utf8.h"
#include "transcode/tc_subs_internal.h"

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
                        tcs_is_digit((unsigned char)q[2]))
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
        while (a < b && tcs_is_space((unsigned char)l->s[a]))
            a++;
        while (b > a && tcs_is_space((unsigned char)l->s[b - 1]))
            b--;
        if (f->n == ASS_MAX_FIELDS)
            return tcs_fail(p, YL_ECORRUPT, li,
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
        return tcs_fail(p, YL_ECORRUPT, li,
                        "[Events] Format needs Start, End and Text (last)");
    return 0;
}

static int ass_time(struct parser *p, size_t li, const char *s, size_t n,
                    int64_t *ms)
{
    size_t a = 0, b = n, i;

    while (a < b && tcs_is_space((unsigned char)s[a]))
        a++;
    while (b > a && tcs_is_space((unsigned char)s[b - 1]))
        b--;
    i = a;
    if (tcs_parse_ts(s, b, &i, 1, ms) < 0 || i != b)
        return tcs_fail(p, YL_EBADTIME, li, "malformed time \"%.*s\"",
                        (int)((b - a) > 40 ? 40 : b - a), s + a);
    return 0;
}

int tcs_parse_ass(struct parser *p)
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

        if (l->n > 0 && l->s[0] == '[') {
            in_events = l->n >= 8 && strncasecmp(l->s, "[Events]", 8) == 0;
            continue;
        }
        if (!in_events)
            continue;
        if (tcs_starts_with(l, "Format:")) {
            if ((ret = ass_parse_format(p, li, &fmt)) < 0)
                return ret;
            continue;
        }
        if (!tcs_starts_with(l, "Dialogue:"))
            continue; /* Comment:, Picture:, Sound:, ... are not shown */
        i = strlen("Dialogue:");
        for (k = 0; k < (size_t)fmt.n; k++) {
            size_t j = i;

            if (k + 1 < (size_t)fmt.n) {
                while (j < l->n && l->s[j] != ',')
                    j++;
                if (j == l->n)
                    return tcs_fail(p, YL_ECORRUPT, li,
                                    "Dialogue has %zu fields, Format has %d",
                                    k + 1, fmt.n);
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

            tcs_fmt_ts(a, sizeof(a), start);
            tcs_fmt_ts(b, sizeof(b), end);
            return tcs_fail(p, YL_EBADTIME, li,
                            "Dialogue ends (%s) before it starts (%s)", b, a);
        }
        ret = ass_text(&raw, field[fmt.text], flen[fmt.text]);
        ret = tcs_cue_done(p->subs, &raw, ret, start, end);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* ASS/SSA: starts with [Script Info], or (after comments) has an [Events]
 * section with a Format: or Dialogue: line. */
int tcs_is_ass(struct parser *p, const struct line *first)
{
    int events = 0;

    if (first->n >= 13 && strncasecmp(first->s, "[Script Info]", 13) == 0)
        return 1;
    for (size_t i = 0; i < p->n_lines; i++) {
        const struct line *l = &p->lines[i];

        if (l->n > 0 && l->s[0] == '[')
            events = l->n >= 8 && strncasecmp(l->s, "[Events]", 8) == 0;
        else if (events && (tcs_starts_with(l, "Format:") ||
                            tcs_starts_with(l, "Dialogue:")))
            return 1;
    }
    return 0;
}

int tc_subs_add_ass(tc_subs *s, int64_t start_ms, int64_t end_ms,
                    const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;
    yl_buf raw = {0};
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
    return tcs_cue_done(s, &raw, ret, start_ms, end_ms);
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
