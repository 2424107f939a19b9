/* test_tc_thumbs.c - the seek-preview track's geometry and WebVTT text,
 * and the audio-only card (loudness bars, the picture's colours). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>

#include "transcode/tc_poster.h"
#include "transcode/tc_thumbs.h"

static void tiles_fit_the_box_with_the_aspect(void **state)
{
    int w, h;

    (void)state;
    tc_thumbs_fit(1280, 720, &w, &h);
    assert_int_equal(w, 160);
    assert_int_equal(h, 90);
    tc_thumbs_fit(640, 480, &w, &h);
    assert_int_equal(w, 120);
    assert_int_equal(h, 90);
    tc_thumbs_fit(404, 720, &w, &h); /* a phone clip turned upright */
    assert_int_equal(w, 50);
    assert_int_equal(h, 90);
    tc_thumbs_fit(10000, 10, &w, &h); /* absurd: still a 2x2 tile */
    assert_int_equal(w, 160);
    assert_int_equal(h, 2);
    tc_thumbs_fit(0, 0, &w, &h);
    assert_int_equal(w, 160);
    assert_int_equal(h, 90);
}

static void tiles_fill_sheets_row_by_row(void **state)
{
    int s, x, y;

    (void)state;
    tc_thumbs_place(0, 160, 90, &s, &x, &y);
    assert_true(s == 0 && x == 0 && y == 0);
    tc_thumbs_place(9, 160, 90, &s, &x, &y);
    assert_true(s == 0 && x == 1440 && y == 0);
    tc_thumbs_place(10, 160, 90, &s, &x, &y);
    assert_true(s == 0 && x == 0 && y == 90);
    tc_thumbs_place(99, 160, 90, &s, &x, &y);
    assert_true(s == 0 && x == 1440 && y == 810);
    tc_thumbs_place(100, 160, 90, &s, &x, &y);
    assert_true(s == 1 && x == 0 && y == 0);
    tc_thumbs_place(123, 120, 90, &s, &x, &y);
    assert_true(s == 1 && x == 360 && y == 180);
}

static void vtt_cues_cover_the_lesson(void **state)
{
    char *v = NULL;

    (void)state;
    assert_int_equal(tc_thumbs_vtt(3, 10, 25, 160, 90, &v), 0);
    assert_string_equal(v, "WEBVTT\n"
                           "\n00:00:00.000 --> 00:00:10.000\n"
                           "thumbs-0.jpg#xywh=0,0,160,90\n"
                           "\n00:00:10.000 --> 00:00:20.000\n"
                           "thumbs-0.jpg#xywh=160,0,160,90\n"
                           "\n00:00:20.000 --> 00:00:25.000\n"
                           "thumbs-0.jpg#xywh=320,0,160,90\n");
    free(v);
    /* A tile at the very end (duration 20.0: tile 2 starts there) is
     * left out; hours are written; tile 100 is on the second sheet. */
    assert_int_equal(tc_thumbs_vtt(3, 10, 20, 160, 90, &v), 0);
    assert_null(strstr(v, "00:00:20.000 -->"));
    free(v);
    assert_int_equal(tc_thumbs_vtt(101, 40, 4040, 50, 90, &v), 0);
    assert_non_null(strstr(v, "\n01:06:40.000 --> 01:07:20.000\n"
                              "thumbs-1.jpg#xywh=0,0,50,90\n"));
    free(v);
    assert_int_equal(tc_thumbs_vtt(1, 0, 5, 160, 90, &v), AVERROR(EINVAL));
    assert_int_equal(tc_thumbs_vtt(-1, 10, 5, 160, 90, &v), AVERROR(EINVAL));
}

/* A mono float frame of n samples at amplitude a (a square wave). */
static AVFrame *tone(int n, float a)
{
    AVFrame *f = av_frame_alloc();

    assert_non_null(f);
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = 48000;
    f->nb_samples = n;
    av_channel_layout_default(&f->ch_layout, 1);
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    for (int i = 0; i < n; i++)
        ((float *)f->data[0])[i] = i % 2 ? a : -a;
    return f;
}

