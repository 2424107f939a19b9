/* tc_status.h - the first error of a transcode job, and the lesson clock
 * that paces audio renditions against the video.
 * Threads: every function here may be called from any job thread. */
#ifndef YL_TC_STATUS_H
#define YL_TC_STATUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* What went wrong, for the exit code and the JSON "code" field. */
enum tc_ekind {
    TC_EK_NONE = 0,
    TC_EK_USAGE,    /* bad command line: exit 64 */
    TC_EK_INPUT,    /* unreadable or corrupt input: exit 65 */
    TC_EK_OUTPUT,   /* cannot write the output: exit 73 */
    TC_EK_INTERNAL, /* our bug or out of memory: exit 70 */
    TC_EK_INTR,     /* SIGINT/SIGTERM: exit 130 */
};

/* Returns "usage", "input", "output", "internal", "interrupted" or "". */
const char *tc_ekind_name(int kind);

/* The first failure wins: later ones are usually consequences of it (a
 * worker that sees the abort flag, a muxer closed under it). */
typedef struct tc_status {
    pthread_mutex_t lock;
    atomic_bool abort; /* set on failure or cancel; workers poll it */
    int kind;          /* enum tc_ekind, under lock */
    int code;          /* negative yl/AVERROR code, under lock */
    char msg[512];     /* one line, "file: what is wrong", under lock */
} tc_status;

void tc_status_init(tc_status *st);
void tc_status_destroy(tc_status *st);
/* Records a failure (if it is the first) and sets abort. Returns code, so
 * callers can write `return tc_fail(...)`. code must be negative. */
int tc_fail(tc_status *st, int kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Replaces the recorded failure: for a cause found only afterwards that
 * explains the first one (a full disk behind "corrupt data" read back). */
void tc_status_replace(tc_status *st, int kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Copies the recorded failure; returns its kind (TC_EK_NONE if none). */
int tc_status_get(tc_status *st, int *code, char *msg, size_t len);
static inline bool tc_aborted(tc_status *st)
{
    return atomic_load(&st->abort);
}

/* The lesson clock: how far the master stream (video, or the first audio
 * stream of an audio-only lesson) has been decoded, and, once decoding
 * ended, the lesson's final duration. Audio renditions encode no sample
 * past it, so every rendition ends exactly where the video ends. */
typedef struct tc_clock {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t now_us;   /* under lock: decoded up to here */
    int64_t final_us; /* under lock: -1 until the master stream ended */
} tc_clock;

void tc_clock_init(tc_clock *c);
void tc_clock_destroy(tc_clock *c);
void tc_clock_advance(tc_clock *c, int64_t now_us);
void tc_clock_finish(tc_clock *c, int64_t final_us);
/* Returns the bound (final duration, or how far decoding got) and whether
 * it is final; with wait_until >= 0 first waits until now_us reaches it,
 * the clock is final, or st aborts (polled every 100 ms). */
int64_t tc_clock_bound(tc_clock *c, int64_t wait_until, tc_status *st,
                       bool *is_final);

/* Monotonic seconds, for progress and speed. */
double tc_now_s(void);

#endif
