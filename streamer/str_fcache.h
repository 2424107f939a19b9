/* str_fcache.h - small HLS files kept in memory: media playlists, WebVTT,
 * init segments and the short segments of audio-only rungs, which every
 * player re-reads and which never change once a lesson is published.
 *
 * A hit costs no system call: no openat2 path walk, no fstat, pread or
 * close (on loopback these were a fifth of a playlist response's CPU). An
 * entry is trusted for STR_FCACHE_TTL_US after it was last checked against
 * the file (same inode, size and mtime, through the same path-safe open);
 * only files unchanged for STR_FCACHE_SETTLED_S seconds are taken in, so a
 * playlist that is still being rewritten (live) is always read afresh.
 * Least recently used entries leave first when the byte budget is full.
 * Service thread only. */
#ifndef YL_STR_FCACHE_H
#define YL_STR_FCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "streamer/str_httputil.h"

#define STR_FCACHE_TTL_US    (1000 * 1000)
#define STR_FCACHE_SETTLED_S 2

typedef struct str_fcache str_fcache;

/* What a hit gives: the file as it was read, and its validators. */
typedef struct str_fview {
    struct stat st;
    char etag[STR_ETAG_MAX];
    char lastmod[STR_HTTP_DATE_MAX];
    const char *data; /* len bytes, owned by the cache */
    size_t len;
} str_fview;

/* max_bytes: budget for all contents; max_file: largest file taken. NULL
 * when out of memory. */
str_fcache *str_fcache_new(size_t max_bytes, size_t max_file);
void str_fcache_free(str_fcache *c);

/* The entry for key (a path relative to its root), or NULL. *stale is set
 * when it was last checked more than STR_FCACHE_TTL_US before now_us (a
 * monotonic clock, e.g. lws_now_usecs()): the
 * caller checks the file and calls str_fcache_checked() or
 * str_fcache_drop(). The view lives until the next put or drop. */
const str_fview *str_fcache_get(str_fcache *c, const char *key, int64_t now_us,
                                bool *stale);
void str_fcache_checked(str_fcache *c, const str_fview *v, int64_t now_us);

/* Whether a file with this stat would be taken in at wall-clock time now
 * (small enough, regular, unchanged for STR_FCACHE_SETTLED_S). */
bool str_fcache_wants(const str_fcache *c, const struct stat *st, time_t now);

/* Takes in a copy of a whole file (replacing any entry for key) read at
 * now_us (monotonic, as for str_fcache_get) and now (wall clock, compared
 * with the file's mtime). 0 or -ENOMEM; a file the cache does not want is
 * ignored (0). */
int str_fcache_put(str_fcache *c, const char *key, const struct stat *st,
                   const char *data, size_t len, int64_t now_us, time_t now);

void str_fcache_drop(str_fcache *c, const char *key);
/* Drops every key starting with prefix (a deleted lesson's "42/"). */
void str_fcache_drop_prefix(str_fcache *c, const char *prefix);

/* Counters for /metrics. */
uint64_t str_fcache_hits(const str_fcache *c);
size_t str_fcache_bytes(const str_fcache *c);

/* Same file as when it was cached: device, inode, size and mtime. */
bool str_fcache_same(const struct stat *a, const struct stat *b);

#endif
