/* str_multipart.h - a streaming multipart/form-data parser (RFC 7578).
 *
 * Why not lws_spa: in lws 4.1.6 it drops text fields whose names are not in
 * a fixed list (our title.LANG fields are open-ended), and it cannot tell a
 * body that stops before the closing boundary from a complete one.
 *
 * Bytes are fed as they arrive; file data goes straight to the callbacks,
 * nothing is kept whole. One parser is owned by one thread. */
#ifndef YL_STR_MULTIPART_H
#define YL_STR_MULTIPART_H

#include <stddef.h>

#define STR_MP_NAME_MAX 128  /* longest field name kept */
#define STR_MP_FILE_MAX 256  /* longest file name kept */
#define STR_MP_HDR_MAX  8192 /* header block of one part */

typedef struct str_mp str_mp; /* opaque */

/* Callbacks return 0, or a negative code to stop the parse (that code is
 * then returned by str_mp_feed()). Strings are borrowed for the call. */
typedef struct str_mp_cbs {
    /* filename is NULL for a text field (no filename parameter). */
    int (*part_begin)(void *ud, const char *name, const char *filename,
                      const char *content_type);
    int (*part_data)(void *ud, const char *data, size_t len);
    int (*part_end)(void *ud);
} str_mp_cbs;

/* Copies the boundary parameter of a multipart/form-data Content-Type into
 * out. Returns 0, or YL_EINVAL when the type is not multipart/form-data or
 * the boundary is missing, empty or longer than 70 characters. */
int str_mp_boundary(const char *content_type, char *out, size_t outlen);

/* Returns 0 and *out (free with str_mp_free()), or -ENOMEM / YL_EINVAL. */
int str_mp_new(const char *boundary, const str_mp_cbs *cbs, void *ud,
               str_mp **out);
/* Feeds the next bytes of the body. Returns 0, a callback's negative
 * code, or YL_EINVAL for malformed input (see str_mp_error()). */
int str_mp_feed(str_mp *mp, const char *data, size_t len);
/* The body has ended: 0 when the closing boundary was seen, YL_ETRUNC
 * otherwise (a part is left open: no part_end is called for it). */
int str_mp_finish(str_mp *mp);
/* One-line description of the last error, "" if none. */
const char *str_mp_error(const str_mp *mp);
/* Number of parts begun so far. */
int str_mp_parts(const str_mp *mp);
void str_mp_free(str_mp *mp); /* NULL is a no-op */

#endif
