/* tc_playlist.h - the HLS master playlist (text; libavformat's hls muxer
 * can't name renditions or write BCP-47 LANGUAGE, so master.m3u8 is ours)
 * and atomic file writes. Pure rendering; any thread. */
#ifndef YL_TC_PLAYLIST_H
#define YL_TC_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_pl_variant {
    int width, height;                /* 0 omits RESOLUTION */
    double fps;                       /* 0 omits FRAME-RATE */
    int64_t bandwidth, avg_bandwidth; /* video + chosen audio, bit/s;
                                         avg 0 omits AVERAGE-BANDWIDTH */
    const char *codecs; /* "avc1.64001f,mp4a.40.2"; NULL omits CODECS */
    const char *uri;    /* "v0/index.m3u8" */
} tc_pl_variant;

typedef struct tc_pl_media {
    const char *lang;           /* BCP-47 */
    const char *name;           /* native script; a repeat in a group is
                                   numbered: "und", "und 2" */
    int is_default, autoselect; /* DEFAULT=YES forces AUTOSELECT=YES */
    const char *uri;
    int channels; /* audio only; 0 = omit */
} tc_pl_media;

typedef struct tc_pl_master {
    const tc_pl_variant *variants;
    int n_variants;
    const tc_pl_media *audio;
    int n_audio; /* GROUP-ID "aud" */
    const tc_pl_media *subs;
    int n_subs; /* GROUP-ID "subs" */
    /* audio-only variant (points at the default audio rendition's
     * playlist, else the first one's): written when n_audio > 0 */
    int64_t audio_only_bandwidth, audio_only_avg_bandwidth;
    const char *audio_codecs; /* "mp4a.40.2" */
    /* Added: 1 when segments are MPEG-TS (EXT-X-VERSION 6), 0 for fMP4
     * (EXT-X-VERSION 7). */
    int ts_segments;
    /* 1: no audio-only variant, even with audio renditions (the master
     * of one burned-in subtitle rung, whose point is the picture). */
    int no_audio_only;
} tc_pl_master;

/* Renders master.m3u8: #EXTM3U, VERSION 7 for fMP4 / 6 for ts,
 * EXT-X-INDEPENDENT-SEGMENTS, EXT-X-MEDIA lines (audio, then subtitles),
 * EXT-X-STREAM-INF per variant in the given order with BANDWIDTH,
 * AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE (3 decimals), CODECS,
 * AUDIO="aud", SUBTITLES="subs", then the audio-only variant. Quoted
 * strings may not hold '"', CR, LF or other control bytes (HLS has no
 * escape for them): such a value, a missing name/lang/uri, a bandwidth
 * <= 0, two DEFAULT=YES in a group, or nothing to play give YL_EINVAL.
 * CHANNELS is written for audio only. *out is malloc'd, caller frees. Returns 0
 * or YL_EINVAL / -ENOMEM. */
int tc_playlist_master(const tc_pl_master *m, char **out);

#endif
