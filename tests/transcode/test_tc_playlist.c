/* Units for tc_playlist: master.m3u8 text and atomic writes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "common/yl_log.h"
#include "transcode/tc_playlist.h"

/* Sends the log to /dev/null while expected errors are provoked. */
static void quiet(int on)
{
    static int null_fd = -1;

    if (on && null_fd < 0)
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    yl_log_set_fd(on && null_fd >= 0 ? null_fd : 2);
}

static const tc_pl_variant two_rungs[] = {
    {1280, 720, 25.0, 2900000, 2600000, "avc1.64001f,mp4a.40.2",
     "v0/index.m3u8"},
    {640, 360, 29.97, 850000, 760000, "avc1.64001e,mp4a.40.2", "v1/index.m3u8"},
};

static const tc_pl_media three_audio[] = {
    {"zh", "中文", 1, 1, "a-zh/index.m3u8", 2},
    {"bo", "བོད་སྐད", 0, 1, "a-bo/index.m3u8", 2},
    {"lis", "ꓡꓲ-ꓢꓴ", 0, 0, "a-lis/index.m3u8", 0},
};

static const tc_pl_media two_subs[] = {
    {"bo", "བོད་སྐད", 0, 1, "s-bo/index.m3u8", 0},
    {"lis", "ꓡꓲ-ꓢꓴ", 0, 1, "s-lis/index.m3u8", 6}, /* channels ignored */
};

static tc_pl_master full_master(void)
{
    tc_pl_master m = {
        .variants = two_rungs,
        .n_variants = 2,
        .audio = three_audio,
        .n_audio = 3,
        .subs = two_subs,
        .n_subs = 2,
        .audio_only_bandwidth = 140000,
        .audio_only_avg_bandwidth = 131000,
        .audio_codecs = "mp4a.40.2",
    };
    return m;
}

static void master_exact_text(void **state)
{
    tc_pl_master m = full_master();
    char *out = NULL;
    (void)state;

    assert_int_equal(tc_playlist_master(&m, &out), 0);
    assert_string_equal(
        out,
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"zh\","
        "NAME=\"中文\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
        "URI=\"a-zh/index.m3u8\"\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"bo\","
        "NAME=\"བོད་སྐད\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\","
        "URI=\"a-bo/index.m3u8\"\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"lis\","
        "NAME=\"ꓡꓲ-ꓢꓴ\",DEFAULT=NO,AUTOSELECT=NO,"
        "URI=\"a-lis/index.m3u8\"\n"
        "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"bo\","
        "NAME=\"བོད་སྐད\",DEFAULT=NO,AUTOSELECT=YES,"
        "URI=\"s-bo/index.m3u8\"\n"
        "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"lis\","
        "NAME=\"ꓡꓲ-ꓢꓴ\",DEFAULT=NO,AUTOSELECT=YES,"
        "URI=\"s-lis/index.m3u8\"\n"
        "\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2600000,"
        "RESOLUTION=1280x720,FRAME-RATE=25.000,"
        "CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"aud\",SUBTITLES=\"subs\"\n"
        "v0/index.m3u8\n"
        "\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=850000,AVERAGE-BANDWIDTH=760000,"
        "RESOLUTION=640x360,FRAME-RATE=29.970,"
        "CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"aud\",SUBTITLES=\"subs\"\n"
        "v1/index.m3u8\n"
        "\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=140000,AVERAGE-BANDWIDTH=131000,"
        "CODECS=\"mp4a.40.2\",AUDIO=\"aud\",SUBTITLES=\"subs\"\n"
        "a-zh/index.m3u8\n");
    free(out);
}

