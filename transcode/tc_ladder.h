/* tc_ladder.h - choosing the video rungs of an HLS ladder from the source
 * size. Pure functions: any thread. */
#ifndef YL_TC_LADDER_H
#define YL_TC_LADDER_H

#define TC_LADDER_MAX 8

typedef struct tc_rung {
    int width, height; /* even, aspect of the source */
    int bitrate_kbps, maxrate_kbps, bufsize_kbps;
} tc_rung;

/* "720,480,360,240" -> heights[] (highest first), returns the count, or
 * YL_EUSAGE. Heights are decimal digits only, even, 64..4320, no
 * duplicates, at most max of them; any order is accepted and sorted. */
int tc_ladder_parse(const char *spec, int *heights, int max);

/* Default heights 720,480,360,240 when heights == NULL. Bitrates: 720->2500,
 * 480->1200, 360->700, 240->300 kbps for 16:9 rungs; others interpolated by
 * pixel count (piecewise linear between those anchors, bits per pixel of
 * the nearest anchor outside them, at least 64 kbps); maxrate 1.07x,
 * bufsize 1.5x bitrate. Never upscales: rungs above the source height are
 * dropped; if all are above, one rung at the source size (rounded down to
 * even). Width keeps the source display aspect (SAR applied; a SAR of 0 or
 * negative means square pixels), rounded to the nearest even number.
 * Returns the count (highest first) or YL_EINVAL (bad size, bad heights,
 * or more rungs than max). */
int tc_ladder_pick(int src_w, int src_h, int sar_num, int sar_den,
                   const int *heights, int n_heights, tc_rung *out, int max);

/* Target video bitrate in kbps for a w x h rung (the rule above). */
int tc_ladder_bitrate_kbps(int width, int height);

#endif
