/* tc_rotate.h - turns decoded pictures upright. Phones store portrait video
 * as landscape pictures plus a display matrix ("rotate 90"); players honour
 * the matrix, but H.264 in our HLS rungs carries none, so the transcoder
 * turns the pixels once, on the demux thread, before the rungs scale them
 * (libavfilter's transpose / hflip+vflip). Owned by one thread. */
#ifndef YL_TC_ROTATE_H
#define YL_TC_ROTATE_H

#include <libavformat/avformat.h>
#include <libavutil/frame.h>

typedef struct tc_rotate tc_rotate;

/* Degrees clockwise the stream's pictures must be turned to be shown
 * upright (0, 90, 180 or 270), from its display matrix; 0 without one or
 * for an angle that is not a multiple of 90 (within 1 degree). */
int tc_rotate_degrees(const AVStream *st);

/* A rotator for pictures of width x height in pix_fmt. degrees is 90, 180
 * or 270. Returns 0 or a negative AVERROR. */
int tc_rotate_new(int degrees, int width, int height, int pix_fmt,
                  tc_rotate **out);

/* Turns in into out (out is unreferenced first; it gets in's pts).
 * in is left untouched. Returns 0 or a negative AVERROR. */
int tc_rotate_frame(tc_rotate *r, const AVFrame *in, AVFrame *out);

void tc_rotate_free(tc_rotate *r);

#endif
