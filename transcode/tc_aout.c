/* tc_aout.c - see tc_aout.h. */
#include "transcode/tc_aout.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/fifo.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

#include "common/yl_err.h"
#include "common/yl_log.h"
#include "transcode/tc_hls.h"

/* Gaps or overlaps in a stream's timestamps smaller than this are jitter
 * (rounded pts, AAC priming): the samples are simply laid end to end. */
#define AOUT_SLACK_US 100000
/* How far a blocking feeder may run ahead of the lesson clock. */
#define AOUT_AHEAD_US 2000000
/* Samples in one AAC-LC frame: the unit a passed-through stream is lined
 * up by (21.3 ms at 48 kHz). */
#define AAC_FRAME 1024

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
    /* Pass-through (copy mode): packets queued in order, each one AAC
     * frame whose pts is its place on the timeline in samples (-AAC_FRAME:
     * the decoder's priming, written before the first sample). */
    int copy;
    char copy_why[128]; /* why not, for the log */
    AVFifo *q;          /* of AVPacket * */
    int64_t queued;     /* samples queued, priming not counted */
    AVPacket *silent;   /* one encoded frame of silence */
    AVPacket *prime;    /* the last packet before the start */
    int prime_late;     /* it is the stream's priming, at a late start */
    int64_t copied, silenced, dropped; /* packets, for the log */
    int64_t mismatched; /* decoded, but not in the stream's format */
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

/* Samples on the timeline so far: written, and waiting for the clock. */
static int64_t have(const tc_aout *a)
{
    return a->written + (a->copy ? a->queued : av_audio_fifo_size(a->fifo));
}

static int copy_ready(tc_aout *a, int64_t bound_us, int final);

/* Writes what the clock allows; a blocking feeder then waits while it is
 * more than AOUT_AHEAD_US ahead. */
static int pace(tc_aout *a, int block)
{
    for (;;) {
        bool fin;
        int64_t bound = tc_clock_bound(a->clock, -1, a->st, &fin), have_us;
        int ret = a->copy ? copy_ready(a, bound, 0) : encode_ready(a, bound);

        if (ret < 0 || !block || fin)
            return ret;
        have_us = av_rescale(have(a), 1000000, a->rate);
        if (have_us - bound <= AOUT_AHEAD_US)
            return 0;
        tc_clock_bound(a->clock, have_us - AOUT_AHEAD_US, a->st, &fin);
        if (tc_aborted(a->st))
            return YL_EINTR;
    }
}

int tc_aout_push(tc_aout *a, const AVFrame *frame, int64_t pos_us, int block)
{
    int64_t have_us, skip = 0;
    int ret;

    if (tc_aborted(a->st))
        return YL_EINTR;
    if (a->copy)
        return tc_fail(a->st, TC_EK_INTERNAL, AVERROR_BUG,
                       "%s: decoded audio fed to a pass-through rendition",
                       a->label);
    have_us = av_rescale(have(a), 1000000, a->rate);
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
    return pace(a, block);
}

/* ---- pass-through ------------------------------------------------------ */

/* Whether a stream with these parameters can be the rendition as it is:
 * AAC-LC with 1024-sample frames (no SBR or PS, whose output rate and
 * channels differ from the AudioSpecificConfig's), 48 or 44.1 kHz, mono
 * or stereo, at most 10% over the rendition's bit rate. */
