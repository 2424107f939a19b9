/* cat_lang.h - language tags of sites, titles and viewing events.
 * Pure functions; any thread. */
#ifndef YL_CAT_LANG_H
#define YL_CAT_LANG_H

#include <stddef.h>

/* Checks a BCP-47 tag and writes its canonical form into out (the same
 * rules as yl_lang_normalize() in common/yl_lang.h): RFC 5646 syntax,
 * the shortest ISO 639 code (zho/chi -> zh, bod/tib -> bo; lis, duu stay),
 * language lower case, Script title case, REGION upper case. Returns 0, or
 * YL_EBADLANG (also when out is too small). */
int cat_lang_normalize(const char *tag, char *out, size_t outlen);

#endif
