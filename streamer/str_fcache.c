/* str_fcache.c - see str_fcache.h. A chained hash table of entries that
 * also sit on one least-recently-used list. */
#include "streamer/str_fcache.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fent {
    str_fview v; /* v.data points into this allocation */
    char *key;   /* owned */
    uint64_t hash;
    int64_t checked_us;
    struct fent *hnext;         /* bucket chain */
    struct fent *newer, *older; /* LRU list */
};

struct str_fcache {
    struct fent **buckets;
    size_t n_buckets; /* power of two */
    size_t n;
    size_t bytes, max_bytes, max_file;
    struct fent *newest, *oldest;
    uint64_t hits;
};

static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

str_fcache *str_fcache_new(size_t max_bytes, size_t max_file)
{
    str_fcache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->n_buckets = 1024;
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes;
    c->max_file = max_file;
    return c;
}

static void lru_unlink(str_fcache *c, struct fent *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(str_fcache *c, struct fent *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (c->oldest == NULL)
        c->oldest = e;
}

static struct fent **slot_of(str_fcache *c, const char *key, uint64_t h)
{
    struct fent **p = &c->buckets[h & (c->n_buckets - 1)];

    while (*p != NULL && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
        p = &(*p)->hnext;
    return p;
}

static void remove_at(str_fcache *c, struct fent **p)
{
    struct fent *e = *p;

    *p = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->v.len;
    c->n--;
    free(e->key);
    free(e);
}

void str_fcache_drop(str_fcache *c, const char *key)
{
    struct fent **p = slot_of(c, key, hash_of(key));

    if (*p != NULL)
        remove_at(c, p);
}

void str_fcache_drop_prefix(str_fcache *c, const char *prefix)
{
    size_t n = strlen(prefix), b;

    for (b = 0; b < c->n_buckets; b++) {
        struct fent **p = &c->buckets[b];

        while (*p != NULL) {
            if (strncmp((*p)->key, prefix, n) == 0)
                remove_at(c, p);
            else
                p = &(*p)->hnext;
        }
    }
}

void str_fcache_free(str_fcache *c)
{
    size_t b;

    if (c == NULL)
        return;
    for (b = 0; b < c->n_buckets; b++)
        while (c->buckets[b] != NULL)
            remove_at(c, &c->buckets[b]);
    free(c->buckets);
    free(c);
}

const str_fview *str_fcache_get(str_fcache *c, const char *key, int64_t now_us,
                                bool *stale)
{
    struct fent *e = *slot_of(c, key, hash_of(key));

    if (e == NULL)
        return NULL;
    *stale = now_us - e->checked_us > STR_FCACHE_TTL_US;
    if (!*stale)
        c->hits++;
    if (c->newest != e) {
        lru_unlink(c, e);
        lru_push(c, e);
    }
    return &e->v;
}

void str_fcache_checked(str_fcache *c, const str_fview *v, int64_t now_us)
{
    struct fent *e = (struct fent *)(void *)((char *)(uintptr_t)v -
                                             offsetof(struct fent, v));

    e->checked_us = now_us;
    c->hits++;
}

bool str_fcache_same(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

bool str_fcache_wants(const str_fcache *c, const struct stat *st, time_t now)
{
    return S_ISREG(st->st_mode) && st->st_size >= 0 &&
           (size_t)st->st_size <= c->max_file &&
           (size_t)st->st_size <= c->max_bytes &&
           st->st_mtim.tv_sec + STR_FCACHE_SETTLED_S <= now;
}

static int grow(str_fcache *c)
{
    size_t nb = c->n_buckets * 2, b;
    struct fent **nt = calloc(nb, sizeof(*nt));

    if (nt == NULL)
        return -ENOMEM;
    for (b = 0; b < c->n_buckets; b++) {
        struct fent *e = c->buckets[b], *next;

        for (; e != NULL; e = next) {
            next = e->hnext;
            e->hnext = nt[e->hash & (nb - 1)];
            nt[e->hash & (nb - 1)] = e;
        }
    }
    free(c->buckets);
    c->buckets = nt;
    c->n_buckets = nb;
    return 0;
}

int str_fcache_put(str_fcache *c, const char *key, const struct stat *st,
                   const char *data, size_t len, int64_t now_us, time_t now)
{
    uint64_t h = hash_of(key);
    struct fent **p, *e;

    if (!str_fcache_wants(c, st, now) || len != (size_t)st->st_size)
        return 0;
    p = slot_of(c, key, h);
    if (*p != NULL)
        remove_at(c, p);
    while (c->bytes + len > c->max_bytes && c->oldest != NULL)
        str_fcache_drop(c, c->oldest->key);
    if (c->n >= c->n_buckets && grow(c) < 0)
        return -ENOMEM;
    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return -ENOMEM;
    memset(e, 0, sizeof(*e));
    e->key = strdup(key);
    if (e->key == NULL) {
        free(e);
        return -ENOMEM;
    }
    e->hash = h;
    e->checked_us = now_us;
    e->v.st = *st;
    str_etag_make(st, e->v.etag, sizeof(e->v.etag));
    str_http_date(st->st_mtim.tv_sec, e->v.lastmod, sizeof(e->v.lastmod));
    memcpy((char *)(e + 1), data, len);
    ((char *)(e + 1))[len] = '\0';
    e->v.data = (const char *)(e + 1);
    e->v.len = len;
    p = &c->buckets[h & (c->n_buckets - 1)];
    e->hnext = *p;
    *p = e;
    lru_push(c, e);
    c->n++;
    c->bytes += len;
    return 0;
}

uint64_t str_fcache_hits(const str_fcache *c)
{
    return c->hits;
}

size_t str_fcache_bytes(const str_fcache *c)
{
    return c->bytes;
}
