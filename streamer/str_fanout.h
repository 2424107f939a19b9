/* str_fanout.h - one message, many connections: a reference-counted
 * buffer encoded once (with the room lws_write() needs in front of it) and
 * shared by reference by any number of bounded per-connection queues
 * (nginx-rtmp's shared buffers). A notice to 16,000 villages is one
 * allocation, not 16,000; a live packet to 1,000 viewers likewise.
 *
 * Threads: a buffer may be made on any thread and its references dropped
 * on any thread (the count is atomic); a queue belongs to one thread (the
 * service thread, for a connection's queue). */
#ifndef YL_STR_FANOUT_H
#define YL_STR_FANOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room before the payload for lws_write() (LWS_PRE in lws 4.1.6 is 16;
 * str_server.c checks that it is not larger). */
#define STR_FAN_PRE 16

enum str_fan_prio {
    STR_FAN_LOW,  /* may be dropped when a queue is full (stats deltas,
                   * presence, video packets before a keyframe) */
    STR_FAN_HIGH, /* never dropped: a full queue closes the connection
                   * (notices, meeting start, acknowledgements) */
};

typedef struct str_fbuf {
    atomic_int refs;
    int prio;            /* enum str_fan_prio */
    int binary;          /* 0 text frame, 1 binary */
    size_t len;          /* payload bytes */
    unsigned char mem[]; /* STR_FAN_PRE + len (+1: a NUL after text) */
} str_fbuf;

/* A buffer holding a copy of len bytes of data (zeroes when data is NULL,
 * for the caller to fill), one reference (the caller's), or NULL (no
 * memory). */
str_fbuf *str_fbuf_new(const void *data, size_t len, int prio, int binary);
/* Takes another reference; returns b. */
str_fbuf *str_fbuf_ref(str_fbuf *b);
/* Drops a reference; the last one frees. NULL is a no-op. Any thread. */
void str_fbuf_unref(str_fbuf *b);
/* The payload (writable, with STR_FAN_PRE bytes of room before it). */
static inline unsigned char *str_fbuf_data(str_fbuf *b)
{
    return b->mem + STR_FAN_PRE;
}

/* A bounded queue of buffer references: at most max_n entries and
 * max_bytes payload bytes. */
typedef struct str_fanq {
    str_fbuf **ring;
    unsigned cap, head, n;
    size_t bytes, max_bytes;
    uint64_t dropped; /* low-priority entries dropped for room */
} str_fanq;

enum str_fanq_push {
    STR_FANQ_OK = 0,        /* queued (older low entries may have been
                             * dropped for it: see dropped) */
    STR_FANQ_DROPPED = 1,   /* a low-priority b, not queued: no room */
    STR_FANQ_OVERFLOW = -1, /* not queued: the reader is too slow; close
                             * its connection (never let it grow) */
    STR_FANQ_NOMEM = -2,
};

/* 0, or -ENOMEM. */
int str_fanq_init(str_fanq *q, unsigned max_n, size_t max_bytes);
/* Drops every entry and frees the ring. */
void str_fanq_fini(str_fanq *q);
/* Queues a new reference to b. When full: a low-priority b is not queued
 * (STR_FANQ_DROPPED); a high one first drops the oldest low-priority
 * entries (never the head, which its connection may be writing) until it
 * fits, else STR_FANQ_OVERFLOW. */
int str_fanq_push(str_fanq *q, str_fbuf *b);
/* The oldest entry (borrowed), or NULL. */
str_fbuf *str_fanq_peek(const str_fanq *q);
/* Drops the oldest entry (its reference). */
void str_fanq_pop(str_fanq *q);
/* Drops every entry but the head (which its connection may be writing):
 * a live viewer that skips to a keyframe sheds its backlog. Returns how
 * many went (counted in dropped). */
unsigned str_fanq_trim(str_fanq *q);

#endif
