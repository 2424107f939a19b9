/* tc_job.c - see tc_job.h.
 *
 * The demux thread (the caller of tc_job_run) reads the source once and
 * decodes its video and audio. Each decoded video frame is handed, by
 * reference, to every rung's worker (tc_vout), which scales and encodes it;
 * the demux thread decides once which frames are IDR (the first frame at or
 * after each segment boundary), so every rung cuts its segments at the same
 * timestamps. Source audio is resampled and AAC-encoded on the demux thread
 * (cheap next to x264); each dub is read, decoded and encoded on its own
 * thread, paced by the lesson clock so that it never runs far ahead of the
 * video and ends exactly where the video ends. Everything is written into
 * a temporary directory that is renamed into place at the end. */
#include "transcode/tc_job.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_lang.h"
#include "common/yl_log.h"
#include "transcode/tc_aout.h"
#include "transcode/tc_hls.h"
#include "transcode/tc_job_internal.h"
#include "transcode/tc_ladder.h"
#include "transcode/tc_poster.h"
#include "transcode/tc_thumbs.h"
#include "transcode/tc_publish.h"
#include "transcode/tc_rotate.h"
#include "transcode/tc_status.h"
#include "transcode/tc_subs.h"
#include "transcode/tc_vout.h"

int tcj_oom(tc_job *j)
{
    return tc_fail(&j->st, TC_EK_INTERNAL, AVERROR(ENOMEM), "out of memory");
}

const char *tcj_av_err(int ret, char *buf, size_t len)
{
    av_strerror(ret, buf, len);
    return buf;
}

/* Logs (YL_LOG=debug) when a phase of the run ends: wall seconds since
 * the start and the process's CPU seconds so far, so that a profile of a
 * short lesson shows its fixed costs (docs/performance.md). */
static void phase(tc_job *j, const char *name)
{
    struct timespec cpu;

    if (yl_log_get_level() < YL_LOG_DEBUG)
        return;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    YL_LOGD("tc", "phase %-12s wall %7.3f s, CPU %7.3f s", name,
            tc_now_s() - j->start_s, (double)cpu.tv_sec + cpu.tv_nsec / 1e9);
}

/* ---- input ------------------------------------------------------------ */

/* Opens a media file; a one-line reason names it on failure. */
int tcj_open_media(tc_job *j, const char *path, AVFormatContext **out)
{
    AVFormatContext *fmt = NULL;
    struct stat sb;
    char e[128];
    int ret;

    if (stat(path, &sb) != 0)
        return tc_fail(&j->st, TC_EK_INPUT, -errno, "%s: cannot open: %s", path,
                       strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return tc_fail(&j->st, TC_EK_INPUT, -EISDIR,
                       "%s: is a directory, not a media file", path);
    if (sb.st_size == 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: empty file (0 bytes)", path);
    ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret < 0) {
        if (ret == AVERROR_INVALIDDATA)
            return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                           "%s: not a media file, or its header (e.g. the "
                           "mp4 moov box) is damaged",
                           path);
        return tc_fail(&j->st, TC_EK_INPUT, ret, "%s: cannot open: %s", path,
                       tcj_av_err(ret, e, sizeof(e)));
    }
    /* A format guessed only weakly from the content (the level at which
     * ffmpeg itself warns "misdetection possible") is how random bytes look:
     * about 1 in 100 random files "probes" as raw h263 (score 25) or lrc. */
    if (fmt->probe_score <= AVPROBE_SCORE_RETRY) {
        char guess[64];

        snprintf(guess, sizeof(guess), "%s", fmt->iformat->name);
        avformat_close_input(&fmt);
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: not a media file (its content only loosely "
                       "resembles %s)",
                       path, guess);
    }
    ret = avformat_find_stream_info(fmt, NULL);
    if (ret < 0) {
        avformat_close_input(&fmt);
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: cannot read its streams: %s", path,
                       tcj_av_err(ret, e, sizeof(e)));
    }
    *out = fmt;
    return 0;
}

/* A decoder for st: 0, AVERROR_DECODER_NOT_FOUND, AVERROR(ENOMEM) or what
 * avcodec_open2 said. No message: the callers decide what a failure is. */
int tcj_new_decoder(const AVStream *st, int threads, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec;
    int ret;

    if (codec == NULL)
        return AVERROR_DECODER_NOT_FOUND;
    dec = avcodec_alloc_context3(codec);
    if (dec == NULL)
        return AVERROR(ENOMEM);
    ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret >= 0) {
        dec->pkt_timebase = st->time_base;
        dec->thread_count = threads;
        ret = avcodec_open2(dec, codec, NULL);
    }
    if (ret < 0) {
        avcodec_free_context(&dec);
        return ret;
    }
    *out = dec;
    return 0;
}

/* A decoder the lesson needs: a failure is the job's error. */
int tcj_open_decoder(tc_job *j, const char *path, AVStream *st, int threads,
                     AVCodecContext **out)
{
    const char *name = avcodec_get_name(st->codecpar->codec_id);
    int ret = tcj_new_decoder(st, threads, out);
    char e[128];

    if (ret == AVERROR_DECODER_NOT_FOUND)
        return tc_fail(
            &j->st, TC_EK_INPUT, YL_ECORRUPT,
            "%s: stream %d: unsupported %s codec \"%s\"", path, st->index,
            av_get_media_type_string(st->codecpar->codec_type), name);
    if (ret == AVERROR(ENOMEM))
        return tcj_oom(j);
    if (ret < 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: stream %d: cannot open the %s decoder: %s", path,
                       st->index, name, tcj_av_err(ret, e, sizeof(e)));
    return 0;
}

static int find_video(AVFormatContext *fmt)
{
    unsigned i;

    for (i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];

        /* Cover art of an audio file is not a video. */
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return -1;
}

/* A unique rendition directory name: "a-zh", then "a-zh-2", ... */
void tcj_unique_dir(tc_job *j, const char *prefix, const char *lang, char *out,
                    size_t len, int is_audio)
{
    int n, i, clash;

    for (n = 1;; n++) {
        if (n == 1)
            snprintf(out, len, "%s-%s", prefix, lang);
        else
            snprintf(out, len, "%s-%s-%d", prefix, lang, n);
        clash = 0;
        if (is_audio) {
            for (i = 0; i < j->n_audio; i++)
                clash |= strcmp(j->audio[i].dir, out) == 0;
        } else {
            for (i = 0; i < j->n_subs; i++)
                clash |= strcmp(j->subs[i].dir, out) == 0;
        }
        if (!clash)
            return;
    }
}

int64_t tcj_stream_start(const AVStream *st)
{
    return st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
}

/* Matroska keeps a stream's length in a "DURATION" tag (HH:MM:SS.nnn...),
 * written by ffmpeg and mkvmerge: microseconds, or -1. */
static int64_t tag_duration_us(const AVStream *st)
{
    AVDictionaryEntry *t = av_dict_get(st->metadata, "DURATION", NULL, 0);
    unsigned h, m;
    double sec;
    char tail;

    if (t == NULL ||
        sscanf(t->value, "%u:%u:%lf%c", &h, &m, &sec, &tail) != 3 || m > 59 ||
        sec < 0 || sec >= 60)
        return -1;
    return (int64_t)llrint(((double)h * 3600 + m * 60 + sec) * 1e6);
}

