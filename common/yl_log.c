/* yl_log.c - see yl_log.h. */
#include "common/yl_log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = -1; /* -1: not read from YL_LOG yet */
static atomic_int log_fd = 2;

static int level_from_env(void)
{
    const char *v = getenv("YL_LOG");

    if (v == NULL)
        return YL_LOG_INFO;
    if (strcasecmp(v, "err") == 0 || strcasecmp(v, "error") == 0)
        return YL_LOG_ERR;
    if (strcasecmp(v, "warn") == 0)
        return YL_LOG_WARN;
    if (strcasecmp(v, "debug") == 0)
        return YL_LOG_DEBUG;
    return YL_LOG_INFO;
}

void yl_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int yl_log_get_level(void)
{
    int l = atomic_load(&log_level);

    if (l < 0) {
        l = level_from_env();
        atomic_store(&log_level, l);
    }
    return l;
}

void yl_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

void yl_logv(int level, const char *mod, const char *fmt, va_list ap)
{
    static const char letters[] = "EWID";
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;

    if (level > yl_log_get_level())
        return;
    if (level < 0)
        level = 0;
    if (level > YL_LOG_DEBUG)
        level = YL_LOG_DEBUG;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %c %s ",
                 ts.tv_nsec / 1000000, letters[level], mod ? mod : "-");
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    /* One line, one newline: strip what the caller ended with. */
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    {
        int saved = errno;
        ssize_t w = write(atomic_load(&log_fd), line, n);
        (void)w;
        errno = saved;
    }
}

void yl_log(int level, const char *mod, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    yl_logv(level, mod, fmt, ap);
    va_end(ap);
}
