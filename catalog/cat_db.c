/* cat_db.c - catalog connections: open, migrate, prepared statements,
 * nested transactions, error mapping, CST days. */
#include "catalog/cat_db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/cat_code.h"
#include "catalog/cat_internal.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_utf8.h"

int cat_fail(cat_db *db, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

int cat_err(cat_db *db, int rc, const char *what)
{
    int prim = rc & 0xff;

    YL_LOGE("cat", "%s: %s (sqlite %d)", what, sqlite3_errmsg(db->h), rc);
    /* A read-only database file (its mode, a read-only mount) is the
     * operator's to fix: the API answers 503 read_only and says so. */
    if (prim == SQLITE_READONLY) {
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "the database is read-only (%s: %s); nothing was stored", what,
                 sqlite3_errmsg(db->h));
        return -EROFS;
    }
    snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", what,
             sqlite3_errmsg(db->h));
    if (prim == SQLITE_CONSTRAINT)
        return YL_EEXIST;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return -EBUSY;
    if (prim == SQLITE_NOMEM)
        return -ENOMEM;
    /* A full disk is the operator's to fix, not our bug: say so (the API
     * answers 507 no_space). SQLite reports ENOSPC as SQLITE_FULL, or as
     * an I/O error whose errno says it. */
    if (prim == SQLITE_FULL ||
        (prim == SQLITE_IOERR && sqlite3_system_errno(db->h) == ENOSPC))
        return -ENOSPC;
    return YL_EDB;
}

int cat_exec(cat_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        YL_LOGE("cat", "exec \"%.60s\": %s", sql, msg ? msg : "?");
        snprintf(db->errmsg, sizeof(db->errmsg), "%s",
                 msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        if ((rc & 0xff) == SQLITE_FULL)
            return -ENOSPC;
        if ((rc & 0xff) == SQLITE_READONLY)
            return -EROFS;
        return (rc & 0xff) == SQLITE_BUSY ? -EBUSY : YL_EDB;
    }
    return 0;
}

static size_t slot_of(const char *sql)
{
    uintptr_t p = (uintptr_t)sql;

    p ^= p >> 17;
    p *= 0x9E3779B97F4A7C15ull;
    return (size_t)(p >> 56) & (CAT_STMT_SLOTS - 1);
}

sqlite3_stmt *cat_stmt(cat_db *db, const char *sql)
{
    size_t i = slot_of(sql);
    int rc;

    for (size_t n = 0; n < CAT_STMT_SLOTS; n++, i = (i + 1) % CAT_STMT_SLOTS) {
        if (db->stmts[i].sql == sql)
            return db->stmts[i].st;
        if (db->stmts[i].sql == NULL)
            break;
    }
    if (db->stmts[i].sql != NULL) {
        cat_fail(db, YL_EDB, "statement cache full");
        return NULL;
    }
    rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
                            &db->stmts[i].st, NULL);
    if (rc != SQLITE_OK) {
        cat_err(db, rc, "prepare");
        YL_LOGE("cat", "in: %s", sql);
        return NULL;
    }
    db->stmts[i].sql = sql;
    return db->stmts[i].st;
}

void cat_stmt_done(sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int cat_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

const char *cat_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s != NULL ? (const char *)s : "";
}

/* Savepoint statements by nesting level, prepared once per connection (a
 * writer batch runs one per request: sqlite3_exec would parse each). */
static const char *const sp_begin[] = {
    "SAVEPOINT s1", "SAVEPOINT s2", "SAVEPOINT s3", "SAVEPOINT s4",
    "SAVEPOINT s5", "SAVEPOINT s6", "SAVEPOINT s7", "SAVEPOINT s8"};
static const char *const sp_release[] = {
    "RELEASE s1", "RELEASE s2", "RELEASE s3", "RELEASE s4",
    "RELEASE s5", "RELEASE s6", "RELEASE s7", "RELEASE s8"};
