/* Units for tc_ladder: --ladder parsing and rung choice. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "common/yl_err.h"
#include "transcode/tc_ladder.h"

static void check_rung(const tc_rung *r, int w, int h, int kbps)
{
    if (r->width != w || r->height != h || r->bitrate_kbps != kbps)
        fail_msg("rung %dx%d @%d kbps, want %dx%d @%d kbps", r->width,
                 r->height, r->bitrate_kbps, w, h, kbps);
}

static void default_ladder_on_720p(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    (void)state;

    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, NULL, 0, r, 8), 4);
    check_rung(&r[0], 1280, 720, 2500);
    check_rung(&r[1], 854, 480, 1200);
    check_rung(&r[2], 640, 360, 700);
    check_rung(&r[3], 426, 240, 300);
    assert_int_equal(r[0].maxrate_kbps, 2675); /* 1.07x */
    assert_int_equal(r[0].bufsize_kbps, 3750); /* 1.5x */
    assert_int_equal(r[3].maxrate_kbps, 321);
    assert_int_equal(r[3].bufsize_kbps, 450);
}

static void never_upscales(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    (void)state;

    /* 1080p source: the default ladder tops out at 720. */
    assert_int_equal(tc_ladder_pick(1920, 1080, 1, 1, NULL, 0, r, 8), 4);
    check_rung(&r[0], 1280, 720, 2500);
    /* 480p source: 480 and below. */
    assert_int_equal(tc_ladder_pick(854, 480, 1, 1, NULL, 0, r, 8), 3);
    check_rung(&r[0], 854, 480, 1200);
    check_rung(&r[1], 640, 360, 700);
    check_rung(&r[2], 426, 240, 300);
    /* 360p source. */
    assert_int_equal(tc_ladder_pick(640, 360, 0, 1, NULL, 0, r, 8), 2);
    check_rung(&r[0], 640, 360, 700);
    /* Between rungs: 700 tall keeps 480 and below. */
    assert_int_equal(tc_ladder_pick(1244, 700, 1, 1, NULL, 0, r, 8), 3);
    assert_int_equal(r[0].height, 480);
    /* An explicit 1080 rung on a 720p source is dropped. */
    int h[] = {1080, 720, 360};
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, h, 3, r, 8), 2);
    assert_int_equal(r[0].height, 720);
    assert_int_equal(r[1].height, 360);
}

static void odd_sizes_give_even_rungs(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    (void)state;

    assert_int_equal(tc_ladder_pick(853, 481, 1, 1, NULL, 0, r, 8), 3);
    check_rung(&r[0], 852, 480, 1197); /* 853*480/481 = 851.2 -> 852 */
    for (int w = 301; w < 2000; w += 37) {
        for (int hh = 241; hh < 1100; hh += 53) {
            int n = tc_ladder_pick(w, hh, 1, 1, NULL, 0, r, 8);

            assert_true(n >= 1 && n <= 4);
            for (int i = 0; i < n; i++) {
                if (r[i].width % 2 || r[i].height % 2 || r[i].height > hh ||
                    r[i].width > w || r[i].width < 2)
                    fail_msg("%dx%d -> rung %d is %dx%d", w, hh, i, r[i].width,
                             r[i].height);
                if (i > 0)
                    assert_true(r[i].height < r[i - 1].height);
            }
        }
    }
}

static void sar_gives_display_aspect(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    (void)state;

    /* PAL 4:3 (SAR 16:15): 768x576 display. */
    assert_int_equal(tc_ladder_pick(720, 576, 16, 15, NULL, 0, r, 8), 3);
    check_rung(&r[0], 640, 480, 914); /* 4:3, bitrate by pixel count */
    check_rung(&r[1], 480, 360, 520);
    check_rung(&r[2], 320, 240, 225);
    /* PAL 16:9 anamorphic (SAR 64:45): 1024x576 display. */
    assert_int_equal(tc_ladder_pick(720, 576, 64, 45, NULL, 0, r, 8), 3);
    check_rung(&r[0], 854, 480, 1200);
    check_rung(&r[1], 640, 360, 700);
    /* Unknown SAR (0/1, 0/0, negative) is square. */
    assert_int_equal(tc_ladder_pick(640, 480, 0, 1, NULL, 0, r, 8), 3);
    assert_int_equal(r[0].width, 640);
    assert_int_equal(tc_ladder_pick(640, 480, 0, 0, NULL, 0, r, 8), 3);
    assert_int_equal(r[0].width, 640);
    assert_int_equal(tc_ladder_pick(640, 480, -4, 3, NULL, 0, r, 8), 3);
    assert_int_equal(r[0].width, 640);
    /* Rounding never makes a rung wider than the source. */
    assert_int_equal(tc_ladder_pick(853, 480, 1, 1, NULL, 0, r, 8), 3);
    assert_int_equal(r[0].width, 852);
    /* Portrait phone video keeps its aspect. */
    assert_int_equal(tc_ladder_pick(720, 1280, 1, 1, NULL, 0, r, 8), 4);
    assert_int_equal(r[0].height, 720);
    assert_int_equal(r[0].width, 404); /* 405: ties round down */
}

