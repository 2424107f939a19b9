/* tc_hls.h - one HLS rendition written by libavformat's `hls` muxer (fMP4
 * or MPEG-TS segments, VOD playlist), and measuring what it wrote.
 * Threads: a tc_hls is used by one thread at a time (its rendition's). */
#ifndef YL_TC_HLS_H
#define YL_TC_HLS_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

typedef struct tc_hls tc_hls; /* opaque */

typedef struct tc_hls_opts {
    const char *dir; /* rendition directory, exists; borrowed for the call */
    int fmp4;        /* 1: init.mp4 + seg_NNNNN.m4s, 0: seg_NNNNN.ts */
    double seg_s;    /* target segment duration */
    /* Added to every timestamp, the same in all renditions of a lesson, so
     * that no packet is negative (B-frame delay, AAC priming): otherwise
     * each muxer would shift its own stream by a different amount and
     * audio and video would drift apart by tens of milliseconds. */
    int64_t offset_us;
} tc_hls_opts;

/* Opens the muxer for one stream with the parameters of the opened encoder
 * enc and writes the header. Returns 0 and *out, or a negative AVERROR. */
int tc_hls_open(const tc_hls_opts *o, const AVCodecContext *enc, tc_hls **out);
/* Writes one encoded packet (time base enc_tb); takes the packet's
 * reference (pkt is left blank). Returns 0 or a negative AVERROR. */
int tc_hls_write(tc_hls *h, AVPacket *pkt, AVRational enc_tb);
/* Writes the trailer (final playlist). 0 or a negative AVERROR. */
int tc_hls_finish(tc_hls *h);
void tc_hls_free(tc_hls *h); /* NULL is a no-op */

/* What a finished rendition's media playlist says, with the bytes of its
 * segments as written on disk. */
typedef struct tc_hls_stats {
    int n_segments;
    double duration_s; /* sum of EXTINF */
    int64_t bytes;     /* media segments (and init.mp4, counted once) */
    int64_t peak_bps;  /* highest segment bit rate */
    int64_t avg_bps;   /* bytes * 8 / duration */
    double max_seg_s;  /* longest EXTINF */
} tc_hls_stats;

/* Reads dir/index.m3u8 and stats its segments. Returns 0, -errno, or
 * YL_ECORRUPT when the playlist is not what the muxer should write. */
int tc_hls_measure(const char *dir, tc_hls_stats *st);

/* RFC 6381 codec string of an H.264 stream from its SPS (in Annex B or
 * avcC extradata, or a keyframe packet): "avc1.64001f". 0 or YL_EINVAL. */
int tc_hls_avc_codecs(const uint8_t *data, int size, char *out, size_t len);

#endif
