/* yl_buf.c - see yl_buf.h. */
#include "common/yl_buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_err.h"

int yl_buf_reserve(yl_buf *b, size_t n)
{
    size_t cap;
    char *s;

    if (b->err < 0)
        return b->err;
    if (b->len + n + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->err = -ENOMEM;
            return b->err;
        }
        cap *= 2;
    }
    s = realloc(b->s, cap);
    if (s == NULL) {
        b->err = -ENOMEM;
        return b->err;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

int yl_buf_put(yl_buf *b, const void *p, size_t n)
{
    int rc = yl_buf_reserve(b, n);

    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int yl_buf_putc(yl_buf *b, char c)
{
    return yl_buf_put(b, &c, 1);
}

int yl_buf_printf(yl_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->err < 0)
        return b->err;
    for (;;) {
        size_t avail = b->cap - b->len;

        va_start(ap, fmt);
        n = vsnprintf(b->s == NULL ? NULL : b->s + b->len, avail, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->err = YL_EINVAL;
            return b->err;
        }
        if ((size_t)n < avail) {
            b->len += (size_t)n;
            return 0;
        }
        if (yl_buf_reserve(b, (size_t)n) < 0)
            return b->err;
    }
}

void yl_buf_free(yl_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}
