/* cat_notices.h - notices pushed to sites ("一键发文到村") and their
 * receipts: the first time each targeted site had a notice delivered and
 * the first time a person there read it.
 *
 * A notice is stored, with one row per targeted site, before anyone is
 * told about it (the writer's done callback runs after COMMIT); a site that
 * reconnects asks for every notice above its highest id that it has not
 * acknowledged (cat_notices_pending), so delivery is at least once.
 *
 * Targets are region or site codes; each expands to the stations below it
 * (townships and villages, cat_sites.h), the code itself included when it
 * is a station.
 *
 * Threads: functions taking cat_db run on the thread that owns it; the
 * *_submit functions on any thread. */
#ifndef YL_CAT_NOTICES_H
#define YL_CAT_NOTICES_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_writer.h"

#define CAT_NOTICE_TITLE_MAX  200   /* characters */
#define CAT_NOTICE_BODY_MAX   20000 /* bytes of UTF-8 */
#define CAT_NOTICE_TARGETS    1000  /* codes in one notice */
#define CAT_NOTICE_ATTACH_MAX 16

enum cat_notice_state {
    CAT_NOTICE_DELIVERED = 1,
    CAT_NOTICE_READ = 2,
};

/* Checks a POST /api/v1/notices body: title, body (plain UTF-8 text),
 * targets (non-empty array of division codes), attachments (optional
 * array of ids). 0, or YL_EINVAL with the field named in err. Pure. */
int cat_notices_check(const json_t *in, char *err, size_t errlen);

/* Through the writer: stores the notice checked by cat_notices_check()
 * (in is copied), sent by region from (the sender's scope) with token
 * token_id at sent_ms (0: the time the writer stores it, the server's
 * acceptance), and one receipt row per station below its targets.
 * res->id is the notice id, res->accepted the number of sites, res->json
 * the notice as pushed, {"type":"notice","id","title","body",
 * "attachments","from","sent_ms"}, plus its "targets". YL_EINVAL naming an
 * unknown target code, or a target list that reaches no station. */
int cat_notices_create_submit(cat_writer *w, const json_t *in, const char *from,
                              int64_t token_id, int64_t sent_ms,
                              cat_write_done done, void *ud);

/* One receipt for a batch. */
typedef struct cat_notice_ack {
    char site[CAT_CODE_MAX];
    int64_t notice;
    int state;     /* enum cat_notice_state */
    int64_t at_ms; /* receipt time on the server */
} cat_notice_ack;

/* Through the writer: records the first delivered/read time of each
 * (site, notice) of acks[0..n) (copied); "read" implies delivered. Acks
 * for a site the notice was not sent to change nothing; res->accepted is
 * the number of rows that changed and res->json (NULL when none) lists
 * them as [site, notice, state]: what the wall's counts move by. */
int cat_notices_ack_submit(cat_writer *w, const cat_notice_ack *acks, int n,
                           cat_write_done done, void *ud);

/* Through the writer: marks notice id withdrawn at now_ms; res->json is
 * the notice (cat_notices_get). YL_ENOTFOUND for an unknown id;
 * withdrawing twice keeps the first time. */
int cat_notices_withdraw_submit(cat_writer *w, int64_t id, int64_t now_ms,
                                cat_write_done done, void *ud);

/* Reader. The ids (ascending, at most max) of notices for site above
 * since that the site has not acknowledged as delivered and that are not
 * withdrawn. Returns how many, or a negative yl code. */
int cat_notices_pending(cat_db *db, const char *site, int64_t since,
                        int64_t *ids, int max);

/* Reader. The notice ({"id","title","body","attachments","from","sent_ms",
 * "targets"} plus "withdrawn_ms" when withdrawn). YL_ENOTFOUND. */
int cat_notices_get(cat_db *db, int64_t id, json_t **out);

/* Reader. 1 when notice id was sent to site, 0 when not (or unknown). */
int cat_notices_sent_to(cat_db *db, int64_t id, const char *site);

/* Reader. The site's notices above since, oldest first, at most limit,
 * each with "delivered_ms" and "read_ms" (null when not yet). */
int cat_notices_for_site(cat_db *db, const char *site, int64_t since, int limit,
                         json_t **out);

/* Reader. Notices sent by a region within region (the sender's scope lies
 * in it) above since, newest first, at most limit, with totals. */
int cat_notices_list(cat_db *db, const char *region, int64_t since, int limit,
                     json_t **out);

/* Reader. The notice with, within region, "totals": {targeted, delivered,
 * read} and "children": [{code, name, targeted, delivered, read}] for each
 * child region of region that was targeted. */
int cat_notices_report(cat_db *db, int64_t id, const char *region,
                       json_t **out);

/* Reader. Totals {targeted, delivered, read} of notice id within region. */
int cat_notices_totals(cat_db *db, int64_t id, const char *region,
                       int64_t out[3]);

/* ---- attachments ---- */

/* Through the writer: records an attachment whose bytes are already in
 * DATA/attachments/file (path: that file's full path). The writer thread
 * fsyncs the file and its directory before the row exists (never the
 * event loop: as lesson uploads, cat_lessons.c). res->id is its id. */
int cat_attachments_add_submit(cat_writer *w, const char *type,
                               const char *name, int64_t bytes,
                               const char *file, const char *path,
                               const char *owner, cat_write_done done,
                               void *ud);

/* Reader. {"id","type","name","bytes","file","owner","url"}. YL_ENOTFOUND. */
int cat_attachments_get(cat_db *db, int64_t id, json_t **out);

/* Reader. 1 when a notice carrying attachment id, not withdrawn, was sent
 * to site; 0 otherwise. */
int cat_attachments_for_site(cat_db *db, int64_t id, const char *site);

#endif