/* The language of the source's n-th audio stream: --audio-lang, else its
 * tag, else "und" (a tag that is not BCP-47 is said so). */
static void source_audio_lang(tc_job *j, const AVStream *st, int n, char *out,
                              size_t len)
{
    const char *lang = NULL;
    AVDictionaryEntry *t;
    int k;

    for (k = 0; k < j->o.n_audio_langs; k++)
        if (j->o.audio_langs[k].index == n)
            lang = j->o.audio_langs[k].lang;
    if (lang != NULL) {
        snprintf(out, len, "%s", lang);
        return;
    }
    t = av_dict_get(st->metadata, "language", NULL, 0);
    if (t == NULL || t->value[0] == '\0' ||
        yl_lang_normalize(t->value, out, len) < 0) {
        if (t != NULL && t->value[0] != '\0')
            YL_LOGW("tc",
                    "%s: audio stream %d: language tag \"%s\" is not "
                    "BCP-47; using \"und\" (set it with "
                    "--audio-lang %d=LANG)",
                    j->o.in_path, n, t->value, n);
        snprintf(out, len, "und");
    }
}

/* One audio rendition per audio stream of the source. Returns how many,
 * or a negative error. */
static int source_audio(tc_job *j)
{
    const char *path = j->o.in_path;
    int n_src_audio = 0, k;
    unsigned i;

    for (i = 0; i < j->fmt->nb_streams; i++) {
        AVStream *st = j->fmt->streams[i];
        struct arend *a;

        if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (j->n_audio == MAX_AUDIO)
            return tc_fail(&j->st, TC_EK_INPUT, YL_ETOOBIG,
                           "%s: more than %d audio streams", path, MAX_AUDIO);
        a = &j->audio[j->n_audio];
        a->stream = (int)i;
        source_audio_lang(j, st, n_src_audio, a->lang, sizeof(a->lang));
        snprintf(a->label, sizeof(a->label), "%s", path);
        tcj_unique_dir(j, "a", a->lang, a->dir, sizeof(a->dir), 1);
        a->start_pts = tcj_stream_start(st);
        j->n_audio++;
        n_src_audio++;
    }
    for (k = 0; k < j->o.n_audio_langs; k++) {
        if (j->o.audio_langs[k].index >= n_src_audio)
            return tc_fail(&j->st, TC_EK_USAGE, YL_EUSAGE,
                           "--audio-lang %d=%s: %s has %d audio stream%s",
                           j->o.audio_langs[k].index, j->o.audio_langs[k].lang,
                           path, n_src_audio, n_src_audio == 1 ? "" : "s");
    }
    return n_src_audio;
}

/* How long the container says the lesson is (decoding must reach it),
 * and where its clock starts. */
static void expected_duration(tc_job *j)
{
    AVStream *ms =
        j->fmt->streams[j->vstream >= 0 ? j->vstream : j->audio[0].stream];
    unsigned i;

    if (ms->duration > 0)
        j->expected_us =
            av_rescale_q(ms->duration, ms->time_base, AV_TIME_BASE_Q);
    else
        j->expected_us = tag_duration_us(ms);
    j->t0_us =
        av_rescale_q(tcj_stream_start(ms), ms->time_base, AV_TIME_BASE_Q);
    if (j->vstream < 0)
        j->master_audio = 0;
    if (j->expected_us <= 0 && j->fmt->duration > 0) {
        /* Matroska and others know only the longest stream's duration: the
         * decoded end of any stream is then what must reach it; unless a
         * subtitle stream may be the longest (a last cue long after the
         * picture ends), which says nothing about truncation. */
        int subs = 0;

        for (i = 0; i < j->fmt->nb_streams; i++)
            subs |= j->fmt->streams[i]->codecpar->codec_type ==
                    AVMEDIA_TYPE_SUBTITLE;
        if (!subs) {
            j->expected_us = j->fmt->duration;
            j->expected_whole = 1;
        }
    }
    if (j->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) {
        /* A guess from the file size: no basis for calling it truncated. */
        YL_LOGD("tc", "%s: duration estimated from the bit rate", j->o.in_path);
        j->expected_us = -1;
    }
}

static int probe_source(tc_job *j)
{
    int n_src_audio, ret;

    ret = tcj_open_media(j, j->o.in_path, &j->fmt);
    if (ret < 0)
        return ret;
    j->vstream = find_video(j->fmt);
    n_src_audio = source_audio(j);
    if (n_src_audio < 0)
        return n_src_audio;
    if (j->vstream < 0 && n_src_audio == 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ENOMEDIA,
                       "%s: has no video and no audio stream", j->o.in_path);
    expected_duration(j);
    return 0;
}

/* --burn-subs LANG: each one a language of a --subs file (its cues are
 * known before the picture is read; an embedded stream's are not), once. */
static int check_burn(tc_job *j)
{
    int i, k;

    if (j->o.n_burn > TC_BURN_MAX)
        return tc_fail(&j->st, TC_EK_USAGE, YL_EUSAGE,
                       "--burn-subs: at most %d languages", TC_BURN_MAX);
    for (i = 0; i < j->o.n_burn; i++) {
        const struct srend *found = NULL;
        struct vrend *b = &j->burn[i];

        for (k = 0; k < i; k++)
            if (strcmp(j->o.burn[k], j->o.burn[i]) == 0)
                return tc_fail(&j->st, TC_EK_USAGE, YL_EUSAGE,
                               "--burn-subs %s: given twice", j->o.burn[i]);
        for (k = 0; k < j->n_subs && found == NULL; k++)
            if (j->subs[k].path != NULL &&
                strcmp(j->subs[k].lang, j->o.burn[i]) == 0)
                found = &j->subs[k];
        if (found == NULL)
            return tc_fail(&j->st, TC_EK_USAGE, YL_EUSAGE,
                           "--burn-subs %s: no --subs %s=FILE given (burned "
                           "subtitles are drawn from a --subs file)",
                           j->o.burn[i], j->o.burn[i]);
        snprintf(b->lang, sizeof(b->lang), "%s", found->lang);
        snprintf(b->dir, sizeof(b->dir), "vb-%s", found->lang);
        b->subs = found;
    }
    return 0;
}

/* The font family libass is asked for, by language: the web player's
 * fonts (TC_FONTS_DIR); Noto Sans SC also covers Latin and most text. */
static const char *burn_font(const char *lang)
{
    if (strncmp(lang, "bo", 2) == 0 && (lang[2] == '\0' || lang[2] == '-'))
        return "Noto Serif Tibetan";
    if (strncmp(lang, "lis", 3) == 0 && (lang[3] == '\0' || lang[3] == '-'))
        return "Noto Sans Lisu";
    if (strncmp(lang, "ii", 2) == 0 && (lang[2] == '\0' || lang[2] == '-'))
        return "Noto Sans Yi";
    return "Noto Sans SC";
}

/* ---- output setup ---------------------------------------------------- */

const char *tcj_tmp_path(tc_job *j, const char *name)
{
    snprintf(j->path_buf, sizeof(j->path_buf), "%s/%s", j->tmp, name);
    return j->path_buf;
}

