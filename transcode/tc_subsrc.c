/* tc_subsrc.c - the job's subtitle sources (see tc_job.c): --subs files,
 * loaded before the run, and the source's own text subtitle streams,
 * decoded during the demux thread's one read of the source. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/yl_err.h"
#include "common/yl_lang.h"
#include "common/yl_log.h"
#include "transcode/tc_job_internal.h"

int tcj_load_subs(tc_job *j)
{
    int i, ret, line;

    for (i = 0; i < j->o.n_subs; i++) {
        struct srend *s;
        char where[32] = "";

        if (j->n_subs == MAX_SUBS)
            return tc_fail(&j->st, TC_EK_USAGE, YL_ETOOBIG,
                           "more than %d subtitle files", MAX_SUBS);
        s = &j->subs[j->n_subs];
        s->stream = -1;
        s->path = j->o.subs[i].path;
        snprintf(s->lang, sizeof(s->lang), "%s", j->o.subs[i].lang);
        line = 0;
        ret = tc_subs_load(s->path, &s->subs, &line);
        if (ret < 0) {
            char e[128];

            if (line > 0)
                snprintf(where, sizeof(where), "line %d: ", line);
            if (ret == YL_EBADUTF8)
                return tc_fail(&j->st, TC_EK_INPUT, ret,
                               "%s: %sinvalid UTF-8 (subtitles must be "
                               "UTF-8 text)",
                               s->path, where);
            if (ret == YL_EBADTIME)
                return tc_fail(&j->st, TC_EK_INPUT, ret,
                               "%s: %sbroken timestamp (expected "
                               "HH:MM:SS,mmm --> HH:MM:SS,mmm, end after "
                               "start)",
                               s->path, where);
            if (ret == YL_ECORRUPT)
                return tc_fail(&j->st, TC_EK_INPUT, ret,
                               "%s: %snot an SRT, WebVTT or ASS subtitle file "
                               "(or it has no cues)",
                               s->path, where);
            return tc_fail(
                &j->st, ret == -ENOMEM ? TC_EK_INTERNAL : TC_EK_INPUT, ret,
                "%s: %s%s", s->path, where, yl_strerror(ret, e, sizeof(e)));
        }
        tcj_unique_dir(j, "s", s->lang, s->dir, sizeof(s->dir), 0);
        j->n_subs++;
    }
    return 0;
}

/* Text subtitle streams of the source (SRT or ASS in Matroska, mov_text in
 * MP4, WebVTT) become renditions like --subs files, decoded during the one
 * read of the source; a --subs file of the same language wins. Picture
 * subtitles (DVD, Blu-ray, DVB) cannot become WebVTT text: skipped with a
 * warning, as is a stream that turns out unreadable (see demux()). */
int tcj_open_embedded_subs(tc_job *j)
{
    unsigned i;
    int k, ret;

    for (i = 0; i < j->fmt->nb_streams; i++) {
        AVStream *st = j->fmt->streams[i];
        const AVCodecDescriptor *d =
            avcodec_descriptor_get(st->codecpar->codec_id);
        AVDictionaryEntry *t;
        struct srend *s;
        char lang[YL_LANG_MAX] = "und";
        int taken = 0;

        if (st->codecpar->codec_type != AVMEDIA_TYPE_SUBTITLE)
            continue;
        if (d == NULL || !(d->props & AV_CODEC_PROP_TEXT_SUB)) {
            YL_LOGW("tc",
                    "%s: subtitle stream %u (%s) is pictures, not text: "
                    "left out (give the text with --subs LANG=FILE)",
                    j->o.in_path, i, avcodec_get_name(st->codecpar->codec_id));
            continue;
        }
        t = av_dict_get(st->metadata, "language", NULL, 0);
        if (t != NULL && t->value[0] != '\0' &&
            yl_lang_normalize(t->value, lang, sizeof(lang)) < 0)
            snprintf(lang, sizeof(lang), "und");
        for (k = 0; k < j->n_subs; k++)
            taken |=
                j->subs[k].stream < 0 && strcmp(j->subs[k].lang, lang) == 0;
        if (taken) {
            YL_LOGI("tc",
                    "%s: subtitle stream %u (%s): --subs %s=... given, the "
                    "stream is left out",
                    j->o.in_path, i, lang, lang);
            continue;
        }
        if (j->n_subs == MAX_SUBS) {
            YL_LOGW("tc",
                    "%s: more than %d subtitle renditions: stream %u "
                    "left out",
                    j->o.in_path, MAX_SUBS, i);
            continue;
        }
        s = &j->subs[j->n_subs];
        memset(s, 0, sizeof(*s));
        s->stream = (int)i;
        snprintf(s->lang, sizeof(s->lang), "%s", lang);
        s->subs = tc_subs_new();
        if (s->subs == NULL)
            return tcj_oom(j);
        ret = tcj_new_decoder(st, 1, &s->dec); /* a failure only skips it */
        if (ret < 0) {
            char e[128];

            /* A courtesy, not a request: the lesson goes on without it. */
            YL_LOGW("tc",
                    "%s: subtitle stream %u (%s): no decoder: %s: left "
                    "out",
                    j->o.in_path, i, avcodec_get_name(st->codecpar->codec_id),
                    tcj_av_err(ret, e, sizeof(e)));
            tc_subs_free(s->subs);
            s->subs = NULL;
            continue;
        }
        tcj_unique_dir(j, "s", s->lang, s->dir, sizeof(s->dir), 0);
        j->n_subs++;
        YL_LOGD("tc", "%s: subtitle stream %u (%s, %s) becomes %s",
                j->o.in_path, i, lang, avcodec_get_name(st->codecpar->codec_id),
                s->dir);
    }
    return 0;
}