static void audio_only_lesson(void **state)
{
    static const tc_pl_media one[] = {
        {"lis", "ꓡꓲ-ꓢꓴ", 0, 1, "a-lis/index.m3u8", 1},
        {"duu", "Tvrung kvt", 1, 0, "a-duu/index.m3u8", 1},
    };
    tc_pl_master m = {
        .audio = one,
        .n_audio = 2,
        .audio_only_bandwidth = 70000,
        .audio_codecs = "mp4a.40.2",
    };
    char *out = NULL;
    (void)state;

    assert_int_equal(tc_playlist_master(&m, &out), 0);
    /* DEFAULT=YES forces AUTOSELECT=YES; the audio-only variant points at
     * the default rendition; no AVERAGE-BANDWIDTH when unknown. */
    assert_string_equal(
        out, "#EXTM3U\n"
             "#EXT-X-VERSION:7\n"
             "#EXT-X-INDEPENDENT-SEGMENTS\n"
             "\n"
             "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"lis\","
             "NAME=\"ꓡꓲ-ꓢꓴ\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"1\","
             "URI=\"a-lis/index.m3u8\"\n"
             "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"duu\","
             "NAME=\"Tvrung kvt\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"1\","
             "URI=\"a-duu/index.m3u8\"\n"
             "\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=70000,CODECS=\"mp4a.40.2\","
             "AUDIO=\"aud\"\n"
             "a-duu/index.m3u8\n");
    free(out);
}

static void no_subs_and_ts_segments(void **state)
{
    tc_pl_master m = full_master();
    char *out = NULL;
    (void)state;

    m.n_subs = 0;
    m.subs = NULL;
    m.n_variants = 1;
    m.n_audio = 1;
    m.ts_segments = 1;
    assert_int_equal(tc_playlist_master(&m, &out), 0);
    assert_string_equal(
        out, "#EXTM3U\n"
             "#EXT-X-VERSION:6\n"
             "#EXT-X-INDEPENDENT-SEGMENTS\n"
             "\n"
             "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"zh\","
             "NAME=\"中文\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
             "URI=\"a-zh/index.m3u8\"\n"
             "\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2600000,"
             "RESOLUTION=1280x720,FRAME-RATE=25.000,"
             "CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"aud\"\n"
             "v0/index.m3u8\n"
             "\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=140000,AVERAGE-BANDWIDTH=131000,"
             "CODECS=\"mp4a.40.2\",AUDIO=\"aud\"\n"
             "a-zh/index.m3u8\n");
    assert_null(strstr(out, "SUBTITLES"));
    free(out);
}

/* master-burn-LANG.m3u8: one variant, the audio group, no subtitle group
 * and no audio-only variant. */
static void burned_master(void **state)
{
    tc_pl_master m = full_master();
    char *out = NULL;
    (void)state;

    m.n_subs = 0;
    m.subs = NULL;
    m.n_variants = 1;
    m.n_audio = 1;
    m.no_audio_only = 1;
    assert_int_equal(tc_playlist_master(&m, &out), 0);
    assert_string_equal(
        out, "#EXTM3U\n"
             "#EXT-X-VERSION:7\n"
             "#EXT-X-INDEPENDENT-SEGMENTS\n"
             "\n"
             "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"zh\","
             "NAME=\"中文\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
             "URI=\"a-zh/index.m3u8\"\n"
             "\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2600000,"
             "RESOLUTION=1280x720,FRAME-RATE=25.000,"
             "CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"aud\"\n"
             "v0/index.m3u8\n");
    free(out);
}

static void video_without_audio(void **state)
{
    static const tc_pl_variant v[] = {
        {854, 480, 24.0 * 1000 / 1001, 1300000, 0, "avc1.64001e",
         "v0/index.m3u8"},
    };
    tc_pl_master m = {.variants = v, .n_variants = 1};
    char *out = NULL;
    (void)state;

    assert_int_equal(tc_playlist_master(&m, &out), 0);
    assert_string_equal(out, "#EXTM3U\n"
                             "#EXT-X-VERSION:7\n"
                             "#EXT-X-INDEPENDENT-SEGMENTS\n"
                             "\n"
                             "#EXT-X-STREAM-INF:BANDWIDTH=1300000,"
                             "RESOLUTION=854x480,FRAME-RATE=23.976,"
                             "CODECS=\"avc1.64001e\"\n"
                             "v0/index.m3u8\n");
    free(out);
}

