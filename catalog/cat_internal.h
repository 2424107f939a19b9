/* cat_internal.h - declarations shared inside catalog/ only. */
#ifndef YL_CAT_INTERNAL_H
#define YL_CAT_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/cat_db.h"
#include "catalog/cat_lessons.h"

/* ---- schema (cat_schema_gen.c, generated) ---- */
typedef struct cat_schema_step {
    int version;
    const char *name;
    const char *sql;
} cat_schema_step;
extern const cat_schema_step cat_schema_steps[];
extern const int cat_schema_nsteps;

/* ---- connections (cat_db.c) ---- */
#define CAT_STMT_SLOTS  256
#define CAT_CDATA_SLOTS 8

struct cat_db {
    sqlite3 *h;
    bool readonly;
    int tx_depth; /* open cat_tx levels */
    char errmsg[512];
    struct {
        const char *sql; /* key: the address of a string literal */
        sqlite3_stmt *st;
    } stmts[CAT_STMT_SLOTS];
    /* Per-connection state of other modules (cat_db_clientdata()). */
    struct {
        const void *key;
        void *data;
        void (*destroy)(void *data);
    } cdata[CAT_CDATA_SLOTS];
    /* The open transaction cannot commit (cat_tx_poison()). */
    bool tx_poisoned;
    /* Files renamed inside the open transaction (cat_tx_rename()), in
     * order: renamed back if their level rolls back. */
    struct cat_fmove *moves;
    int nmoves, cap_moves;
    /* The database file this connection opened (cat_db_check_file()). */
    bool have_id; /* false for ":memory:" and temporary databases */
    dev_t dev;
    ino_t ino;
    /* The checkpoint lock file (cat_db_ckpt_trylock()), -1: not open. */
    int ckpt_fd;
    bool ckpt_warned; /* opening it failed, said once */
};

/* The prepared statement for sql (a string literal: cached by address,
 * prepared once with SQLITE_PREPARE_PERSISTENT). NULL on error with the
 * message in db->errmsg. Call cat_stmt_done() after use. */
sqlite3_stmt *cat_stmt(cat_db *db, const char *sql);
void cat_stmt_done(sqlite3_stmt *st); /* reset + clear bindings */

/* Logs sqlite3_errmsg(), sets db->errmsg and maps rc to a yl code:
 * constraint violations YL_EEXIST, busy/locked -EBUSY, a full disk
 * (SQLITE_FULL, or an I/O error with errno ENOSPC) -ENOSPC, else YL_EDB. */
