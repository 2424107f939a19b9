/* tc_job_internal.h - private to the transcode job (tc_job.c and the
 * files split from it: tc_dubs.c, tc_subsrc.c, tc_manifest.c); not a
 * public header: everything else uses transcode/tc_job.h. The job's state
 * and the helpers those files share. */
#ifndef YL_TC_JOB_INTERNAL_H
#define YL_TC_JOB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/yl_lang.h"
#include "transcode/tc_aout.h"
#include "transcode/tc_hls.h"
#include "transcode/tc_job.h"
#include "transcode/tc_ladder.h"
#include "transcode/tc_poster.h"
#include "transcode/tc_rotate.h"
#include "transcode/tc_status.h"
#include "transcode/tc_subs.h"
#include "transcode/tc_thumbs.h"
#include "transcode/tc_vout.h"

#define MAX_AUDIO 32
#define MAX_SUBS  32

/* One audio rendition: a source stream or a dub. */
struct arend {
    char lang[YL_LANG_MAX];
    char dir[64];     /* "a-zh", "a-zh-2" for a second zh rendition */
    char label[1024]; /* file it comes from, for messages */
    tc_aout *out;
    tc_hls_stats stats;
    /* Source stream (demux thread) */
    int stream; /* index in the source; a dub: -1 - its index in fmt */
    AVCodecContext *dec;
    int64_t start_pts; /* stream start, for positions */
    /* Dub (its own thread) */
    const char *path; /* borrowed from opts */
    AVFormatContext *fmt;
    pthread_t thread;
    int thread_valid;
    int result;
    double dub_s; /* decoded duration of the dub, for the log */
};

struct srend {
    char lang[YL_LANG_MAX];
    char dir[64];
    const char *path; /* borrowed from opts; NULL for a source stream */
    tc_subs *subs;
    /* A text subtitle stream of the source (demux thread): */
    int stream;          /* index in the source, -1 for a --subs file */
    AVCodecContext *dec; /* its decoder, owned */
    int bad;             /* 1: not usable (reason logged), dropped */
};

struct vrend {
    tc_rung rung;
    tc_vout *out;
    tc_hls_stats stats;
    char dir[64];             /* "v0"; burned: "vb-bo" */
    char lang[YL_LANG_MAX];   /* burned: the language drawn in */
    const struct srend *subs; /* burned: its cues */
    char codecs[64];          /* after finish */
};

struct tc_job {
    tc_job_opts o; /* borrowed strings */
    char in_label[1024];
    tc_status st;
    tc_clock clock;
    atomic_bool cancelled;
    char *tmp;   /* temporary output directory, owned */
    int lock_fd; /* holds "<tmp>.lock" while the job runs (tc_publish) */
    int published;
    char path_buf[4096];

    /* Source (demux thread) */
    AVFormatContext *fmt;
    int vstream; /* -1: audio-only lesson */
    AVCodecContext *vdec;
    int rot_deg;         /* clockwise turn the pictures need to be upright */
    tc_rotate *rot;      /* NULL when upright */
    AVFrame *rframe;     /* the turned picture */
    int64_t expected_us; /* duration the container claims */
    int expected_whole;  /* 1: of the whole file (any stream), not the master */
    int64_t any_end_us;  /* decoded end of any stream */
    int64_t vfirst_pts;  /* first decoded video pts, AV_NOPTS_VALUE before */
    int64_t vlast_pts;
    int64_t vlast_dur;
    int64_t t0_us;    /* lesson start on the source timeline */
    int64_t end_us;   /* decoded up to */
    int64_t next_key; /* next segment boundary index */
    int64_t vframes;
    int64_t vdecode_errors, vpackets;
    AVFrame *poster;   /* frame ~10% in, owned reference; audio-only: the
                        * card drawn at the end */
    int poster_done;   /* poster.jpg and thumb.jpg written */
    tc_thumbs *thumbs; /* seek-preview track, NULL before the first frame
                        * or when off */
    int n_thumbs;      /* tiles written (0: no thumbs.vtt) */
    tc_wave *wave;     /* audio-only: loudness for the card */
    int master_audio;  /* audio-only: index in audio[] of the clock */

    struct vrend video[TC_LADDER_MAX];
    int n_video;
    struct vrend burn[TC_BURN_MAX]; /* burned-in subtitle rungs */
    int n_burn;
    struct arend audio[MAX_AUDIO];
    int n_audio;
    struct srend subs[MAX_SUBS];
    int n_subs;
    double duration_s; /* published duration */
    double fps;
    int64_t offset_us; /* added to all output timestamps (tc_hls_opts) */
    double start_s;    /* tc_now_s() when the run began, for phase() */
};

/* tc_job.c */
int tcj_oom(tc_job *j); /* the job fails with "out of memory" */
const char *tcj_av_err(int ret, char *buf, size_t len); /* av_strerror */
int tcj_open_media(tc_job *j, const char *path, AVFormatContext **out);
int tcj_new_decoder(const AVStream *st, int threads, AVCodecContext **out);
int tcj_open_decoder(tc_job *j, const char *path, AVStream *st, int threads,
                     AVCodecContext **out);
void tcj_unique_dir(tc_job *j, const char *prefix, const char *lang, char *out,
                    size_t len, int is_audio);
int64_t tcj_stream_start(const AVStream *st);
/* "<tmp>/name" in j->path_buf (valid until the next call) */
const char *tcj_tmp_path(tc_job *j, const char *name);

/* tc_dubs.c: the --audio files become renditions after the source's own
 * (before the run); each one's thread, started once its tc_aout is set. */
int tcj_probe_dubs(tc_job *j);
int tcj_dub_start(tc_job *j, struct arend *a);

/* tc_subsrc.c: --subs files (before the run) and the source's text
 * subtitle streams (opened before, decoded during and finished after the
 * demux thread's read). */
int tcj_load_subs(tc_job *j);
int tcj_open_embedded_subs(tc_job *j);
void tcj_decode_sub(tc_job *j, struct srend *s, AVPacket *pkt);
void tcj_finish_embedded_subs(tc_job *j);

/* tc_manifest.c: lesson.json, master-burn-LANG.m3u8 and master.m3u8 from
 * the finished, measured renditions (j->video[].codecs set). */
int tcj_write_manifest(tc_job *j);

#endif
