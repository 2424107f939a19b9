/* tc_vout.c - see tc_vout.h. */
#include "transcode/tc_vout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_time.h"
#include "transcode/tc_hls.h"

/* Decoded frames waiting for this rung. All rungs hold references to the
 * same decoded frames, so a deeper queue costs little memory, and it lets
 * a rung that x264 briefly stalls catch up without stalling the decoder. */
#define VOUT_QUEUE 12

struct vq_item {
    AVFrame *frame; /* owned reference */
    int key;
};

struct tc_vout {
    /* Set at creation, read-only after. */
    char dir[4096];
    int width, height;
    tc_status *st;

    /* Queue between the demux thread (producer) and the worker. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct vq_item q[VOUT_QUEUE];
    int q_head, q_len;
    int eof;          /* under lock: no more frames */
    int thread_valid; /* demux thread only */
    pthread_t thread;

    /* Worker thread only (until joined). */
    AVCodecContext *enc;
    struct SwsContext *sws;
    AVFrame *scaled;
    AVFilterGraph *graph; /* burned-in subtitles, or NULL */
    AVFilterContext *src, *sink;
    AVFrame *burned;
    AVPacket *pkt;
    tc_hls *hls;
    int result;
    int64_t frames;
    char codecs[32];
};

/* Waits are bounded so that an abort is seen even if nobody signals; on
 * the monotonic clock (the condition is made so in tc_vout_new). */
#define POLL_MS 100

static int out_err(tc_vout *v, int ret, const char *what)
{
    char buf[128];

    av_strerror(ret, buf, sizeof(buf));
    return tc_fail(v->st, TC_EK_OUTPUT, ret, "%s: %s failed: %s", v->dir, what,
                   buf);
}