static void tiny_sources_keep_their_size(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    (void)state;

    assert_int_equal(tc_ladder_pick(160, 90, 1, 1, NULL, 0, r, 8), 1);
    check_rung(&r[0], 160, 90, 64); /* bitrate floor */
    assert_int_equal(tc_ladder_pick(175, 99, 1, 1, NULL, 0, r, 8), 1);
    assert_int_equal(r[0].height, 98); /* rounded down: never upscale */
    assert_int_equal(r[0].width, 174);
    assert_int_equal(tc_ladder_pick(320, 239, 1, 1, NULL, 0, r, 8), 1);
    check_rung(&r[0], 318, 238, 222); /* 318.66 wide */
    assert_int_equal(tc_ladder_pick(2, 2, 1, 1, NULL, 0, r, 8), 1);
    check_rung(&r[0], 2, 2, 64);
    assert_int_equal(tc_ladder_pick(1, 1, 1, 1, NULL, 0, r, 8), 1);
    assert_int_equal(r[0].width, 2);
    assert_int_equal(r[0].height, 2);
}

static void bitrates_scale_by_pixels(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    int h[] = {1080, 720};
    (void)state;

    assert_int_equal(tc_ladder_pick(1920, 1080, 1, 1, h, 2, r, 8), 2);
    check_rung(&r[0], 1920, 1080, 5625); /* bits per pixel of 720p */
    check_rung(&r[1], 1280, 720, 2500);
    assert_int_equal(tc_ladder_bitrate_kbps(854, 480), 1200);
    assert_int_equal(tc_ladder_bitrate_kbps(640, 360), 700);
    assert_int_equal(tc_ladder_bitrate_kbps(426, 240), 300);
    /* Monotonic in pixel count. */
    for (int px = 16, prev = 0; px < 2000; px += 16) {
        int k = tc_ladder_bitrate_kbps(px, px * 9 / 16);

        assert_true(k >= prev);
        prev = k;
    }
}

static void pick_refuses_bad_arguments(void **state)
{
    tc_rung r[TC_LADDER_MAX];
    int odd[] = {720, 481}, dup[] = {480, 480}, many[9];
    (void)state;

    assert_int_equal(tc_ladder_pick(0, 720, 1, 1, NULL, 0, r, 8), YL_EINVAL);
    assert_int_equal(tc_ladder_pick(1280, -1, 1, 1, NULL, 0, r, 8), YL_EINVAL);
    assert_int_equal(tc_ladder_pick(100000, 720, 1, 1, NULL, 0, r, 8),
                     YL_EINVAL);
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, NULL, 0, NULL, 8),
                     YL_EINVAL);
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, NULL, 0, r, 0), YL_EINVAL);
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, NULL, 0, r, 3),
                     YL_EINVAL); /* 4 rungs do not fit */
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, odd, 0, r, 8), YL_EINVAL);
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, odd, 2, r, 8), YL_EINVAL);
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, dup, 2, r, 8), YL_EINVAL);
    for (int i = 0; i < 9; i++)
        many[i] = 100 + 2 * i;
    assert_int_equal(tc_ladder_pick(1280, 720, 1, 1, many, 9, r, 8), YL_EINVAL);
}

static void parse_ladder_spec(void **state)
{
    int h[TC_LADDER_MAX];
    (void)state;

    assert_int_equal(tc_ladder_parse("720,480,360,240", h, 8), 4);
    assert_int_equal(h[0], 720);
    assert_int_equal(h[3], 240);
    assert_int_equal(tc_ladder_parse("240,1080,480", h, 8), 3);
    assert_int_equal(h[0], 1080); /* sorted highest first */
    assert_int_equal(h[1], 480);
    assert_int_equal(h[2], 240);
    assert_int_equal(tc_ladder_parse("64", h, 8), 1);
    assert_int_equal(tc_ladder_parse("4320", h, 8), 1);
    assert_int_equal(tc_ladder_parse("100,102,104,106,108,110,112,114", h, 8),
                     8);
}

static void parse_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "720,",
        ",720",
        "720,,480",
        "721",
        "62",
        "4322",
        "720,720",
        "abc",
        "720 ,480",
        " 720",
        "-720",
        "+720",
        "720;480",
        "7e2",
        "99999999",
        "720,480x",
        "0",
        "100,102,104,106,108,110,112,114,116",
    };
    int h[TC_LADDER_MAX];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tc_ladder_parse(bad[i], h, TC_LADDER_MAX) != YL_EUSAGE)
            fail_msg("tc_ladder_parse(\"%s\") accepted", bad[i]);
    assert_int_equal(tc_ladder_parse(NULL, h, 8), YL_EUSAGE);
    assert_int_equal(tc_ladder_parse("720,480", h, 1), YL_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_ladder_on_720p),
        cmocka_unit_test(never_upscales),
        cmocka_unit_test(odd_sizes_give_even_rungs),
        cmocka_unit_test(sar_gives_display_aspect),
        cmocka_unit_test(tiny_sources_keep_their_size),
        cmocka_unit_test(bitrates_scale_by_pixels),
        cmocka_unit_test(pick_refuses_bad_arguments),
        cmocka_unit_test(parse_ladder_spec),
        cmocka_unit_test(parse_errors),
    };
    return cmocka_run_group_tests_name("tc_ladder", tests, NULL, NULL);
}