static const char *const sp_rollback[] = {
    "ROLLBACK TO s1", "ROLLBACK TO s2", "ROLLBACK TO s3", "ROLLBACK TO s4",
    "ROLLBACK TO s5", "ROLLBACK TO s6", "ROLLBACK TO s7", "ROLLBACK TO s8"};
#define SP_LEVELS 8

/* Runs a cached statement that returns no rows. */
static int run_cached(cat_db *db, const char *sql)
{
    sqlite3_stmt *st = cat_stmt(db, sql);
    int rc;

    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, sql);
}

/* ---- files renamed inside a transaction (cat_tx_rename) ---- */

struct cat_fmove {
    char *from, *to;
    int level; /* the cat_tx level open when it was renamed */
};

/* Renames back (newest first) every move made at level >= level. */
static void moves_undo(cat_db *db, int level)
{
    while (db->nmoves > 0 && db->moves[db->nmoves - 1].level >= level) {
        struct cat_fmove *m = &db->moves[--db->nmoves];

        if (rename(m->to, m->from) < 0)
            YL_LOGE("cat",
                    "rolled back, but \"%s\" could not be moved back "
                    "to \"%s\": %s",
                    m->to, m->from, strerror(errno));
        else
            YL_LOGW("cat", "rolled back: \"%s\" moved back to \"%s\"", m->to,
                    m->from);
        free(m->from);
        free(m->to);
    }
}

/* The moves of a released savepoint belong to the level around it. */
static void moves_release(cat_db *db, int level)
{
    for (int i = 0; i < db->nmoves; i++)
        if (db->moves[i].level >= level)
            db->moves[i].level = level - 1;
}

/* COMMIT succeeded: the moves are final. */
static void moves_commit(cat_db *db)
{
    for (int i = 0; i < db->nmoves; i++) {
        free(db->moves[i].from);
        free(db->moves[i].to);
    }
    db->nmoves = 0;
}

int cat_tx_rename(cat_db *db, const char *from, const char *to)
{
    struct cat_fmove *m;
    int rc;

    if (rename(from, to) < 0) {
        rc = -errno;
        return cat_fail(db, rc, "rename \"%s\" to \"%s\": %s", from, to,
                        strerror(-rc));
    }
    if (sqlite3_get_autocommit(db->h))
        return 0; /* no transaction: nothing to undo */
    if (db->nmoves == db->cap_moves) {
        int cap = db->cap_moves ? db->cap_moves * 2 : 4;
        struct cat_fmove *n = realloc(db->moves, sizeof(*n) * (size_t)cap);

        if (n == NULL)
            goto nomem;
        db->moves = n;
        db->cap_moves = cap;
    }
    m = &db->moves[db->nmoves];
    m->from = strdup(from);
    m->to = strdup(to);
    if (m->from == NULL || m->to == NULL) {
        free(m->from);
        free(m->to);
        goto nomem;
    }
    m->level = db->tx_depth;
    db->nmoves++;
    return 0;
nomem:
    /* Not undoable: not done. */
    if (rename(to, from) < 0)
        YL_LOGE("cat", "\"%s\" could not be moved back to \"%s\": %s", to, from,
                strerror(errno));
    return cat_fail(db, -ENOMEM, "rename \"%s\": out of memory", from);
}

int cat_tx_begin(cat_db *db, cat_tx *tx)
{
    int rc;

    if (sqlite3_get_autocommit(db->h)) {
        db->tx_poisoned = false;
        rc = run_cached(db, "BEGIN IMMEDIATE");
        if (rc < 0)
            return rc;
        tx->level = 0;
    } else {
        if (db->tx_depth >= SP_LEVELS)
            return cat_fail(db, YL_EDB, "transactions nested too deep");
        tx->level = ++db->tx_depth;
        rc = run_cached(db, sp_begin[tx->level - 1]);
        if (rc < 0) {
            db->tx_depth--;
            return rc;
        }
    }
    return 0;
}

