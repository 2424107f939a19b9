/* tc_aout.c - see tc_aout.h. */
#include "transcode/tc_aout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

#include "common/yl_err.h"
#include "transcode/tc_hls.h"

/* Gaps or overlaps in a stream's timestamps smaller than this are jitter
 * (rounded pts, AAC priming): the samples are simply laid end to end. */
#define AOUT_SLACK_US 100000
/* How far a blocking feeder may run ahead of the lesson clock. */
#define AOUT_AHEAD_US 2000000

struct tc_aout {
    char dir[4096];
    char label[1024];
    tc_clock *clock;
    tc_status *st;
    AVCodecContext *enc;
    SwrContext *swr;
    AVAudioFifo *fifo;
    AVFrame *frame; /* one encoder frame */
    AVPacket *pkt;
    tc_hls *hls;
    int rate, channels;
    int64_t written; /* samples sent to the encoder = timeline position */
    uint8_t **conv;  /* resampler output buffer */
    int conv_cap;    /* its capacity in samples */
    int started;     /* a frame with a timestamp was seen */
    /* What the resampler was set up for: a stream may change its format
     * mid-way (a broadcast switching from stereo to 5.1). */
    int in_rate, in_fmt;
    AVChannelLayout in_layout;
};

static int out_err(tc_aout *a, int ret, const char *what)
{
    char buf[128];

    av_strerror(ret, buf, sizeof(buf));
    return tc_fail(a->st, TC_EK_OUTPUT, ret, "%s: %s failed: %s", a->dir, what,
                   buf);
}

