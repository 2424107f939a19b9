/* Units for tc_subs: SRT, WebVTT and ASS to WebVTT, and the HLS subtitle
 * playlist. Files under tests/transcode/data/ hold the byte-exact cases
 * (Tibetan and Lisu script, BOM + CRLF, invalid UTF-8). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "transcode/tc_subs.h"

static const char *data_path(const char *name)
{
    static char path[1024];
    const char *src = getenv("YL_TEST_SRCDIR");

    snprintf(path, sizeof(path), "%s/tests/transcode/data/%s",
             src != NULL ? src : ".", name);
    return path;
}

static tc_subs *load_ok(const char *name)
{
    tc_subs *s = NULL;
    int line = -1, ret;
    char why[256];

    ret = tc_subs_load_ex(data_path(name), &s, &line, why, sizeof(why));
    if (ret != 0)
        fail_msg("%s: line %d: %s (%d)", name, line, why, ret);
    assert_int_equal(line, 0);
    return s;
}

static tc_subs *parse_ok(const char *text)
{
    tc_subs *s = NULL;
    int line = -1, ret;
    char why[256];

    ret = tc_subs_parse_ex(text, strlen(text), &s, &line, why, sizeof(why));
    if (ret != 0)
        fail_msg("parse failed: line %d: %s (%d)\n%s", line, why, ret, text);
    return s;
}

/* Parses text, expects error ret at line; returns the reason. */
static void parse_bad(const char *text, size_t len, int want, int want_line)
{
    tc_subs *s = (tc_subs *)0x1;
    int line = -1, ret;
    char why[256];

    ret = tc_subs_parse_ex(text, len, &s, &line, why, sizeof(why));
    if (ret != want || line != want_line)
        fail_msg("got %d at line %d (%s), want %d at line %d", ret, line, why,
                 want, want_line);
    assert_ptr_equal(s, (tc_subs *)0x1); /* untouched */
    assert_true(why[0] != '\0');
}

static void check_cue(const tc_subs *s, size_t i, int64_t start, int64_t end,
                      const char *text)
{
    const tc_cue *c = tc_subs_cue(s, i);

    assert_non_null(c);
    if (c->start_ms != start || c->end_ms != end || strcmp(c->text, text))
        fail_msg("cue %zu: %lld-%lld \"%s\", want %lld-%lld \"%s\"", i,
                 (long long)c->start_ms, (long long)c->end_ms, c->text,
                 (long long)start, (long long)end, text);
}

static void srt_tibetan(void **state)
{
    tc_subs *s = load_ok("bo.srt");
    char *vtt = NULL;
    (void)state;

    assert_int_equal(tc_subs_format(s), TC_SUBS_SRT);
    assert_int_equal(tc_subs_count(s), 3);
    check_cue(s, 0, 1000, 3500, "བཀྲ་ཤིས་བདེ་ལེགས།");
    check_cue(s, 1, 4000, 6250, "ཐུགས་རྗེ་ཆེ།\nབོད་སྐད");
    check_cue(s, 2, 62003, 3723004, "སློབ་ཚན་ & ཨ");
    assert_null(tc_subs_cue(s, 3));
    assert_int_equal(tc_subs_render_vtt(s, 900000, &vtt), 0);
    assert_string_equal(vtt, "WEBVTT\n"
                             "X-TIMESTAMP-MAP=MPEGTS:900000,"
                             "LOCAL:00:00:00.000\n"
                             "\n"
                             "00:00:01.000 --> 00:00:03.500\n"
                             "བཀྲ་ཤིས་བདེ་ལེགས།\n"
                             "\n"
                             "00:00:04.000 --> 00:00:06.250\n"
                             "ཐུགས་རྗེ་ཆེ།\n"
                             "བོད་སྐད\n"
                             "\n"
                             "00:01:02.003 --> 01:02:03.004\n"
                             "སློབ་ཚན་ &amp; ཨ\n");
    free(vtt);
    tc_subs_free(s);
}

