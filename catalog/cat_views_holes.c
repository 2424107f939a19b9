/* cat_views_holes.c - the seqs a viewing session never received (see
 * vsess in cat_views_internal.h): pure, no DB; the writer thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_views_internal.h"

/* Full: the lowest range is forgotten (see vhole). */
static void holes_drop_lowest(vsess *s)
{
    memmove(s->holes, s->holes + 1, (size_t)(s->nholes - 1) * sizeof(vhole));
    s->nholes--;
}

/* Adds a..b above every existing hole; the lowest goes when full. */
void cat_holes_add(vsess *s, int64_t a, int64_t b)
{
    if (a > b)
        return;
    if (s->nholes == HOLES_MAX)
        holes_drop_lowest(s);
    s->holes[s->nholes].a = a;
    s->holes[s->nholes].b = b;
    s->nholes++;
}

/* True when seq lies in a hole, which it then leaves. */
bool cat_holes_take(vsess *s, int64_t seq)
{
    for (int i = 0; i < s->nholes; i++) {
        vhole *h = &s->holes[i];

        if (seq < h->a || seq > h->b)
            continue;
        if (h->a == h->b) {
            memmove(h, h + 1, (size_t)(s->nholes - i - 1) * sizeof(vhole));
            s->nholes--;
        } else if (seq == h->a) {
            h->a++;
        } else if (seq == h->b) {
            h->b--;
        } else {
            vhole hi = {seq + 1, h->b};

            h->b = seq - 1;
            if (s->nholes == HOLES_MAX) {
                holes_drop_lowest(s);
                i--;
            }
            memmove(&s->holes[i + 2], &s->holes[i + 1],
                    (size_t)(s->nholes - i - 1) * sizeof(vhole));
            s->holes[i + 1] = hi;
            s->nholes++;
        }
        return true;
    }
    return false;
}

static int hole_cmp(const void *x, const void *y)
{
    const vhole *a = x, *b = y;

    return a->a < b->a ? -1 : a->a > b->a;
}

/* "a-b,c-d" (the sessions.holes column; NULL or "" for none), in any
 * order and of any length. Malformed parts are skipped; the highest
 * HOLES_MAX ranges are kept. */
void cat_holes_parse(vsess *s, const char *txt)
{
    s->nholes = 0;
    while (txt != NULL && *txt != '\0') {
        long long a, b;
        int used = 0;

        if (sscanf(txt, "%lld-%lld%n", &a, &b, &used) == 2 && used > 0 &&
            a >= 0 && a <= b && b < s->last_seq) {
            /* keep the highest: replace the lowest kept when full */
            if (s->nholes < HOLES_MAX) {
                s->holes[s->nholes].a = a;
                s->holes[s->nholes].b = b;
                s->nholes++;
                qsort(s->holes, (size_t)s->nholes, sizeof(vhole), hole_cmp);
            } else if (a > s->holes[0].a) {
                s->holes[0].a = a;
                s->holes[0].b = b;
                qsort(s->holes, (size_t)s->nholes, sizeof(vhole), hole_cmp);
            }
        }
        txt = strchr(txt, ',');
        if (txt != NULL)
            txt++;
    }
}

/* The column's text, or NULL when there is no hole. */
const char *cat_holes_format(const vsess *s, char *buf, size_t len)
{
    size_t o = 0;

    if (s->nholes == 0)
        return NULL;
    for (int i = 0; i < s->nholes && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld-%lld", i ? "," : "",
                              (long long)s->holes[i].a,
                              (long long)s->holes[i].b);
    return buf;
}
