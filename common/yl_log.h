/* yl_log.h - one-line, thread-safe logging for every module.
 * Any thread may call yl_log(); each line leaves in one write(2). */
#ifndef YL_LOG_H
#define YL_LOG_H

#include <stdarg.h>

enum yl_log_level {
    YL_LOG_ERR = 0,
    YL_LOG_WARN = 1,
    YL_LOG_INFO = 2,
    YL_LOG_DEBUG = 3,
};

/* Lines above this level are dropped. Default YL_LOG_INFO, or the value of
 * the environment variable YL_LOG (err|warn|info|debug) read at first use. */
void yl_log_set_level(int level);
int yl_log_get_level(void);
/* Log to this file descriptor (default 2, stderr). */
void yl_log_set_fd(int fd);

/* Formats "2026-05-01T10:00:00.123Z E mod message\n" and writes it once. */
void yl_log(int level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void yl_logv(int level, const char *mod, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define YL_LOGE(mod, ...) yl_log(YL_LOG_ERR, mod, __VA_ARGS__)
#define YL_LOGW(mod, ...) yl_log(YL_LOG_WARN, mod, __VA_ARGS__)
#define YL_LOGI(mod, ...) yl_log(YL_LOG_INFO, mod, __VA_ARGS__)
#define YL_LOGD(mod, ...) yl_log(YL_LOG_DEBUG, mod, __VA_ARGS__)

#endif