static int copy_fits(const AVCodecParameters *p, int rate, int channels,
                     char *why, size_t len)
{
    const uint8_t *x = p->extradata;
    int aot, fi, ch, max;

    if (p->codec_id != AV_CODEC_ID_AAC) {
        snprintf(why, len, "not AAC");
        return 0;
    }
    if (x == NULL || p->extradata_size < 2) {
        snprintf(why, len, "no AudioSpecificConfig");
        return 0;
    }
    aot = x[0] >> 3;
    fi = ((x[0] & 7) << 1) | (x[1] >> 7);
    ch = (x[1] >> 3) & 15;
    /* GASpecificConfig: frameLengthFlag, dependsOnCoreCoder and
     * extensionFlag all 0 for AAC-LC with 1024-sample frames. */
    if (aot != 2 || (x[1] & 7) != 0) {
        snprintf(why, len, "not AAC-LC with 1024-sample frames");
        return 0;
    }
    if (p->extradata_size > 2) {
        /* Only the explicit "no SBR" extension (syncExtensionType 0x2b7,
         * SBR, sbrPresentFlag 0), as libavcodec's encoder writes it. */
        uint32_t v = p->extradata_size >= 5
                         ? (uint32_t)x[2] << 16 | (uint32_t)x[3] << 8 | x[4]
                         : 0;

        if (v >> 13 != 0x2b7 || ((v >> 8) & 31) != 5 || ((v >> 7) & 1)) {
            snprintf(why, len, "SBR, PS or an unknown extension");
            return 0;
        }
    }
    if (!((fi == 3 && rate == 48000) || (fi == 4 && rate == 44100)) ||
        p->sample_rate != rate) {
        snprintf(why, len, "%d Hz", p->sample_rate);
        return 0;
    }
    if (ch != channels || p->ch_layout.nb_channels != channels) {
        snprintf(why, len, "%d channels", p->ch_layout.nb_channels);
        return 0;
    }
    max = channels == 1 ? 64000 : 128000;
    if (p->bit_rate <= 0 || p->bit_rate > max + max / 10) {
        snprintf(why, len, "bit rate %s%lld b/s",
                 p->bit_rate <= 0 ? "unknown " : "",
                 (long long)(p->bit_rate > 0 ? p->bit_rate : 0));
        return 0;
    }
    return 1;
}

/* One encoded frame of silence, for gaps and damaged packets: zeros
 * through the rendition's encoder (the same AAC-LC configuration); the
 * last packet out is silence whatever came before it. */
static int make_silence(tc_aout *a)
{
    int i, ret;

    for (i = 0; i < 3; i++) {
        ret = av_frame_make_writable(a->frame);
        if (ret < 0)
            return oom(a);
        a->frame->nb_samples = a->enc->frame_size;
        av_samples_set_silence(a->frame->data, 0, a->frame->nb_samples,
                               a->channels, a->enc->sample_fmt);
        a->frame->pts = (int64_t)i * a->enc->frame_size;
        ret = avcodec_send_frame(a->enc, a->frame);
        while (ret >= 0) {
            ret = avcodec_receive_packet(a->enc, a->pkt);
            if (ret >= 0) {
                av_packet_unref(a->silent);
                av_packet_move_ref(a->silent, a->pkt);
            }
        }
        if (ret != AVERROR(EAGAIN))
            return tc_fail(a->st, TC_EK_INTERNAL, ret,
                           "%s: encoding silence failed", a->label);
    }
    if (a->silent->size <= 0)
        return tc_fail(a->st, TC_EK_INTERNAL, AVERROR_BUG,
                       "%s: the AAC encoder gave no silence", a->label);
    return 0;
}

/* Queues a reference to src at timeline position pos (samples). */
static int q_put(tc_aout *a, const AVPacket *src, int64_t pos)
{
    AVPacket *p = av_packet_clone(src);

    if (p == NULL)
        return oom(a);
    av_packet_free_side_data(p); /* the source's skip samples, if any */
    p->pts = p->dts = pos;
    p->duration = AAC_FRAME;
    p->flags = AV_PKT_FLAG_KEY; /* not the priming's DISCARD */
    if (av_fifo_write(a->q, &p, 1) < 0) {
        av_packet_free(&p);
        return oom(a);
    }
    if (pos >= 0)
        a->queued += AAC_FRAME;
    return 0;
}

/* Queues frames of silence; a long stretch (a short dub in a long lesson)
 * is written as it goes, as far as the clock allows, rather than queued
 * whole. */
static int q_silence(tc_aout *a, int64_t frames)
{
    int64_t n;
    int ret = 0;
    bool fin;

    for (n = 1; n <= frames && ret == 0; n++) {
        ret = q_put(a, a->silent, have(a));
        a->silenced++;
        if (ret == 0 && n % 256 == 0)
            ret = copy_ready(a, tc_clock_bound(a->clock, -1, a->st, &fin), 0);
    }
    return ret;
}