static int make_dir(tc_job *j, const char *name)
{
    const char *p = tcj_tmp_path(j, name);

    if (mkdir(p, 0755) != 0)
        return tc_fail(&j->st, TC_EK_OUTPUT, -errno, "%s: cannot create: %s", p,
                       strerror(errno));
    return 0;
}

/* x264 threads per rung. The rungs already run in parallel, so each x264
 * needs fewer threads than it would alone; but a rung with too few is the
 * one the others wait for (the demux thread feeds all rungs in lockstep
 * through short queues), and x264 frame threads are what absorb its uneven
 * per-frame cost. On C cores: the top rung (about half of all the work)
 * gets C+1, the second C, the others C/2 (at least 1); 2 cores give
 * 3,2,1,1, measured against 2,1,1,1, 2,2,2,2 and x264's own choice (3 each)
 * in docs/performance.md. --threads "3,2,1,1" overrides. */
static void rung_threads(tc_job *j, int *threads, int n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *spec = j->o.threads;
    int i;

    if (cores < 1)
        cores = 1;
    if (cores > 15)
        cores = 15;
    for (i = 0; i < n; i++)
        threads[i] = cores >= 2 ? (int)cores / 2 : 1;
    if (n > 0)
        threads[0] = cores >= 2 ? (int)cores + 1 : 1;
    if (n > 1)
        threads[1] = (int)cores;
    if (n == 1)
        threads[0] = 0; /* one rung: x264 decides (all cores) */
    if (spec != NULL) {
        for (i = 0; i < n && *spec; i++) {
            char *end;
            long v = strtol(spec, &end, 10);

            if (end != spec && v >= 0 && v <= 16)
                threads[i] = (int)v;
            spec = *end == ',' ? end + 1 : end;
        }
    }
}

/* The burned-in subtitle rungs: fed the same pictures and IDR decisions
 * as the ladder (so their segments align with it), at most TC_BURN_HEIGHT
 * lines and never above the source. */
