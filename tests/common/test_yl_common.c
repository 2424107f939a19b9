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
#include <unistd.h>

#include "common/yl_err.h"
#include "common/yl_log.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_codes_are_distinct_and_named),
        cmocka_unit_test(log_writes_one_line),
    };
    return cmocka_run_group_tests_name("yl_common", tests, NULL, NULL);
}
