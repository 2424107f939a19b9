/* tc_aout.h - one AAC audio rendition: resamples whatever it is fed,
 * lines it up on the lesson timeline (silence for gaps, overlap dropped),
 * encodes AAC and writes HLS segments; ends exactly at the lesson's end
 * (padded with silence or trimmed), as told by the job's tc_clock.
 * Pass-through: a stream that is already what the rendition would be
 * (AAC-LC, 44.1 or 48 kHz, mono or stereo, at most the rendition's bit
 * rate) keeps its packets; they are lined up a whole AAC frame (1024
 * samples) at a time, gaps and damaged packets become encoded silence.
 * Threads: one feeding thread at a time (the demux thread for source
 * streams, a dub's own thread for dubs); the clock may be advanced by
 * another thread. */
#ifndef YL_TC_AOUT_H
#define YL_TC_AOUT_H

#include <stdint.h>

#include <libavcodec/codec_par.h>
#include <libavcodec/packet.h>
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
    /* The stream's parameters when its packets may pass through (NULL:
     * always re-encode); the rendition copies them if they fit. */
    const AVCodecParameters *copy_par;
} tc_aout_opts;

int tc_aout_new(const tc_aout_opts *o, tc_aout **out);
/* Feeds decoded samples whose first sample is at pos_us on the lesson
 * timeline (AV_NOPTS_VALUE: right after the previous ones). With block,
 * waits while the rendition is more than 2 s ahead of the clock (a dub
 * read from its own file); without, buffers (the demux thread, whose
 * streams are interleaved). 0 or negative. */
int tc_aout_push(tc_aout *a, const AVFrame *frame, int64_t pos_us, int block);
/* 1: the rendition passes the stream's packets through: feed it with
 * tc_aout_push_packet, not tc_aout_push. */
int tc_aout_copying(const tc_aout *a);
/* Copy mode: one packet of the stream, its first sample at pos_us on the
 * lesson timeline (AV_NOPTS_VALUE: right after the previous one). usable:
 * 1 the packet decoded cleanly in the stream's format; 0 it did not
 * (damaged), -1 it decoded in another format: both replaced by silence.
 * block as for tc_aout_push. 0 or negative. */
int tc_aout_push_packet(tc_aout *a, const AVPacket *pkt, int64_t pos_us,
                        int usable, int block);
/* Whether a decoded frame of the stream is in the rendition's format (a
 * packet that decodes otherwise is passed as usable -1). */
int tc_aout_frame_fits(const tc_aout *a, const AVFrame *f);
/* Why the stream is not passed through ("" when it is, or copy_par was
 * NULL). */
const char *tc_aout_copy_why(const tc_aout *a);
/* After tc_clock_finish(): pads or trims to the final duration, flushes,
 * writes the trailer. 0 or negative. */
int tc_aout_finish(tc_aout *a);
void tc_aout_free(tc_aout *a); /* NULL is a no-op */

int tc_aout_channels(const tc_aout *a);
int tc_aout_rate(const tc_aout *a);
/* Samples written, on the lesson timeline. */
int64_t tc_aout_samples(const tc_aout *a);

#endif
