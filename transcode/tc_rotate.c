/* tc_rotate.c - see tc_rotate.h. */
#include "transcode/tc_rotate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/display.h>

struct tc_rotate {
    AVFilterGraph *graph;
    AVFilterContext *src;  /* owned by graph */
    AVFilterContext *sink; /* owned by graph */
    int64_t n;             /* frames in: the graph's own clock */
};

int tc_rotate_degrees(const AVStream *st)
{
    const uint8_t *m;
    size_t size = 0;
    double theta;
    long d;

    m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (m == NULL || size < 9 * sizeof(int32_t))
        return 0;
    /* av_display_rotation_get: counterclockwise degrees in [-180, 180]. */
    theta = -av_display_rotation_get((const int32_t *)(const void *)m);
    if (isnan(theta))
        return 0;
    theta -= 360.0 * floor(theta / 360.0 + 0.9 / 360.0);
    d = lround(theta / 90.0) * 90;
    if (fabs(theta - (double)d) > 1.0)
        return 0; /* an odd angle: shown as stored */
    return (int)(d % 360);
}

void tc_rotate_free(tc_rotate *r)
{
    if (r == NULL)
        return;
    avfilter_graph_free(&r->graph);
    free(r);
}

int tc_rotate_new(int degrees, int width, int height, int pix_fmt,
                  tc_rotate **out)
{
    const char *chain = degrees == 90    ? "transpose=dir=clock"
                        : degrees == 270 ? "transpose=dir=cclock"
                        : degrees == 180 ? "hflip,vflip"
                                         : NULL;
    AVFilterInOut *in_io = NULL, *out_io = NULL;
    tc_rotate *r = NULL;
    char args[160];
    int ret;

    if (chain == NULL || width <= 0 || height <= 0)
        return AVERROR(EINVAL);
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return AVERROR(ENOMEM);
    r->graph = avfilter_graph_alloc();
    if (r->graph == NULL) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    /* One thread: the rungs already keep the cores busy. */
    r->graph->nb_threads = 1;
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=1/90000:"
             "pixel_aspect=1/1",
             width, height, pix_fmt);
    ret = avfilter_graph_create_filter(&r->src, avfilter_get_by_name("buffer"),
                                       "in", args, NULL, r->graph);
    if (ret < 0)
        goto fail;
    ret = avfilter_graph_create_filter(&r->sink,
                                       avfilter_get_by_name("buffersink"),
                                       "out", NULL, NULL, r->graph);
    if (ret < 0)
        goto fail;
    out_io = avfilter_inout_alloc();
    in_io = avfilter_inout_alloc();
    if (out_io == NULL || in_io == NULL) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    out_io->name = av_strdup("in");
    out_io->filter_ctx = r->src;
    in_io->name = av_strdup("out");
    in_io->filter_ctx = r->sink;
    if (out_io->name == NULL || in_io->name == NULL) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    ret = avfilter_graph_parse_ptr(r->graph, chain, &in_io, &out_io, NULL);
    if (ret < 0)
        goto fail;
    ret = avfilter_graph_config(r->graph, NULL);
    if (ret < 0)
        goto fail;
    avfilter_inout_free(&in_io);
    avfilter_inout_free(&out_io);
    *out = r;
    return 0;
fail:
    avfilter_inout_free(&in_io);
    avfilter_inout_free(&out_io);
    tc_rotate_free(r);
    return ret;
}

int tc_rotate_frame(tc_rotate *r, const AVFrame *in, AVFrame *out)
{
    AVFrame *ref = av_frame_clone(in);
    int ret;

    if (ref == NULL)
        return AVERROR(ENOMEM);
    av_frame_unref(out);
    /* The graph's own clock; the caller keeps the source timestamps. */
    ref->pts = r->n++;
    ref->sample_aspect_ratio = (AVRational){1, 1};
    ret = av_buffersrc_add_frame_flags(r->src, ref, AV_BUFFERSRC_FLAG_KEEP_REF);
    av_frame_free(&ref);
    if (ret < 0)
        return ret;
    ret = av_buffersink_get_frame(r->sink, out);
    if (ret < 0)
        return ret;
    out->pts = in->pts;
    out->best_effort_timestamp = in->best_effort_timestamp;
    return 0;
}
