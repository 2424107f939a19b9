/* tc_poster.h - the lesson's poster image: one decoded frame as a JPEG
 * (libavcodec's mjpeg encoder); for an audio-only lesson, a title card
 * drawn from the sound's loudness (a waveform on a dark ground), so every
 * lesson has a poster. Any thread; no shared state (a tc_wave belongs to
 * the demux thread that fills it). */
#ifndef YL_TC_POSTER_H
#define YL_TC_POSTER_H

#include <stdint.h>

#include <libavutil/frame.h>

/* Scales frame to width x height and writes it to path as JPEG at the
 * fixed quantiser q (2 = best .. 31). Returns 0, -errno when the file
 * cannot be written, or a negative AVERROR. */
int tc_poster_write(const AVFrame *frame, int width, int height, int q,
                    const char *path);

/* The loudness of a recording over time: the highest RMS of its first
 * channel in each quarter second. */
typedef struct tc_wave tc_wave;

int tc_wave_new(tc_wave **out); /* 0 or AVERROR(ENOMEM) */
/* A decoded audio frame (any sample format) starting pos_us after the
 * lesson start (AV_NOPTS_VALUE: right after the previous one). 0 or
 * AVERROR(ENOMEM). */
int tc_wave_add(tc_wave *w, const AVFrame *f, int64_t pos_us);
/* n bar heights in 0..1 over the whole recording, scaled so the loudest
 * is 1 (all 0 for silence or no sound). */
void tc_wave_bars(const tc_wave *w, float *bars, int n);
void tc_wave_free(tc_wave *w); /* NULL is a no-op */

/* The card of an audio-only lesson: width x height (even, at least
 * 64x36) RGB24, a dark blue ground with the waveform of w (NULL: flat)
 * across its middle in amber. *out is the caller's (av_frame_free). 0 or
 * a negative AVERROR. */
int tc_poster_card(const tc_wave *w, int width, int height, AVFrame **out);

#endif
