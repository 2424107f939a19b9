/* tc_thumbs.c - see tc_thumbs.h. */
#include "transcode/tc_thumbs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>

#include "transcode/tc_poster.h"

#define SHEET_TILES (TC_THUMBS_COLS * TC_THUMBS_ROWS)
#define SHEET_Q     5 /* JPEG quantiser: small files, tiles stay legible */

struct tc_thumbs {
    char *dir;
    int64_t interval_us;
    int tile_w, tile_h;
    AVFrame *sheet; /* yuv420p, a whole sheet; tiles of the current one */
    int cur;        /* sheet the tiles in `sheet` belong to */
    int n;          /* tiles taken */
    struct SwsContext *sws;
    int64_t cpu_ns; /* this thread's CPU time spent here */
};

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tc_thumbs_cpu_ns(const tc_thumbs *t)
{
    return t->cpu_ns;
}

void tc_thumbs_fit(int src_w, int src_h, int *w, int *h)
{
    int tw = TC_THUMBS_BOX_W, th = TC_THUMBS_BOX_H;

    if (src_w > 0 && src_h > 0) {
        /* Width-bound when the picture is wider than the box. */
        if ((int64_t)src_w * TC_THUMBS_BOX_H >=
            (int64_t)src_h * TC_THUMBS_BOX_W)
            th = (int)((int64_t)TC_THUMBS_BOX_W * src_h / src_w);
        else
            tw = (int)((int64_t)TC_THUMBS_BOX_H * src_w / src_h);
    }
    tw &= ~1;
    th &= ~1;
    *w = tw < 2 ? 2 : tw;
    *h = th < 2 ? 2 : th;
}

void tc_thumbs_place(int k, int tile_w, int tile_h, int *sheet, int *x, int *y)
{
    int i = k % SHEET_TILES;

    *sheet = k / SHEET_TILES;
    *x = (i % TC_THUMBS_COLS) * tile_w;
    *y = (i / TC_THUMBS_COLS) * tile_h;
}

