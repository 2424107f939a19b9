/* tc_dubs.c - the job's dubs (--audio LANG=FILE; see tc_job.c): each one
 * opened before the run, then read, decoded and encoded on its own thread,
 * paced by the lesson clock (tc_aout) so that it never runs far ahead of
 * the video and ends exactly where the video ends. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/yl_err.h"
#include "common/yl_log.h"
#include "transcode/tc_job_internal.h"

int tcj_probe_dubs(tc_job *j)
{
    int i, ret;

    for (i = 0; i < j->o.n_dubs; i++) {
        struct arend *a;
        int s;

        if (j->n_audio == MAX_AUDIO)
            return tc_fail(&j->st, TC_EK_USAGE, YL_ETOOBIG,
                           "more than %d audio renditions", MAX_AUDIO);
        a = &j->audio[j->n_audio];
        a->stream = -1;
        a->path = j->o.dubs[i].path;
        snprintf(a->lang, sizeof(a->lang), "%s", j->o.dubs[i].lang);
        snprintf(a->label, sizeof(a->label), "%s", a->path);
        ret = tcj_open_media(j, a->path, &a->fmt);
        if (ret < 0)
            return ret;
        s = av_find_best_stream(a->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
        if (s < 0)
            return tc_fail(&j->st, TC_EK_INPUT, YL_ENOMEDIA,
                           "%s: dub for \"%s\" has no audio stream", a->path,
                           a->lang);
        ret = tcj_open_decoder(j, a->path, a->fmt->streams[s], 1, &a->dec);
        if (ret < 0)
            return ret;
        /* On the source's clock, what comes before its start is dropped
         * and a late start is preceded by silence (tc_aout_push). */
        a->start_pts = j->o.dub_clock_source
                           ? av_rescale_q(j->t0_us, AV_TIME_BASE_Q,
                                          a->fmt->streams[s]->time_base)
                           : tcj_stream_start(a->fmt->streams[s]);
        a->stream = -1 - s; /* dub: -1 - its stream index in a->fmt */
        tcj_unique_dir(j, "a", a->lang, a->dir, sizeof(a->dir), 1);
        j->n_audio++;
    }
    return 0;
}

/* ---- dubs: one thread each ------------------------------------------- */

/* Decodes one packet of the dub (NULL: flushes) into its rendition, or,
 * passing through, gives it the packet itself (silence in its place when
 * it did not decode cleanly in the dub's format). */
static int dub_decode(struct arend *a, AVPacket *pkt, AVFrame *frame,
                      AVStream *st)
{
    int copying = tc_aout_copying(a->out);
    int usable = 1;
    int ret = avcodec_send_packet(a->dec, pkt);

    if (ret < 0 && ret != AVERROR_EOF && ret != AVERROR(EAGAIN)) {
        /* A damaged packet in a dub costs a blip, not the lesson. */
        YL_LOGD("tc", "%s: skipping a damaged audio packet", a->label);
        usable = 0;
    }
    while (usable) {
        int64_t pos = AV_NOPTS_VALUE;

        ret = avcodec_receive_frame(a->dec, frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            usable = 0;
            break;
        }
        if (frame->best_effort_timestamp != AV_NOPTS_VALUE) {
            pos = av_rescale_q(frame->best_effort_timestamp - a->start_pts,
                               st->time_base, AV_TIME_BASE_Q);
            a->dub_s = (double)pos / 1e6 +
                       (double)frame->nb_samples / frame->sample_rate;
        }
        if (copying && !tc_aout_frame_fits(a->out, frame))
            usable = -1; /* decoded, but not as the rendition is */
        ret = copying ? 0 : tc_aout_push(a->out, frame, pos, 1);
        av_frame_unref(frame);
        if (ret < 0)
            return ret;
    }
    if (!copying || pkt == NULL)
        return 0;
    return tc_aout_push_packet(a->out, pkt,
                               pkt->pts == AV_NOPTS_VALUE
                                   ? AV_NOPTS_VALUE
                                   : av_rescale_q(pkt->pts - a->start_pts,
                                                  st->time_base,
                                                  AV_TIME_BASE_Q),
                               usable, 1);
}

struct dub_arg {
    tc_job *job;
    struct arend *a;
};

static void *dub_thread(void *arg)
{
    struct dub_arg *da = arg;
    tc_job *j = da->job;
    struct arend *a = da->a;
    int s = -1 - a->stream;
    AVStream *st = a->fmt->streams[s];
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int ret = 0;

    free(da);
    if (pkt == NULL || frame == NULL) {
        ret = tcj_oom(j);
        goto out;
    }
    while (!tc_aborted(&j->st)) {
        ret = av_read_frame(a->fmt, pkt);
        if (ret == AVERROR_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0) {
            char e[128];

            ret = tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                          "%s: reading the dub failed: %s", a->label,
                          tcj_av_err(ret, e, sizeof(e)));
            goto out;
        }
        if (pkt->stream_index == s)
            ret = dub_decode(a, pkt, frame, st);
        av_packet_unref(pkt);
        if (ret < 0)
            goto out;
    }
    if (tc_aborted(&j->st)) {
        ret = YL_EINTR;
        goto out;
    }
    ret = dub_decode(a, NULL, frame, st);
    if (ret < 0)
        goto out;
    if (a->dub_s <= 0) {
        ret = tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                      "%s: no audio could be decoded from the dub", a->label);
        goto out;
    }
    ret = tc_aout_finish(a->out);
out:
    a->result = ret;
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return NULL;
}

int tcj_dub_start(tc_job *j, struct arend *a)
{
    struct dub_arg *da = malloc(sizeof(*da));
    int ret;

    if (da == NULL)
        return tcj_oom(j);
    da->job = j;
    da->a = a;
    ret = pthread_create(&a->thread, NULL, dub_thread, da);
    if (ret != 0) {
        free(da);
        return tc_fail(&j->st, TC_EK_INTERNAL, -ret, "cannot start a thread");
    }
    a->thread_valid = 1;
    return 0;
}
