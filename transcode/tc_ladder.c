/* tc_ladder.c - ladder parsing and rung choice. Pure: any thread. */
#include "transcode/tc_ladder.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_err.h"

#define MIN_HEIGHT  64
#define MAX_HEIGHT  4320
#define MIN_KBPS    64
#define MAX_SRC_DIM 16384 /* larger than any H.264 level allows */

static const int default_heights[] = {720, 480, 360, 240};

/* Bitrate anchors: the default ladder at 16:9 (pixels, kbps). */
static const struct {
    double pixels;
    double kbps;
} anchors[] = {
    {426.0 * 240, 300},
    {640.0 * 360, 700},
    {854.0 * 480, 1200},
    {1280.0 * 720, 2500},
};

static int cmp_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x < y) - (x > y);
}

int tc_ladder_parse(const char *spec, int *heights, int max)
{
    const char *p = spec;
    int n = 0;

    if (spec == NULL || heights == NULL || max <= 0)
        return YL_EUSAGE;
    for (;;) {
        long v = 0;
        int digits = 0;

        while (*p >= '0' && *p <= '9') {
            if (digits++ > 5)
                return YL_EUSAGE; /* far over MAX_HEIGHT */
            v = v * 10 + (*p++ - '0');
        }
        if (digits == 0 || v < MIN_HEIGHT || v > MAX_HEIGHT || v % 2 != 0)
            return YL_EUSAGE;
        if (n == max)
            return YL_EUSAGE;
        heights[n++] = (int)v;
        if (*p == '\0')
            break;
        if (*p++ != ',')
            return YL_EUSAGE;
    }
    qsort(heights, (size_t)n, sizeof(*heights), cmp_desc);
    for (int i = 1; i < n; i++)
        if (heights[i] == heights[i - 1])
            return YL_EUSAGE;
    return n;
}

int tc_ladder_bitrate_kbps(int width, int height)
{
    size_t last = sizeof(anchors) / sizeof(anchors[0]) - 1;
    double px = (double)width * height, kbps;

    if (px <= anchors[0].pixels) {
        kbps = px * anchors[0].kbps / anchors[0].pixels;
    } else if (px >= anchors[last].pixels) {
        kbps = px * anchors[last].kbps / anchors[last].pixels;
    } else {
        size_t i = 1;

        while (px > anchors[i].pixels)
            i++;
        kbps = anchors[i - 1].kbps +
               (px - anchors[i - 1].pixels) *
                   (anchors[i].kbps - anchors[i - 1].kbps) /
                   (anchors[i].pixels - anchors[i - 1].pixels);
    }
    kbps = round(kbps);
    return kbps < MIN_KBPS ? MIN_KBPS : (int)kbps;
}

/* Nearest even integer, ties down (854x480 at 240 lines is 426, not 428),
 * at least 2 (encoders need even 4:2:0 sizes). */
static int round_even(double x)
{
    long v = 2 * (long)ceil(x / 2.0 - 0.5);

    return v < 2 ? 2 : (int)v;
}

static void fill_rung(tc_rung *r, double display_w, int src_h, int h)
{
    int max_w = (int)display_w & ~1; /* no wider than the source shows */

    r->height = h;
    r->width = round_even(display_w * h / src_h);
    if (r->width > max_w && max_w >= 2)
        r->width = max_w;
    r->bitrate_kbps = tc_ladder_bitrate_kbps(r->width, r->height);
    r->maxrate_kbps = (int)lround(r->bitrate_kbps * 1.07);
    r->bufsize_kbps = (int)lround(r->bitrate_kbps * 1.5);
}

int tc_ladder_pick(int src_w, int src_h, int sar_num, int sar_den,
                   const int *heights, int n_heights, tc_rung *out, int max)
{
    int sorted[TC_LADDER_MAX];
    double display_w;
    int n = 0;

    if (src_w <= 0 || src_h <= 0 || src_w > MAX_SRC_DIM ||
        src_h > MAX_SRC_DIM || out == NULL || max <= 0)
        return YL_EINVAL;
    if (heights == NULL) {
        heights = default_heights;
        n_heights = (int)(sizeof(default_heights) / sizeof(*heights));
    }
    if (n_heights <= 0 || n_heights > TC_LADDER_MAX)
        return YL_EINVAL;
    memcpy(sorted, heights, (size_t)n_heights * sizeof(*heights));
    qsort(sorted, (size_t)n_heights, sizeof(*sorted), cmp_desc);
    for (int i = 0; i < n_heights; i++)
        if (sorted[i] < 2 || sorted[i] % 2 != 0 ||
            (i > 0 && sorted[i] == sorted[i - 1]))
            return YL_EINVAL;

    /* Unknown SAR (0/0, 0/1 in libav) means square pixels. */
    display_w = src_w;
    if (sar_num > 0 && sar_den > 0)
        display_w = (double)src_w * sar_num / sar_den;

    for (int i = 0; i < n_heights; i++) {
        if (sorted[i] > src_h)
            continue; /* never upscale */
        if (n == max)
            return YL_EINVAL;
        fill_rung(&out[n++], display_w, src_h, sorted[i]);
    }
    if (n == 0) {
        /* Every rung is above a small source: keep its own size. */
        int h = src_h & ~1;

        fill_rung(&out[n++], display_w, src_h, h < 2 ? 2 : h);
    }
    return n;
}