int cat_tx_end(cat_db *db, cat_tx *tx, int rc)
{
    char keep[sizeof(db->errmsg)];
    int r;

    memcpy(keep, db->errmsg, sizeof(keep)); /* a rollback keeps the cause */
    if (tx->level == 0) {
        if (rc >= 0) {
            r = run_cached(db, "COMMIT");
            if (r < 0) {
                cat_db_rollback(db);
                return r;
            }
            moves_commit(db);
            return rc;
        }
        cat_db_rollback(db);
        memcpy(db->errmsg, keep, sizeof(keep));
        return rc;
    }
    db->tx_depth = tx->level - 1;
    if (rc >= 0) {
        r = run_cached(db, sp_release[tx->level - 1]);
        if (r < 0) {
            moves_undo(db, tx->level);
            return r;
        }
        moves_release(db, tx->level);
        return rc;
    }
    run_cached(db, sp_rollback[tx->level - 1]);
    run_cached(db, sp_release[tx->level - 1]);
    moves_undo(db, tx->level);
    memcpy(db->errmsg, keep, sizeof(keep));
    return rc;
}

static int migrate(cat_db *db)
{
    int version = cat_db_schema_version(db);
    int rc = 0;
    char pragma[64];

    if (version < 0)
        return version;
    if (version > cat_schema_nsteps) {
        YL_LOGE("cat", "database schema %d is newer than this build (%d)",
                version, cat_schema_nsteps);
        return cat_fail(db, YL_EDB, "database schema %d is newer than %d",
                        version, cat_schema_nsteps);
    }
    if (version == cat_schema_nsteps)
        return 0;
    rc = cat_exec(db, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    /* Re-read inside the lock: another process may have migrated. */
    version = cat_db_schema_version(db);
    for (int i = version; i < cat_schema_nsteps && rc == 0; i++) {
        YL_LOGI("cat", "schema step %s", cat_schema_steps[i].name);
        rc = cat_exec(db, cat_schema_steps[i].sql);
    }
    if (rc == 0) {
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
                 cat_schema_nsteps);
        rc = cat_exec(db, pragma);
    }
    if (rc == 0)
        rc = cat_exec(db, "COMMIT");
    if (rc < 0)
        cat_exec(db, "ROLLBACK");
    return rc;
}

/* Opens PATH-ckpt.lock, path as SQLite resolved it (sqlite3_db_filename:
 * absolute, symbolic links followed, so that every process names the same
 * file). Created 0644 if missing; read-only does for flock() when another
 * user created it or the file system is read-only. -1 when there is no
 * file to lock (":memory:", a temporary database) or it cannot be opened
 * (warned about once per connection). */
static int ckpt_open(cat_db *db)
{
    const char *path = sqlite3_db_filename(db->h, "main");
    char lp[PATH_MAX];
    int fd, n;

    if (path == NULL || path[0] == '\0')
        return -1;
    n = snprintf(lp, sizeof(lp), "%s-ckpt.lock", path);
    if (n < 0 || (size_t)n >= sizeof(lp)) {
        errno = ENAMETOOLONG;
        fd = -1;
    } else {
        fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 && (errno == EACCES || errno == EROFS))
            fd = open(lp, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0 && !db->ckpt_warned) {
        db->ckpt_warned = true;
        YL_LOGW("cat", "cannot open the checkpoint lock %s-ckpt.lock: %s", path,
                strerror(errno));
    }
    return fd;
}

/* A guest writer: the checkpoint lock for as long as it is open (a
 * checkpoint of the server's holds it for milliseconds; another catalog
 * command for as long as it runs: said so), and no checkpoints of its
 * own. */
static int guest_setup(cat_db *db)
{
    int rc;

    db->ckpt_fd = ckpt_open(db);
    if (db->ckpt_fd >= 0) {
        while ((rc = flock(db->ckpt_fd, LOCK_EX | LOCK_NB)) < 0 &&
               errno == EINTR)
            ;
        if (rc < 0 && errno == EWOULDBLOCK) {
            YL_LOGI("cat", "waiting for another catalog command to finish");
            while ((rc = flock(db->ckpt_fd, LOCK_EX)) < 0 && errno == EINTR)
                ;
        }
        if (rc < 0)
            return cat_fail(db, YL_EDB, "locking the checkpoint lock: %s",
                            strerror(errno));
    }
    return cat_exec(db, "PRAGMA wal_autocheckpoint = 0");
}

