/* tc_hls.c - see tc_hls.h. */
#include "transcode/tc_hls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "common/yl_err.h"

struct tc_hls {
    AVFormatContext *fmt; /* owned; the hls muxer opens its own files */
    AVStream *st;         /* owned by fmt */
    int header_written;
    int64_t offset_us;
};

int tc_hls_open(const tc_hls_opts *o, const AVCodecContext *enc, tc_hls **out)
{
    tc_hls *h = NULL;
    AVDictionary *opts = NULL;
    char path[4096], segpat[4096], tbuf[32];
    int ret;

    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return AVERROR(ENOMEM);
    snprintf(path, sizeof(path), "%s/index.m3u8", o->dir);
    snprintf(segpat, sizeof(segpat), "%s/seg_%%05d.%s", o->dir,
             o->fmp4 ? "m4s" : "ts");
    ret = avformat_alloc_output_context2(&h->fmt, NULL, "hls", path);
    if (ret < 0)
        goto fail;
    h->offset_us = o->offset_us;
    h->st = avformat_new_stream(h->fmt, NULL);
    if (h->st == NULL) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = avcodec_parameters_from_context(h->st->codecpar, enc);
    if (ret < 0)
        goto fail;
    h->st->time_base = enc->time_base;
    if (enc->codec_type == AVMEDIA_TYPE_VIDEO) {
        h->st->avg_frame_rate = enc->framerate;
        h->st->sample_aspect_ratio = enc->sample_aspect_ratio;
    }
    snprintf(tbuf, sizeof(tbuf), "%.3f", o->seg_s);
    av_dict_set(&opts, "hls_time", tbuf, 0);
    av_dict_set(&opts, "hls_playlist_type", "vod", 0);
    av_dict_set(&opts, "hls_list_size", "0", 0);
    av_dict_set(&opts, "hls_segment_filename", segpat, 0);
    av_dict_set(&opts, "hls_flags", "independent_segments", 0);
    if (o->fmp4) {
        av_dict_set(&opts, "hls_segment_type", "fmp4", 0);
        av_dict_set(&opts, "hls_fmp4_init_filename", "init.mp4", 0);
    } else {
        av_dict_set(&opts, "hls_segment_type", "mpegts", 0);
    }
    ret = avformat_write_header(h->fmt, &opts);
    if (ret < 0)
        goto fail;
    h->header_written = 1;
    av_dict_free(&opts);
    *out = h;
    return 0;
fail:
    av_dict_free(&opts);
    tc_hls_free(h);
    return ret;
}

int tc_hls_write(tc_hls *h, AVPacket *pkt, AVRational enc_tb)
{
    int ret;

    pkt->stream_index = 0;
    if (h->offset_us != 0) {
        int64_t off = av_rescale_q(h->offset_us, AV_TIME_BASE_Q, enc_tb);

        if (pkt->pts != AV_NOPTS_VALUE)
            pkt->pts += off;
        if (pkt->dts != AV_NOPTS_VALUE)
            pkt->dts += off;
    }
    av_packet_rescale_ts(pkt, enc_tb, h->st->time_base);
    /* One stream per muxer: no interleaving queue needed. */
    ret = av_write_frame(h->fmt, pkt);
    av_packet_unref(pkt);
    return ret;
}

int tc_hls_finish(tc_hls *h)
{
    int ret;

    if (!h->header_written)
        return AVERROR(EINVAL);
    h->header_written = 0;
    ret = av_write_trailer(h->fmt);
    return ret;
}

void tc_hls_free(tc_hls *h)
{
    if (h == NULL)
        return;
    if (h->header_written) {
        /* Abandoned mid-run (the temporary directory is removed anyway):
         * the trailer closes the segment files the muxer holds open. */
        av_write_trailer(h->fmt);
    }
    avformat_free_context(h->fmt);
    free(h);
}

static int64_t file_size(const char *dir, const char *name)
{
    char path[8200];
    struct stat sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &sb) != 0)
        return -errno;
    return (int64_t)sb.st_size;
}

int tc_hls_measure(const char *dir, tc_hls_stats *st)
{
    char path[4096], line[4096];
    FILE *f;
    double extinf = -1;
    int ret = 0;

    memset(st, 0, sizeof(*st));
    snprintf(path, sizeof(path), "%s/index.m3u8", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\r\n");

        line[n] = '\0';
        if (strncmp(line, "#EXTINF:", 8) == 0) {
            extinf = strtod(line + 8, NULL);
        } else if (strncmp(line, "#EXT-X-MAP:URI=\"", 16) == 0) {
            char *q = strchr(line + 16, '"');
            int64_t sz;

            if (q == NULL) {
                ret = YL_ECORRUPT;
                break;
            }
            *q = '\0';
            sz = file_size(dir, line + 16);
            if (sz < 0) {
                ret = (int)sz;
                break;
            }
            st->bytes += sz;
        } else if (line[0] != '#' && line[0] != '\0') {
            int64_t sz = file_size(dir, line);
            int64_t bps;

            if (sz < 0) {
                ret = (int)sz;
                break;
            }
            if (extinf <= 0) {
                ret = YL_ECORRUPT;
                break;
            }
            st->n_segments++;
            st->bytes += sz;
            st->duration_s += extinf;
            if (extinf > st->max_seg_s)
                st->max_seg_s = extinf;
            /* A short last segment says little about the peak rate (its
             * few frames may be all keyframe); still count it when it is
             * the only one. */
            bps = (int64_t)((double)sz * 8.0 / extinf + 0.5);
            if (bps > st->peak_bps && (extinf >= 1.0 || st->n_segments == 1))
                st->peak_bps = bps;
            extinf = -1;
        }
    }
    fclose(f);
    if (ret == 0 && st->n_segments == 0)
        ret = YL_ECORRUPT;
    if (ret == 0)
        st->avg_bps = (int64_t)((double)st->bytes * 8.0 / st->duration_s + 0.5);
    if (ret == 0 && st->peak_bps < st->avg_bps)
        st->peak_bps = st->avg_bps;
    return ret;
}

int tc_hls_avc_codecs(const uint8_t *data, int size, char *out, size_t len)
{
    int i;

    if (data == NULL || size < 4)
        return YL_EINVAL;
    /* avcC: version 1, then profile, compatibility, level. */
    if (data[0] == 1 && size >= 7) {
        snprintf(out, len, "avc1.%02x%02x%02x", data[1], data[2], data[3]);
        return 0;
    }
    /* Annex B: find a start code followed by an SPS NAL (type 7). */
    for (i = 0; i + 6 < size; i++) {
        if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 &&
            (data[i + 3] & 0x1f) == 7) {
            snprintf(out, len, "avc1.%02x%02x%02x", data[i + 4], data[i + 5],
                     data[i + 6]);
            return 0;
        }
    }
    return YL_EINVAL;
}
