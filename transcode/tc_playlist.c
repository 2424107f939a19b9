/* tc_playlist.c - master.m3u8 rendering (atomic file writes: common/yl_fs.h).
 * Any thread: no shared state. */
#include "transcode/tc_playlist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_log.h"

/* HLS quoted-string (RFC 8216 4.2): no '"', CR or LF, and we refuse the
 * other control bytes too. URIs on their own line must also be single-line
 * and not start with '#'. */
static int quotable(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '"' || *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int check_group(const tc_pl_media *media, int n, const char *group)
{
    int n_default = 0;

    if (n < 0 || (n > 0 && media == NULL))
        return YL_EINVAL;
    for (int i = 0; i < n; i++) {
        const tc_pl_media *md = &media[i];

        if (!quotable(md->lang) || !quotable(md->name) || !quotable(md->uri) ||
            md->channels < 0) {
            YL_LOGE("tc",
                    "master playlist: %s rendition %d has an empty or "
                    "unquotable LANGUAGE, NAME or URI",
                    group, i);
            return YL_EINVAL;
        }
        n_default += md->is_default != 0;
    }
    if (n_default > 1) {
        YL_LOGE("tc", "master playlist: %d %s renditions are DEFAULT",
                n_default, group);
        return YL_EINVAL;
    }
    return 0;
}

/* Writes media[i]. RFC 8216 4.3.4.1.1: NAMEs in a group differ, but two
 * renditions may well share a language (two untagged tracks, a dub of the
 * source language), so the second "und" is written "und 2". */
static void put_media(yl_buf *b, const char *type, const char *group,
                      const tc_pl_media *media, int i)
{
    const tc_pl_media *md = &media[i];
    int autoselect = md->is_default || md->autoselect, same = 1;

    for (int j = 0; j < i; j++)
        same += strcmp(media[j].name, md->name) == 0;
    yl_buf_printf(b,
                  "#EXT-X-MEDIA:TYPE=%s,GROUP-ID=\"%s\",LANGUAGE=\"%s\","
                  "NAME=\"%s",
                  type, group, md->lang, md->name);
    if (same > 1)
        yl_buf_printf(b, " %d", same);
    yl_buf_printf(b, "\",DEFAULT=%s,AUTOSELECT=%s",
                  md->is_default ? "YES" : "NO", autoselect ? "YES" : "NO");
    if (md->channels > 0 && strcmp(type, "AUDIO") == 0)
        yl_buf_printf(b, ",CHANNELS=\"%d\"", md->channels);
    yl_buf_printf(b, ",URI=\"%s\"\n", md->uri);
}

static void put_groups(yl_buf *b, const tc_pl_master *m)
{
    if (m->n_audio > 0)
        yl_buf_printf(b, ",AUDIO=\"aud\"");
    if (m->n_subs > 0)
        yl_buf_printf(b, ",SUBTITLES=\"subs\"");
}

int tc_playlist_master(const tc_pl_master *m, char **out)
{
    yl_buf b = {0};
    const tc_pl_media *audio_default = NULL;
    int ret;

    if (m == NULL || out == NULL || m->n_variants < 0 ||
        (m->n_variants > 0 && m->variants == NULL))
        return YL_EINVAL;
    if (m->n_variants == 0 && m->n_audio <= 0) {
        YL_LOGE("tc", "master playlist: no video variant and no audio");
        return YL_EINVAL;
    }
    ret = check_group(m->audio, m->n_audio, "AUDIO");
    if (ret < 0)
        return ret;
    ret = check_group(m->subs, m->n_subs, "SUBTITLES");
    if (ret < 0)
        return ret;
    for (int i = 0; i < m->n_variants; i++) {
        const tc_pl_variant *v = &m->variants[i];

        if (v->bandwidth <= 0 || v->avg_bandwidth < 0 || v->width < 0 ||
            v->height < 0 || v->fps < 0 || !quotable(v->uri) ||
            v->uri[0] == '#' || (v->codecs != NULL && !quotable(v->codecs))) {
            YL_LOGE("tc",
                    "master playlist: variant %d (\"%s\") has a bad "
                    "BANDWIDTH, RESOLUTION, FRAME-RATE, CODECS or URI",
                    i, v->uri != NULL ? v->uri : "");
            return YL_EINVAL;
        }
    }
    if (m->n_audio > 0 && !m->no_audio_only) {
        audio_default = &m->audio[0];
        for (int i = 0; i < m->n_audio; i++)
            if (m->audio[i].is_default)
                audio_default = &m->audio[i];
        if (m->audio_only_bandwidth <= 0 || m->audio_only_avg_bandwidth < 0 ||
            (m->audio_codecs != NULL && !quotable(m->audio_codecs))) {
            YL_LOGE("tc", "master playlist: audio-only variant needs a "
                          "BANDWIDTH > 0 and quotable CODECS");
            return YL_EINVAL;
        }
    }

    yl_buf_printf(&b,
                  "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
                  m->ts_segments ? 6 : 7);
    if (m->n_audio > 0 || m->n_subs > 0)
        yl_buf_printf(&b, "\n");
    for (int i = 0; i < m->n_audio; i++)
        put_media(&b, "AUDIO", "aud", m->audio, i);
    for (int i = 0; i < m->n_subs; i++)
        put_media(&b, "SUBTITLES", "subs", m->subs, i);
    for (int i = 0; i < m->n_variants; i++) {
        const tc_pl_variant *v = &m->variants[i];

        yl_buf_printf(&b, "\n#EXT-X-STREAM-INF:BANDWIDTH=%lld",
                      (long long)v->bandwidth);
        if (v->avg_bandwidth > 0)
            yl_buf_printf(&b, ",AVERAGE-BANDWIDTH=%lld",
                          (long long)v->avg_bandwidth);
        if (v->width > 0 && v->height > 0)
            yl_buf_printf(&b, ",RESOLUTION=%dx%d", v->width, v->height);
        if (v->fps > 0)
            yl_buf_printf(&b, ",FRAME-RATE=%.3f", v->fps);
        if (v->codecs != NULL)
            yl_buf_printf(&b, ",CODECS=\"%s\"", v->codecs);
        put_groups(&b, m);
        yl_buf_printf(&b, "\n%s\n", v->uri);
    }
    if (audio_default != NULL) {
        /* For links too slow for any video rung. */
        yl_buf_printf(&b, "\n#EXT-X-STREAM-INF:BANDWIDTH=%lld",
                      (long long)m->audio_only_bandwidth);
        if (m->audio_only_avg_bandwidth > 0)
            yl_buf_printf(&b, ",AVERAGE-BANDWIDTH=%lld",
                          (long long)m->audio_only_avg_bandwidth);
        if (m->audio_codecs != NULL)
            yl_buf_printf(&b, ",CODECS=\"%s\"", m->audio_codecs);
        put_groups(&b, m);
        yl_buf_printf(&b, "\n%s\n", audio_default->uri);
    }
    if (b.err < 0) {
        free(b.s);
        return b.err;
    }
    *out = b.s;
    return 0;
}