int cat_db_ckpt_trylock(cat_db *db)
{
    int rc;

    /* Opened at first use, tried again after a failure; nothing to lock
     * (":memory:") or no lock file (warned): checkpoint anyway. */
    if (db->ckpt_fd < 0 && (db->ckpt_fd = ckpt_open(db)) < 0)
        return 0;
    while ((rc = flock(db->ckpt_fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR)
        ;
    return rc == 0 ? 0 : -1;
}

void cat_db_ckpt_unlock(cat_db *db)
{
    if (db->ckpt_fd >= 0)
        flock(db->ckpt_fd, LOCK_UN);
}

int cat_db_open(const char *path, unsigned flags, cat_db **out)
{
    cat_db *db = NULL;
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc;

    db = calloc(1, sizeof(*db));
    if (db == NULL)
        return -ENOMEM;
    db->ckpt_fd = -1;
    db->readonly = (flags & CAT_DB_READONLY) != 0;
    if (!db->readonly)
        oflags |= SQLITE_OPEN_CREATE;
    rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
    if (rc != SQLITE_OK) {
        YL_LOGE("cat", "open \"%s\": %s", path,
                db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        rc = YL_EDB;
        goto out;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, 2000);
    rc = cat_exec(db, "PRAGMA foreign_keys = ON");
    /* Memory-mapped reads: no pread per page miss. */
    if (rc == 0)
        rc = cat_exec(db, "PRAGMA mmap_size = 268435456");
    if (rc < 0)
        goto out;
    if (!db->readonly && (flags & CAT_DB_GUEST)) {
        rc = guest_setup(db);
        if (rc < 0) {
            YL_LOGE("cat", "open \"%s\": %s", path, db->errmsg);
            goto out;
        }
    }
    if (!db->readonly) {
        rc = cat_exec(db, "PRAGMA journal_mode = WAL");
        /* FULL: COMMIT fsyncs the WAL, so an acknowledged event survives
         * a power cut as well as kill -9. Group commit makes that one fsync
         * per batch of requests, not one per event. */
        if (rc == 0)
            rc = cat_exec(db, "PRAGMA synchronous = FULL");
        /* The writer keeps the hot pages of sessions, events and rollups. */
        if (rc == 0)
            rc = cat_exec(db, "PRAGMA cache_size = -65536");
        /* The schema steps commit with no checkpoint: a catalog command
         * may be committing beside this connection (CAT_DB_GUEST). */
        if (rc == 0)
            rc = cat_exec(db, "PRAGMA wal_autocheckpoint = 0");
        if (rc == 0)
            rc = migrate(db);
        if (rc == 0 && !(flags & CAT_DB_GUEST))
            rc = cat_exec(db, "PRAGMA wal_autocheckpoint = 1000");
        if (rc < 0) {
            YL_LOGE("cat", "open \"%s\": %s", path, db->errmsg);
            goto out;
        }
    } else {
        int v = cat_db_schema_version(db);
        if (v != cat_schema_nsteps) {
            YL_LOGE("cat",
                    "open \"%s\": schema %d, want %d (open the "
                    "writer first)",
                    path, v, cat_schema_nsteps);
            rc = YL_EDB;
            goto out;
        }
        rc = cat_exec(db, "PRAGMA cache_size = -16384");
        if (rc == 0)
            rc = cat_exec(db, "PRAGMA query_only = 1");
        if (rc < 0)
            goto out;
    }
    /* The file is open now (the PRAGMAs above read it): remember which
     * one, so cat_db_check_file() can tell when the path stops naming it.
     * A file replaced between sqlite3_open_v2() and here is taken as the
     * one opened; that window is microseconds at start. */
    {
        const char *fn = sqlite3_db_filename(db->h, "main");
        struct stat sb;

        if (fn != NULL && fn[0] != '\0' && stat(fn, &sb) == 0) {
            db->have_id = true;
            db->dev = sb.st_dev;
            db->ino = sb.st_ino;
        }
    }
    *out = db;
    db = NULL;
    rc = 0;
out:
    cat_db_close(db);
    return rc;
}

int cat_db_check_file(cat_db *db)
{
    const char *fn;
    struct stat sb;

    if (db == NULL || !db->have_id)
        return 0;
    fn = sqlite3_db_filename(db->h, "main");
    if (stat(fn, &sb) < 0)
        return cat_fail(db, YL_EDBLOST,
                        "the database file %s was removed or replaced "
                        "while open (%s)",
                        fn, strerror(errno));
    if (sb.st_dev != db->dev || sb.st_ino != db->ino)
        return cat_fail(db, YL_EDBLOST,
                        "the database file %s was removed or replaced "
                        "while open (another file is there now)",
                        fn);
    return 0;
}

int cat_reader_open(const char *path, cat_db **out)
{
    return cat_db_open(path, CAT_DB_READONLY, out);
}

void cat_db_close(cat_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < CAT_CDATA_SLOTS; i++)
        if (db->cdata[i].key != NULL && db->cdata[i].destroy != NULL)
            db->cdata[i].destroy(db->cdata[i].data);
    for (size_t i = 0; i < CAT_STMT_SLOTS; i++)
        sqlite3_finalize(db->stmts[i].st);
    /* Closing with a transaction open rolls it back. */
    moves_undo(db, 0);
    free(db->moves);
    sqlite3_close_v2(db->h);
    /* After the close, which checkpoints when it is the last connection. */
    if (db->ckpt_fd >= 0)
        close(db->ckpt_fd);
    free(db);
}

const char *cat_db_errmsg(const cat_db *db)
{
    return db != NULL ? db->errmsg : "";
}

int cat_db_schema_version(cat_db *db)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL);

    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = sqlite3_column_int(st, 0);
    else
        rc = cat_err(db, rc, "user_version");
    sqlite3_finalize(st);
    return rc;
}

