/* fuzz_util.h - small helpers shared by the libFuzzer targets.
 * Threads: libFuzzer runs a target on one thread. */
#ifndef YL_FUZZ_UTIL_H
#define YL_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant failed: abort so libFuzzer saves the input as a crash.
 * assert() would vanish under NDEBUG (RelWithDebInfo). */
#define FZ_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Deterministic chunk sizes from the input itself, so a crash found with
 * one split replays exactly (xorshift over a seed taken from the data). */
typedef struct fz_split {
    uint64_t s;
} fz_split;

static inline void fz_split_init(fz_split *sp, const uint8_t *data, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    sp->s = h | 1;
}

/* Next chunk length in 1..max: mostly tiny, sometimes large, so every
 * boundary of a token gets crossed now and then. */
static inline size_t fz_split_next(fz_split *sp, size_t max)
{
    uint64_t x = sp->s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sp->s = x;
    if (max <= 1)
        return 1;
    if ((x & 3) == 0)
        return 1 + (size_t)((x >> 8) % max);
    return 1 + (size_t)((x >> 8) % (max < 8 ? max : 8));
}

/* An event log: the callbacks' calls in order, data runs coalesced, so a
 * parse fed whole and one fed in pieces can be compared. */
typedef struct fz_log {
    char *buf;
    size_t len, cap;
    int last; /* kind of the last record, for coalescing */
} fz_log;

static inline void fz_log_put(fz_log *l, const void *p, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;

        while (cap < l->len + n)
            cap *= 2;
        l->buf = realloc(l->buf, cap);
        FZ_CHECK(l->buf != NULL);
        l->cap = cap;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

/* Records an event of kind k (a letter) with data; data of the same kind
 * right after the last record extends it. */
static inline void fz_log_event(fz_log *l, int k, const void *p, size_t n,
                                int coalesce)
{
    if (!coalesce || l->last != k) {
        char tag[2] = {'\n', (char)k};

        fz_log_put(l, tag, 2);
    }
    if (n > 0)
        fz_log_put(l, p, n);
    l->last = coalesce ? k : 0;
}

static inline void fz_log_free(fz_log *l)
{
    free(l->buf);
    memset(l, 0, sizeof(*l));
}

#endif
