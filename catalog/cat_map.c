/* cat_map.c - open-addressing hash map with uint64 keys (linear probing,
 * backward-shift deletion). Not thread-safe: one owner. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"

/* Key 0 is allowed: slot occupancy is vals[i] != NULL, so values must be
 * non-NULL. */
static size_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return (size_t)k;
}

uint64_t cat_hash_str(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, then mixed */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return (uint64_t)mix(h);
}

void cat_map_init(cat_map *m)
{
    memset(m, 0, sizeof(*m));
}

void cat_map_fini(cat_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

void cat_map_clear(cat_map *m)
{
    if (m->cap == 0)
        return;
    memset(m->vals, 0, m->cap * sizeof(*m->vals));
    m->len = 0;
}

void *cat_map_get(const cat_map *m, uint64_t key)
{
    size_t mask, i;

    if (m->cap == 0)
        return NULL;
    mask = m->cap - 1;
    for (i = mix(key) & mask; m->vals[i] != NULL; i = (i + 1) & mask)
        if (m->keys[i] == key)
            return m->vals[i];
    return NULL;
}

static int grow(cat_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    uint64_t *nk = calloc(ncap, sizeof(*nk));
    void **nv = calloc(ncap, sizeof(*nv));

    if (nk == NULL || nv == NULL) {
        free(nk);
        free(nv);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (m->vals[i] == NULL)
            continue;
        for (j = mix(m->keys[i]) & (ncap - 1); nv[j] != NULL;
             j = (j + 1) & (ncap - 1))
            ;
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return 0;
}

int cat_map_put(cat_map *m, uint64_t key, void *val)
{
    size_t mask, i;

    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -ENOMEM;
    mask = m->cap - 1;
    for (i = mix(key) & mask; m->vals[i] != NULL; i = (i + 1) & mask) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return 0;
        }
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return 0;
}

void *cat_map_del(cat_map *m, uint64_t key)
{
    size_t mask, i, j;
    void *old;

    if (m->cap == 0)
        return NULL;
    mask = m->cap - 1;
    for (i = mix(key) & mask; m->vals[i] != NULL; i = (i + 1) & mask)
        if (m->keys[i] == key)
            break;
    if (m->vals[i] == NULL)
        return NULL;
    old = m->vals[i];
    m->vals[i] = NULL;
    m->len--;
    /* Backward shift: move later entries of the run into the hole. */
    for (j = (i + 1) & mask; m->vals[j] != NULL; j = (j + 1) & mask) {
        size_t home = mix(m->keys[j]) & mask;
        /* entry at j may move to i if home is not in (i, j] cyclically */
        if ((j > i && (home <= i || home > j)) ||
            (j < i && (home <= i && home > j))) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->vals[j] = NULL;
            i = j;
        }
    }
    return old;
}

bool cat_map_next(const cat_map *m, size_t *i, uint64_t *key, void **val)
{
    for (; *i < m->cap; (*i)++) {
        if (m->vals[*i] != NULL) {
            *key = m->keys[*i];
            *val = m->vals[*i];
            (*i)++;
            return true;
        }
    }
    return false;
}