/* Writes queued packets up to the bound (samples): whole frames only,
 * or with final the last one cut short by its duration. */
static int copy_ready(tc_aout *a, int64_t bound_us, int final)
{
    int64_t bound = av_rescale(bound_us, a->rate, 1000000);
    AVPacket *p;
    int ret;

    while (av_fifo_peek(a->q, &p, 1, 0) >= 0) {
        if (p->pts >= 0) {
            if (final ? p->pts >= bound : p->pts + AAC_FRAME > bound)
                break;
            if (p->pts + AAC_FRAME > bound)
                p->duration = bound - p->pts;
        }
        av_fifo_read(a->q, &p, 1);
        if (p->pts >= 0) {
            a->queued -= AAC_FRAME;
            a->written = p->pts + p->duration;
        }
        ret = tc_hls_write(a->hls, p, (AVRational){1, a->rate});
        av_packet_free(&p);
        if (ret < 0)
            return out_err(a, ret, "writing a segment");
    }
    return 0;
}

/* Samples the demuxer says to drop from the packet's decoded start: the
 * encoder's priming in an MP4 (edit list). */
static int64_t skip_samples(const AVPacket *pkt)
{
    size_t size = 0;
    const uint8_t *d =
        av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);

    return d != NULL && size >= 4 ? (int64_t)AV_RL32(d) : 0;
}

/* The first packet that counts is d samples after the start: what comes
 * before it. The slot before 0 always holds one frame, as the encoder's
 * priming does (the kept packet from before the start, or silence); a
 * late start is preceded by silence, whose last frame is the stream's own
 * priming when it has one. */
static int lead_in(tc_aout *a, int64_t d)
{
    int64_t n = d >= AAC_FRAME / 2 ? (d + AAC_FRAME / 2) / AAC_FRAME : 0;
    int kept = a->prime->data != NULL;
    int late = kept && a->prime_late && n > 0;
    int ret;

    a->started = 1;
    ret = q_put(a, kept && !late ? a->prime : a->silent, -AAC_FRAME);
    if (ret == 0)
        ret = q_silence(a, n - late);
    if (ret == 0 && late)
        ret = q_put(a, a->prime, have(a));
    av_packet_unref(a->prime);
    return ret;
}

int tc_aout_push_packet(tc_aout *a, const AVPacket *pkt, int64_t pos_us,
                        int usable, int block)
{
    const AVPacket *src = usable > 0 ? pkt : a->silent;
    int64_t slack = av_rescale(AOUT_SLACK_US, a->rate, 1000000);
    int64_t pos, d;
    int ret;

    if (tc_aborted(a->st))
        return YL_EINTR;
    if (usable < 0 && a->mismatched++ == 0)
        YL_LOGW("tc",
                "%s: audio decodes in another format than its header says; "
                "such packets become silence (re-encode with --audio-copy "
                "never)",
                a->label);
    pos = pos_us == AV_NOPTS_VALUE ? have(a)
                                   : av_rescale(pos_us, a->rate, 1000000);
    d = pos - have(a);
    if (!a->started) {
        int priming = skip_samples(pkt) >= AAC_FRAME;

        if (priming || (pos_us != AV_NOPTS_VALUE && pos + AAC_FRAME / 2 <= 0)) {
            /* Before the start, or the encoder's priming: not counted,
             * but the last one leads the decoder into the first that is. */
            if (a->prime->data != NULL)
                a->dropped++;
            av_packet_unref(a->prime);
            a->prime_late = priming && pos + AAC_FRAME / 2 > 0;
            return av_packet_ref(a->prime, src) < 0 ? oom(a) : 0;
        }
        ret = lead_in(a, d);
    } else if (d > slack) {
        ret = q_silence(a, (d + AAC_FRAME / 2) / AAC_FRAME);
    } else if (d < -slack && pos_us != AV_NOPTS_VALUE) {
        a->dropped++; /* overlaps what is already there */
        return pace(a, block);
    } else {
        ret = 0;
    }
    if (ret == 0)
        ret = q_put(a, src, have(a));
    if (ret < 0)
        return ret;
    if (usable > 0)
        a->copied++;
    else
        a->silenced++;
    return pace(a, block);
}

