/* tc_playlist.c - master.m3u8 rendering and atomic file writes. Any
 * thread: no shared state. */
#include "transcode/tc_playlist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "common/yl_log.h"

/* A growing string; ret keeps the first error so callers check once. */
struct sbuf {
    char *s;
    size_t len, cap;
    int ret;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->ret < 0)
        return;
    for (;;) {
        size_t avail = b->cap - b->len;

        va_start(ap, fmt);
        n = vsnprintf(b->s == NULL ? NULL : b->s + b->len, avail, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->ret = YL_EINVAL;
            return;
        }
        if ((size_t)n < avail) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->ret = -ENOMEM;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

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
static void put_media(struct sbuf *b, const char *type, const char *group,
                      const tc_pl_media *media, int i)
{
    const tc_pl_media *md = &media[i];
    int autoselect = md->is_default || md->autoselect, same = 1;

    for (int j = 0; j < i; j++)
        same += strcmp(media[j].name, md->name) == 0;
    sb_printf(b,
              "#EXT-X-MEDIA:TYPE=%s,GROUP-ID=\"%s\",LANGUAGE=\"%s\","
              "NAME=\"%s",
              type, group, md->lang, md->name);
    if (same > 1)
        sb_printf(b, " %d", same);
    sb_printf(b, "\",DEFAULT=%s,AUTOSELECT=%s", md->is_default ? "YES" : "NO",
              autoselect ? "YES" : "NO");
    if (md->channels > 0 && strcmp(type, "AUDIO") == 0)
        sb_printf(b, ",CHANNELS=\"%d\"", md->channels);
    sb_printf(b, ",URI=\"%s\"\n", md->uri);
}

static void put_groups(struct sbuf *b, const tc_pl_master *m)
{
    if (m->n_audio > 0)
        sb_printf(b, ",AUDIO=\"aud\"");
    if (m->n_subs > 0)
        sb_printf(b, ",SUBTITLES=\"subs\"");
}

int tc_playlist_master(const tc_pl_master *m, char **out)
{
    struct sbuf b = {0};
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
    if (m->n_audio > 0) {
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

    sb_printf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
              m->ts_segments ? 6 : 7);
    if (m->n_audio > 0 || m->n_subs > 0)
        sb_printf(&b, "\n");
    for (int i = 0; i < m->n_audio; i++)
        put_media(&b, "AUDIO", "aud", m->audio, i);
    for (int i = 0; i < m->n_subs; i++)
        put_media(&b, "SUBTITLES", "subs", m->subs, i);
    for (int i = 0; i < m->n_variants; i++) {
        const tc_pl_variant *v = &m->variants[i];

        sb_printf(&b, "\n#EXT-X-STREAM-INF:BANDWIDTH=%lld",
                  (long long)v->bandwidth);
        if (v->avg_bandwidth > 0)
            sb_printf(&b, ",AVERAGE-BANDWIDTH=%lld",
                      (long long)v->avg_bandwidth);
        if (v->width > 0 && v->height > 0)
            sb_printf(&b, ",RESOLUTION=%dx%d", v->width, v->height);
        if (v->fps > 0)
            sb_printf(&b, ",FRAME-RATE=%.3f", v->fps);
        if (v->codecs != NULL)
            sb_printf(&b, ",CODECS=\"%s\"", v->codecs);
        put_groups(&b, m);
        sb_printf(&b, "\n%s\n", v->uri);
    }
    if (audio_default != NULL) {
        /* For links too slow for any video rung. */
        sb_printf(&b, "\n#EXT-X-STREAM-INF:BANDWIDTH=%lld",
                  (long long)m->audio_only_bandwidth);
        if (m->audio_only_avg_bandwidth > 0)
            sb_printf(&b, ",AVERAGE-BANDWIDTH=%lld",
                      (long long)m->audio_only_avg_bandwidth);
        if (m->audio_codecs != NULL)
            sb_printf(&b, ",CODECS=\"%s\"", m->audio_codecs);
        put_groups(&b, m);
        sb_printf(&b, "\n%s\n", audio_default->uri);
    }
    if (b.ret < 0) {
        free(b.s);
        return b.ret;
    }
    *out = b.s;
    return 0;
}

int tc_write_file_atomic(const char *path, const char *data, size_t len)
{
    char *tmp = NULL, *dir = NULL, *slash;
    int fd = -1, dfd = -1, ret;
    size_t plen;

    if (path == NULL || (data == NULL && len > 0))
        return -EINVAL;
    plen = strlen(path);
    tmp = malloc(plen + 5);
    if (tmp == NULL)
        return -ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        YL_LOGE("tc", "open \"%s\" failed: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            YL_LOGE("tc", "write \"%s\" failed: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        ret = -errno;
        YL_LOGE("tc", "fsync \"%s\" failed: %s", tmp, strerror(errno));
        goto out;
    }
    ret = close(fd);
    fd = -1;
    if (ret < 0) {
        ret = -errno;
        YL_LOGE("tc", "close \"%s\" failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) < 0) {
        ret = -errno;
        YL_LOGE("tc", "rename \"%s\" to \"%s\" failed: %s", tmp, path,
                strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing to unlink */

    /* Make the rename itself durable. */
    dir = strdup(path);
    if (dir == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0 && fsync(dfd) < 0 && errno != EINVAL) {
        ret = -errno;
        YL_LOGE("tc", "fsync directory of \"%s\" failed: %s", path,
                strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(dir);
    return ret;
}