int cat_db_schema_latest(void)
{
    return cat_schema_nsteps;
}

int cat_db_begin(cat_db *db)
{
    db->tx_poisoned = false;
    return run_cached(db, "BEGIN IMMEDIATE");
}

/* Binds the arguments ap to st as fmt says (see cat_query()). */
static int bind_v(cat_db *db, sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int rc = SQLITE_OK;

    for (int i = 1; fmt[i - 1] != '\0' && rc == SQLITE_OK; i++) {
        switch (fmt[i - 1]) {
        case 'i':
            rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
            break;
        case 'I':
            rc = sqlite3_bind_int(st, i, va_arg(ap, int));
            break;
        case 'd':
            rc = sqlite3_bind_double(st, i, va_arg(ap, double));
            break;
        case 't':
            rc = cat_bind_text(st, i, va_arg(ap, const char *));
            break;
        default:
            return cat_fail(db, YL_EINVAL, "bind: bad type '%c'", fmt[i - 1]);
        }
    }
    return rc == SQLITE_OK ? 0 : cat_err(db, rc, "bind");
}

/* cat_stmt() and bind_v(): the statement, or NULL (message in errmsg). */
static sqlite3_stmt *query_v(cat_db *db, const char *sql, const char *fmt,
                             va_list ap)
{
    sqlite3_stmt *st = cat_stmt(db, sql);

    if (st != NULL && bind_v(db, st, fmt, ap) < 0) {
        cat_stmt_done(st);
        st = NULL;
    }
    return st;
}

sqlite3_stmt *cat_query(cat_db *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = query_v(db, sql, fmt, ap);
    va_end(ap);
    return st;
}

int cat_run(cat_db *db, const char *what, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    st = query_v(db, sql, fmt, ap);
    va_end(ap);
    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : cat_err(db, rc, what);
}