static int setup_burn(tc_job *j, AVStream *vs, AVRational fps, AVRational sar,
                      int src_w, int src_h, int gop)
{
    const int height = TC_BURN_HEIGHT;
    const char *fonts = j->o.fonts_dir ? j->o.fonts_dir : TC_FONTS_DIR;
    struct stat sb;
    char ass[4200];
    int i, ret;

    if (j->o.n_burn > 0 && (stat(fonts, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return tc_fail(&j->st, TC_EK_USAGE, YL_EUSAGE,
                       "--burn-subs: fonts directory %s is missing (run "
                       "scripts/setup.sh, or give --fonts-dir DIR)",
                       fonts);
    for (i = 0; i < j->o.n_burn; i++) {
        struct vrend *b = &j->burn[i];
        tc_vout_opts vo;
        long cores = sysconf(_SC_NPROCESSORS_ONLN);

        if (tc_ladder_pick(src_w, src_h, sar.num, sar.den, &height, 1, &b->rung,
                           1) != 1)
            return tc_fail(&j->st, TC_EK_INPUT, YL_EINVAL,
                           "%s: no burned-in rung fits a %dx%d picture",
                           j->o.in_path, src_w, src_h);
        ret = make_dir(j, b->dir);
        if (ret < 0)
            return ret;
        snprintf(ass, sizeof(ass), "%s/%s/burn.ass", j->tmp, b->dir);
        ret = tc_subs_write_ass(b->subs->subs, ass, burn_font(b->lang));
        if (ret < 0) {
            char e[128];

            return tc_fail(&j->st, TC_EK_OUTPUT, ret, "%s: cannot write: %s",
                           ass, yl_strerror(ret, e, sizeof(e)));
        }
        memset(&vo, 0, sizeof(vo));
        vo.dir = tcj_tmp_path(j, b->dir);
        vo.width = b->rung.width;
        vo.height = b->rung.height;
        vo.bitrate_kbps = b->rung.bitrate_kbps;
        vo.maxrate_kbps = b->rung.maxrate_kbps;
        vo.bufsize_kbps = b->rung.bufsize_kbps;
        vo.src_width = src_w;
        vo.src_height = src_h;
        vo.src_pix_fmt = j->vdec->pix_fmt;
        vo.time_base = vs->time_base;
        vo.fps = fps;
        vo.src_sar = sar;
        vo.gop = gop;
        vo.threads = cores >= 2 ? (int)cores / 2 : 1;
        vo.preset = j->o.preset ? j->o.preset : "veryfast";
        vo.fmp4 = j->o.fmp4;
        vo.seg_s = j->o.seg_s;
        vo.offset_us = j->offset_us;
        vo.st = &j->st;
        vo.burn_ass = ass;
        vo.fonts_dir = fonts;
        ret = tc_vout_new(&vo, &b->out);
        if (ret < 0)
            return ret;
        j->n_burn++;
        YL_LOGD("tc", "burned-in %s rung: %dx%d %d kbps, font \"%s\" from %s",
                b->lang, vo.width, vo.height, vo.bitrate_kbps,
                burn_font(b->lang), fonts);
    }
    return 0;
}

/* The source picture the ladder rungs are made from: after turning, if the
 * source is rotated. */
struct vsrc {
    AVStream *vs;
    AVRational fps;
    AVRational sar;
    int w, h;
};

/* s->fps if the stream gave none (r_frame_rate, else 25), and from it
 * j->fps and the output offset j->offset_us. */
static void video_fps(tc_job *j, struct vsrc *s)
{
    if (s->fps.num <= 0 || s->fps.den <= 0)
        s->fps = s->vs->r_frame_rate;
    if (s->fps.num <= 0 || s->fps.den <= 0)
        s->fps = (AVRational){25, 1};
    j->fps = av_q2d(s->fps);
    /* x264 delays by at most 2 frames (b-pyramid), AAC primes 1024 samples
     * (23.2 ms at 44.1 kHz): one offset covering both, in whole ms. */
    j->offset_us = (int64_t)ceil(2e6 / j->fps / 1000.0) * 1000;
    if (j->offset_us < 24000)
        j->offset_us = 24000;
}

/* A rotated source (display matrix): the rotator and its frame, and s's
 * size and SAR as turned. */
static int setup_rotation(tc_job *j, struct vsrc *s)
{
    int ret;

    j->rot_deg = tc_rotate_degrees(s->vs);
    if (j->rot_deg == 0)
        return 0;
    /* Phone video: turned once here, before the rungs scale it. */
    ret = tc_rotate_new(j->rot_deg, s->w, s->h, j->vdec->pix_fmt, &j->rot);
    j->rframe = av_frame_alloc();
    if (ret < 0 || j->rframe == NULL) {
        char e[128];

        return tc_fail(
            &j->st, TC_EK_INTERNAL, ret < 0 ? ret : AVERROR(ENOMEM),
            "%s: cannot turn its %d-degree pictures: %s", j->o.in_path,
            j->rot_deg,
            tcj_av_err(ret < 0 ? ret : AVERROR(ENOMEM), e, sizeof(e)));
    }
    if (j->rot_deg != 180) {
        int t = s->w;

        s->w = s->h;
        s->h = t;
        s->sar = (AVRational){s->sar.den, s->sar.num};
    }
    YL_LOGI("tc",
            "%s: pictures turned %d degrees clockwise (display "
            "matrix)",
            j->o.in_path, j->rot_deg);
    return 0;
}

/* The ladder's rungs for s into j->video. Returns their number. */
static int pick_rungs(tc_job *j, const struct vsrc *s)
{
    tc_rung rungs[TC_LADDER_MAX];
    int i, n;

    n = tc_ladder_pick(s->w, s->h, s->sar.num, s->sar.den, j->o.heights,
                       j->o.heights ? j->o.n_heights : 0, rungs, TC_LADDER_MAX);
    if (n <= 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_EINVAL,
                       "%s: no video rung fits a %dx%d picture", j->o.in_path,
                       s->w, s->h);
    for (i = 0; i < n; i++)
        j->video[i].rung = rungs[i];
    return n;
}

/* Ladder rung i: its directory and its encoder. */
static int setup_rung(tc_job *j, int i, const struct vsrc *s, int gop,
                      int threads)
{
    struct vrend *v = &j->video[i];
    tc_vout_opts vo;
    int ret;

    snprintf(v->dir, sizeof(v->dir), "v%d", i);
    ret = make_dir(j, v->dir);
    if (ret < 0)
        return ret;
    memset(&vo, 0, sizeof(vo));
    vo.dir = tcj_tmp_path(j, v->dir);
    vo.width = v->rung.width;
    vo.height = v->rung.height;
    vo.bitrate_kbps = v->rung.bitrate_kbps;
    vo.maxrate_kbps = v->rung.maxrate_kbps;
    vo.bufsize_kbps = v->rung.bufsize_kbps;
    vo.src_width = s->w;
    vo.src_height = s->h;
    vo.src_pix_fmt = j->vdec->pix_fmt;
    vo.time_base = s->vs->time_base;
    vo.fps = s->fps;
    vo.src_sar = s->sar;
    vo.gop = gop;
    vo.threads = threads;
    vo.preset = j->o.preset ? j->o.preset : "veryfast";
    vo.fmp4 = j->o.fmp4;
    vo.seg_s = j->o.seg_s;
    vo.offset_us = j->offset_us;
    vo.st = &j->st;
    ret = tc_vout_new(&vo, &v->out);
    if (ret < 0)
        return ret;
    j->n_video++;
    YL_LOGD("tc", "rung %d: %dx%d %d kbps, x264 threads %d", i, vo.width,
            vo.height, vo.bitrate_kbps, vo.threads);
    return 0;
}

static int setup_video(tc_job *j)
{
    AVStream *vs = j->fmt->streams[j->vstream];
    struct vsrc s = {.vs = vs,
                     .fps = vs->avg_frame_rate,
                     .sar = vs->codecpar->sample_aspect_ratio};
    int threads[TC_LADDER_MAX];
    int i, n, ret, seg_frames;

    ret = tcj_open_decoder(j, j->o.in_path, vs, 1, &j->vdec);
    if (ret < 0)
        return ret;
    if (j->vdec->width <= 0 || j->vdec->height <= 0 ||
        j->vdec->pix_fmt == AV_PIX_FMT_NONE)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: video stream has no picture size", j->o.in_path);
    video_fps(j, &s);
    if (s.sar.num <= 0 || s.sar.den <= 0)
        s.sar = (AVRational){1, 1};
    s.w = j->vdec->width;
    s.h = j->vdec->height;
    ret = setup_rotation(j, &s);
    if (ret < 0)
        return ret;
    n = pick_rungs(j, &s);
    if (n < 0)
        return n;
    rung_threads(j, threads, n);
    seg_frames = (int)lrint(j->o.seg_s * av_q2d(s.fps));
    if (seg_frames < 1)
        seg_frames = 1;
    for (i = 0; i < n; i++) {
        /* Forced IDR frames make the segments; x264 adds none of its own
         * unless a segment ran past two targets (a stalled source). */
        ret = setup_rung(j, i, &s, 2 * seg_frames, threads[i]);
        if (ret < 0)
            return ret;
    }
    return setup_burn(j, vs, s.fps, s.sar, s.w, s.h, 2 * seg_frames);
}

/* The stream's packets may pass through when it comes from an MP4/M4A
 * file (one fixed sample description; a broadcast's MPEG-TS may switch
 * formats mid-way) and copying is not turned off. */
static const AVCodecParameters *
copy_par(const tc_job *j, const AVFormatContext *fmt, const AVStream *st)
{
    if (j->o.no_audio_copy || strstr(fmt->iformat->name, "mp4") == NULL)
        return NULL;
    return st->codecpar;
}

static int setup_audio(tc_job *j, struct arend *a, AVCodecContext *dec)
{
    const AVFormatContext *fmt = a->stream >= 0 ? j->fmt : a->fmt;
    const AVStream *st =
        fmt->streams[a->stream >= 0 ? a->stream : -1 - a->stream];
    tc_aout_opts ao;
    int ret;

    ret = make_dir(j, a->dir);
    if (ret < 0)
        return ret;
    memset(&ao, 0, sizeof(ao));
    ao.dir = tcj_tmp_path(j, a->dir);
    ao.label = a->label;
    ao.in_rate = dec->sample_rate;
    ao.in_fmt = dec->sample_fmt;
    ao.in_layout = &dec->ch_layout;
    ao.fmp4 = j->o.fmp4;
    ao.seg_s = j->o.seg_s;
    ao.offset_us = j->offset_us;
    ao.clock = &j->clock;
    ao.st = &j->st;
    ao.copy_par = copy_par(j, fmt, st);
    if (dec->sample_rate <= 0 || dec->ch_layout.nb_channels <= 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: audio stream has no sample rate or channels",
                       a->label);
    ret = tc_aout_new(&ao, &a->out);
    if (ret == 0 && ao.copy_par != NULL)
        YL_LOGD("tc", "%s: audio %s%s", a->label,
                tc_aout_copying(a->out) ? "passed through" : "re-encoded: ",
                tc_aout_copy_why(a->out));
    return ret;
}

/* ---- the demux thread's decode loop ----------------------------------- */

static int write_poster(tc_job *j);

/* A decoded picture's place: its pts (made up when missing) relative to
 * the first, and its duration, both in the stream's time base. Returns 0
 * for a picture to drop (not after the previous one), 1 otherwise. */
static int frame_time(tc_job *j, const AVFrame *f, int64_t *rel, int64_t *dur)
{
    AVStream *vs = j->fmt->streams[j->vstream];
    int64_t pts = f->best_effort_timestamp;

    *dur = f->pkt_duration;
    if (*dur <= 0)
        *dur = av_rescale_q(1,
                            av_inv_q(vs->avg_frame_rate.num > 0
                                         ? vs->avg_frame_rate
                                         : (AVRational){25, 1}),
                            vs->time_base);
    if (*dur <= 0)
        *dur = 1;
    if (pts == AV_NOPTS_VALUE)
        pts = j->vfirst_pts == AV_NOPTS_VALUE ? 0 : j->vlast_pts + j->vlast_dur;
    if (j->vfirst_pts == AV_NOPTS_VALUE) {
        j->vfirst_pts = pts;
    } else if (pts <= j->vlast_pts) {
        /* Not after the previous frame: the encoders need strictly
         * increasing timestamps; a duplicate adds nothing. */
        return 0;
    }
    j->vlast_pts = pts;
    j->vlast_dur = *dur;
    *rel = pts - j->vfirst_pts;
    return 1;
}

/* IDR at the first frame at or after each boundary k * seg_s, compared
 * exactly as the hls muxer compares when it decides to cut. */
static int is_segment_start(tc_job *j, int64_t rel, AVRational tb)
{
    int key = 0;

    while (av_compare_ts(
               rel, tb, (int64_t)llrint((double)j->next_key * j->o.seg_s * 1e6),
               AV_TIME_BASE_Q) >= 0) {
        key = 1;
        j->next_key++;
    }
    return key;
}

/* The poster (at a tenth of the lesson) and the seek thumbnails, taken
 * from the upright picture at rel_us. */
static int capture_stills(tc_job *j, AVFrame *f, int64_t rel_us)
{
    int ret;

    if (!j->poster_done && j->poster == NULL &&
        (j->expected_us <= 0 || rel_us >= j->expected_us / 10)) {
        j->poster = av_frame_clone(f);
        if (j->poster == NULL)
            return tcj_oom(j);
        /* Written now, while the rungs encode on the other cores, rather
         * than in the serial tail after the last frame: on a short
         * lesson that tail is wall time nothing else overlaps. */
        ret = write_poster(j);
        if (ret < 0)
            return ret;
    }
    if (j->o.thumbs_s < 0)
        return 0;
    if (j->thumbs == NULL) {
        ret = tc_thumbs_new(j->tmp,
                            j->o.thumbs_s ? j->o.thumbs_s : TC_THUMBS_INTERVAL,
                            f->width, f->height, &j->thumbs);
        if (ret < 0)
            return tcj_oom(j);
    }
    ret = tc_thumbs_offer(j->thumbs, f, rel_us);
    if (ret < 0) {
        char e[128];

        return tc_fail(&j->st,
                       ret > -4096 && ret != AVERROR(ENOMEM) ? TC_EK_OUTPUT
                                                             : TC_EK_INTERNAL,
                       ret, "%s/thumbs-*.jpg: cannot write: %s", j->tmp,
                       tcj_av_err(ret, e, sizeof(e)));
    }
    return 0;
}

static int on_video_frame(tc_job *j, AVFrame *f)
{
    AVRational tb = j->fmt->streams[j->vstream]->time_base;
    int64_t rel, dur, t_us;
    int i, key, ret;

    if (!frame_time(j, f, &rel, &dur))
        return 0;
    key = is_segment_start(j, rel, tb);
    t_us = av_rescale_q(rel + dur, tb, AV_TIME_BASE_Q);
    if (j->rot != NULL) {
        ret = tc_rotate_frame(j->rot, f, j->rframe);
        if (ret < 0) {
            char e[128];

            return tc_fail(&j->st, TC_EK_INTERNAL, ret,
                           "%s: turning a picture failed: %s", j->o.in_path,
                           tcj_av_err(ret, e, sizeof(e)));
        }
        f = j->rframe;
    }
    ret = capture_stills(j, f, av_rescale_q(rel, tb, AV_TIME_BASE_Q));
    if (ret < 0)
        return ret;
    f->pts = rel;
    for (i = 0; i < j->n_video + j->n_burn; i++) {
        tc_vout *out =
            i < j->n_video ? j->video[i].out : j->burn[i - j->n_video].out;

        ret = tc_vout_push(out, f, key);
        if (ret < 0)
            return ret;
    }
    j->vframes++;
    j->end_us = t_us;
    tc_clock_advance(&j->clock, t_us);
    return 0;
}

static int decode_video(tc_job *j, AVPacket *pkt, AVFrame *f)
{
    int ret;

    if (pkt)
        j->vpackets++;
    ret = avcodec_send_packet(j->vdec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        /* Damaged data: counted, judged at the end. */
        j->vdecode_errors++;
        return 0;
    }
    for (;;) {
        ret = avcodec_receive_frame(j->vdec, f);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            j->vdecode_errors++;
            return 0;
        }
        ret = on_video_frame(j, f);
        av_frame_unref(f);
        if (ret < 0)
            return ret;
    }
}

/* One decoded frame of a source audio stream: how far the lesson's data
 * reaches, an audio-only lesson's clock and card, and (re-encoding) the
 * rendition. */
static int on_audio_frame(tc_job *j, struct arend *a, AVFrame *f, int copying)
{
    AVStream *st = j->fmt->streams[a->stream];
    int64_t pos = AV_NOPTS_VALUE;

    if (f->best_effort_timestamp != AV_NOPTS_VALUE)
        pos = av_rescale_q(f->best_effort_timestamp, st->time_base,
                           AV_TIME_BASE_Q) -
              j->t0_us;
    if (pos != AV_NOPTS_VALUE) {
        int64_t e =
            pos + av_rescale(f->nb_samples, 1000000,
                             f->sample_rate > 0 ? f->sample_rate : 48000);

        if (e > j->any_end_us)
            j->any_end_us = e;
    }
    if (j->vstream < 0 && a == &j->audio[j->master_audio] && j->wave != NULL &&
        tc_wave_add(j->wave, f, pos) < 0)
        return tcj_oom(j);
    if (j->vstream < 0 && a == &j->audio[j->master_audio]) {
        int64_t end = (pos == AV_NOPTS_VALUE ? j->end_us : pos) +
                      av_rescale(f->nb_samples, 1000000, f->sample_rate);

        if (end > j->end_us) {
            j->end_us = end;
            /* Not past the claimed end before the end is known. */
            tc_clock_advance(&j->clock, j->expected_us > 0
                                            ? FFMIN(end, j->expected_us)
                                            : end);
        }
    }
    return copying ? 0 : tc_aout_push(a->out, f, pos, 0);
}

/* Decodes one packet of a source audio stream (NULL: flushes). A
 * pass-through rendition then takes the packet itself, or silence in its
 * place when it did not decode cleanly in the stream's format. */
static int decode_audio(tc_job *j, struct arend *a, AVPacket *pkt, AVFrame *f)
{
    AVStream *st = j->fmt->streams[a->stream];
    int copying = tc_aout_copying(a->out);
    int usable = 1, ret;

    ret = avcodec_send_packet(a->dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF)
        usable = 0; /* a damaged audio packet: a short gap, filled later */
    while (usable) {
        ret = avcodec_receive_frame(a->dec, f);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            usable = 0;
            break;
        }
        if (copying && !tc_aout_frame_fits(a->out, f))
            usable = -1; /* decoded, but not as the rendition is */
        ret = on_audio_frame(j, a, f, copying);
        av_frame_unref(f);
        if (ret < 0)
            return ret;
    }
    if (!copying || pkt == NULL)
        return 0;
    return tc_aout_push_packet(
        a->out, pkt,
        pkt->pts == AV_NOPTS_VALUE
            ? AV_NOPTS_VALUE
            : av_rescale_q(pkt->pts, st->time_base, AV_TIME_BASE_Q) - j->t0_us,
        usable, 0);
}

static void progress(tc_job *j)
{
    if (j->o.progress)
        tc_progress_update(
            j->o.progress, (double)j->end_us / 1e6,
            (double)(j->expected_us > 0 ? j->expected_us : j->end_us) / 1e6);
}

/* After the read: is what was decoded the whole lesson? A demuxer may
 * report the full duration of a file whose data stops early (a cut
 * download): the decoded end must reach the claimed duration, within half
 * a second or two frames. 0, or the job's failure. */
static int check_decoded(tc_job *j, int read_err)
{
    int64_t tol = 500000, reached;
    char e[128], why[160] = "";

    if (j->vstream >= 0 && j->vframes == 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: no video frame could be decoded", j->o.in_path);
    if (j->end_us <= 0)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: no audio could be decoded", j->o.in_path);
    if (j->fps > 0 && 2e6 / j->fps > tol)
        tol = (int64_t)(2e6 / j->fps);
    reached = j->expected_whole ? FFMAX(j->end_us, j->any_end_us) : j->end_us;
    if (j->expected_us > 0 && reached < j->expected_us - tol) {
        if (read_err)
            snprintf(why, sizeof(why), " (%s)",
                     tcj_av_err(read_err, e, sizeof(e)));
        return tc_fail(&j->st, TC_EK_INPUT, YL_ETRUNC,
                       "%s: truncated: data ends at %.1f s of %.1f s%s",
                       j->o.in_path, (double)reached / 1e6,
                       (double)j->expected_us / 1e6, why);
    }
    /* An audio-only lesson: the last AAC frame of the source (padding
     * included) may reach a little past the stream's duration. */
    if (j->vstream < 0 && j->expected_us > 0 && j->end_us > j->expected_us &&
        j->end_us - j->expected_us < tol)
        j->end_us = j->expected_us;
    if (read_err)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: read error at %.1f s: %s", j->o.in_path,
                       (double)j->end_us / 1e6,
                       tcj_av_err(read_err, e, sizeof(e)));
    if (j->vpackets > 0 && j->vdecode_errors * 10 > j->vpackets)
        return tc_fail(&j->st, TC_EK_INPUT, YL_ECORRUPT,
                       "%s: corrupt video: %lld of %lld packets undecodable",
                       j->o.in_path, (long long)j->vdecode_errors,
                       (long long)j->vpackets);
    return 0;
}

static int demux(tc_job *j)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int read_err = 0, i, ret = 0;

    if (pkt == NULL || f == NULL) {
        ret = tcj_oom(j);
        goto out;
    }
    for (;;) {
        if (tc_aborted(&j->st)) {
            ret = YL_EINTR;
            goto out;
        }
        ret = av_read_frame(j->fmt, pkt);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            read_err = ret;
            break;
        }
        if (pkt->stream_index == j->vstream) {
            ret = decode_video(j, pkt, f);
        } else {
            ret = 0;
            for (i = 0; i < j->n_audio; i++)
                if (j->audio[i].stream == pkt->stream_index)
                    ret = decode_audio(j, &j->audio[i], pkt, f);
            for (i = 0; i < j->n_subs; i++)
                if (j->subs[i].stream == pkt->stream_index)
                    tcj_decode_sub(j, &j->subs[i], pkt);
        }
        av_packet_unref(pkt);
        if (ret < 0)
            goto out;
        progress(j);
    }
    /* Flush the decoders. */
    if (j->vstream >= 0) {
        ret = decode_video(j, NULL, f);
        if (ret < 0)
            goto out;
    }
    for (i = 0; i < j->n_audio; i++) {
        if (j->audio[i].stream >= 0) {
            ret = decode_audio(j, &j->audio[i], NULL, f);
            if (ret < 0)
                goto out;
        }
    }

    ret = check_decoded(j, read_err);