/* One packet of an embedded subtitle stream: its cues, timed from the
 * lesson start. A damaged packet loses its cue, not the lesson. */
void tcj_decode_sub(tc_job *j, struct srend *s, AVPacket *pkt)
{
    AVStream *st = j->fmt->streams[s->stream];
    AVSubtitle sub;
    int got = 0, ret;
    unsigned r;

    if (s->bad)
        return;
    memset(&sub, 0, sizeof(sub));
    ret = avcodec_decode_subtitle2(s->dec, &sub, &got, pkt);
    if (ret < 0) {
        char e[128];

        /* libavcodec refuses text that is not UTF-8 (as we do files). */
        YL_LOGW("tc", "%s: subtitle stream %d (%s): %s: stream left out",
                j->o.in_path, s->stream, s->lang,
                ret == AVERROR_INVALIDDATA ? "not UTF-8 text or damaged"
                                           : tcj_av_err(ret, e, sizeof(e)));
        s->bad = 1;
        return;
    }
    if (!got)
        return;
    for (r = 0; r < sub.num_rects && !s->bad; r++) {
        const char *ass = sub.rects[r]->ass, *text;
        int64_t at_us, start, end;
        int commas = 0;

        if (ass == NULL)
            continue;
        /* "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text" */
        for (text = ass; *text != '\0' && commas < 8; text++)
            commas += *text == ',';
        if (commas < 8)
            continue;
        at_us = sub.pts != AV_NOPTS_VALUE
                    ? sub.pts
                    : av_rescale_q(pkt->pts, st->time_base, AV_TIME_BASE_Q);
        at_us -= j->t0_us;
        start = at_us / 1000 + sub.start_display_time;
        /* No end known (a stream without durations): shown 4 s. */
        end = sub.end_display_time > sub.start_display_time &&
                      sub.end_display_time != UINT32_MAX
                  ? at_us / 1000 + sub.end_display_time
                  : start + 4000;
        if (end <= 0)
            continue; /* before the lesson starts */
        if (start < 0)
            start = 0;
        ret = tc_subs_add_ass(s->subs, start, end, text, strlen(text));
        if (ret == -ENOMEM) {
            s->bad = 1;
            YL_LOGW("tc", "%s: subtitle stream %d: out of memory: left out",
                    j->o.in_path, s->stream);
        } else if (ret < 0) {
            YL_LOGW("tc",
                    "%s: subtitle stream %d (%s): a cue at %.3f s is "
                    "%s: skipped",
                    j->o.in_path, s->stream, s->lang, (double)start / 1000,
                    ret == YL_EBADUTF8 ? "not UTF-8" : "badly timed");
        }
    }
    avsubtitle_free(&sub);
}

/* After the read: embedded streams without a usable cue are dropped. */
void tcj_finish_embedded_subs(tc_job *j)
{
    int i, w = 0;

    for (i = 0; i < j->n_subs; i++) {
        struct srend *s = &j->subs[i];

        if (s->stream >= 0) {
            avcodec_free_context(&s->dec);
            if (!s->bad && tc_subs_finish(s->subs) < 0) {
                YL_LOGW("tc",
                        "%s: subtitle stream %d (%s) has no cue with "
                        "text: left out",
                        j->o.in_path, s->stream, s->lang);
                s->bad = 1;
            }
            if (s->bad) {
                tc_subs_free(s->subs);
                s->subs = NULL;
                continue;
            }
        }
        if (w != i)
            j->subs[w] = *s;
        w++;
    }
    j->n_subs = w;
}
