/* cat_lang.h - language tags of sites, titles and viewing events.
 * Pure functions; any thread. */
#ifndef YL_CAT_LANG_H
#define YL_CAT_LANG_H

#include <stddef.h>

/* Checks a BCP-47-like tag and writes its canonical form into out:
 * language 2-3 letters (or "und"), lower case, with the shortest ISO 639
 * code (zho/chi -> zh, bod/tib -> bo, iii -> ii, zha -> za); optional script
 * (4 letters, title case), region (2 letters upper case or 3 digits),
 * variants (5-8 alnum or digit+3). Returns 0, or YL_EBADLANG. */
int cat_lang_normalize(const char *tag, char *out, size_t outlen);

#endif