out:
    av_packet_free(&pkt);
    av_frame_free(&f);
    return ret;
}

/* ---- finishing -------------------------------------------------------- */

/* One picture of the lesson as name at width x height, quantiser q. */
static int write_picture(tc_job *j, const char *name, int width, int height,
                         int q)
{
    const char *path = tcj_tmp_path(j, name);
    int ret;

    ret = tc_poster_write(j->poster, width, height, q, path);
    if (ret < 0 && ret > -4096 && ret != AVERROR(ENOMEM))
        return tc_fail(&j->st, TC_EK_OUTPUT, ret, "%s: cannot write: %s", path,
                       strerror(-ret));
    if (ret < 0) {
        char e[128];

        return tc_fail(&j->st, TC_EK_INTERNAL, ret,
                       "%s: encoding the picture failed: %s", path,
                       tcj_av_err(ret, e, sizeof(e)));
    }
    return 0;
}

/* poster.jpg at the top rung's size (q 3: sharp, a few tens of KB) for the
 * player, and thumb.jpg at most THUMB_W wide (q 5: ~5-10 KB) for lesson
 * lists, where a village on a slow link would otherwise fetch every
 * poster in full. */
#define THUMB_W 320
#define CARD_W  1280 /* the card of an audio-only lesson */
#define CARD_H  720
static int write_poster(tc_job *j)
{
    int w = j->n_video > 0 ? j->video[0].rung.width : CARD_W;
    int h = j->n_video > 0 ? j->video[0].rung.height : CARD_H;
    int tw = w, th = h;
    int ret;

    if (j->poster_done)
        return 0;
    if (j->n_video == 0) {
        /* No picture to take: a card drawn from the sound, so players
         * and lists always have a poster. */
        av_frame_free(&j->poster);
        ret = tc_poster_card(j->wave, CARD_W, CARD_H, &j->poster);
        if (ret < 0) {
            char e[128];

            return tc_fail(&j->st, TC_EK_INTERNAL, ret,
                           "drawing the audio lesson's card failed: %s",
                           tcj_av_err(ret, e, sizeof(e)));
        }
    }
    if (j->poster == NULL)
        return 0;
    ret = write_picture(j, "poster.jpg", w, h, 3);
    if (ret < 0)
        return ret;
    if (w > THUMB_W) {
        tw = THUMB_W;
        th = (int)((int64_t)h * THUMB_W / w + 1) & ~1;
        if (th < 2)
            th = 2;
    }
    ret = write_picture(j, "thumb.jpg", tw, th, 5);
    if (ret < 0)
        return ret;
    j->poster_done = 1;
    av_frame_free(&j->poster); /* a decoded picture the decoder can reuse */
    return 0;
}

