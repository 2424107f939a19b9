/* test_tc_publish.c - atomic publication (tc_publish) and the HLS helpers
 * that need no media (tc_hls_avc_codecs, tc_hls_measure). */
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
#include "common/yl_fs.h"
#include "transcode/tc_hls.h"
#include "transcode/tc_publish.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/yl-tcpub.XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return yl_rmtree(root);
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Does root/rel exist? */
static int exists(const char *rel)
{
    char p[512];
    struct stat sb;

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return stat(p, &sb) == 0;
}

static void publish_new_then_refuse_then_force(void **state)
{
    char out[300], err[256], *tmp = NULL;
    int fd = -1;
    (void)state;

    snprintf(out, sizeof(out), "%s/hls/7", root); /* parent is created */
    assert_int_equal(tc_publish_begin(out, 0, &tmp, &fd, err, sizeof(err)), 0);
    assert_true(fd >= 0);
    assert_non_null(strstr(tmp, "/hls/.7.tmp-"));
    put(tmp, "master.m3u8", "one");
    assert_int_equal(tc_publish_commit(tmp, out, 0, err, sizeof(err)), 0);
    tc_publish_release(tmp, fd);
    free(tmp);
    assert_true(exists("hls/7/master.m3u8"));

    /* Exists: refused before any work, without --force. */
    tmp = NULL;
    assert_int_equal(tc_publish_begin(out, 0, &tmp, &fd, err, sizeof(err)),
                     YL_EEXIST);
    assert_null(tmp);
    assert_non_null(strstr(err, "exists"));

    /* --force: swapped in, the old contents gone. */
    assert_int_equal(tc_publish_begin(out, 1, &tmp, &fd, err, sizeof(err)), 0);
    put(tmp, "lesson.json", "two");
    assert_int_equal(tc_publish_commit(tmp, out, 1, err, sizeof(err)), 0);
    tc_publish_release(tmp, fd);
    assert_false(exists(tmp + strlen(root) + 1));
    free(tmp);
    assert_true(exists("hls/7/lesson.json"));
    assert_false(exists("hls/7/master.m3u8"));
}

static void commit_never_replaces_without_force(void **state)
{
    char out[300], err[256], *tmp = NULL;
    int fd = -1;
    (void)state;

    snprintf(out, sizeof(out), "%s/late", root);
    assert_int_equal(tc_publish_begin(out, 0, &tmp, &fd, err, sizeof(err)), 0);
    /* Someone else published meanwhile. */
    assert_int_equal(mkdir(out, 0755), 0);
    put(out, "theirs", "x");
    assert_int_equal(tc_publish_commit(tmp, out, 0, err, sizeof(err)),
                     YL_EEXIST);
    assert_true(exists("late/theirs"));
    yl_rmtree(tmp);
    tc_publish_release(tmp, fd);
    free(tmp);
}

static void stale_temporary_directories_are_swept(void **state)
{
    char out[300], stale[400], err[256], *tmp = NULL, *tmp2 = NULL;
    int fd = -1, fd2 = -1;
    (void)state;

    snprintf(out, sizeof(out), "%s/sw", root);
    /* A live run: its directory must survive a second run's sweep. */
    assert_int_equal(tc_publish_begin(out, 0, &tmp, &fd, err, sizeof(err)), 0);
    /* A killed run: directory + lock file nobody holds. */
    snprintf(stale, sizeof(stale), "%s/.sw.tmp-dead00", root);
    assert_int_equal(mkdir(stale, 0755), 0);
    put(stale, "seg_00000.m4s", "junk");
    put(root, ".sw.tmp-dead00.lock", "");
    assert_int_equal(tc_publish_begin(out, 0, &tmp2, &fd2, err, sizeof(err)),
                     0);
    assert_false(exists(".sw.tmp-dead00"));
    assert_false(exists(".sw.tmp-dead00.lock"));
    assert_true(exists(tmp + strlen(root) + 1));
    yl_rmtree(tmp);
    tc_publish_release(tmp, fd);
    yl_rmtree(tmp2);
    tc_publish_release(tmp2, fd2);
    assert_false(exists(".sw.tmp-dead00.lock"));
    free(tmp);
    free(tmp2);
}

static void avc_codec_strings(void **state)
{
    /* Annex B SPS: High (0x64), no constraints, level 3.1 (0x1f). */
    static const uint8_t annexb[] = {0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac};
    static const uint8_t avcc[] = {1, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0};
    static const uint8_t junk[] = {0, 0, 1, 0x65, 1, 2, 3, 4};
    char s[32];
    (void)state;

    assert_int_equal(tc_hls_avc_codecs(annexb, sizeof(annexb), s, sizeof(s)),
                     0);
    assert_string_equal(s, "avc1.64001f");
    assert_int_equal(tc_hls_avc_codecs(avcc, sizeof(avcc), s, sizeof(s)), 0);
    assert_string_equal(s, "avc1.4d401e");
    assert_int_equal(tc_hls_avc_codecs(junk, sizeof(junk), s, sizeof(s)),
                     YL_EINVAL);
}

static void measure_playlist(void **state)
{
    char dir[300];
    tc_hls_stats st;
    char big[1001];
    (void)state;

    snprintf(dir, sizeof(dir), "%s/m", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    memset(big, 'x', 1000);
    big[1000] = '\0';
    put(dir, "init.mp4", "");
    put(dir, "seg_00000.m4s", big);       /* 8000 bit / 4 s */
    put(dir, "seg_00001.m4s", big + 500); /* 4000 bit / 2 s */
    put(dir, "seg_00002.m4s", big + 900); /* 800 bit / 0.5 s */
    put(dir, "index.m3u8",
        "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n"
        "#EXTINF:4.000000,\nseg_00000.m4s\n"
        "#EXTINF:2.000000,\nseg_00001.m4s\n"
        "#EXTINF:0.500000,\nseg_00002.m4s\n"
        "#EXT-X-ENDLIST\n");
    assert_int_equal(tc_hls_measure(dir, &st), 0);
    assert_int_equal(st.n_segments, 3);
    assert_int_equal(st.bytes, 1600);
    assert_int_equal(st.avg_bps, 1969); /* 12800 bit / 6.5 s */
    /* Peak: 2000 bit/s; the 0.5 s tail (1600 bit/s) is left out. */
    assert_int_equal(st.peak_bps, 2000);
    put(dir, "index.m3u8", "#EXTM3U\n#EXTINF:4.0,\nmissing.m4s\n");
    assert_int_equal(tc_hls_measure(dir, &st), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(publish_new_then_refuse_then_force),
        cmocka_unit_test(commit_never_replaces_without_force),
        cmocka_unit_test(stale_temporary_directories_are_swept),
        cmocka_unit_test(avc_codec_strings),
        cmocka_unit_test(measure_playlist),
    };
    return cmocka_run_group_tests_name("tc_publish", tests, setup, teardown);
}
