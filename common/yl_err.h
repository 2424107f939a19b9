/* yl_err.h - yunling error codes. 0 or a count is success; negative is
 * -errno, an AVERROR passed through, or one of ours built like FFmpeg's
 * FFERRTAG so none collide. */
#ifndef YL_ERR_H
#define YL_ERR_H

#include <stddef.h>

#define YL_ERRTAG(a, b, c, d)                                                  \
    (-(int)((unsigned)(a) | ((unsigned)(b) << 8) | ((unsigned)(c) << 16) |     \
            ((unsigned)(d) << 24)))

#define YL_ENOVIDEO  YL_ERRTAG('Y', 'N', 'V', 'D') /* source has no video */
#define YL_ENOMEDIA  YL_ERRTAG('Y', 'N', 'M', 'D') /* no audio nor video */
#define YL_ECORRUPT  YL_ERRTAG('Y', 'C', 'O', 'R') /* input data is damaged */
#define YL_ETRUNC    YL_ERRTAG('Y', 'T', 'R', 'N') /* input ends too early */
#define YL_EBADUTF8  YL_ERRTAG('Y', 'U', 'T', '8') /* text not UTF-8 */
#define YL_EBADTIME  YL_ERRTAG('Y', 'T', 'I', 'M') /* bad timestamp */
#define YL_EBADLANG  YL_ERRTAG('Y', 'L', 'N', 'G') /* not a BCP-47 tag */
#define YL_EUSAGE    YL_ERRTAG('Y', 'U', 'S', 'G') /* bad command line */
#define YL_EEXIST    YL_ERRTAG('Y', 'E', 'X', 'S') /* output exists */
#define YL_EINTR     YL_ERRTAG('Y', 'I', 'N', 'T') /* interrupted by signal */
#define YL_ENOTFOUND YL_ERRTAG('Y', 'N', 'F', 'D') /* no such record */
#define YL_EINVAL    YL_ERRTAG('Y', 'I', 'N', 'V') /* invalid value */
#define YL_EDB       YL_ERRTAG('Y', 'D', 'B', 'E') /* database error */
#define YL_ETOOBIG   YL_ERRTAG('Y', 'B', 'I', 'G') /* over a size limit */
#define YL_EFORBIDDEN                                                          \
    YL_ERRTAG('Y', 'F', 'B', 'D') /* outside the token's scope */
/* The database file was removed or replaced under the server. */
#define YL_EDBLOST YL_ERRTAG('Y', 'D', 'B', 'L')
/* No catalog, and the data directory holds lessons: needs --init. */
#define YL_ENOINIT YL_ERRTAG('Y', 'N', 'I', 'T')

/* Writes a message for err into buf and returns buf: ours, else strerror
 * for -errno, else av_strerror-style "Error number N". */
const char *yl_strerror(int err, char *buf, size_t len);

#endif
