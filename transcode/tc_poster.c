/* tc_poster.c - see tc_poster.h. */
#include "transcode/tc_poster.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/samplefmt.h>
#include <libswscale/swscale.h>

int tc_poster_write(const AVFrame *frame, int width, int height, int q,
                    const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    struct SwsContext *sws = NULL;
    AVFrame *pic = NULL;
    AVPacket *pkt = NULL;
    FILE *fp = NULL;
    int ret;

    if (codec == NULL)
        return AVERROR_ENCODER_NOT_FOUND;
    enc = avcodec_alloc_context3(codec);
    pic = av_frame_alloc();
    pkt = av_packet_alloc();
    if (enc == NULL || pic == NULL || pkt == NULL) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * q;
    enc->color_range = AVCOL_RANGE_JPEG;
    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0)
        goto out;
    pic->format = AV_PIX_FMT_YUVJ420P;
    pic->width = width;
    pic->height = height;
    ret = av_frame_get_buffer(pic, 0);
    if (ret < 0)
        goto out;
    sws = sws_getContext(frame->width, frame->height, frame->format, width,
                         height, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL,
                         NULL);
    if (sws == NULL) {
        ret = AVERROR(EINVAL);
        goto out;
    }
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0,
              frame->height, pic->data, pic->linesize);
    pic->pts = 0;
    ret = avcodec_send_frame(enc, pic);
    if (ret >= 0)
        ret = avcodec_send_frame(enc, NULL);
    if (ret >= 0)
        ret = avcodec_receive_packet(enc, pkt);
    if (ret < 0)
        goto out;
    fp = fopen(path, "wb");
    if (fp == NULL ||
        fwrite(pkt->data, 1, (size_t)pkt->size, fp) != (size_t)pkt->size) {
        ret = -errno;
        goto out;
    }
    ret = fclose(fp) == 0 ? 0 : -errno;
    fp = NULL;
out:
    if (fp)
        fclose(fp);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&pic);
    avcodec_free_context(&enc);
    return ret;
}

/* ---- the card of an audio-only lesson ---------------------------------- */

#define WAVE_BUCKET_US 250000
#define CARD_BARS      48

struct tc_wave {
    float *lv; /* highest RMS per bucket */
    size_t n, cap;
    int64_t next_us; /* where a frame without a position starts */
};

int tc_wave_new(tc_wave **out)
{
    tc_wave *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return AVERROR(ENOMEM);
    *out = w;
    return 0;
}

void tc_wave_free(tc_wave *w)
{
    if (w == NULL)
        return;
    free(w->lv);
    free(w);
}

/* Sample i of channel 0 as a float in -1..1. */
static double sample_at(const AVFrame *f, int i, int channels)
{
    enum AVSampleFormat fmt = f->format;
    int planar = av_sample_fmt_is_planar(fmt);
    size_t idx = planar ? (size_t)i : (size_t)i * (size_t)channels;
    const uint8_t *d = f->extended_data[0];

    switch (av_get_packed_sample_fmt(fmt)) {
    case AV_SAMPLE_FMT_U8:
        return (d[idx] - 128) / 128.0;
    case AV_SAMPLE_FMT_S16:
        return ((const int16_t *)d)[idx] / 32768.0;
    case AV_SAMPLE_FMT_S32:
        return ((const int32_t *)d)[idx] / 2147483648.0;
    case AV_SAMPLE_FMT_S64:
        return (double)((const int64_t *)d)[idx] / 9223372036854775808.0;
    case AV_SAMPLE_FMT_FLT:
        return ((const float *)d)[idx];
    case AV_SAMPLE_FMT_DBL:
        return ((const double *)d)[idx];
    default:
        return 0;
    }
}