static void repeated_names_are_numbered(void **state)
{
    static const tc_pl_media und[] = {
        {"und", "und", 1, 1, "a-und/index.m3u8", 2},
        {"und", "und", 0, 1, "a-und-2/index.m3u8", 2},
        {"und", "und", 0, 1, "a-und-3/index.m3u8", 0},
    };
    tc_pl_master m = {
        .audio = und,
        .n_audio = 3,
        .audio_only_bandwidth = 64000,
    };
    char *out = NULL;
    (void)state;

    assert_int_equal(tc_playlist_master(&m, &out), 0);
    assert_non_null(strstr(out, "NAME=\"und\",DEFAULT=YES"));
    assert_non_null(strstr(out, "NAME=\"und 2\",DEFAULT=NO"));
    assert_non_null(strstr(out, "NAME=\"und 3\",DEFAULT=NO"));
    /* No CODECS when the caller gives none. */
    assert_non_null(strstr(out, "#EXT-X-STREAM-INF:BANDWIDTH=64000,"
                                "AUDIO=\"aud\"\na-und/index.m3u8\n"));
    free(out);
}

static void expect_einval(const tc_pl_master *m, const char *what)
{
    char *out = (char *)"untouched";

    if (tc_playlist_master(m, &out) != YL_EINVAL)
        fail_msg("%s: accepted", what);
    assert_string_equal(out, "untouched");
}

static void quoting_and_bad_input(void **state)
{
    tc_pl_master m;
    tc_pl_media a[3];
    tc_pl_variant v[2];
    (void)state;

    quiet(1);
#define RESET()                                                                \
    do {                                                                       \
        m = full_master();                                                     \
        memcpy(a, three_audio, sizeof(a));                                     \
        memcpy(v, two_rungs, sizeof(v));                                       \
        m.audio = a;                                                           \
        m.variants = v;                                                        \
    } while (0)
    RESET();
    a[1].name = "say \"hi\"";
    expect_einval(&m, "quote in NAME");
    RESET();
    a[1].lang = "bo\n";
    expect_einval(&m, "LF in LANGUAGE");
    RESET();
    a[2].uri = "a-lis/index.m3u8\r";
    expect_einval(&m, "CR in URI");
    RESET();
    a[2].name = "";
    expect_einval(&m, "empty NAME");
    RESET();
    a[2].uri = NULL;
    expect_einval(&m, "no URI");
    RESET();
    a[2].is_default = 1;
    expect_einval(&m, "two DEFAULT=YES");
    RESET();
    v[1].codecs = "avc1\"";
    expect_einval(&m, "quote in CODECS");
    RESET();
    v[1].uri = "v1/index.m3u8\n#EXT-X-ENDLIST";
    expect_einval(&m, "LF in variant URI");
    RESET();
    v[1].uri = "#v1";
    expect_einval(&m, "variant URI like a tag");
    RESET();
    v[0].bandwidth = 0;
    expect_einval(&m, "BANDWIDTH 0");
    RESET();
    m.audio_only_bandwidth = 0;
    expect_einval(&m, "audio-only BANDWIDTH 0");
    RESET();
    m.audio_codecs = "mp4a\t";
    expect_einval(&m, "tab in audio CODECS");
    RESET();
    m.n_variants = 0;
    m.n_audio = 0;
    expect_einval(&m, "nothing to play");
    RESET();
    m.audio = NULL;
    expect_einval(&m, "n_audio without audio");
    quiet(0);
#undef RESET
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(master_exact_text),
        cmocka_unit_test(audio_only_lesson),
        cmocka_unit_test(no_subs_and_ts_segments),
        cmocka_unit_test(burned_master),
        cmocka_unit_test(video_without_audio),
        cmocka_unit_test(repeated_names_are_numbered),
        cmocka_unit_test(quoting_and_bad_input),
    };
    return cmocka_run_group_tests_name("tc_playlist", tests, NULL, NULL);
}
