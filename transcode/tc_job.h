/* tc_job.h - one transcode job: a lesson's source, dubs and subtitles into
 * a published HLS package (layout in docs/transcode.md).
 * Threads: tc_job_new/run/free on one thread (the "demux thread", which
 * also decodes the source once); the job starts one worker per video rung
 * and one per dub. tc_job_cancel() is async-signal-safe. */
#ifndef YL_TC_JOB_H
#define YL_TC_JOB_H

#include <stddef.h>

#include "transcode/tc_progress.h"

typedef struct tc_job tc_job; /* opaque */

/* LANG=FILE of --audio and --subs; lang already normalised (BCP-47). */
typedef struct tc_job_file {
    const char *lang;
    const char *path;
} tc_job_file;

/* --audio-lang N=LANG: the N-th (0-based) audio stream of the source. */
typedef struct tc_job_lang {
    int index;
    const char *lang;
} tc_job_lang;

typedef struct tc_job_opts {
    const char *in_path; /* everything here is borrowed until free */
    const char *out_dir;
    const tc_job_lang *audio_langs;
    int n_audio_langs;
    const tc_job_file *dubs;
    int n_dubs;
    const tc_job_file *subs;
    int n_subs;
    const int *heights; /* ladder heights; NULL: the default ladder */
    int n_heights;
    int fmp4;              /* 1: fMP4 segments, 0: MPEG-TS */
    double seg_s;          /* target segment duration, seconds */
    int force;             /* replace an existing out_dir */
    const char *preset;    /* x264 preset; NULL: "veryfast" */
    const char *threads;   /* x264 threads per rung "2,1,1,1"; NULL: auto */
    int thumbs_s;          /* seconds between seek-preview tiles
                            * (tc_thumbs.h); 0: TC_THUMBS_INTERVAL,
                            * negative: no thumbnail track */
    tc_progress *progress; /* may be NULL */
    /* 1: the dubs share the source's clock (a meeting's recording: files
     * cut from one live pipeline), so each is placed by its timestamps
     * against the source's start; 0: a dub starts with the lesson, at its
     * own first sample (a separately made file). */
    int dub_clock_source;
    /* --burn-subs LANG: per language (each one of subs[].lang), a rung of
     * at most TC_BURN_HEIGHT lines with those subtitles drawn into the
     * picture, published with its own master-burn-LANG.m3u8. */
    const char *const *burn;
    int n_burn;
    const char *fonts_dir; /* fonts for the burned subtitles; NULL: the
                            * build's (TC_FONTS_DIR) */
    /* 1: every audio rendition is re-encoded; 0: a track in an MP4/M4A
     * file that is already AAC-LC as the rendition would be keeps its
     * packets (tc_aout.h). */
    int no_audio_copy;
} tc_job_opts;

#define TC_BURN_MAX    4
#define TC_BURN_HEIGHT 480

int tc_job_new(const tc_job_opts *opts, tc_job **out);
/* Runs the whole job; blocks. Returns 0 once out_dir is published, or a
 * negative code; tc_job_error() then tells the kind and the message. On
 * failure nothing is left behind (no out_dir, no temporary directory). */
int tc_job_run(tc_job *job);
/* enum tc_ekind of the failure, and its one-line message. */
int tc_job_error(tc_job *job, char *msg, size_t len);
/* Duration of the published lesson, seconds. */
double tc_job_duration(const tc_job *job);
/* Asks a running job to stop (from a signal handler too). */
void tc_job_cancel(tc_job *job);
void tc_job_free(tc_job *job); /* NULL is a no-op */

#endif
