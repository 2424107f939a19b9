/* cat_code.h - national division codes and their levels: a leaf of the
 * catalog (no database, no other module), so that the active view, the
 * views parser and the HTTP handlers check codes without the site
 * importer. cat_sites.h includes it.
 *
 * Threads: any. */
#ifndef YL_CAT_CODE_H
#define YL_CAT_CODE_H

enum cat_level {
    CAT_LEVEL_PROVINCE = 1,
    CAT_LEVEL_PREFECTURE = 2,
    CAT_LEVEL_COUNTY = 3,
    CAT_LEVEL_TOWNSHIP = 4,
    CAT_LEVEL_VILLAGE = 5,
};

#define CAT_CODE_MAX 13 /* 12 digits + NUL */

/* "province", "prefecture", "county", "township", "village" (or "?"). */
const char *cat_level_name(int level);

/* Checks code is 2, 4, 6, 9 or 12 ASCII digits; returns its level or
 * YL_EINVAL. */
int cat_code_level(const char *code);

#endif
