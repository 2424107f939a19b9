/* tc_vout.h - one video rung: scales the decoded source frames to its size,
 * encodes them with libx264 and writes HLS segments, on its own thread.
 * Threads: tc_vout_new/push/finish/free are called by the job's demux
 * thread; the rung's worker thread owns the scaler, encoder and muxer. */
#ifndef YL_TC_VOUT_H
#define YL_TC_VOUT_H

#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/rational.h>

#include "transcode/tc_status.h"

typedef struct tc_vout tc_vout; /* opaque */

typedef struct tc_vout_opts {
    const char *dir;   /* rendition directory (exists); copied */
    int width, height; /* output size */
    int bitrate_kbps, maxrate_kbps, bufsize_kbps;
    int src_width, src_height, src_pix_fmt; /* decoded frames */
    AVRational time_base;                   /* of the frames' pts */
    AVRational fps;     /* nominal frame rate, for rate control */
    AVRational src_sar; /* sample aspect ratio of the source */
    int gop;            /* x264 keyint: longest GOP if no key is forced */
    int threads;        /* x264 threads for this rung */
    const char *preset; /* x264 preset, e.g. "veryfast"; copied */
    int fmp4;           /* segment type */
    double seg_s;       /* target segment duration */
    int64_t offset_us;  /* timestamp offset, see tc_hls_opts */
    tc_status *st;      /* failures go here; borrowed, outlives the rung */
    /* Burned-in subtitles: an ASS script (tc_subs_write_ass) that
     * libavfilter's `subtitles` filter (libass) draws into every picture
     * after scaling, with the fonts of fonts_dir. NULL: a clean rung. */
    const char *burn_ass;  /* copied */
    const char *fonts_dir; /* copied; NULL: fontconfig's fonts only */
} tc_vout_opts;

/* Opens the encoder and muxer and starts the worker. 0 and *out, or a
 * negative code (also recorded in o->st). */
int tc_vout_new(const tc_vout_opts *o, tc_vout **out);
/* Queues a frame (a new reference is taken; pts relative to the lesson
 * start); key forces an IDR frame, which starts a segment. Blocks while the
 * rung's queue is full. 0, or negative once the job aborted. */
int tc_vout_push(tc_vout *v, const AVFrame *frame, int key);
/* Ends the input without waiting: the worker encodes what is queued,
 * then flushes x264, while the caller finishes other work. Idempotent. */
void tc_vout_end(tc_vout *v);
/* Ends the input (if tc_vout_end was not called), waits for the worker to
 * flush and write the trailer. Returns 0 or the worker's negative code. */
int tc_vout_finish(tc_vout *v);
/* Stops (st must be aborted first if the worker still runs), frees. */
void tc_vout_free(tc_vout *v);

/* After finish: RFC 6381 codecs ("avc1.64001f") and frames encoded. */
const char *tc_vout_codecs(const tc_vout *v);
int64_t tc_vout_frames(const tc_vout *v);

#endif