static void srt_lisu_bom_crlf(void **state)
{
    tc_subs *s = load_ok("lis_bom_crlf.srt");
    (void)state;

    assert_int_equal(tc_subs_count(s), 2);
    check_cue(s, 0, 1000, 2000, "ꓡꓲ-ꓢꓴ"); /* no BOM, no CR */
    check_cue(s, 1, 2500, 4000, "ꓡꓲ-ꓢꓴ ꓐ\nꓟ ꓠ");
    tc_subs_free(s);

    /* Lone CR line ends (old Mac) work too. */
    s = parse_ok("1\r00:00:01,000 --> 00:00:02,000\rone\rtwo\r\r");
    check_cue(s, 0, 1000, 2000, "one\ntwo");
    tc_subs_free(s);
}

static void srt_quirks(void **state)
{
    tc_subs *s;
    (void)state;

    /* No blank line between cues, no cue numbers, '.' for ',', times out
     * of order, a cue with no text, an ASS tag, trailing spaces. */
    s = parse_ok("00:00:05,000 --> 00:00:06,000\n"
                 "{\\an8}late  \n"
                 "2\n"
                 "00:00:01.5 --> 00:00:02,000\n"
                 "early\n"
                 "00:00:03,000 --> 00:00:04,000\n"
                 "\n"
                 "00:00:04,000 --> 00:00:04,500 X1:10 X2:20\n"
                 "<font color=\"red\">a</font> <U>b</U> <S>c</S> <x>\n"
                 "\n"
                 "\n"
                 "after a blank line\n"
                 "\n");
    assert_int_equal(tc_subs_count(s), 3);
    check_cue(s, 0, 1500, 2000, "early");
    check_cue(s, 1, 4000, 4500, "a b c <x>\nafter a blank line");
    check_cue(s, 2, 5000, 6000, "late");
    tc_subs_free(s);

    /* Text that merely contains an arrow stays text. */
    s = parse_ok("1\n00:00:01,000 --> 00:00:02,000\n5 --> 6\nx --> y\n");
    check_cue(s, 0, 1000, 2000, "5 --> 6\nx --> y");
    tc_subs_free(s);
    /* WebVTT cues without the blank line between them. */
    s = parse_ok("WEBVTT\n\n00:01.000 --> 00:02.000\none\n"
                 "00:03.000 --> 00:04.000\ntwo\n");
    assert_int_equal(tc_subs_count(s), 2);
    check_cue(s, 1, 3000, 4000, "two");
    tc_subs_free(s);

    /* A digits-only text line stays text. */
    s = parse_ok("1\n00:00:01,000 --> 00:00:02,000\n2019\n\n");
    check_cue(s, 0, 1000, 2000, "2019");
    tc_subs_free(s);

    /* Equal start and end is allowed (end < start is not). */
    s = parse_ok("00:00:01,000 --> 00:00:01,000\nblink\n");
    check_cue(s, 0, 1000, 1000, "blink");
    tc_subs_free(s);
}