static void wave_bars_follow_the_loudness(void **state)
{
    tc_wave *w = NULL;
    float bars[4];
    AVFrame *f;

    (void)state;
    assert_int_equal(tc_wave_new(&w), 0);
    tc_wave_bars(w, bars, 4); /* nothing heard: all flat */
    assert_true(bars[0] == 0 && bars[3] == 0);
    /* 4 s: loud, quiet, silent, loud (one 1 s frame each). */
    f = tone(48000, 0.8f);
    assert_int_equal(tc_wave_add(w, f, 0), 0);
    av_frame_free(&f);
    f = tone(48000, 0.2f);
    assert_int_equal(tc_wave_add(w, f, AV_NOPTS_VALUE), 0); /* follows on */
    av_frame_free(&f);
    f = tone(48000, 0);
    assert_int_equal(tc_wave_add(w, f, 2000000), 0);
    av_frame_free(&f);
    f = tone(48000, 0.4f);
    assert_int_equal(tc_wave_add(w, f, 3000000), 0);
    av_frame_free(&f);
    tc_wave_bars(w, bars, 4);
    assert_float_equal(bars[0], 1.0, 1e-4);
    assert_float_equal(bars[1], 0.25, 1e-4);
    assert_float_equal(bars[2], 0.0, 1e-4);
    assert_float_equal(bars[3], 0.5, 1e-4);
    tc_wave_free(w);
    tc_wave_free(NULL);
}

/* RGB of pixel (x, y). */
static const uint8_t *px(const AVFrame *f, int x, int y)
{
    return f->data[0] + (size_t)y * f->linesize[0] + (size_t)x * 3;
}

static void card_is_a_dark_ground_with_amber_bars(void **state)
{
    AVFrame *c = NULL;
    tc_wave *w = NULL;
    AVFrame *f;
    const uint8_t *p;

    (void)state;
    assert_int_equal(tc_poster_card(NULL, 63, 36, &c), AVERROR(EINVAL));
    assert_int_equal(tc_poster_card(NULL, 321, 180, &c), AVERROR(EINVAL));
    assert_int_equal(tc_wave_new(&w), 0);
    f = tone(48000, 0.5f);
    assert_int_equal(tc_wave_add(w, f, 0), 0);
    av_frame_free(&f);
    assert_int_equal(tc_poster_card(w, 320, 180, &c), 0);
    assert_int_equal(c->width, 320);
    assert_int_equal(c->height, 180);
    assert_int_equal(c->format, AV_PIX_FMT_RGB24);
    p = px(c, 2, 2); /* corner: dark blue, not black */
    assert_true(p[2] > p[0] && p[2] > 0x20 && p[0] < 0x30);
    /* The middle of a loud recording is amber, as is the top of its
     * bars (a quarter of the height above the centre line, less 3 px). */
    p = px(c, 160 + 2, 90);
    assert_true(p[0] == 0xf0 && p[1] == 0xa8 && p[2] == 0x30);
    p = px(c, 160 + 2, 90 - 180 / 4 + 3);
    assert_true(p[0] == 0xf0 && p[1] == 0xa8 && p[2] == 0x30);
    av_frame_free(&c);
    /* Silence: a line only; above it is ground. */
    assert_int_equal(tc_poster_card(NULL, 320, 180, &c), 0);
    p = px(c, 160 + 2, 90 - 10);
    assert_true(p[2] > p[0]);
    av_frame_free(&c);
    tc_wave_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiles_fit_the_box_with_the_aspect),
        cmocka_unit_test(tiles_fill_sheets_row_by_row),
        cmocka_unit_test(vtt_cues_cover_the_lesson),
        cmocka_unit_test(wave_bars_follow_the_loudness),
        cmocka_unit_test(card_is_a_dark_ground_with_amber_bars),
    };
    return cmocka_run_group_tests_name("tc_thumbs", tests, NULL, NULL);
}
