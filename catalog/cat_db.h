/* cat_db.h - one SQLite connection to the catalog.
 *
 * Threads (STYLE.md §5): a cat_db is used by one thread at a time and never
 * crosses threads. There is one writer connection in the server, owned by
 * the cat_writer thread (cat_writer.h); every other thread that reads (the
 * lws service thread, the job runner) opens its own reader with
 * cat_reader_open(). CLI commands open a writer connection of their own;
 * SQLite's locking (BEGIN IMMEDIATE + busy timeout) serialises them with a
 * running server.
 *
 * Every function of the catalog that fails on a cat_db leaves a one-line
 * message naming the field or record in cat_db_errmsg(db), suitable for the
 * API's {"error": {"message": ...}}. Error codes (yl_err.h) map to HTTP:
 * YL_EINVAL 400, YL_EFORBIDDEN 403, YL_ENOTFOUND 404, YL_EEXIST 409,
 * YL_ETOOBIG 413, -ENOSPC (disk full) 507, YL_EDBLOST 503, YL_EDB and
 * others 500. */
#ifndef YL_CAT_DB_H
#define YL_CAT_DB_H

#include <stdint.h>

typedef struct cat_db cat_db; /* opaque: defined in cat_db.c */
typedef struct sqlite3 sqlite3;

enum cat_db_flags {
    CAT_DB_READONLY = 1 << 0, /* query_only; never migrates */
    /* A writer beside the server's (the catalog commands): it never
     * checkpoints (wal_autocheckpoint 0; the server's writer or the last
     * close does) and holds the checkpoint lock while open, so the server
     * does not checkpoint while it commits. SQLite before 3.51.3 (Debian
     * 12: 3.40.1) can lose committed pages when one connection checkpoints
     * while another commits (the "WAL-reset bug", docs/operations.md). */
    CAT_DB_GUEST = 1 << 1,
};

/* Opens path (":memory:" works for a writer). A writer connection creates
 * the file and its directory's database if missing and applies the schema
 * steps (catalog/schema/NNN_*.sql, embedded at build time) up to
 * cat_db_schema_latest() inside one transaction. Sets WAL, synchronous=
 * FULL (durable at COMMIT), foreign_keys=ON, busy timeout 2000 ms. Returns 0
 * and *out (free with cat_db_close()), or a negative yl code (message logged).
 */
int cat_db_open(const char *path, unsigned flags, cat_db **out);

/* A read-only connection for one thread; the database must exist (open the
 * writer first). Same as cat_db_open(path, CAT_DB_READONLY, out). */
int cat_reader_open(const char *path, cat_db **out);

void cat_db_close(cat_db *db); /* NULL is a no-op */

/* The checkpoint lock: an flock() on PATH-ckpt.lock beside the database,
 * held by a CAT_DB_GUEST connection while it is open. The server's writer
 * takes it around each checkpoint: 0 when taken (or there is no file to
 * lock: ":memory:"), -1 when a guest holds it (checkpoint later). */
int cat_db_ckpt_trylock(cat_db *db);
void cat_db_ckpt_unlock(cat_db *db);

/* Whether the path db was opened with still names the file it opened:
 * 0, or YL_EDBLOST (message in cat_db_errmsg(db)) when the file was
 * deleted, or another file was moved over it, since the open. SQLite
 * would go on writing to the unlinked file and lose everything at the
 * next start. One stat(); 0 for ":memory:". Any thread that owns db. */
int cat_db_check_file(cat_db *db);

/* The last error message on this connection ("" if none). Valid until the
 * next catalog call on db. */
const char *cat_db_errmsg(const cat_db *db);

/* PRAGMA user_version of the open database, and the newest step built in. */
int cat_db_schema_version(cat_db *db);
int cat_db_schema_latest(void);

/* Transactions on a writer connection: BEGIN IMMEDIATE / COMMIT / ROLLBACK.
 * Catalog functions that write open their own transaction unless one is
 * open already (inside the writer thread they run in its batch). */
int cat_db_begin(cat_db *db);
int cat_db_commit(cat_db *db);
void cat_db_rollback(cat_db *db);

/* The underlying handle, for tests and benchmarks only. */
sqlite3 *cat_db_sqlite(cat_db *db);

/* Wall clock in epoch milliseconds (CLOCK_REALTIME). */
int64_t cat_now_ms(void);

/* Statistics days are China Standard Time (UTC+8, no DST) calendar days,
 * numbered from 1970-01-01. */
#define CAT_TZ_OFFSET_MS (8 * 3600 * 1000LL)
int64_t cat_day_of_ms(int64_t epoch_ms);
/* "YYYY-MM-DD" <-> day number. cat_day_parse returns 0 or YL_EINVAL. */
int cat_day_parse(const char *s, int64_t *day);
void cat_day_format(int64_t day, char buf[11]);

#endif