static void vtt_input(void **state)
{
    tc_subs *s = load_ok("lis.vtt");
    char *vtt = NULL;
    (void)state;

    assert_int_equal(tc_subs_format(s), TC_SUBS_VTT);
    assert_int_equal(tc_subs_count(s), 2);
    check_cue(s, 0, 1000, 2500, "ꓡꓲ-ꓢꓴ & ꓐ");
    check_cue(s, 1, 3000, 5000,
              "a < b > c\xc2\xa0"
              "d ☃ A\nsecond line");
    assert_int_equal(tc_subs_render_vtt(s, 0, &vtt), 0);
    assert_string_equal(vtt, "WEBVTT\n"
                             "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n"
                             "\n"
                             "00:00:01.000 --> 00:00:02.500\n"
                             "ꓡꓲ-ꓢꓴ &amp; ꓐ\n"
                             "\n"
                             "00:00:03.000 --> 00:00:05.000\n"
                             "a &lt; b &gt; c\xc2\xa0"
                             "d ☃ A\n"
                             "second line\n");
    tc_subs_free(s);

    /* Our own output parses back to the same cues. */
    s = parse_ok(vtt);
    assert_int_equal(tc_subs_count(s), 2);
    check_cue(s, 0, 1000, 2500, "ꓡꓲ-ꓢꓴ & ꓐ");
    check_cue(s, 1, 3000, 5000,
              "a < b > c\xc2\xa0"
              "d ☃ A\nsecond line");
    tc_subs_free(s);
    free(vtt);

    /* Header directly followed by a cue; unknown entities stay. */
    s = parse_ok("WEBVTT\n00:00.000 --> 00:01.000\n&bogus; &#; &amp\n");
    check_cue(s, 0, 0, 1000, "&bogus; &#; &amp");
    tc_subs_free(s);
}

static void ass_input(void **state)
{
    tc_subs *s = load_ok("bo.ass");
    (void)state;

    assert_int_equal(tc_subs_format(s), TC_SUBS_ASS);
    assert_int_equal(tc_subs_count(s), 3); /* Comment and drawing skipped */
    check_cue(s, 0, 1000, 3250, "བཀྲ་ཤིས་བདེ་ལེགས།\nཐུགས་རྗེ་ཆེ།");
    check_cue(s, 1, 5000, 7500, "second, with commas, kept");
    check_cue(s, 2, 10000, 11000,
              "a\xc2\xa0"
              "b c <tag>");
    tc_subs_free(s);

    /* Field order comes from Format:; SSA without Format: uses the
     * default order; unterminated '{' is text. */
    s = parse_ok("[Script Info]\n\n[Events]\n"
                 "Format: Text2, End, Start, Layer, Text\n"
                 "Dialogue: x,0:00:02.00,0:00:01.00,0,one\\Ntwo {open\n");
    check_cue(s, 0, 1000, 2000, "one\ntwo {open");
    tc_subs_free(s);
    s = parse_ok("\xef\xbb\xbf[Script Info]\r\nScriptType: v4.00\r\n\r\n"
                 "[Events]\r\n"
                 "Dialogue: Marked=0,1:02:03.45,1:02:04.5,Default,,0,0,0,,hi"
                 "\r\n");
    check_cue(s, 0, 3723450, 3724500, "hi");
    tc_subs_free(s);
}

static void invalid_utf8_names_the_line(void **state)
{
    tc_subs *s = NULL;
    int line = -1;
    char why[256];
    (void)state;

    assert_int_equal(
        tc_subs_load_ex(data_path("bad_utf8.srt"), &s, &line, why, sizeof(why)),
        YL_EBADUTF8);
    assert_int_equal(line, 7);
    assert_null(s);
    assert_non_null(strstr(why, "0xff"));
    /* Each kind of bad sequence, on line 2 after a BOM and CRLF. */
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* never valid */
        "\x80",             /* lone continuation */
        "\xe4\xb8",         /* truncated at the end */
        "\xe4\xb8x",        /* truncated in the middle */
        "\xfe",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[128];
        int n = snprintf(buf, sizeof(buf),
                         "\xef\xbb\xbf"
                         "00:00:01,000 --> 00:00:02,000\r\n%s",
                         bad[i]);

        parse_bad(buf, (size_t)n, YL_EBADUTF8, 2);
    }
    /* Valid 4-byte sequences pass (U+1F600). */
    s = parse_ok("00:00:01,000 --> 00:00:02,000\n\xf0\x9f\x98\x80\n");
    check_cue(s, 0, 1000, 2000, "\xf0\x9f\x98\x80");
    tc_subs_free(s);
}