/* The X-TIMESTAMP-MAP of WebVTT maps cue time 0 to the media timestamp of
 * the lesson start: the first video (or audio) sample of the first segment
 * as the muxer wrote it, read back with libavformat. The lowest pts of the
 * first packets is that sample (what avformat_find_stream_info calls the
 * start time), without the decoding find_stream_info does, which on a
 * short lesson was wall time in the serial tail. */
#define START_PACKETS 16
static int64_t media_start_90k(tc_job *j)
{
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = NULL;
    char p[4200];
    int64_t ts = AV_NOPTS_VALUE;
    int n, ret;

    if (j->n_video > 0)
        snprintf(p, sizeof(p), "%s/%s/index.m3u8", j->tmp, j->video[0].dir);
    else
        snprintf(p, sizeof(p), "%s/%s/index.m3u8", j->tmp,
                 j->audio[j->master_audio].dir);
    pkt = av_packet_alloc();
    if (pkt == NULL)
        goto out;
    ret = avformat_open_input(&fmt, p, NULL, NULL);
    if (ret < 0 || fmt->nb_streams == 0)
        goto out;
    for (n = 0; n < START_PACKETS && av_read_frame(fmt, pkt) >= 0; n++) {
        if (pkt->stream_index == 0 && pkt->pts != AV_NOPTS_VALUE &&
            (ts == AV_NOPTS_VALUE || pkt->pts < ts))
            ts = pkt->pts;
        av_packet_unref(pkt);
    }
    if (ts != AV_NOPTS_VALUE)
        ts = av_rescale_q(ts, fmt->streams[0]->time_base,
                          (AVRational){1, 90000});
out:
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return ts == AV_NOPTS_VALUE || ts < 0 ? 0 : ts;
}

