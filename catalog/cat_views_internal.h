/* cat_views_internal.h - what the files of the views module share
 * (cat_views.c: validate, apply and flush on the writer thread;
 * cat_views_parse.c: parsing events, any thread; cat_views_holes.c: a
 * session's missing seqs). Inside catalog/ only; catalog/cat_views.h is
 * the public header. */
#ifndef YL_CAT_VIEWS_INTERNAL_H
#define YL_CAT_VIEWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "catalog/cat_views.h"

#define SKEY_MAX  128
#define HOLES_MAX 8 /* ranges of missing seqs kept per session */

enum { KIND_START = 0, KIND_BEAT = 1, KIND_END = 2 };

typedef struct view_ev {
    char skey[SKEY_MAX + 1];
    uint64_t khash;
    int64_t seq;
    int64_t site_id;
    int64_t lesson;  /* 0 for an event of kind live */
    int64_t meeting; /* kind live (cat_attend.c): the meeting, else 0 */
    int kind;
    double pos;
    int64_t ts; /* -1: absent */
    int64_t recv_ms;
    char audio[24];
    char rendition[24];
    char client[8];
    char addr[48]; /* the client's network address, "" when unknown */
} view_ev;

struct cat_view_batch {
    int n;
    view_ev *ev;
};

/* Copies a string, cut to fit: per event on the ingest and writer paths,
 * where snprintf("%s") cost more than the SQLite calls around it. */
static inline void scopy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Idempotence on (session, seq) without an index on it: a session knows
 * the highest seq it stored (last_seq) and the ranges below it that never
 * arrived (holes). An event above last_seq is new; one below is new only
 * if it fills a hole, else a duplicate. A client sends its events in seq
 * order, so holes are rare; at most HOLES_MAX ranges are kept (the lowest
 * is forgotten first: a seq from it arriving later counts as a
 * duplicate). view_events is then written in arrival order, so a
 * transaction of events from many sessions fills a few pages instead of
 * one B-tree leaf per session. */
typedef struct vhole {
    int64_t a, b; /* a..b inclusive */
} vhole;

typedef struct vsess {
    struct vsess *chain; /* same key hash */
    char skey[SKEY_MAX + 1];
    int64_t id, site_id, lesson;
    int64_t start_ms, last_ms, last_seq, last_clock;
    vhole holes[HOLES_MAX]; /* ascending, disjoint, below last_seq */
    int nholes;
    double watched, furthest;
    double claimed; /* sum of what its events claimed (>= watched) */
    double backlog; /* drawn from its station's backlog (vsite) */
    int ended, completed, capped;
    char client[8], audio[24], rendition[24];
    char addr[48];
    bool dirty;   /* row needs an UPDATE at flush */
    bool touched; /* got an accepted event: tell the active view */
    bool isnew;   /* not in the table yet: INSERT at flush */
} vsess;

/* ---- holes (cat_views_holes.c): pure, no DB ---- */

/* Adds a..b above every existing hole; the lowest goes when full. */
void cat_holes_add(vsess *s, int64_t a, int64_t b);
/* True when seq lies in a hole, which it then leaves. */
bool cat_holes_take(vsess *s, int64_t seq);
/* Reads the sessions.holes column (see cat_views_holes.c). */
void cat_holes_parse(vsess *s, const char *txt);
/* The column's text, or NULL when there is no hole. */
const char *cat_holes_format(const vsess *s, char *buf, size_t len);

#endif