static int copy_finish(tc_aout *a, int64_t final_us)
{
    int64_t final = av_rescale(final_us, a->rate, 1000000);
    AVPacket *p;
    int ret = 0;

    if (!a->started)
        ret = lead_in(a, 0);
    if (ret == 0 && have(a) < final)
        ret = q_silence(a, (final - have(a) + AAC_FRAME - 1) / AAC_FRAME);
    if (ret == 0)
        ret = copy_ready(a, final_us, 1);
    while (av_fifo_read(a->q, &p, 1) >= 0) {
        a->dropped++; /* past the lesson's end */
        av_packet_free(&p);
    }
    a->queued = 0;
    if (ret < 0)
        return ret;
    YL_LOGD("tc",
            "%s: AAC passed through: %lld packets kept, %lld of silence "
            "(%lld in another format), %lld dropped",
            a->label, (long long)a->copied, (long long)a->silenced,
            (long long)a->mismatched, (long long)a->dropped);
    ret = tc_hls_finish(a->hls);
    if (ret < 0)
        return out_err(a, ret, "writing the playlist");
    return 0;
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
    if (a->copy)
        return copy_finish(a, final_us);
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

/* Copy mode: the queue, one frame of silence, and the muxer with the
 * stream's own parameters (its AudioSpecificConfig). */
static int copy_open(tc_aout *a, const AVCodecParameters *par,
                     const tc_hls_opts *ho)
{
    AVCodecContext *mc = NULL;
    int ret;

    a->q = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
    a->silent = av_packet_alloc();
    a->prime = av_packet_alloc();
    mc = avcodec_alloc_context3(NULL);
    if (a->q == NULL || a->silent == NULL || a->prime == NULL || mc == NULL ||
        avcodec_parameters_to_context(mc, par) < 0) {
        ret = oom(a);
        goto cleanup;
    }
    /* A queue as long as the lesson if the clock lags (the default limit,
     * 1 MiB, is 46 minutes of frames). */
    av_fifo_auto_grow_limit(a->q, SIZE_MAX / sizeof(AVPacket *));
    ret = make_silence(a);
    if (ret < 0)
        goto cleanup;
    mc->codec_tag = 0; /* the container's, not the muxer's */
    mc->time_base = (AVRational){1, a->rate};
    /* Laid out as the encoder's own output: priming before 0. */
    mc->initial_padding = a->enc->initial_padding;
    ret = tc_hls_open(ho, mc, &a->hls);
cleanup:
    avcodec_free_context(&mc);
    return ret;
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
    if (o->copy_par != NULL)
        a->copy = copy_fits(o->copy_par, a->rate, a->channels, a->copy_why,
                            sizeof(a->copy_why));
    ret = a->copy ? 0 : setup_swr(a, o->in_rate, o->in_fmt, o->in_layout);
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
    ret = a->copy ? copy_open(a, o->copy_par, &ho)
                  : tc_hls_open(&ho, a->enc, &a->hls);
    if (ret < 0) {
        if (ret != YL_EINTR && !tc_aborted(a->st))
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
    if (a->q != NULL) {
        AVPacket *p;

        while (av_fifo_read(a->q, &p, 1) >= 0)
            av_packet_free(&p);
        av_fifo_freep2(&a->q);
    }
    av_packet_free(&a->silent);
    av_packet_free(&a->prime);
    free(a);
}

int tc_aout_copying(const tc_aout *a)
{
    return a->copy;
}

int tc_aout_frame_fits(const tc_aout *a, const AVFrame *f)
{
    return f->sample_rate == a->rate && f->ch_layout.nb_channels == a->channels;
}

const char *tc_aout_copy_why(const tc_aout *a)
{
    return a->copy_why;
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