static void broken_timestamps_name_the_line(void **state)
{
    tc_subs *s = NULL;
    int line = -1;
    char why[256];
    (void)state;

    assert_int_equal(
        tc_subs_load_ex(data_path("bad_time.srt"), &s, &line, why, sizeof(why)),
        YL_EBADTIME);
    assert_int_equal(line, 6);
    assert_non_null(strstr(why, "00:00:O3,000"));
    assert_int_equal(tc_subs_load_ex(data_path("end_before_start.srt"), &s,
                                     &line, why, sizeof(why)),
                     YL_EBADTIME);
    assert_int_equal(line, 2);
    assert_non_null(strstr(why, "before"));
    assert_null(s);

#define BAD(text, l) parse_bad(text, strlen(text), YL_EBADTIME, l)
    BAD("1\n00:00:01,000 -> 00:00:02,000\nx\n", 2);  /* bad arrow */
    BAD("1\n00:61:01,000 --> 00:62:02,000\nx\n", 2); /* minutes >= 60 */
    BAD("1\n00:00:61,000 --> 00:00:62,000\nx\n", 2); /* seconds >= 60 */
    BAD("1\n00:00:01,0000 --> 00:00:02,000\nx\n", 2);
    BAD("1\n00:00:01 --> 00:00:02\nx\n", 2);               /* no fraction */
    BAD("1\n0:0:1,000 --> 0:0:2,000\nx\n", 2);             /* one digit */
    BAD("1\n00:00:01,000 --> 00:00:02,000x\nx\n", 2);      /* junk after */
    BAD("1\n00:00:01,000 -->\nx\n", 2);                    /* no end */
    BAD("1\n\n00:00:01,000 --> 00:00:02,000\nx\n", 1);     /* number alone */
    BAD("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n", 5); /* at EOF */
    BAD("1\n00:00:01,000 --> 00:00:02,000\na\n\n"
        "2\n00:00:03,000 --> 00:00:02,000\nb\n",
        6); /* end before start */
    BAD("WEBVTT\n\nid\n00:00.000 -> 00:01.000\nx\n", 4);
    BAD("WEBVTT\n\n00:00.000 --> 00:60.000\nx\n", 3);
    BAD("WEBVTT\n\nid only\n", 3);
    /* No blank line before a broken timing: reported, not taken as text. */
    BAD("1\n00:00:01,000 --> 00:00:02,000\nHello\n"
        "2\n00:00:0x,000 --> 00:00:04,000\nWorld\n",
        5);
    BAD("00:00:01,000 --> 00:00:02,000\nHello\n"
        "00:00:03,000 --> 00:00:O4,000\nWorld\n",
        3);
    BAD("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n"
        "00:03.000 --> 00:0x.000\nWorld\n",
        5);
    BAD("[Script Info]\n[Events]\n"
        "Dialogue: 0,0:00:0x.00,0:00:02.00,Default,,0,0,0,,x\n",
        3);
    BAD("[Script Info]\n[Events]\n"
        "Dialogue: 0,0:00:03.00,0:00:02.00,Default,,0,0,0,,x\n",
        3);
#undef BAD
}