void cat_tx_poison(cat_db *db)
{
    db->tx_poisoned = true;
}

bool cat_tx_poisoned(const cat_db *db)
{
    return db->tx_poisoned;
}

int cat_db_set_clientdata(cat_db *db, const void *key, void *data,
                          void (*destroy)(void *data))
{
    size_t i, free_slot = CAT_CDATA_SLOTS;

    for (i = 0; i < CAT_CDATA_SLOTS; i++) {
        if (db->cdata[i].key == key)
            break;
        if (db->cdata[i].key == NULL && free_slot == CAT_CDATA_SLOTS)
            free_slot = i;
    }
    if (i == CAT_CDATA_SLOTS) {
        if (free_slot == CAT_CDATA_SLOTS)
            return -ENOSPC;
        i = free_slot;
    } else if (db->cdata[i].destroy != NULL && db->cdata[i].data != data) {
        db->cdata[i].destroy(db->cdata[i].data);
    }
    db->cdata[i].key = data != NULL ? key : NULL;
    db->cdata[i].data = data;
    db->cdata[i].destroy = destroy;
    return 0;
}

void *cat_db_clientdata(cat_db *db, const void *key)
{
    for (size_t i = 0; i < CAT_CDATA_SLOTS; i++)
        if (db->cdata[i].key == key)
            return db->cdata[i].data;
    return NULL;
}

int cat_db_commit(cat_db *db)
{
    int rc = run_cached(db, "COMMIT");

    if (rc == 0)
        moves_commit(db);
    return rc;
}

void cat_db_rollback(cat_db *db)
{
    if (!sqlite3_get_autocommit(db->h))
        cat_exec(db, "ROLLBACK");
    /* Also when SQLite rolled back by itself (a full disk, I/O error). */
    moves_undo(db, 0);
}

sqlite3 *cat_db_sqlite(cat_db *db)
{
    return db->h;
}

int64_t cat_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cat_day_of_ms(int64_t ms)
{
    int64_t t = ms + CAT_TZ_OFFSET_MS;

    return t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
}

/* Days from civil (Howard Hinnant's algorithm), proleptic Gregorian. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int cat_day_parse(const char *s, int64_t *day)
{
    unsigned y, m, d;
    char extra;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &extra) != 3)
        return YL_EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return YL_EINVAL;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return YL_EINVAL;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return YL_EINVAL;
    *day = days_from_civil(y, m, d);
    return 0;
}

void cat_day_format(int64_t day, char buf[11])
{
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;

    y += m <= 2;
    if (y < 0 || y > 9999)
        y = 0;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
}

size_t cat_utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int cat_check_title(const json_t *title, int max, char *err, size_t errlen)
{
    const char *t;

    if (!json_is_string(title) || json_string_length(title) == 0) {
        snprintf(err, errlen, "title: want a non-empty string");
        return YL_EINVAL;
    }
    t = json_string_value(title);
    if (strlen(t) != json_string_length(title) || !yl_utf8_text(t) ||
        cat_utf8_len(t) > (size_t)max || strchr(t, '\n') != NULL) {
        snprintf(err, errlen,
                 "title: want one line of text, at most %d characters", max);
        return YL_EINVAL;
    }
    return 0;
}

int cat_check_targets(const json_t *targets, int max, char *err, size_t errlen)
{
    const json_t *v;
    size_t i;

    if (!json_is_array(targets) || json_array_size(targets) == 0) {
        snprintf(err, errlen,
                 "targets: want a non-empty array of region or site codes");
        return YL_EINVAL;
    }
    if (json_array_size(targets) > (size_t)max) {
        snprintf(err, errlen, "targets: at most %d codes (use a region code)",
                 max);
        return YL_EINVAL;
    }
    json_array_foreach(targets, i, v)
    {
        if (!json_is_string(v) || cat_code_level(json_string_value(v)) < 0) {
            snprintf(err, errlen, "targets[%zu]: want a division code", i);
            return YL_EINVAL;
        }
    }
    return 0;
}