static int oom(tc_aout *a)
{
    return tc_fail(a->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
}

static int drain(tc_aout *a)
{
    int ret;

    for (;;) {
        ret = avcodec_receive_packet(a->enc, a->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return tc_fail(a->st, TC_EK_INTERNAL, ret,
                           "%s: AAC encoding failed", a->label);
        ret = tc_hls_write(a->hls, a->pkt, a->enc->time_base);
        if (ret < 0)
            return out_err(a, ret, "writing a segment");
    }
}

/* Encodes n samples from the fifo (n <= frame_size). */
static int encode_samples(tc_aout *a, int n)
{
    int ret;

    ret = av_frame_make_writable(a->frame);
    if (ret < 0)
        return oom(a);
    a->frame->nb_samples = n;
    if (av_audio_fifo_read(a->fifo, (void **)a->frame->data, n) != n)
        return tc_fail(a->st, TC_EK_INTERNAL, AVERROR_BUG, "audio fifo short");
    a->frame->pts = a->written;
    a->written += n;
    ret = avcodec_send_frame(a->enc, a->frame);
    if (ret < 0)
        return tc_fail(a->st, TC_EK_INTERNAL, ret, "%s: AAC encoding failed",
                       a->label);
    return drain(a);
}

/* Encodes whole frames as far as the clock allows (it may only be a bound
 * that moves on, or the final duration). */
static int encode_ready(tc_aout *a, int64_t bound_us)
{
    int64_t bound = av_rescale(bound_us, a->rate, 1000000);
    int fs = a->enc->frame_size;
    int ret;

    while (av_audio_fifo_size(a->fifo) >= fs && a->written + fs <= bound) {
        ret = encode_samples(a, fs);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int fifo_silence(tc_aout *a, int64_t n)
{
    uint8_t **buf = NULL;
    int chunk, ret = 0;

    while (n > 0 && ret == 0) {
        chunk = n > 4096 ? 4096 : (int)n;
        if (av_samples_alloc_array_and_samples(&buf, NULL, a->channels, chunk,
                                               a->enc->sample_fmt, 0) < 0)
            return oom(a);
        av_samples_set_silence(buf, 0, chunk, a->channels, a->enc->sample_fmt);
        if (av_audio_fifo_write(a->fifo, (void **)buf, chunk) < chunk)
            ret = oom(a);
        av_freep(&buf[0]);
        av_freep(&buf);
        n -= chunk;
    }
    return ret;
}

/* (Re)creates the resampler for input of this format. */
static int setup_swr(tc_aout *a, int rate, int fmt, const AVChannelLayout *in)
{
    AVChannelLayout out;
    int ret;

    swr_free(&a->swr);
    av_channel_layout_uninit(&a->in_layout);
    ret = av_channel_layout_copy(&a->in_layout, in);
    if (ret < 0)
        return ret;
    a->in_rate = rate;
    a->in_fmt = fmt;
    av_channel_layout_default(&out, a->channels);
    ret = swr_alloc_set_opts2(&a->swr, &out, AV_SAMPLE_FMT_FLTP, a->rate,
                              &a->in_layout, fmt, rate, 0, NULL);
    if (ret >= 0)
        ret = swr_init(a->swr);
    av_channel_layout_uninit(&out);
    return ret;
}

/* Converts (frame NULL: flushes the resampler) into the fifo, skipping the
 * first `skip` output samples. */
static int convert(tc_aout *a, const AVFrame *f, int64_t skip)
{
    int in_n = f ? f->nb_samples : 0;
    int need = swr_get_out_samples(a->swr, in_n);
    int n;

    if (need > a->conv_cap) {
        if (a->conv)
            av_freep(&a->conv[0]);
        av_freep(&a->conv);
        if (av_samples_alloc_array_and_samples(&a->conv, NULL, a->channels,
                                               need, a->enc->sample_fmt, 0) < 0)
            return oom(a);
        a->conv_cap = need;
    }
    n = swr_convert(a->swr, a->conv, a->conv_cap,
                    f ? (const uint8_t **)f->extended_data : NULL, in_n);
    if (n < 0)
        return tc_fail(a->st, TC_EK_INPUT, n, "%s: resampling failed",
                       a->label);
    if (skip >= n)
        return 0;
    if (skip > 0) {
        uint8_t *planes[AV_NUM_DATA_POINTERS];
        int bps = av_get_bytes_per_sample(a->enc->sample_fmt);
        int c;

        /* The encoder's format is planar (AAC: fltp). */
        for (c = 0; c < a->channels && c < AV_NUM_DATA_POINTERS; c++)
            planes[c] = a->conv[c] + skip * bps;
        if (av_audio_fifo_write(a->fifo, (void **)planes, n - (int)skip) <
            n - (int)skip)
            return oom(a);
        return 0;
    }
    if (av_audio_fifo_write(a->fifo, (void **)a->conv, n) < n)
        return oom(a);
    return 0;
}

int tc_aout_push(tc_aout *a, const AVFrame *frame, int64_t pos_us, int block)
{
    int64_t have_us, skip = 0;
    bool fin;
    int ret;

    if (tc_aborted(a->st))
        return YL_EINTR;
    have_us =
        av_rescale(a->written + av_audio_fifo_size(a->fifo), 1000000, a->rate);
    if (pos_us != AV_NOPTS_VALUE) {
        int64_t d = pos_us - have_us;

        if (!a->started && d > 0) {
            /* Starts late: silence until its first sample. */
            ret = fifo_silence(a, av_rescale(d, a->rate, 1000000));
            if (ret < 0)
                return ret;
        } else if (d > AOUT_SLACK_US) {
            ret = fifo_silence(a, av_rescale(d, a->rate, 1000000));
            if (ret < 0)
                return ret;
        } else if (d < -AOUT_SLACK_US || (!a->started && d < 0)) {
            /* Starts early or overlaps: drop what lies before. */
            skip = av_rescale(-d, a->rate, 1000000);
        }
        a->started = 1;
    }
    ret = convert(a, frame, skip);
    if (ret < 0)
        return ret;
    for (;;) {
        int64_t bound = tc_clock_bound(a->clock, -1, a->st, &fin);

        ret = encode_ready(a, bound);
        if (ret < 0 || !block || fin)
            return ret;
        have_us = av_rescale(a->written + av_audio_fifo_size(a->fifo), 1000000,
                             a->rate);
        if (have_us - bound <= AOUT_AHEAD_US)
            return 0;
        tc_clock_bound(a->clock, have_us - AOUT_AHEAD_US, a->st, &fin);
        if (tc_aborted(a->st))
            return YL_EINTR;
    }
}

int tc_aout_finish(tc_aout *a)
{
    int64_t final_us, final, have;
    bool fin;
    int fs = a->enc->frame_size;
    int ret;

    final_us = tc_clock_bound(a->clock, INT64_MAX, a->st, &fin);
    if (!fin)
        return tc_aborted(a->st) ? YL_EINTR : AVERROR_BUG;
    ret = convert(a, NULL, 0);
    if (ret < 0)
        return ret;
    final = av_rescale(final_us, a->rate, 1000000);
    have = a->written + av_audio_fifo_size(a->fifo);
    if (have < final) {
        ret = fifo_silence(a, final - have);
        if (ret < 0)
            return ret;
    }
    ret = encode_ready(a, final_us);
    while (ret == 0 && a->written < final) {
        int n = (int)(final - a->written);

        ret = encode_samples(a, n < fs ? n : fs);
    }
    if (ret < 0)
        return ret;
    ret = avcodec_send_frame(a->enc, NULL);
    if (ret < 0)
        return tc_fail(a->st, TC_EK_INTERNAL, ret, "%s: AAC encoding failed",
                       a->label);
    ret = drain(a);
    if (ret < 0)
        return ret;
    ret = tc_hls_finish(a->hls);
    if (ret < 0)
        return out_err(a, ret, "writing the playlist");
    return 0;
}

int tc_aout_new(const tc_aout_opts *o, tc_aout **out)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVChannelLayout layout;
    tc_hls_opts ho;
    tc_aout *a;
    int ret;

    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return tc_fail(o->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
    snprintf(a->dir, sizeof(a->dir), "%s", o->dir);
    snprintf(a->label, sizeof(a->label), "%s", o->label);
    a->clock = o->clock;
    a->st = o->st;
    /* Mono stays mono (half the bits); anything wider becomes stereo. 44.1
     * and 48 kHz are kept, other rates become 48 kHz. */
    a->channels = o->in_layout->nb_channels == 1 ? 1 : 2;
    a->rate = (o->in_rate == 44100 || o->in_rate == 48000) ? o->in_rate : 48000;
    av_channel_layout_default(&layout, a->channels);

    if (codec == NULL) {
        ret = tc_fail(a->st, TC_EK_INTERNAL, AVERROR_ENCODER_NOT_FOUND,
                      "AAC encoder not available in this libavcodec");
        goto fail;
    }
    a->enc = avcodec_alloc_context3(codec);
    if (a->enc == NULL) {
        ret = oom(a);
        goto fail;
    }
    a->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    a->enc->sample_rate = a->rate;
    a->enc->time_base = (AVRational){1, a->rate};
    a->enc->bit_rate = a->channels == 1 ? 64000 : 128000;
    a->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = av_channel_layout_copy(&a->enc->ch_layout, &layout);
    if (ret < 0) {
        ret = oom(a);
        goto fail;
    }
    ret = avcodec_open2(a->enc, codec, NULL);
    if (ret < 0) {
        ret = tc_fail(a->st, TC_EK_INTERNAL, ret, "%s: opening AAC failed",
                      a->label);
        goto fail;
    }
    ret = setup_swr(a, o->in_rate, o->in_fmt, o->in_layout);
    if (ret < 0) {
        ret = tc_fail(a->st, TC_EK_INPUT, ret,
                      "%s: cannot resample its audio (%d Hz, %d channels)",
                      a->label, o->in_rate, o->in_layout->nb_channels);
        goto fail;
    }
    a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, a->channels,
                                  a->enc->frame_size * 4);
    a->frame = av_frame_alloc();
    a->pkt = av_packet_alloc();
    if (a->fifo == NULL || a->frame == NULL || a->pkt == NULL) {
        ret = oom(a);
        goto fail;
    }
    a->frame->format = AV_SAMPLE_FMT_FLTP;
    a->frame->sample_rate = a->rate;
    a->frame->nb_samples = a->enc->frame_size;
    ret = av_channel_layout_copy(&a->frame->ch_layout, &layout);
    if (ret >= 0)
        ret = av_frame_get_buffer(a->frame, 0);
    if (ret < 0) {
        ret = oom(a);
        goto fail;
    }
    ho.dir = o->dir;
    ho.fmp4 = o->fmp4;
    ho.seg_s = o->seg_s;
    ho.offset_us = o->offset_us;
    ret = tc_hls_open(&ho, a->enc, &a->hls);
    if (ret < 0) {
        out_err(a, ret, "opening the HLS muxer");
        goto fail;
    }
    av_channel_layout_uninit(&layout);
    *out = a;
    return 0;
fail:
    av_channel_layout_uninit(&layout);
    tc_aout_free(a);
    return ret;
}

void tc_aout_free(tc_aout *a)
{
    if (a == NULL)
        return;
    tc_hls_free(a->hls);
    if (a->conv)
        av_freep(&a->conv[0]);
    av_freep(&a->conv);
    av_packet_free(&a->pkt);
    av_frame_free(&a->frame);
    av_audio_fifo_free(a->fifo);
    swr_free(&a->swr);
    avcodec_free_context(&a->enc);
    av_channel_layout_uninit(&a->in_layout);
    free(a);
}

int tc_aout_channels(const tc_aout *a)
{
    return a->channels;
}

int tc_aout_rate(const tc_aout *a)
{
    return a->rate;
}

int64_t tc_aout_samples(const tc_aout *a)
{
    return a->written;
}