static void not_subtitles_is_corrupt(void **state)
{
    tc_subs *s = NULL;
    int line = -1;
    (void)state;

    assert_int_equal(tc_subs_load(data_path("empty.srt"), &s, &line),
                     YL_ECORRUPT);
    assert_int_equal(line, 0);
    assert_int_equal(tc_subs_load(data_path("not_subs.txt"), &s, &line),
                     YL_ECORRUPT);
    assert_null(s);
/* A literal with its exact length (it may hold a NUL byte). */
#define CORRUPT(lit, l) parse_bad(lit, sizeof(lit) - 1, YL_ECORRUPT, l)
    CORRUPT("", 0);
    CORRUPT("\xef\xbb\xbf", 0);
    CORRUPT(" \r\n\t\n\n", 0);
    CORRUPT("WEBVTT\n\nNOTE nothing\n", 0);
    CORRUPT("[Script Info]\n[Events]\n"
            "Comment: 0,0:00:01.00,0:00:02.00,,,0,0,0,,x\n",
            0);
    CORRUPT("1\n00:00:01,000 --> 00:00:02,000\n\n", 0); /* no text */
    CORRUPT("text first\n00:00:01,000 --> 00:00:02,000\nx\n", 1);
    CORRUPT("1\n00:00:01,000 --> 00:00:02,000\na\0b\n", 3);
    CORRUPT("[Script Info]\n[Events]\nFormat: Start, End\n", 3);
    CORRUPT("[Script Info]\n[Events]\nDialogue: 0,0:00:01.00\n", 3);
#undef CORRUPT
    assert_int_equal(tc_subs_load(data_path("missing.srt"), &s, &line),
                     -ENOENT);
    assert_int_equal(tc_subs_load(data_path(""), &s, &line), -EISDIR);
    assert_int_equal(tc_subs_parse(NULL, 0, NULL, NULL), YL_EINVAL);
}

static void escaping_on_output(void **state)
{
    tc_subs *s = parse_ok("1\n00:00:00,000 --> 00:00:01,000\n"
                          "if a<b && c>d --> e\n"
                          "<i>&amp;</i>\n");
    char *vtt = NULL;
    (void)state;

    check_cue(s, 0, 0, 1000, "if a<b && c>d --> e\n&amp;");
    assert_int_equal(tc_subs_render_vtt(s, 123, &vtt), 0);
    assert_string_equal(vtt, "WEBVTT\n"
                             "X-TIMESTAMP-MAP=MPEGTS:123,LOCAL:00:00:00.000\n"
                             "\n"
                             "00:00:00.000 --> 00:00:01.000\n"
                             "if a&lt;b &amp;&amp; c&gt;d --&gt; e\n"
                             "&amp;amp;\n");
    free(vtt);
    tc_subs_free(s);
}

/* The ASS script burned-in subtitles are drawn from: the style of
 * tc_subs.h, H:MM:SS.cc times, line breaks as \N, and text that libass
 * would read as markup ({...}, \N typed in a cue) kept as text. */
static void ass_for_burning(void **state)
{
    tc_subs *s = parse_ok("1\n00:00:01,000 --> 00:00:02,005\n"
                          "བོད་ཡིག\nline {two}\n\n"
                          "2\n01:02:03,450 --> 01:02:04,000\na\\Nb \\ c\n");
    char *ass = NULL;
    (void)state;

    assert_int_equal(tc_subs_render_ass(s, "Noto Serif Tibetan", &ass), 0);
    assert_non_null(strstr(ass, "PlayResX: 384\nPlayResY: 288\n"));
    assert_non_null(strstr(ass, "Style: Default,Noto Serif Tibetan,22,&Hffffff,"
                                "&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,2,1,2,"
                                "10,10,14,1\n"));
    assert_non_null(strstr(ass, "Dialogue: 0,0:00:01.00,0:00:02.01,Default,,0,"
                                "0,0,,བོད་ཡིག\\Nline \\{two\\}\n"));
    assert_non_null(strstr(ass, "Dialogue: 0,1:02:03.45,1:02:04.00,Default,,0,"
                                "0,0,,a\\\xe2\x81\xa0Nb \\ c\n"));
    free(ass);
    assert_int_equal(tc_subs_render_ass(s, "A,B", &ass), YL_EINVAL);
    assert_int_equal(tc_subs_render_ass(s, "", &ass), YL_EINVAL);
    tc_subs_free(s);
}

/* Found by fuzz_subs: a character reference to CR or LF put a line break
 * into the cue, and two an empty line, so the WebVTT we wrote ended the
 * cue there and read what followed as a cue of its own. */