static int write_subs(tc_job *j)
{
    int64_t mpegts = j->n_subs > 0 ? media_start_90k(j) : 0;
    char p[4200];
    int i, ret;

    for (i = 0; i < j->n_subs; i++) {
        struct srend *s = &j->subs[i];

        ret = make_dir(j, s->dir);
        if (ret < 0)
            return ret;
        snprintf(p, sizeof(p), "%s/%s/subs.vtt", j->tmp, s->dir);
        ret = tc_subs_write_vtt(s->subs, p, mpegts);
        if (ret == 0) {
            snprintf(p, sizeof(p), "%s/%s/index.m3u8", j->tmp, s->dir);
            ret = tc_subs_write_playlist(p, "subs.vtt", j->duration_s);
        }
        if (ret < 0) {
            char e[128];

            return tc_fail(&j->st, TC_EK_OUTPUT, ret, "%s: cannot write: %s", p,
                           yl_strerror(ret, e, sizeof(e)));
        }
    }
    return 0;
}

static int measure(tc_job *j)
{
    char p[4200];
    int i, ret;

    for (i = 0; i < j->n_video + j->n_audio + j->n_burn; i++) {
        int na = i - j->n_video, nb = na - j->n_audio;
        const char *dir = i < j->n_video    ? j->video[i].dir
                          : na < j->n_audio ? j->audio[na].dir
                                            : j->burn[nb].dir;
        tc_hls_stats *st = i < j->n_video    ? &j->video[i].stats
                           : na < j->n_audio ? &j->audio[na].stats
                                             : &j->burn[nb].stats;

        snprintf(p, sizeof(p), "%s/%s", j->tmp, dir);
        ret = tc_hls_measure(p, st);
        if (ret < 0) {
            char e[128];

            return tc_fail(&j->st, TC_EK_INTERNAL, ret,
                           "%s/index.m3u8: cannot measure: %s", p,
                           yl_strerror(ret, e, sizeof(e)));
        }
    }
    return 0;
}

/* ---- public ------------------------------------------------------------ */

int tc_job_new(const tc_job_opts *opts, tc_job **out)
{
    tc_job *j = calloc(1, sizeof(*j));
    int i;

    if (j == NULL)
        return -ENOMEM;
    j->o = *opts;
    tc_status_init(&j->st);
    tc_clock_init(&j->clock);
    atomic_init(&j->cancelled, false);
    j->vstream = -1;
    j->vfirst_pts = AV_NOPTS_VALUE;
    j->lock_fd = -1;
    for (i = 0; i < MAX_AUDIO; i++)
        j->audio[i].stream = -1;
    *out = j;
    return 0;
}

void tc_job_cancel(tc_job *job)
{
    /* Lock-free atomics only: this runs in a signal handler. */
    atomic_store(&job->cancelled, true);
    atomic_store(&job->st.abort, true);
}

/* Stops every worker and releases what the run opened; the demux thread
 * only. Safe to call twice. */
static void teardown(tc_job *j)
{
    int i;

    for (i = 0; i < j->n_audio; i++) {
        struct arend *a = &j->audio[i];

        if (a->thread_valid) {
            pthread_join(a->thread, NULL);
            a->thread_valid = 0;
        }
    }
    for (i = 0; i < j->n_video; i++) {
        tc_vout_free(j->video[i].out);
        j->video[i].out = NULL;
    }
    for (i = 0; i < j->n_burn; i++) {
        tc_vout_free(j->burn[i].out);
        j->burn[i].out = NULL;
    }
    for (i = 0; i < j->n_audio; i++) {
        struct arend *a = &j->audio[i];

        tc_aout_free(a->out);
        a->out = NULL;
        avcodec_free_context(&a->dec);
        avformat_close_input(&a->fmt);
    }
    for (i = 0; i < j->n_subs; i++) {
        avcodec_free_context(&j->subs[i].dec);
        tc_subs_free(j->subs[i].subs);
        j->subs[i].subs = NULL;
    }
    av_frame_free(&j->poster);
    tc_thumbs_free(j->thumbs);
    j->thumbs = NULL;
    tc_wave_free(j->wave);
    j->wave = NULL;
    av_frame_free(&j->rframe);
    tc_rotate_free(j->rot);
    j->rot = NULL;
    avcodec_free_context(&j->vdec);
    avformat_close_input(&j->fmt);
}

/* What the job is made of: the source, the dubs, the subtitles; nothing
 * written yet. */
static int probe(tc_job *j)
{
    int ret;

    ret = probe_source(j);
    if (ret < 0)
        return ret;
    ret = tcj_probe_dubs(j);
    if (ret < 0)
        return ret;
    ret = tcj_load_subs(j);
    if (ret < 0)
        return ret;
    ret = check_burn(j);
    if (ret < 0)
        return ret;
    ret = tcj_open_embedded_subs(j);
    if (ret < 0)
        return ret;
    if (j->o.n_burn > 0 && j->vstream < 0)
        YL_LOGW("tc",
                "%s: no picture to burn subtitles into: --burn-subs "
                "ignored for this audio-only lesson",
                j->o.in_path);
    return 0;
}

/* The temporary directory, the rungs' encoders, the audio renditions'
 * decoders and encoders, and the dubs' threads. */
static int setup(tc_job *j)
{
    char err[1024];
    int i, ret;

    ret = tc_publish_begin(j->o.out_dir, j->o.force, &j->tmp, &j->lock_fd, err,
                           sizeof(err));
    if (ret < 0)
        return tc_fail(&j->st, TC_EK_OUTPUT, ret, "%s", err);
    j->offset_us = 24000; /* audio-only: AAC priming; see setup_video */
    if (j->vstream >= 0) {
        ret = setup_video(j);
        if (ret < 0)
            return ret;
    }
    phase(j, "x264 opened");
    for (i = 0; i < j->n_audio; i++) {
        struct arend *a = &j->audio[i];

        if (a->stream >= 0) {
            ret = tcj_open_decoder(j, j->o.in_path, j->fmt->streams[a->stream],
                                   1, &a->dec);
            if (ret < 0)
                return ret;
        }
        ret = setup_audio(j, a, a->dec);
        if (ret < 0)
            return ret;
    }
    for (i = 0; i < j->n_audio; i++) {
        if (j->audio[i].stream < 0) {
            ret = tcj_dub_start(j, &j->audio[i]);
            if (ret < 0)
                return ret;
        }
    }

    if (j->vstream < 0 && tc_wave_new(&j->wave) < 0)
        return tcj_oom(j);
    return 0;
}

/* After the read: every audio rendition finished (a dub's thread joined),
 * while the rungs drain. */