int cat_err(cat_db *db, int rc, const char *what);
/* Sets db->errmsg to the formatted message and returns code. */
int cat_fail(cat_db *db, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A nested transaction: BEGIN IMMEDIATE when none is open, else a
 * SAVEPOINT; cat_tx_end commits/releases when rc >= 0, else rolls back
 * this level only. Returns rc (or the commit's error). */
typedef struct cat_tx {
    int level; /* 0: owns BEGIN; n: SAVEPOINT sn */
} cat_tx;
int cat_tx_begin(cat_db *db, cat_tx *tx);
int cat_tx_end(cat_db *db, cat_tx *tx, int rc);

/* rename(from, to) as part of the open transaction: if the transaction
 * (or the savepoint open now) rolls back, or its COMMIT fails, the file is
 * renamed back, so that a failed write never strands a file under a name
 * that no row points to (a meeting's recording moved into uploads/ for a
 * job that was never stored). Outside a transaction, a plain rename.
 * Returns 0 or -errno (the message in db->errmsg). */
int cat_tx_rename(cat_db *db, const char *from, const char *to);

/* Module state attached to a connection, as sqlite3_set_clientdata():
 * key is the address of a static object of the module that owns it, so
 * two modules never collide and the connection knows none of them.
 * destroy(data) runs at cat_db_close() or when data is replaced (may be
 * NULL: borrowed). Returns 0 or -ENOSPC when every slot is taken. The
 * thread that owns db. */
int cat_db_set_clientdata(cat_db *db, const void *key, void *data,
                          void (*destroy)(void *data));
/* The data set for key, or NULL. */
void *cat_db_clientdata(cat_db *db, const void *key);

/* Marks the open transaction as unable to commit: an operation that wrote
 * half of its changes before it failed (and ran without a savepoint). The
 * writer stops the batch there and rolls it back; the flag clears at the
 * next cat_db_begin(). */
void cat_tx_poison(cat_db *db);
bool cat_tx_poisoned(const cat_db *db);

/* Prepare, bind and step in one call (as fossil's db_multi_exec). sql is
 * a string literal (cat_stmt() caches it by address); fmt has one letter
 * per parameter ?1, ?2, ... in order, taking the next argument:
 *   i  int64_t      I  int      d  double
 *   t  const char * (NULL binds NULL; copied by SQLite)
 * cat_query() returns the prepared, bound statement for a row loop (the
 * caller steps it and calls cat_stmt_done()), or NULL with the message in
 * db->errmsg. cat_run() steps it once for a statement without rows:
 * 0, or cat_err(db, rc, what). */
sqlite3_stmt *cat_query(cat_db *db, const char *sql, const char *fmt, ...);
int cat_run(cat_db *db, const char *what, const char *sql, const char *fmt,
            ...);

/* Runs a statement without results ("PRAGMA ..."). */
int cat_exec(cat_db *db, const char *sql);

/* Binds text or NULL. */
int cat_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Column text as a C string, "" for NULL. */
const char *cat_col_text(sqlite3_stmt *st, int i);

/* ---- small hash map, uint64 keys (cat_map.c) ---- */
typedef struct cat_map {
    uint64_t *keys;
    void **vals;
    size_t cap; /* power of two, 0 before first insert */
    size_t len;
} cat_map;
void cat_map_init(cat_map *m);
void cat_map_fini(cat_map *m); /* frees the table, not the values */
void cat_map_clear(cat_map *m);
void *cat_map_get(const cat_map *m, uint64_t key);
int cat_map_put(cat_map *m, uint64_t key, void *val); /* 0 or -ENOMEM */
void *cat_map_del(cat_map *m, uint64_t key);          /* returns old value */
/* Iteration: for (size_t i = 0; cat_map_next(m, &i, &k, &v);) */
bool cat_map_next(const cat_map *m, size_t *i, uint64_t *key, void **val);
uint64_t cat_hash_str(const char *s, size_t len);

/* ---- site tree in memory (cat_live.c): immutable after load ---- */
typedef struct cat_node {
    int64_t id; /* numeric code */
    char code[13];
    int level;
    int parent;      /* index, -1 for a province */
    int first_child; /* index into kids[], count nkids */
    int nkids;
    int stations;
    char *name;
} cat_node;

typedef struct cat_tree {
    cat_node *nodes;
    int n;
    int *kids;     /* children indexes grouped per parent */
    cat_map by_id; /* id -> index + 1 */
} cat_tree;

int cat_tree_load(cat_db *db, cat_tree **out);
void cat_tree_free(cat_tree *t);
int cat_tree_find(const cat_tree *t, int64_t id); /* index or -1 */

/* ---- active sessions view (cat_live.c) ----
 * Owned by the writer. Updated on the writer thread after COMMIT; read by
 * any thread under its lock. */
typedef struct cat_live cat_live;
int cat_live_new(cat_db *db, int window_s, int64_t now_ms, cat_live **out);
void cat_live_free(cat_live *l);
/* Writer thread: the site tree changed (sites imported while serving). */
int cat_live_reload_tree(cat_live *l, cat_db *db);
/* Writer thread, after COMMIT: a session of lesson in audio language
 * audio ("" if none) got an event received at last_ms (ended: its "end").
 * A session new to the view is also a start for the wall's ticker. */
void cat_live_touch(cat_live *l, int64_t session_id, int64_t site_id,
                    int64_t lesson, const char *audio, int64_t last_ms,
                    bool ended);
/* Any thread. depth 2 adds "grandchildren": the children's items. */
int cat_live_now_json(cat_live *l, const char *region, int depth,
                      int64_t now_ms, void **json_out /* json_t ** */);
void cat_live_totals(cat_live *l, int64_t now_ms, int64_t *sessions,
                     int64_t *sites);
/* The writer's tree (writer thread only). */
const cat_tree *cat_live_tree(cat_live *l);

/* The active view a writer connection updates (borrowed), or NULL. */
cat_live *cat_live_of(cat_db *db);
int cat_live_attach(cat_db *db, cat_live *l);

/* ---- viewing events (cat_views.c) ---- */
/* The views module's writer hooks (registered by cat_modules.c). */
struct cat_writer;
struct cat_writer_hooks;
extern const struct cat_writer_hooks cat_views_hooks;
/* A lesson changed (published): drop its cached duration. */
void cat_views_forget_lesson(cat_db *db, int64_t id);
/* Events accepted, duplicates, batches rejected, sessions capped, since
 * the writer started (any thread). */
void cat_views_counters(struct cat_writer *w, uint64_t c[4]);

/* ---- meeting attendance (cat_attend.c) ---- */
/* A view event of kind live (it names a meeting, not a lesson), as
 * cat_views.c parsed it; strings borrowed for the call. */
typedef struct cat_attend_ev {
    const char *skey;
    const char *client; /* "" when absent */
    int64_t seq, site_id, meeting;
    int64_t ts; /* client clock ms, -1 when absent */
    int64_t recv_ms;
    int kind; /* 0 start, 1 beat, 2 end */
} cat_attend_ev;
/* Writer thread, before any write of the batch: events[i] names a
 * started meeting sent to its site, and a known session keeps its site
 * and meeting. 0, or YL_EINVAL with the message in db. */
int cat_attend_check(cat_db *db, int i, const cat_attend_ev *e);
/* Writer thread, in the views transaction: stores e (a duplicate when its
 * seq is not above the session's highest) and recomputes its station's
 * meeting_sites row. */
int cat_attend_apply(cat_db *db, const cat_attend_ev *e, int *accepted,
                     int *dups);

/* ---- writer internals ---- */
cat_live *cat_writer_live(struct cat_writer *w);
/* The hook sets every writer registers at start (cat_modules.c), NULL
 * terminated: the one place that names the catalog's writer modules. */
extern const struct cat_writer_hooks *const cat_writer_modules[];
/* transactions, requests, writer thread CPU ns */
void cat_writer_counters(struct cat_writer *w, uint64_t c[3]);

/* ---- helpers ---- */
/* Number of UTF-8 code points in s. */
size_t cat_utf8_len(const char *s);
/* Request checks shared by notices and meetings: a "title" of one line of
 * UTF-8 text with at most max characters; "targets", a non-empty array of
 * at most max division codes. 0, or YL_EINVAL with err naming the field. */
int cat_check_title(const json_t *title, int max, char *err, size_t errlen);
int cat_check_targets(const json_t *targets, int max, char *err, size_t errlen);
/* UTF-8 text checks: yl_utf8_text() in common/yl_utf8.h. */

/* An owned deep copy of a cat_lesson_new for a writer request (the
 * caller's strings and json may change once the submit returns): ln points
 * into the fields; replayed is NULL. cat_lesson_copy_init() returns 0, or
 * -ENOMEM with nothing left to free; cat_lesson_copy_fini() frees. */
typedef struct cat_lesson_copy {
    cat_lesson_new ln;
    json_t *titles, *inputs;
    char *category, *source_name, *staged_dir, *uploads_dir, *owner;
    char *idem_key, *course;
} cat_lesson_copy;
int cat_lesson_copy_init(cat_lesson_copy *c, const cat_lesson_new *ln);
void cat_lesson_copy_fini(cat_lesson_copy *c);

#endif
