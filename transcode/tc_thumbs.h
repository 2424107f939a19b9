/* tc_thumbs.h - the seek-preview track: one small picture every few
 * seconds, tiled into JPEG sprite sheets (thumbs-0.jpg, thumbs-1.jpg, ...)
 * and a WebVTT file (thumbs.vtt) whose cues name a tile of a sheet with a
 * media fragment, as players' thumbnail tracks expect:
 *
 *   WEBVTT
 *
 *   00:00:00.000 --> 00:00:10.000
 *   thumbs-0.jpg#xywh=0,0,160,90
 *
 * The tiles come from frames the demux thread has decoded for the ladder
 * anyway: nothing is decoded twice; each tile is one libswscale call.
 *
 * Threads: a tc_thumbs belongs to the demux thread of one job. The pure
 * helpers (tc_thumbs_fit, tc_thumbs_place, tc_thumbs_vtt) are any thread. */
#ifndef YL_TC_THUMBS_H
#define YL_TC_THUMBS_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

#define TC_THUMBS_INTERVAL 10  /* seconds between tiles, default */
#define TC_THUMBS_BOX_W    160 /* a tile fits this box, aspect kept */
#define TC_THUMBS_BOX_H    90
#define TC_THUMBS_COLS     10 /* tiles per sheet row */
#define TC_THUMBS_ROWS     10 /* rows per sheet */

typedef struct tc_thumbs tc_thumbs;

/* The tile size for a picture of src_w x src_h: the largest even size
 * that fits TC_THUMBS_BOX_W x TC_THUMBS_BOX_H with the picture's aspect
 * (160x90 for 16:9, 120x90 for 4:3, 50x90 for 9:16), at least 2x2. */
void tc_thumbs_fit(int src_w, int src_h, int *w, int *h);

/* Where tile k lies: sheet number and top-left pixel in it. */
void tc_thumbs_place(int k, int tile_w, int tile_h, int *sheet, int *x, int *y);

/* The WebVTT text for n tiles of tile_w x tile_h, one every interval_s
 * seconds, the last cue ending at duration_s (a tile starting at or after
 * duration_s is left out). *out is malloc'd (caller frees). 0 or
 * AVERROR(ENOMEM) / AVERROR(EINVAL). */
int tc_thumbs_vtt(int n, double interval_s, double duration_s, int tile_w,
                  int tile_h, char **out);

/* A track for pictures of src_w x src_h written into dir (thumbs-N.jpg as
 * sheets fill, thumbs.vtt at the end), one tile every interval_s > 0
 * seconds. 0 or a negative AVERROR. */
int tc_thumbs_new(const char *dir, int interval_s, int src_w, int src_h,
                  tc_thumbs **out);

/* A decoded, upright frame starting t_us after the lesson start: taken
 * as the tile of every boundary k * interval it is the first frame at or
 * after. 0, or a negative AVERROR / -errno (a sheet could not be
 * written). */
int tc_thumbs_offer(tc_thumbs *t, const AVFrame *f, int64_t t_us);

/* Writes the last sheet and thumbs.vtt for a lesson of duration_s.
 * Returns the number of tiles (0: nothing written), or a negative
 * AVERROR / -errno. */
int tc_thumbs_finish(tc_thumbs *t, double duration_s);

/* CPU time the track has cost its thread so far (scaling, clearing,
 * JPEG encoding, writing), nanoseconds: the measure of what thumbnails
 * add to a transcode (logged at debug level). */
int64_t tc_thumbs_cpu_ns(const tc_thumbs *t);

void tc_thumbs_free(tc_thumbs *t); /* NULL is a no-op */

#endif
