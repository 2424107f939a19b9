/* tc_aout.h - one AAC audio rendition: resamples whatever it is fed,
 * lines it up on the lesson timeline (silence for gaps, overlap dropped),
 * encodes AAC and writes HLS segments; ends exactly at the lesson's end
 * (padded with silence or trimmed), as told by the job's tc_clock.
 * Threads: one feeding thread at a time (the demux thread for source
 * streams, a dub's own thread for dubs); the clock may be advanced by
 * another thread. */
#ifndef YL_TC_AOUT_H
#define YL_TC_AOUT_H

#include <stdint.h>

#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>

#include "transcode/tc_status.h"

typedef struct tc_aout tc_aout; /* opaque */

typedef struct tc_aout_opts {
    const char *dir;   /* rendition directory (exists); copied */
    const char *label; /* input file, for messages; copied */
    int in_rate;       /* decoded sample rate */
    int in_fmt;        /* enum AVSampleFormat of decoded frames */
    const AVChannelLayout *in_layout;
    int fmp4;
    double seg_s;
    int64_t offset_us; /* timestamp offset, see tc_hls_opts */
    tc_clock *clock;   /* borrowed; outlives the rendition */
    tc_status *st;     /* borrowed; outlives the rendition */
} tc_aout_opts;

int tc_aout_new(const tc_aout_opts *o, tc_aout **out);
/* Feeds decoded samples whose first sample is at pos_us on the lesson
 * timeline (AV_NOPTS_VALUE: right after the previous ones). With block,
 * waits while the rendition is more than 2 s ahead of the clock (a dub
 * read from its own file); without, buffers (the demux thread, whose
 * streams are interleaved). 0 or negative. */
int tc_aout_push(tc_aout *a, const AVFrame *frame, int64_t pos_us, int block);
/* After tc_clock_finish(): pads or trims to the final duration, flushes,
 * writes the trailer. 0 or negative. */
int tc_aout_finish(tc_aout *a);
void tc_aout_free(tc_aout *a); /* NULL is a no-op */

int tc_aout_channels(const tc_aout *a);
int tc_aout_rate(const tc_aout *a);
/* Samples written, on the lesson timeline. */
int64_t tc_aout_samples(const tc_aout *a);

#endif