static int finish_audio(tc_job *j)
{
    int i, ret;

    /* The rungs encode what is queued and flush x264 (on a short lesson
     * the longest step after the last frame) while this thread finishes
     * the audio, the poster and the thumbnails; then it waits for them. */
    for (i = 0; i < j->n_video; i++)
        tc_vout_end(j->video[i].out);
    for (i = 0; i < j->n_burn; i++)
        tc_vout_end(j->burn[i].out);
    for (i = 0; i < j->n_audio; i++) {
        struct arend *a = &j->audio[i];

        if (a->stream >= 0) {
            ret = tc_aout_finish(a->out);
        } else {
            pthread_join(a->thread, NULL);
            a->thread_valid = 0;
            ret = a->result;
            if (ret == 0 && a->dub_s > 0)
                YL_LOGD("tc", "%s: dub of %.2f s fitted to %.2f s", a->label,
                        a->dub_s, j->duration_s);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* The seek-preview track, once the duration is known. */
static int finish_thumbs(tc_job *j)
{
    int ret;

    if (j->thumbs != NULL) {
        ret = tc_thumbs_finish(j->thumbs, j->duration_s);
        if (ret < 0) {
            char e[128];

            return tc_fail(&j->st,
                           ret > -4096 && ret != AVERROR(ENOMEM)
                               ? TC_EK_OUTPUT
                               : TC_EK_INTERNAL,
                           ret, "%s/thumbs.vtt: cannot write: %s", j->tmp,
                           tcj_av_err(ret, e, sizeof(e)));
        }
        j->n_thumbs = ret;
        YL_LOGD("tc", "seek thumbnails: %d tiles in %d sheets, %.1f ms CPU",
                j->n_thumbs, (j->n_thumbs + 99) / 100,
                (double)tc_thumbs_cpu_ns(j->thumbs) / 1e6);
    }
    return 0;
}

/* Waits for the rungs; their CODECS for the manifests. */
static int finish_video(tc_job *j)
{
    int i, ret;

    for (i = 0; i < j->n_video; i++) {
        ret = tc_vout_finish(j->video[i].out);
        if (ret < 0)
            return ret;
        snprintf(j->video[i].codecs, sizeof(j->video[i].codecs), "%s%s",
                 tc_vout_codecs(j->video[i].out),
                 j->n_audio > 0 ? ",mp4a.40.2" : "");
    }
    for (i = 0; i < j->n_burn; i++) {
        struct vrend *b = &j->burn[i];
        char p[4200];

        ret = tc_vout_finish(b->out);
        if (ret < 0)
            return ret;
        snprintf(b->codecs, sizeof(b->codecs), "%s%s", tc_vout_codecs(b->out),
                 j->n_audio > 0 ? ",mp4a.40.2" : "");
        /* Drawn: the script is not part of the lesson. */
        snprintf(p, sizeof(p), "%s/%s/burn.ass", j->tmp, b->dir);
        unlink(p);
    }
    return 0;
}

static int run(tc_job *j)
{
    char err[1024];
    int ret;

    j->start_s = tc_now_s();
    ret = probe(j);
    if (ret < 0)
        return ret;
    phase(j, "probed");
    ret = setup(j);
    if (ret < 0)
        return ret;
    phase(j, "set up");
    ret = demux(j);
    if (ret < 0)
        return ret;
    phase(j, "decoded");
    tcj_finish_embedded_subs(j);
    /* The lesson's duration is the decoded video's (or the master audio's);
     * every audio rendition now pads or trims to it. */
    tc_clock_finish(&j->clock, j->end_us);
    j->duration_s = (double)j->end_us / 1e6;
    ret = finish_audio(j);
    if (ret < 0)
        return ret;
    if (tc_aborted(&j->st))
        return YL_EINTR;
    phase(j, "audio done");
    ret = write_poster(j);
    if (ret < 0)
        return ret;
    phase(j, "poster");
    ret = finish_thumbs(j);
    if (ret < 0)
        return ret;
    phase(j, "thumbs");
    ret = finish_video(j);
    if (ret < 0)
        return ret;
    phase(j, "video done");
    ret = write_subs(j);
    if (ret < 0)
        return ret;
    phase(j, "subtitles");
    ret = measure(j);
    if (ret < 0)
        return ret;
    phase(j, "measured");
    ret = tcj_write_manifest(j);
    if (ret < 0)
        return ret;
    if (tc_aborted(&j->st))
        return YL_EINTR;
    phase(j, "playlists");
    ret = tc_publish_commit(j->tmp, j->o.out_dir, j->o.force, err, sizeof(err));
    if (ret < 0)
        return tc_fail(&j->st, TC_EK_OUTPUT, ret, "%s", err);
    j->published = 1; /* nothing to remove */
    phase(j, "published");
    return 0;
}

/* Bytes the output's file system leaves us below which a failure is
 * taken as "disk full": the muxers' write errors do not always reach us
 * (libavformat's hls muxer drops some), and what they leave behind reads
 * back as corrupt data. */
#define NOSPACE_SLACK (1 << 20)

/* After a failure, with the temporary output still on disk: when its file
 * system is (nearly) full, that is the cause to report. The job is then
 * an output failure (exit 73), which the server retries, not a bad
 * source. */
static void check_space(tc_job *j, int ret)
{
    struct statvfs vfs;
    char msg[512];
    int kind;
    uint64_t avail;

    if (j->tmp == NULL || statvfs(j->tmp, &vfs) != 0)
        return;
    avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    kind = tc_status_get(&j->st, NULL, msg, sizeof(msg));
    if (kind == TC_EK_INTR || kind == TC_EK_USAGE)
        return;
    if (avail >= NOSPACE_SLACK && ret != -ENOSPC && ret != AVERROR(ENOSPC))
        return;
    tc_status_replace(&j->st, TC_EK_OUTPUT, -ENOSPC,
                      "no space left on device writing %s (%" PRIu64
                      " KiB free); first error seen: %s",
                      j->tmp, avail / 1024, msg[0] ? msg : "none");
}

int tc_job_run(tc_job *j)
{
    int ret = run(j);

    if (ret < 0) {
        if (atomic_load(&j->cancelled)) {
            /* A signal, unless a real failure came first. */
            tc_fail(&j->st, TC_EK_INTR, YL_EINTR,
                    "interrupted: nothing was published");
        } else if (tc_status_get(&j->st, NULL, NULL, 0) == TC_EK_NONE) {
            char e[128];

            tc_fail(&j->st, TC_EK_INTERNAL, ret, "internal error: %s",
                    yl_strerror(ret, e, sizeof(e)));
        }
        if (!atomic_load(&j->cancelled))
            check_space(j, ret);
        atomic_store(&j->st.abort, true);
        tc_clock_finish(&j->clock, 0);
    }
    teardown(j);
    if (j->tmp != NULL) {
        if (!j->published)
            yl_rmtree(j->tmp);
        tc_publish_release(j->tmp, j->lock_fd);
        j->lock_fd = -1;
        free(j->tmp);
        j->tmp = NULL;
    }
    return ret < 0 ? ret : 0;
}

int tc_job_error(tc_job *job, char *msg, size_t len)
{
    return tc_status_get(&job->st, NULL, msg, len);
}

double tc_job_duration(const tc_job *job)
{
    return job->duration_s;
}

void tc_job_free(tc_job *job)
{
    if (job == NULL)
        return;
    teardown(job);
    tc_clock_destroy(&job->clock);
    tc_status_destroy(&job->st);
    free(job->tmp);
    free(job);
}
