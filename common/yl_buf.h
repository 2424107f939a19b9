/* yl_buf.h - a growable byte string, always NUL-terminated. The first
 * error sticks (err), so a writer appends without checking each call and
 * looks once at the end. One owner; no locking. */
#ifndef YL_BUF_H
#define YL_BUF_H

#include <stddef.h>

typedef struct yl_buf {
    char *s;    /* malloc'd; NULL until the first append */
    size_t len; /* bytes, without the NUL */
    size_t cap;
    int err; /* 0, or the first error (-ENOMEM, YL_EINVAL) */
} yl_buf;

#define YL_BUF_INIT                                                            \
    {                                                                          \
        NULL, 0, 0, 0                                                          \
    }

/* Room for n more bytes (and the NUL). 0 or the sticky error. */
int yl_buf_reserve(yl_buf *b, size_t n);
/* Appends n bytes of p. 0 or the sticky error. */
int yl_buf_put(yl_buf *b, const void *p, size_t n);
int yl_buf_putc(yl_buf *b, char c);
/* Appends printf output. 0 or the sticky error. */
int yl_buf_printf(yl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees the bytes; b is empty (and usable) again. */
void yl_buf_free(yl_buf *b);

#endif