int tc_wave_add(tc_wave *w, const AVFrame *f, int64_t pos_us)
{
    int channels = f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : 1;
    int rate = f->sample_rate > 0 ? f->sample_rate : 48000;
    double sum = 0;
    size_t b;
    float rms;

    if (f->nb_samples <= 0 || f->extended_data == NULL)
        return 0;
    if (pos_us == AV_NOPTS_VALUE || pos_us < 0)
        pos_us = w->next_us;
    w->next_us = pos_us + av_rescale(f->nb_samples, 1000000, rate);
    for (int i = 0; i < f->nb_samples; i++) {
        double s = sample_at(f, i, channels);

        sum += s * s;
    }
    rms = (float)sqrt(sum / f->nb_samples);
    b = (size_t)(pos_us / WAVE_BUCKET_US);
    if (b >= (size_t)1 << 24)
        return 0; /* past 48 days: not worth a bar */
    if (b >= w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        float *lv;

        while (cap <= b)
            cap *= 2;
        lv = realloc(w->lv, cap * sizeof(*lv));
        if (lv == NULL)
            return AVERROR(ENOMEM);
        memset(lv + w->cap, 0, (cap - w->cap) * sizeof(*lv));
        w->lv = lv;
        w->cap = cap;
    }
    if (rms > w->lv[b])
        w->lv[b] = rms;
    if (b + 1 > w->n)
        w->n = b + 1;
    return 0;
}

void tc_wave_bars(const tc_wave *w, float *bars, int n)
{
    float top = 0;
    int i;

    for (i = 0; i < n; i++) {
        size_t a, e, k;
        float m = 0;

        bars[i] = 0;
        if (w == NULL || w->n == 0)
            continue;
        a = w->n * (size_t)i / (size_t)n;
        e = w->n * (size_t)(i + 1) / (size_t)n;
        if (e <= a)
            e = a + 1;
        for (k = a; k < e && k < w->n; k++)
            if (w->lv[k] > m)
                m = w->lv[k];
        bars[i] = m;
        if (m > top)
            top = m;
    }
    for (i = 0; i < n; i++)
        bars[i] = top > 1e-6f ? bars[i] / top : 0;
}

static void fill(AVFrame *f, int x0, int y0, int x1, int y1,
                 const uint8_t rgb[3])
{
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > f->width)
        x1 = f->width;
    if (y1 > f->height)
        y1 = f->height;
    for (int y = y0; y < y1; y++) {
        uint8_t *p = f->data[0] + (size_t)y * f->linesize[0] + (size_t)x0 * 3;

        for (int x = x0; x < x1; x++, p += 3)
            memcpy(p, rgb, 3);
    }
}

int tc_poster_card(const tc_wave *w, int width, int height, AVFrame **out)
{
    static const uint8_t amber[3] = {0xf0, 0xa8, 0x30};
    static const uint8_t dim[3] = {0x6b, 0x55, 0x2c};
    float bars[CARD_BARS];
    AVFrame *f;
    int ret, mid, slot, left, amp;

    if (width < 64 || height < 36 || (width | height) & 1)
        return AVERROR(EINVAL);
    f = av_frame_alloc();
    if (f == NULL)
        return AVERROR(ENOMEM);
    f->format = AV_PIX_FMT_RGB24;
    f->width = width;
    f->height = height;
    ret = av_frame_get_buffer(f, 0);
    if (ret < 0) {
        av_frame_free(&f);
        return ret;
    }
    /* Ground: dark blue, darker towards the bottom (TV-safe, no pure
     * black so the card reads as a picture, not a dead screen). */
    for (int y = 0; y < height; y++) {
        uint8_t c[3] = {(uint8_t)(0x1f - 0x10 * y / height),
                        (uint8_t)(0x2e - 0x16 * y / height),
                        (uint8_t)(0x48 - 0x22 * y / height)};

        fill(f, 0, y, width, y + 1, c);
    }
    /* The waveform: CARD_BARS bars over the middle 70%, mirrored around
     * the centre line, at most half the height from top to bottom. */
    tc_wave_bars(w, bars, CARD_BARS);
    mid = height / 2;
    slot = width * 7 / 10 / CARD_BARS;
    if (slot < 2)
        slot = 2;
    left = (width - slot * CARD_BARS) / 2;
    amp = height / 4;
    fill(f, left, mid - 1, left + slot * CARD_BARS, mid + 1, dim);
    for (int i = 0; i < CARD_BARS; i++) {
        /* 3% so that silence is still a line. */
        int h = (int)(amp * (0.03f + 0.97f * bars[i]));
        int x = left + i * slot;

        fill(f, x + slot / 5, mid - h, x + slot - slot / 5, mid + h, amber);
    }
    /* An accent bar at the top left, as on the player's cards. */
    fill(f, width / 12, height / 8, width / 12 + width / 10,
         height / 8 + (height / 90 > 2 ? height / 90 : 2), amber);
    *out = f;
    return 0;
}
