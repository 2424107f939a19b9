/* yl_utf8.h - UTF-8 checks shared by every module (subtitle files, titles
 * and keys in the catalog, error bodies of the server). Pure: any thread. */
#ifndef YL_UTF8_H
#define YL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s, reading at most avail
 * bytes, or 0 if it is not one (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). A NUL byte is a valid one-byte sequence. */
size_t yl_utf8_seq(const unsigned char *s, size_t avail);

/* The length of s's longest valid UTF-8 prefix (NUL-terminated s): a
 * text cut to fit a buffer ("%.40s") may end inside a character, and
 * jansson refuses the whole string. */
size_t yl_utf8_prefix(const char *s);
/* s (NUL-terminated) is valid UTF-8 (any characters). */
bool yl_utf8_valid(const char *s);

/* s (NUL-terminated) is UTF-8 text without control characters other than
 * tab. */
bool yl_utf8_text(const char *s);

#endif
