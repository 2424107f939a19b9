/* tc_status.c - see tc_status.h. */
#include "transcode/tc_status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/yl_time.h"

const char *tc_ekind_name(int kind)
{
    switch (kind) {
    case TC_EK_USAGE:
        return "usage";
    case TC_EK_INPUT:
        return "input";
    case TC_EK_OUTPUT:
        return "output";
    case TC_EK_INTERNAL:
        return "internal";
    case TC_EK_INTR:
        return "interrupted";
    default:
        return "";
    }
}

void tc_status_init(tc_status *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_init(&st->lock, NULL);
    atomic_init(&st->abort, false);
}

void tc_status_destroy(tc_status *st)
{
    pthread_mutex_destroy(&st->lock);
}

int tc_fail(tc_status *st, int kind, int code, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&st->lock);
    if (st->kind == TC_EK_NONE) {
        st->kind = kind;
        st->code = code;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
        va_end(ap);
        /* One line: the message may quote a file name or a libav reason. */
        for (char *p = st->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    pthread_mutex_unlock(&st->lock);
    atomic_store(&st->abort, true);
    return code;
}

void tc_status_replace(tc_status *st, int kind, int code, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&st->lock);
    st->kind = kind;
    st->code = code;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
    va_end(ap);
    for (char *p = st->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    pthread_mutex_unlock(&st->lock);
    atomic_store(&st->abort, true);
}

int tc_status_get(tc_status *st, int *code, char *msg, size_t len)
{
    int kind;

    pthread_mutex_lock(&st->lock);
    kind = st->kind;
    if (code)
        *code = st->code;
    if (msg && len)
        snprintf(msg, len, "%s", st->msg);
    pthread_mutex_unlock(&st->lock);
    return kind;
}

void tc_clock_init(tc_clock *c)
{
    pthread_mutex_init(&c->lock, NULL);
    yl_cond_init_mono(&c->cond); /* monotonic deadlines (see below) */
    c->now_us = 0;
    c->final_us = -1;
}

void tc_clock_destroy(tc_clock *c)
{
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
}

void tc_clock_advance(tc_clock *c, int64_t now_us)
{
    pthread_mutex_lock(&c->lock);
    if (now_us > c->now_us) {
        c->now_us = now_us;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
}

void tc_clock_finish(tc_clock *c, int64_t final_us)
{
    pthread_mutex_lock(&c->lock);
    c->final_us = final_us < 0 ? 0 : final_us;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

int64_t tc_clock_bound(tc_clock *c, int64_t wait_until, tc_status *st,
                       bool *is_final)
{
    int64_t bound;

    pthread_mutex_lock(&c->lock);
    while (wait_until >= 0 && c->final_us < 0 && c->now_us < wait_until &&
           !tc_aborted(st)) {
        /* Monotonic: a wall clock set back would stretch these 100 ms
         * (the abort check) by as much. */
        yl_timed_wait_ms(&c->cond, &c->lock, 100);
    }
    *is_final = c->final_us >= 0;
    bound = *is_final ? c->final_us : c->now_us;
    pthread_mutex_unlock(&c->lock);
    return bound;
}

double tc_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
