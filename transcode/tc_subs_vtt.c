/* tc_subs_vtt.c - WebVTT: cues of a WebVTT file (markup removed,
 * character references decoded), and the WebVTT file and HLS subtitle
 * playlist we write. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "transcode/tc_subs_internal.h"

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
                            : tcs_is_digit((unsigned char)e[k])) &&
                       e[k] != '\0') {
                    cp = cp * (hex ? 16 : 10) +
                         (unsigned long)(tcs_is_digit((unsigned char)e[k])
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

int tcs_parse_vtt(struct parser *p, size_t li)
{
    int ret;

    /* Header lines (X-TIMESTAMP-MAP, old-style metadata) end at a blank
     * line; a cue timing there means the blank line was left out. */
    while (li < p->n_lines && !tcs_blank(&p->lines[li]) &&
           !tcs_has_arrow(&p->lines[li]))
        li++;
    while (li < p->n_lines) {
        yl_buf raw = {0};
        int64_t start, end;
        size_t stop;

        if (tcs_blank(&p->lines[li])) {
            li++;
            continue;
        }
        if (tcs_starts_with_word(&p->lines[li], "NOTE") ||
            tcs_starts_with_word(&p->lines[li], "STYLE") ||
            tcs_starts_with_word(&p->lines[li], "REGION")) {
            while (li < p->n_lines && !tcs_blank(&p->lines[li]))
                li++;
            continue;
        }
        if (!tcs_has_arrow(&p->lines[li])) {
            li++; /* cue identifier */
            if (li >= p->n_lines || !tcs_has_arrow(&p->lines[li]))
                return tcs_fail(
                    p, YL_EBADTIME, li < p->n_lines ? li : li - 1,
                    "expected \"start --> end\" after cue "
                    "identifier \"%.*s\"",
                    (int)(p->lines[li - 1].n > 60 ? 60 : p->lines[li - 1].n),
                    p->lines[li - 1].s);
        }
        ret = tcs_parse_timing(p, li, 0, &start, &end);
        if (ret < 0)
            return ret;
        li++;
        stop = tcs_text_end(p, li, 0);
        ret = tcs_cue_lines(p, &li, stop, vtt_text, &raw);
        ret = tcs_cue_done(p->subs, &raw, ret, start, end);
        if (ret < 0)
            return ret;
    }
    return 0;
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

        tcs_fmt_ts(a, sizeof(a), c->start_ms);
        tcs_fmt_ts(e, sizeof(e), c->end_ms);
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