static void control_references_stay_text(void **state)
{
    tc_subs *s = parse_ok("WEBVTT\n\n00:01.000 --> 00:02.000\n"
                          "a&#xd;&#13;00:00.000 --&#x3e; 09:00.000&#10;b"
                          "&#9;&#x7f;c\n");
    char *vtt = NULL;
    (void)state;

    assert_int_equal(tc_subs_count(s), 1);
#define FFFD "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
    check_cue(s, 0, 1000, 2000,
              "a" FFFD FFFD "00:00.000 --> 09:00.000" FFFD "b\t" FFFD "c");
#undef FFFD
    assert_int_equal(tc_subs_render_vtt(s, 0, &vtt), 0);
    assert_null(strchr(vtt, '\r'));
    free(vtt);
    tc_subs_free(s);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static void write_files(void **state)
{
    char dir[] = "/tmp/yl_tc_subs_XXXXXX", path[128];
    tc_subs *s = load_ok("lis_bom_crlf.srt");
    char *got, *want = NULL;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/subs.vtt", dir);
    assert_int_equal(tc_subs_write_vtt(s, path, 900000), 0);
    assert_int_equal(tc_subs_render_vtt(s, 900000, &want), 0);
    got = slurp(path);
    assert_string_equal(got, want);
    free(got);
    free(want);
    unlink(path);

    snprintf(path, sizeof(path), "%s/index.m3u8", dir);
    assert_int_equal(tc_subs_write_playlist(path, "subs.vtt", 30.04), 0);
    got = slurp(path);
    assert_string_equal(got, "#EXTM3U\n"
                             "#EXT-X-VERSION:3\n"
                             "#EXT-X-TARGETDURATION:31\n"
                             "#EXT-X-MEDIA-SEQUENCE:0\n"
                             "#EXT-X-PLAYLIST-TYPE:VOD\n"
                             "#EXTINF:30.040,\n"
                             "subs.vtt\n"
                             "#EXT-X-ENDLIST\n");
    free(got);
    assert_int_equal(tc_subs_write_playlist(path, "subs.vtt", 0), YL_EINVAL);
    assert_int_equal(tc_subs_write_playlist(path, "subs.vtt", -1), YL_EINVAL);
    assert_int_equal(tc_subs_write_playlist(path, "a\nb.vtt", 3), YL_EINVAL);
    assert_int_equal(tc_subs_write_playlist(path, "", 3), YL_EINVAL);
    unlink(path);
    snprintf(path, sizeof(path), "%s/no/subs.vtt", dir);
    assert_int_equal(tc_subs_write_vtt(s, path, 0), -ENOENT);
    assert_int_equal(rmdir(dir), 0);
    tc_subs_free(s);
    tc_subs_free(NULL);
}

static void encodings_other_than_utf8(void **state)
{
    tc_subs *s = NULL;
    int line = -1;
    char why[256];
    /* "你好" in GBK, the usual legacy encoding of Chinese SRT files. */
    static const char gbk[] = "1\n00:00:01,000 --> 00:00:02,000\n\xc4\xe3"
                              "\xba\xc3\n";
    static const char utf16[] = "\xff\xfe"
                                "1\0\n\0";
    (void)state;

    assert_int_equal(
        tc_subs_parse_ex(gbk, sizeof(gbk) - 1, &s, &line, why, sizeof(why)),
        YL_EBADUTF8);
    assert_int_equal(line, 3);
    assert_non_null(strstr(why, "0xc4"));
    assert_non_null(strstr(why, "GBK"));
    assert_int_equal(
        tc_subs_parse_ex(utf16, sizeof(utf16) - 1, &s, &line, why, sizeof(why)),
        YL_EBADUTF8);
    assert_int_equal(line, 1);
    assert_non_null(strstr(why, "UTF-16"));
    assert_null(s);
}

static void duplicates_and_detection(void **state)
{
    tc_subs *s;
    (void)state;

    /* Layered ASS outline: same line twice; comments before [Events]. */
    s = parse_ok(
        "; made by a tool\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, "
        "MarginV, Effect, Text\n"
        "Dialogue: 1,0:00:01.00,0:00:02.00,Outline,,0,0,0,,{\\bord4}hi\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,hi\n"
        "Dialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,hi\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,ho\n");
    assert_int_equal(tc_subs_format(s), TC_SUBS_ASS);
    assert_int_equal(tc_subs_count(s), 3);
    check_cue(s, 0, 1000, 2000, "hi");
    check_cue(s, 1, 1000, 3000, "hi");
    check_cue(s, 2, 1000, 2000, "ho");
    tc_subs_free(s);
    /* A WebVTT file after blank lines is still WebVTT. */
    s = parse_ok("\n\nWEBVTT\n\n00:01.000 --> 00:02.000\n<b>x</b>\n");
    assert_int_equal(tc_subs_format(s), TC_SUBS_VTT);
    check_cue(s, 0, 1000, 2000, "x");
    tc_subs_free(s);
}

/* Deterministic xorshift so a failure can be replayed. */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* Properties every parse result must have, and our output must parse
 * back to the same cues. */
static int check_result(const char *buf, size_t len)
{
    tc_subs *s = NULL, *again = NULL;
    int line = -1, ret, lines = 1;
    char *vtt = NULL;

    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n' || buf[i] == '\r';
    ret = tc_subs_parse(buf, len, &s, &line);
    if (ret != 0) {
        assert_true(ret == YL_EBADUTF8 || ret == YL_EBADTIME ||
                    ret == YL_ECORRUPT);
        assert_true(line >= 0 && line <= lines);
        assert_null(s);
        return 0;
    }
    assert_true(tc_subs_count(s) > 0);
    for (size_t i = 0; i < tc_subs_count(s); i++) {
        const tc_cue *c = tc_subs_cue(s, i);

        assert_true(c->start_ms >= 0 && c->end_ms >= c->start_ms);
        assert_true(c->text[0] != '\0' && c->text[0] != '\n');
        assert_null(strstr(c->text, "\n\n"));
        assert_null(strchr(c->text, '\r'));
        if (i > 0)
            assert_true(tc_subs_cue(s, i - 1)->start_ms <= c->start_ms);
    }
    assert_int_equal(tc_subs_render_vtt(s, 0, &vtt), 0);
    ret = tc_subs_parse(vtt, strlen(vtt), &again, &line);
    if (ret != 0)
        fail_msg("own output does not parse (%d, line %d):\n%s", ret, line,
                 vtt);
    assert_int_equal(tc_subs_count(again), tc_subs_count(s));
    for (size_t i = 0; i < tc_subs_count(s); i++)
        assert_string_equal(tc_subs_cue(again, i)->text,
                            tc_subs_cue(s, i)->text);
    tc_subs_free(again);
    tc_subs_free(s);
    free(vtt);
    return 1;
}

static void mutated_inputs_never_crash(void **state)
{
    static const char *const files[] = {"bo.srt", "lis_bom_crlf.srt", "lis.vtt",
                                        "bo.ass"};
    static const char *const snippets[] = {
        "\n", "\r\n", "-->", ":",   ",",    "{",    "}",
        "<",  ">",    "&",   "\\N", "\xe0", "\xbd", "[Events]\n"};
    (void)state;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        FILE *fp = fopen(data_path(files[f]), "rb");
        char orig[4096], buf[4200];
        size_t n;
        int ok = 0;

        assert_non_null(fp);
        n = fread(orig, 1, sizeof(orig), fp);
        fclose(fp);
        assert_int_equal(check_result(orig, n), 1);
        for (int iter = 0; iter < 3000; iter++) {
            size_t len = n, at;
            int edits = 1 + (int)(rnd() % 4);

            memcpy(buf, orig, n);
            while (edits-- > 0 && len > 0) {
                at = rnd() % len;
                switch (rnd() % 4) {
                case 0: /* flip a byte */
                    buf[at] = (char)rnd();
                    break;
                case 1: /* cut the end */
                    len = at;
                    break;
                case 2: { /* delete a run */
                    size_t k = 1 + rnd() % 8;

                    if (at + k > len)
                        k = len - at;
                    memmove(buf + at, buf + at + k, len - at - k);
                    len -= k;
                    break;
                }
                default: { /* insert a snippet */
                    const char *sn = snippets[rnd() % (sizeof(snippets) /
                                                       sizeof(*snippets))];
                    size_t k = strlen(sn);

                    if (len + k > sizeof(buf))
                        break;
                    memmove(buf + at + k, buf + at, len - at);
                    memcpy(buf + at, sn, k);
                    len += k;
                    break;
                }
                }
            }
            ok += check_result(buf, len);
        }
        /* The mutations hit both paths. */
        if (ok < 100 || ok > 2900)
            fail_msg("%s: %d of 3000 mutations parsed", files[f], ok);
    }
}