/* "hh:mm:ss.mmm" of t seconds. */
static void vtt_time(double t, char buf[16])
{
    int64_t ms = llround(t * 1000);

    if (ms < 0)
        ms = 0;
    snprintf(buf, 16, "%02d:%02d:%02d.%03d", (int)(ms / 3600000 % 100),
             (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
}

int tc_thumbs_vtt(int n, double interval_s, double duration_s, int tile_w,
                  int tile_h, char **out)
{
    size_t cap, len = 0;
    char *s, a[16], b[16];
    int k, sheet, x, y, w;

    if (n < 0 || interval_s <= 0 || duration_s < 0 || tile_w <= 0 ||
        tile_h <= 0)
        return AVERROR(EINVAL);
    /* A cue is under 80 bytes. */
    cap = 16 + (size_t)n * 80;
    s = malloc(cap);
    if (s == NULL)
        return AVERROR(ENOMEM);
    len = (size_t)snprintf(s, cap, "WEBVTT\n");
    for (k = 0; k < n; k++) {
        double t0 = k * interval_s, t1 = t0 + interval_s;

        if (t0 >= duration_s)
            break;
        if (t1 > duration_s)
            t1 = duration_s;
        vtt_time(t0, a);
        vtt_time(t1, b);
        tc_thumbs_place(k, tile_w, tile_h, &sheet, &x, &y);
        w = snprintf(s + len, cap - len,
                     "\n%s --> %s\nthumbs-%d.jpg#xywh=%d,%d,%d,%d\n", a, b,
                     sheet, x, y, tile_w, tile_h);
        if (w < 0 || (size_t)w >= cap - len) {
            free(s);
            return AVERROR(EINVAL);
        }
        len += (size_t)w;
    }
    *out = s;
    return 0;
}

/* Black, in limited-range YUV. */
static void clear_sheet(AVFrame *f)
{
    for (int p = 0; p < 3; p++) {
        int h = p == 0 ? f->height : f->height / 2;

        for (int y = 0; y < h; y++)
            memset(f->data[p] + (size_t)y * f->linesize[p], p == 0 ? 16 : 128,
                   (size_t)(p == 0 ? f->width : f->width / 2));
    }
}

int tc_thumbs_new(const char *dir, int interval_s, int src_w, int src_h,
                  tc_thumbs **out)
{
    tc_thumbs *t;
    int ret;

    if (interval_s <= 0)
        return AVERROR(EINVAL);
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return AVERROR(ENOMEM);
    t->dir = strdup(dir);
    t->sheet = av_frame_alloc();
    if (t->dir == NULL || t->sheet == NULL) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    t->interval_us = (int64_t)interval_s * 1000000;
    tc_thumbs_fit(src_w, src_h, &t->tile_w, &t->tile_h);
    t->sheet->format = AV_PIX_FMT_YUV420P;
    t->sheet->width = t->tile_w * TC_THUMBS_COLS;
    t->sheet->height = t->tile_h * TC_THUMBS_ROWS;
    ret = av_frame_get_buffer(t->sheet, 0);
    if (ret < 0)
        goto fail;
    clear_sheet(t->sheet);
    *out = t;
    return 0;
fail:
    tc_thumbs_free(t);
    return ret;
}

/* Writes the current sheet, cut to the tiles it holds. */
static int write_sheet(tc_thumbs *t)
{
    int in_sheet = t->n - t->cur * SHEET_TILES;
    int cols = in_sheet < TC_THUMBS_COLS ? in_sheet : TC_THUMBS_COLS;
    int rows = (in_sheet + TC_THUMBS_COLS - 1) / TC_THUMBS_COLS;
    AVFrame *view = NULL;
    char path[4200];
    int ret;

    if (in_sheet <= 0)
        return 0;
    if (rows > TC_THUMBS_ROWS)
        rows = TC_THUMBS_ROWS;
    /* A view of the used part: borrows the sheet's planes, owns nothing. */
    view = av_frame_alloc();
    if (view == NULL)
        return AVERROR(ENOMEM);
    view->format = t->sheet->format;
    view->width = cols * t->tile_w;
    view->height = rows * t->tile_h;
    memcpy(view->data, t->sheet->data, sizeof(view->data));
    memcpy(view->linesize, t->sheet->linesize, sizeof(view->linesize));
    snprintf(path, sizeof(path), "%s/thumbs-%d.jpg", t->dir, t->cur);
    ret = tc_poster_write(view, view->width, view->height, SHEET_Q, path);
    av_frame_free(&view);
    return ret;
}

/* Scales f into tile k of the current sheet. */
static int put_tile(tc_thumbs *t, const AVFrame *f, int k)
{
    uint8_t *dst[4] = {NULL};
    int dls[4] = {0};
    int sheet, x, y;

    tc_thumbs_place(k, t->tile_w, t->tile_h, &sheet, &x, &y);
    t->sws = sws_getCachedContext(t->sws, f->width, f->height, f->format,
                                  t->tile_w, t->tile_h, AV_PIX_FMT_YUV420P,
                                  SWS_BILINEAR, NULL, NULL, NULL);
    if (t->sws == NULL)
        return AVERROR(EINVAL);
    /* x and y are even (tiles are), so the chroma offsets are exact. */
    dst[0] = t->sheet->data[0] + (size_t)y * t->sheet->linesize[0] + x;
    dst[1] =
        t->sheet->data[1] + (size_t)(y / 2) * t->sheet->linesize[1] + x / 2;
    dst[2] =
        t->sheet->data[2] + (size_t)(y / 2) * t->sheet->linesize[2] + x / 2;
    memcpy(dls, t->sheet->linesize, 3 * sizeof(int));
    sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize, 0,
              f->height, dst, dls);
    return 0;
}

int tc_thumbs_offer(tc_thumbs *t, const AVFrame *f, int64_t t_us)
{
    int ret = 0, sheet, x, y;
    int64_t t0;

    if (t_us < t->n * t->interval_us)
        return 0; /* the common case: no tile due, nothing timed */
    t0 = thread_cpu_ns();
    while (t_us >= t->n * t->interval_us) {
        tc_thumbs_place(t->n, t->tile_w, t->tile_h, &sheet, &x, &y);
        if (sheet != t->cur) {
            ret = write_sheet(t);
            if (ret < 0)
                break;
            t->cur = sheet;
            clear_sheet(t->sheet);
        }
        ret = put_tile(t, f, t->n);
        if (ret < 0)
            break;
        t->n++;
    }
    t->cpu_ns += thread_cpu_ns() - t0;
    return ret;
}

int tc_thumbs_finish(tc_thumbs *t, double duration_s)
{
    char path[4200], *vtt = NULL;
    FILE *fp = NULL;
    size_t len;
    int64_t t0;
    int ret;

    if (t->n == 0)
        return 0;
    t0 = thread_cpu_ns();
    ret = write_sheet(t);
    t->cpu_ns += thread_cpu_ns() - t0;
    if (ret < 0)
        return ret;
    ret = tc_thumbs_vtt(t->n, (double)t->interval_us / 1e6, duration_s,
                        t->tile_w, t->tile_h, &vtt);
    if (ret < 0)
        return ret;
    snprintf(path, sizeof(path), "%s/thumbs.vtt", t->dir);
    len = strlen(vtt);
    fp = fopen(path, "wb");
    if (fp == NULL || fwrite(vtt, 1, len, fp) != len) {
        ret = errno ? -errno : -EIO;
        goto out;
    }
    ret = fclose(fp) == 0 ? t->n : errno ? -errno : -EIO;
    fp = NULL;
out:
    if (fp != NULL)
        fclose(fp);
    free(vtt);
    return ret;
}

void tc_thumbs_free(tc_thumbs *t)
{
    if (t == NULL)
        return;
    sws_freeContext(t->sws);
    av_frame_free(&t->sheet);
    free(t->dir);
    free(t);
}
