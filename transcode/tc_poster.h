/* tc_poster.h - the lesson's poster image: one decoded frame as a JPEG
 * (libavcodec's mjpeg encoder). Any thread; no shared state. */
#ifndef YL_TC_POSTER_H
#define YL_TC_POSTER_H

#include <libavutil/frame.h>

/* Scales frame to width x height and writes it to path as JPEG at the
 * fixed quantiser q (2 = best .. 31). Returns 0, -errno when the file
 * cannot be written, or a negative AVERROR. */
int tc_poster_write(const AVFrame *frame, int width, int height, int q,
                    const char *path);

#endif