/* Cues one by one, as the embedded subtitle streams of a source give them
 * (ASS event text from libavcodec's decoders). */
static void cues_one_by_one(void **state)
{
    tc_subs *s = tc_subs_new();
    const char *t;

    (void)state;
    assert_non_null(s);
    assert_int_equal(tc_subs_finish(s), YL_ECORRUPT); /* no cue yet */
    assert_int_equal(tc_subs_add_ass(s, 5000, 6000, "{\\i1}ꓬꓲ{\\i0}\\Nline 2",
                                     strlen("{\\i1}ꓬꓲ{\\i0}\\Nline 2")),
                     0);
    t = "བཀྲ་ཤིས";
    assert_int_equal(tc_subs_add_ass(s, 1000, 2000, t, strlen(t)), 0);
    assert_int_equal(tc_subs_add_ass(s, 1000, 2000, t, strlen(t)),
                     0); /* repeat */
    assert_int_equal(tc_subs_add_ass(s, 3000, 4000, "{\\b1}", 5),
                     0); /* empty */
    assert_int_equal(tc_subs_add_ass(s, 3000, 4000, "bad \xff", 5),
                     YL_EBADUTF8);
    assert_int_equal(tc_subs_add_ass(s, 3000, 4000, "nul\0x", 5), YL_EBADUTF8);
    assert_int_equal(tc_subs_add_ass(s, 4000, 3000, "x", 1), YL_EBADTIME);
    assert_int_equal(tc_subs_add_ass(s, -1, 3000, "x", 1), YL_EBADTIME);
    assert_int_equal(tc_subs_finish(s), 0);
    assert_int_equal(tc_subs_count(s), 2);
    assert_int_equal(tc_subs_cue(s, 0)->start_ms, 1000);
    assert_string_equal(tc_subs_cue(s, 0)->text, "བཀྲ་ཤིས");
    assert_int_equal(tc_subs_cue(s, 1)->end_ms, 6000);
    assert_string_equal(tc_subs_cue(s, 1)->text, "ꓬꓲ\nline 2");
    tc_subs_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(srt_tibetan),
        cmocka_unit_test(srt_lisu_bom_crlf),
        cmocka_unit_test(srt_quirks),
        cmocka_unit_test(vtt_input),
        cmocka_unit_test(ass_input),
        cmocka_unit_test(invalid_utf8_names_the_line),
        cmocka_unit_test(broken_timestamps_name_the_line),
        cmocka_unit_test(not_subtitles_is_corrupt),
        cmocka_unit_test(escaping_on_output),
        cmocka_unit_test(ass_for_burning),
        cmocka_unit_test(control_references_stay_text),
        cmocka_unit_test(write_files),
        cmocka_unit_test(encodings_other_than_utf8),
        cmocka_unit_test(duplicates_and_detection),
        cmocka_unit_test(mutated_inputs_never_crash),
        cmocka_unit_test(cues_one_by_one),
    };
    return cmocka_run_group_tests_name("tc_subs", tests, NULL, NULL);
}
