/* str_route.h - the route table: which handler answers a path and a
 * method. One row per endpoint and method set (Redis's command table,
 * nginx's location handlers); 404, 405 and its Allow: list, and the
 * /metrics label all follow from the table.
 *
 * Pure: no lws, no I/O; tests/streamer/test_str_units.c tests matching.
 * Threads: any (the table is constant). */
#ifndef YL_STR_ROUTE_H
#define YL_STR_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* Method bits of a row (enum str_method in str_internal.h, as 1 << m). */
#define STR_MB(m) (1u << (m))

/* Row flags. */
#define STR_RF_API                                                             \
    1u /* under /api/v1: catalog up, query checked, token read                 \
        * before the handler */
#define STR_RF_NO_COOKIE                                                       \
    2u /* the session cookie is not read (sign-in: who the caller was          \
        * does not matter, and no CSRF token is asked) */

typedef struct str_req str_req;

typedef struct str_route {
    /* Path pattern, '/'-separated segments: a literal, "{id}" (a decimal
     * id 1..2^62, into m->id), "{code}" (any one non-empty segment, into
     * m->arg), or a last segment "**" (the rest of the path, possibly
     * empty, into m->arg). */
    const char *pattern;
    unsigned methods; /* STR_MB(STR_M_GET) | ... */
    unsigned flags;   /* STR_RF_* */
    int (*handler)(str_req *r);
    /* For rows that read a JSON body: called once it is whole. */
    int (*body_done)(str_req *r);
    int metric; /* the /metrics route label (enum str_route_label) */
} str_route;

typedef struct str_route_match {
    const str_route *route; /* the row, or NULL */
    int64_t id;             /* {id} */
    const char *arg;        /* {code} or "**": points into the path */
    size_t arg_len;
    unsigned allowed; /* no row for this method: the methods that have one */
    const str_route *near; /* 405: the first row whose path matched */
} str_route_match;

/* Finds the row for path and method (an enum str_method): the first row
 * whose pattern and methods match. A row ending in "**" is a fallback: it
 * does not take a path that an earlier row matched for other methods.
 * Returns 0 with m->route set; 405 when the path matches rows of other
 * methods only (m->allowed holds theirs); 404 when no row matches. */
int str_route_find(const str_route *tab, size_t n, const char *path, int method,
                   str_route_match *m);

/* Writes the methods of mask as "GET, HEAD, POST" into buf. */
void str_route_allow(unsigned mask, char *buf, size_t len);

#endif
