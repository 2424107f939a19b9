/* str_route.c - see str_route.h. */
#include "streamer/str_route.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "streamer/str_internal.h"

/* Matches one segment pattern [p, pe) against [s, se). */
static bool seg_match(const char *p, size_t pl, const char *s, size_t sl,
                      str_route_match *m)
{
    if (pl == 4 && memcmp(p, "{id}", 4) == 0) {
        int64_t v = 0;
        size_t i;

        if (sl == 0 || sl > 18)
            return false;
        for (i = 0; i < sl; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            v = v * 10 + (s[i] - '0');
        }
        if (v <= 0)
            return false;
        m->id = v;
        return true;
    }
    if (pl == 6 && memcmp(p, "{code}", 6) == 0) {
        if (sl == 0)
            return false;
        m->arg = s;
        m->arg_len = sl;
        return true;
    }
    return pl == sl && memcmp(p, s, sl) == 0;
}

/* Whether path matches pattern; fills m's id/arg. */
static bool path_match(const char *pat, const char *path, str_route_match *m)
{
    const char *p = pat, *s = path;

    m->id = 0;
    m->arg = NULL;
    m->arg_len = 0;
    if (*p != '/' || *s != '/')
        return false;
    for (;;) {
        const char *pe, *se;

        p++;
        s++;
        if (strcmp(p, "**") == 0) {
            m->arg = s;
            m->arg_len = strlen(s);
            return true;
        }
        pe = strchr(p, '/');
        se = strchr(s, '/');
        if (pe == NULL)
            pe = p + strlen(p);
        if (se == NULL)
            se = s + strlen(s);
        if (!seg_match(p, (size_t)(pe - p), s, (size_t)(se - s), m))
            return false;
        if (*pe == '\0' || *se == '\0')
            return *pe == '\0' && *se == '\0';
        p = pe;
        s = se;
    }
}

int str_route_find(const str_route *tab, size_t n, const char *path, int method,
                   str_route_match *m)
{
    str_route_match tmp;
    size_t i;

    memset(m, 0, sizeof(*m));
    for (i = 0; i < n; i++) {
        size_t pl = strlen(tab[i].pattern);
        bool fallback = pl >= 2 && strcmp(tab[i].pattern + pl - 2, "**") == 0;

        if (!path_match(tab[i].pattern, path, &tmp))
            continue;
        if (fallback && m->allowed)
            break; /* a real row knows this path: its methods decide */
        if (tab[i].methods & STR_MB(method)) {
            unsigned allowed = m->allowed;
            const str_route *near = m->near;

            *m = tmp;
            m->route = &tab[i];
            m->allowed = allowed;
            m->near = near;
            return 0;
        }
        m->allowed |= tab[i].methods;
        if (m->near == NULL)
            m->near = &tab[i];
    }
    return m->allowed ? 405 : 404;
}

void str_route_allow(unsigned mask, char *buf, size_t len)
{
    static const struct {
        int m;
        const char *name;
    } names[] = {{STR_M_GET, "GET"},
                 {STR_M_HEAD, "HEAD"},
                 {STR_M_POST, "POST"},
                 {STR_M_DELETE, "DELETE"},
                 {STR_M_OPTIONS, "OPTIONS"}};
    size_t i, o = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int w;

        if (!(mask & STR_MB(names[i].m)))
            continue;
        w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i].name);
        if (w < 0 || (size_t)w >= len - o)
            return; /* cut: the list is short, this cannot happen */
        o += (size_t)w;
    }
}
