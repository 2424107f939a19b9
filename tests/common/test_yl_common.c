#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "common/yl_buf.h"
#include "common/yl_fs.h"
#include "common/yl_log.h"
#include "common/yl_time.h"
#include "common/yl_utf8.h"

static void err_codes_are_distinct_and_named(void **state)
{
    char buf[128];
    (void)state;

    assert_true(YL_ENOVIDEO < 0);
    assert_int_not_equal(YL_ENOVIDEO, YL_ECORRUPT);
    assert_string_equal(yl_strerror(YL_EBADUTF8, buf, sizeof(buf)),
                        "text is not valid UTF-8");
    assert_string_equal(yl_strerror(-ENOENT, buf, sizeof(buf)),
                        "No such file or directory");
}

static void log_writes_one_line(void **state)
{
    char path[] = "/tmp/yl-log-XXXXXX";
    char buf[512];
    int fd = mkstemp(path);
    ssize_t n;
    (void)state;

    assert_true(fd >= 0);
    yl_log_set_fd(fd);
    yl_log_set_level(YL_LOG_INFO);
    YL_LOGE("tc", "open \"%s\" failed: %s\n", "a.mp4", "No such file");
    YL_LOGD("tc", "dropped");
    yl_log_set_fd(2);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(
        strstr(buf, "Z E tc open \"a.mp4\" failed: No such file\n"));
    assert_null(strstr(buf, "dropped"));
    assert_int_equal(strchr(buf, '\n') - buf + 1, n); /* exactly one line */
}

static void quiet(int on)
{
    static int null_fd = -1;

    if (on && null_fd < 0)
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    yl_log_set_fd(on && null_fd >= 0 ? null_fd : 2);
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

static void utf8_prefix_stops_inside_a_character(void **state)
{
    char cut[8];
    (void)state;

    assert_int_equal(yl_utf8_prefix(""), 0);
    assert_int_equal(yl_utf8_prefix("ascii"), 5);
    assert_int_equal(yl_utf8_prefix("云南"), 6);
    /* "云南" cut after 4 bytes: the second character is half there. */
    snprintf(cut, sizeof(cut), "%.4s", "云南");
    assert_int_equal(yl_utf8_prefix(cut), 3);
    assert_false(yl_utf8_valid(cut));
    cut[yl_utf8_prefix(cut)] = '\0';
    assert_true(yl_utf8_valid(cut));
    assert_string_equal(cut, "云");
}

static void atomic_write(void **state)
{
    char dir[] = "/tmp/yl_fs_XXXXXX", path[128], tmp[140];
    struct stat st;
    char *got;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/master.m3u8", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(yl_write_file_atomic(path, "old\n", 4), 0);
    assert_int_equal(yl_write_file_atomic(path, "#EXTM3U\n", 8), 0);
    got = slurp(path);
    assert_string_equal(got, "#EXTM3U\n");
    free(got);
    assert_int_equal(stat(tmp, &st), -1); /* no temporary left */
    assert_int_equal(yl_write_file_atomic(path, "", 0), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    /* The same without fsync (live playlists): replaced whole. */
    assert_int_equal(yl_write_file_replace(path, "#EXTM3U\n#1\n", 11), 0);
    got = slurp(path);
    assert_string_equal(got, "#EXTM3U\n#1\n");
    free(got);
    assert_int_equal(stat(tmp, &st), -1);
    unlink(path);

    /* A missing directory fails with -ENOENT and writes nothing. */
    quiet(1);
    snprintf(path, sizeof(path), "%s/nodir/master.m3u8", dir);
    assert_int_equal(yl_write_file_atomic(path, "x", 1), -ENOENT);
    /* A directory in the way of the rename: the temporary is removed. */
    snprintf(path, sizeof(path), "%s/busy", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(tmp, sizeof(tmp), "%s/x", path);
    assert_int_equal(mkdir(tmp, 0755), 0); /* non-empty: rename fails */
    assert_true(yl_write_file_atomic(path, "x", 1) < 0);
    quiet(0);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(stat(tmp, &st), -1);
    snprintf(tmp, sizeof(tmp), "%s/x", path);
    rmdir(tmp);
    rmdir(path);
    assert_int_equal(rmdir(dir), 0); /* empty: nothing else was left */
}

static void buf_grows_and_keeps_the_first_error(void **state)
{
    yl_buf b = YL_BUF_INIT;
    (void)state;

    assert_int_equal(yl_buf_put(&b, "ab", 2), 0);
    assert_int_equal(yl_buf_putc(&b, 'c'), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(yl_buf_printf(&b, "%04d", i), 0);
    assert_int_equal(b.len, 3 + 4000);
    assert_int_equal(b.s[b.len], '\0');
    assert_memory_equal(b.s, "abc0000", 7);
    assert_string_equal(b.s + b.len - 4, "0999");
    b.err = -ENOMEM; /* sticky: later appends change nothing */
    assert_int_equal(yl_buf_put(&b, "x", 1), -ENOMEM);
    assert_int_equal(yl_buf_printf(&b, "%d", 1), -ENOMEM);
    assert_int_equal(b.len, 4003);
    yl_buf_free(&b);
    assert_null(b.s);
    assert_int_equal(b.err, 0);
}

static void rmtree_and_mkdirs(void **state)
{
    char dir[] = "/tmp/yl_fs_XXXXXX", p[128], q[160];
    struct stat st;
    int fd;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/a/b/c", dir);
    assert_int_equal(yl_mkdirs(p), 0);
    assert_int_equal(yl_mkdirs(p), 0); /* exists: fine */
    snprintf(q, sizeof(q), "%s/f", p);
    fd = open(q, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    /* A symlink out of the tree is removed, not followed. */
    snprintf(q, sizeof(q), "%s/a/link", dir);
    assert_int_equal(symlink("/tmp", q), 0);
    snprintf(p, sizeof(p), "%s/a", dir);
    assert_int_equal(yl_rmtree(p), 0);
    assert_int_equal(stat(p, &st), -1);
    assert_int_equal(stat("/tmp", &st), 0);
    assert_int_equal(yl_rmtree(p), 0); /* gone already: fine */
    assert_int_equal(yl_mkdirs(""), -ENAMETOOLONG);
    assert_int_equal(rmdir(dir), 0);
}

static void timed_wait_times_out(void **state)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    int64_t t0;
    (void)state;

    yl_cond_init_mono(&c);
    t0 = yl_mono_ms();
    pthread_mutex_lock(&m);
    while (yl_timed_wait_ms(&c, &m, 30) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&m);
    assert_true(yl_mono_ms() - t0 >= 29);
    pthread_cond_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_codes_are_distinct_and_named),
        cmocka_unit_test(log_writes_one_line),
        cmocka_unit_test(atomic_write),
        cmocka_unit_test(utf8_prefix_stops_inside_a_character),
        cmocka_unit_test(buf_grows_and_keeps_the_first_error),
        cmocka_unit_test(rmtree_and_mkdirs),
        cmocka_unit_test(timed_wait_times_out),
    };
    return cmocka_run_group_tests_name("yl_common", tests, NULL, NULL);
}
