/* str_fanout.c - see str_fanout.h. */
#include "streamer/str_fanout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

str_fbuf *str_fbuf_new(const void *data, size_t len, int prio, int binary)
{
    str_fbuf *b = malloc(sizeof(*b) + STR_FAN_PRE + len + 1);

    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->prio = prio;
    b->binary = binary;
    b->len = len;
    if (data != NULL && len > 0)
        memcpy(b->mem + STR_FAN_PRE, data, len);
    else if (len > 0)
        memset(b->mem + STR_FAN_PRE, 0, len); /* the caller fills it */
    b->mem[STR_FAN_PRE + len] = '\0';
    return b;
}

str_fbuf *str_fbuf_ref(str_fbuf *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

void str_fbuf_unref(str_fbuf *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

int str_fanq_init(str_fanq *q, unsigned max_n, size_t max_bytes)
{
    memset(q, 0, sizeof(*q));
    if (max_n == 0)
        max_n = 1;
    q->ring = calloc(max_n, sizeof(*q->ring));
    if (q->ring == NULL)
        return -ENOMEM;
    q->cap = max_n;
    q->max_bytes = max_bytes;
    return 0;
}

void str_fanq_fini(str_fanq *q)
{
    while (q->n > 0)
        str_fanq_pop(q);
    free(q->ring);
    q->ring = NULL;
    q->cap = 0;
}

str_fbuf *str_fanq_peek(const str_fanq *q)
{
    return q->n > 0 ? q->ring[q->head] : NULL;
}

void str_fanq_pop(str_fanq *q)
{
    str_fbuf *b;

    if (q->n == 0)
        return;
    b = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->n--;
    q->bytes -= b->len;
    str_fbuf_unref(b);
}

unsigned str_fanq_trim(str_fanq *q)
{
    unsigned n = 0;

    while (q->n > 1) {
        unsigned at = (q->head + q->n - 1) % q->cap;

        q->bytes -= q->ring[at]->len;
        str_fbuf_unref(q->ring[at]);
        q->ring[at] = NULL;
        q->n--;
        n++;
    }
    q->dropped += n;
    return n;
}

static bool fits(const str_fanq *q, const str_fbuf *b)
{
    return q->n < q->cap && q->bytes + b->len <= q->max_bytes;
}

/* Removes the oldest low-priority entry other than the head (which may be
 * half written by its connection). false when there is none. */
static bool drop_oldest_low(str_fanq *q)
{
    unsigned i, k, at;

    for (i = 1; i < q->n; i++) {
        at = (q->head + i) % q->cap;
        if (q->ring[at]->prio != STR_FAN_LOW)
            continue;
        q->bytes -= q->ring[at]->len;
        str_fbuf_unref(q->ring[at]);
        /* Close the gap: move the later entries one step forward. */
        for (k = i; k + 1 < q->n; k++)
            q->ring[(q->head + k) % q->cap] =
                q->ring[(q->head + k + 1) % q->cap];
        q->ring[(q->head + q->n - 1) % q->cap] = NULL;
        q->n--;
        q->dropped++;
        return true;
    }
    return false;
}

int str_fanq_push(str_fanq *q, str_fbuf *b)
{
    if (q->ring == NULL)
        return STR_FANQ_NOMEM;
    if (!fits(q, b)) {
        if (b->prio == STR_FAN_LOW) {
            q->dropped++;
            return STR_FANQ_DROPPED;
        }
        while (!fits(q, b) && drop_oldest_low(q))
            ;
        if (!fits(q, b))
            return STR_FANQ_OVERFLOW;
    }
    q->ring[(q->head + q->n) % q->cap] = str_fbuf_ref(b);
    q->n++;
    q->bytes += b->len;
    return STR_FANQ_OK;
}