static int drain(tc_vout *v)
{
    int ret;

    for (;;) {
        ret = avcodec_receive_packet(v->enc, v->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return tc_fail(v->st, TC_EK_INTERNAL, ret,
                           "%s: H.264 encoding failed", v->dir);
        if (v->codecs[0] == '\0')
            tc_hls_avc_codecs(v->pkt->data, v->pkt->size, v->codecs,
                              sizeof(v->codecs));
        ret = tc_hls_write(v->hls, v->pkt, v->enc->time_base);
        if (ret < 0)
            return out_err(v, ret, "writing a segment");
    }
}

static int encode_one(tc_vout *v, AVFrame *in, int key)
{
    AVFrame *f = in;
    int ret;

    if (v->sws != NULL) {
        ret = av_frame_make_writable(v->scaled);
        if (ret < 0)
            return tc_fail(v->st, TC_EK_INTERNAL, ret, "out of memory");
        sws_scale(v->sws, (const uint8_t *const *)in->data, in->linesize, 0,
                  in->height, v->scaled->data, v->scaled->linesize);
        v->scaled->pts = in->pts;
        f = v->scaled;
    }
    if (v->graph != NULL) {
        /* The filter copies a picture other rungs still read (it needs a
         * writable frame): KEEP_REF leaves ours untouched. */
        av_frame_unref(v->burned);
        ret =
            av_buffersrc_add_frame_flags(v->src, f, AV_BUFFERSRC_FLAG_KEEP_REF);
        if (ret >= 0)
            ret = av_buffersink_get_frame(v->sink, v->burned);
        if (ret < 0)
            return tc_fail(v->st, TC_EK_INTERNAL, ret,
                           "%s: drawing the subtitles failed", v->dir);
        f = v->burned;
    }
    /* Identical decisions in every rung (made once by the demux thread):
     * IDR frames at the same timestamps, so segment boundaries align. */
    f->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    ret = avcodec_send_frame(v->enc, f);
    if (f == in)
        in->pict_type = AV_PICTURE_TYPE_NONE;
    if (f == v->burned)
        av_frame_unref(v->burned);
    if (ret < 0)
        return tc_fail(v->st, TC_EK_INTERNAL, ret, "%s: H.264 encoding failed",
                       v->dir);
    v->frames++;
    return drain(v);
}

static void *worker(void *arg)
{
    tc_vout *v = arg;
    struct vq_item it;
    int ret = 0;

    for (;;) {
        pthread_mutex_lock(&v->lock);
        while (v->q_len == 0 && !v->eof && !tc_aborted(v->st))
            yl_timed_wait_ms(&v->cond, &v->lock, POLL_MS);
        if (tc_aborted(v->st)) {
            pthread_mutex_unlock(&v->lock);
            ret = YL_EINTR;
            break;
        }
        if (v->q_len == 0) { /* eof */
            pthread_mutex_unlock(&v->lock);
            break;
        }
        it = v->q[v->q_head];
        v->q[v->q_head].frame = NULL;
        v->q_head = (v->q_head + 1) % VOUT_QUEUE;
        v->q_len--;
        pthread_cond_broadcast(&v->cond);
        pthread_mutex_unlock(&v->lock);

        ret = encode_one(v, it.frame, it.key);
        av_frame_free(&it.frame);
        if (ret < 0)
            break;
    }
    if (ret == 0) {
        ret = avcodec_send_frame(v->enc, NULL);
        if (ret >= 0)
            ret = drain(v);
    }
    if (ret == 0) {
        ret = tc_hls_finish(v->hls);
        if (ret < 0)
            out_err(v, ret, "writing the playlist");
    }
    v->result = ret;
    return NULL;
}

static int open_encoder(tc_vout *v, const tc_vout_opts *o)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVDictionary *opts = NULL;
    char buf[32];
    int ret;

    if (codec == NULL)
        return tc_fail(v->st, TC_EK_INTERNAL, AVERROR_ENCODER_NOT_FOUND,
                       "libx264 encoder not available in this libavcodec");
    v->enc = avcodec_alloc_context3(codec);
    if (v->enc == NULL)
        return tc_fail(v->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
    v->enc->width = o->width;
    v->enc->height = o->height;
    v->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    v->enc->time_base = o->time_base;
    v->enc->framerate = o->fps;
    /* Width and height keep the source's display aspect: square pixels. */
    v->enc->sample_aspect_ratio = (AVRational){1, 1};
    v->enc->bit_rate = (int64_t)o->bitrate_kbps * 1000;
    v->enc->rc_max_rate = (int64_t)o->maxrate_kbps * 1000;
    v->enc->rc_buffer_size = o->bufsize_kbps * 1000;
    v->enc->gop_size = o->gop;
    v->enc->keyint_min = o->gop;
    v->enc->thread_count = o->threads;
    v->enc->color_range = AVCOL_RANGE_MPEG;
    v->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_dict_set(&opts, "preset", o->preset, 0);
    av_dict_set(&opts, "profile", "high", 0);
    /* Keyframes only where we force them (segment boundaries), never at
     * a scene cut that would differ between rungs; forced ones are IDR. */
    av_dict_set(&opts, "sc_threshold", "0", 0);
    av_dict_set(&opts, "forced-idr", "1", 0);
    snprintf(buf, sizeof(buf), "%d", o->threads);
    av_dict_set(&opts, "threads", buf, 0);
    ret = avcodec_open2(v->enc, codec, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        char e[128];

        av_strerror(ret, e, sizeof(e));
        return tc_fail(v->st, TC_EK_INTERNAL, ret,
                       "%s: opening libx264 at %dx%d failed: %s", v->dir,
                       o->width, o->height, e);
    }
    if (v->enc->extradata_size > 0)
        tc_hls_avc_codecs(v->enc->extradata, v->enc->extradata_size, v->codecs,
                          sizeof(v->codecs));
    return 0;
}

/* buffer -> subtitles (libass) -> buffersink, on the scaled pictures.
 * Options are set one by one, so paths need no filtergraph escaping. */
static int open_burn(tc_vout *v, const tc_vout_opts *o)
{
    AVFilterContext *subs = NULL;
    char args[160], e[128];
    int ret;

    v->graph = avfilter_graph_alloc();
    v->burned = av_frame_alloc();
    if (v->graph == NULL || v->burned == NULL)
        return tc_fail(v->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
    v->graph->nb_threads = 1;
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=1/1",
             o->width, o->height, AV_PIX_FMT_YUV420P, o->time_base.num,
             o->time_base.den);
    ret = avfilter_graph_create_filter(&v->src, avfilter_get_by_name("buffer"),
                                       "in", args, NULL, v->graph);
    if (ret >= 0)
        ret = avfilter_graph_create_filter(&v->sink,
                                           avfilter_get_by_name("buffersink"),
                                           "out", NULL, NULL, v->graph);
    if (ret < 0)
        goto fail;
    if (avfilter_get_by_name("subtitles") == NULL) {
        ret = AVERROR_FILTER_NOT_FOUND;
        goto fail;
    }
    subs = avfilter_graph_alloc_filter(
        v->graph, avfilter_get_by_name("subtitles"), "burn");
    if (subs == NULL) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = av_opt_set(subs, "filename", o->burn_ass, AV_OPT_SEARCH_CHILDREN);
    if (ret >= 0 && o->fonts_dir != NULL)
        ret =
            av_opt_set(subs, "fontsdir", o->fonts_dir, AV_OPT_SEARCH_CHILDREN);
    if (ret >= 0)
        ret = avfilter_init_str(subs, NULL);
    if (ret >= 0)
        ret = avfilter_link(v->src, 0, subs, 0);
    if (ret >= 0)
        ret = avfilter_link(subs, 0, v->sink, 0);
    if (ret >= 0)
        ret = avfilter_graph_config(v->graph, NULL);
    if (ret >= 0)
        return 0;
fail:
    av_strerror(ret, e, sizeof(e));
    return tc_fail(v->st, TC_EK_INTERNAL, ret,
                   "%s: cannot set up the subtitles filter (libass) for "
                   "%s: %s",
                   v->dir, o->burn_ass, e);
}

int tc_vout_new(const tc_vout_opts *o, tc_vout **out)
{
    tc_vout *v;
    tc_hls_opts ho;
    int ret;

    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return tc_fail(o->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
    snprintf(v->dir, sizeof(v->dir), "%s", o->dir);
    v->width = o->width;
    v->height = o->height;
    v->st = o->st;
    pthread_mutex_init(&v->lock, NULL);
    yl_cond_init_mono(&v->cond);

    ret = open_encoder(v, o);
    if (ret < 0)
        goto fail;
    if (o->width != o->src_width || o->height != o->src_height ||
        o->src_pix_fmt != AV_PIX_FMT_YUV420P) {
        /* Bicubic, like the ffmpeg CLI's scale filter default. */
        v->sws = sws_getContext(o->src_width, o->src_height, o->src_pix_fmt,
                                o->width, o->height, AV_PIX_FMT_YUV420P,
                                SWS_BICUBIC, NULL, NULL, NULL);
        v->scaled = av_frame_alloc();
        if (v->sws == NULL || v->scaled == NULL) {
            ret = tc_fail(v->st, TC_EK_INTERNAL, AVERROR(EINVAL),
                          "cannot scale %dx%d to %dx%d", o->src_width,
                          o->src_height, o->width, o->height);
            goto fail;
        }
        v->scaled->format = AV_PIX_FMT_YUV420P;
        v->scaled->width = o->width;
        v->scaled->height = o->height;
        ret = av_frame_get_buffer(v->scaled, 0);
        if (ret < 0) {
            ret = tc_fail(v->st, TC_EK_INTERNAL, ret, "out of memory");
            goto fail;
        }
    }
    if (o->burn_ass != NULL) {
        ret = open_burn(v, o);
        if (ret < 0)
            goto fail;
    }
    v->pkt = av_packet_alloc();
    if (v->pkt == NULL) {
        ret = tc_fail(v->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
        goto fail;
    }
    ho.dir = o->dir;
    ho.fmp4 = o->fmp4;
    ho.seg_s = o->seg_s;
    ho.offset_us = o->offset_us;
    ret = tc_hls_open(&ho, v->enc, &v->hls);
    if (ret < 0) {
        out_err(v, ret, "opening the HLS muxer");
        goto fail;
    }
    ret = pthread_create(&v->thread, NULL, worker, v);
    if (ret != 0) {
        ret = tc_fail(v->st, TC_EK_INTERNAL, -ret, "cannot start a thread");
        goto fail;
    }
    v->thread_valid = 1;
    *out = v;
    return 0;
fail:
    tc_vout_free(v);
    return ret;
}

int tc_vout_push(tc_vout *v, const AVFrame *frame, int key)
{
    AVFrame *ref = av_frame_clone(frame);
    int slot;

    if (ref == NULL)
        return tc_fail(v->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
    pthread_mutex_lock(&v->lock);
    while (v->q_len == VOUT_QUEUE && !tc_aborted(v->st))
        yl_timed_wait_ms(&v->cond, &v->lock, POLL_MS);
    if (tc_aborted(v->st)) {
        pthread_mutex_unlock(&v->lock);
        av_frame_free(&ref);
        return YL_EINTR;
    }
    slot = (v->q_head + v->q_len) % VOUT_QUEUE;
    v->q[slot].frame = ref;
    v->q[slot].key = key;
    v->q_len++;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

void tc_vout_end(tc_vout *v)
{
    pthread_mutex_lock(&v->lock);
    v->eof = 1;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

int tc_vout_finish(tc_vout *v)
{
    tc_vout_end(v);
    if (v->thread_valid) {
        pthread_join(v->thread, NULL);
        v->thread_valid = 0;
    }
    return v->result;
}

void tc_vout_free(tc_vout *v)
{
    int i;

    if (v == NULL)
        return;
    if (v->thread_valid) {
        /* The caller aborted the job: the worker sees it within 100 ms. */
        pthread_mutex_lock(&v->lock);
        v->eof = 1;
        pthread_cond_broadcast(&v->cond);
        pthread_mutex_unlock(&v->lock);
        pthread_join(v->thread, NULL);
    }
    for (i = 0; i < VOUT_QUEUE; i++)
        av_frame_free(&v->q[i].frame);
    tc_hls_free(v->hls);
    av_packet_free(&v->pkt);
    av_frame_free(&v->scaled);
    av_frame_free(&v->burned);
    avfilter_graph_free(&v->graph); /* frees src and sink too */
    sws_freeContext(v->sws);
    avcodec_free_context(&v->enc);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

const char *tc_vout_codecs(const tc_vout *v)
{
    return v->codecs[0] ? v->codecs : "avc1.640028";
}

int64_t tc_vout_frames(const tc_vout *v)
{
    return v->frames;
}
