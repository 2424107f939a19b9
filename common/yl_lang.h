/* yl_lang.h - language tags (BCP-47) and their names. Pure functions: any
 * thread may call them; the returned names are static strings. */
#ifndef YL_LANG_H
#define YL_LANG_H

#include <stddef.h>

#define YL_LANG_MAX 36 /* longest tag kept, incl. NUL */

/* Normalises a tag: well-formed BCP-47 check (RFC 5646 syntax: language
 * 2-3 letters [or 5-8], optional extlang/script/region/variants/extensions/
 * private use, '-' separators only); 3-letter ISO 639-2 B/T codes with a
 * 2-letter ISO 639-1 equivalent become it (zho/chi->zh, bod/tib->bo,
 * eng->en, ...); case as BCP-47 recommends (lang lower, Script title,
 * REGION upper). Returns 0, or YL_EBADLANG (also for a tag that needs more
 * than YL_LANG_MAX bytes), or YL_EINVAL when out/outlen cannot hold it. */
int yl_lang_normalize(const char *in, char *out, size_t outlen);

/* Name in the language's own script for a normalised tag ("bo" -> Tibetan
 * script, "lis" -> Lisu in Fraser script, "zh" -> "中文"), matching on the
 * primary subtag if the full tag is not in the table; NULL when unknown. */
const char *yl_lang_native_name(const char *tag);

/* Simplified Chinese name ("bo" -> "藏语"), NULL when unknown. */
const char *yl_lang_zh_name(const char *tag);

/* Display name for a playlist NAME: native name, else the tag itself. */
const char *yl_lang_display_name(const char *tag);

/* 1 if tag's primary subtag is in the built-in table (the province's
 * languages and a few more), else 0. */
int yl_lang_is_known(const char *tag);

#endif
