/* cat_writer.h - the catalog writer thread: the server's one writer
 * connection (STYLE.md §4/§5).
 *
 * Any thread submits write requests; the writer thread takes everything
 * queued (up to cat_config.writer_batch requests), runs them inside one
 * BEGIN IMMEDIATE transaction (each request inside its own SAVEPOINT, so a
 * request that fails validation is rolled back alone and reported), COMMITs,
 * and only then calls each request's `done` callback, ON THE WRITER THREAD,
 * in submission order. A request acknowledged with rc >= 0 is in the WAL
 * (synchronous=FULL: the WAL is fsynced at COMMIT, so it survives kill -9
 * and a power cut). Group commit: while one transaction commits,
 * new requests queue and go into the next one.
 *
 * The streamer's callback should copy what it needs from `res`, post to its
 * own queue and call lws_cancel_service(); it must not block or call back
 * into the writer synchronously.
 *
 * Modules act at the transaction's edges through hooks (as
 * sqlite3_commit_hook() and sqlite3_rollback_hook() do): before COMMIT
 * (write what the batch gathered in memory), after COMMIT (publish it)
 * and after ROLLBACK (drop it). The viewing-events module is one such set
 * (cat_views.c); the writer core names none of them.
 *
 * The writer also owns the in-memory view of active sessions that
 * cat_stats_now() reads (updated after each COMMIT by the views hooks). */
#ifndef YL_CAT_WRITER_H
#define YL_CAT_WRITER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/cat_config.h"
#include "catalog/cat_db.h"

typedef struct cat_writer cat_writer; /* opaque: defined in cat_writer.c */

/* What a finished request reports. Borrowed for the callback only: copy the
 * fields, json_incref() json to keep it. */
typedef struct cat_write_result {
    int64_t id;      /* lesson id (create), job id (claim), token id ... */
    int64_t job_id;  /* lesson create: the job; 0 otherwise */
    int accepted;    /* views: events newly stored */
    int duplicates;  /* views: events already stored (same session, seq) */
    int capped;      /* views: sessions whose credit a cap cut first now */
    bool replayed;   /* lesson create: the Idempotency-Key was known */
    json_t *json;    /* job claim: the job; token create: {"token": ...} */
    char error[512]; /* rc < 0: one line naming the field ("" otherwise) */
    /* An operation's own result, for outputs the fields above do not
     * name: set by the operation (with payload_free, which the writer
     * calls after done; may be NULL). Borrowed by done like the rest;
     * cat_sync does not keep it. */
    void *payload;
    void (*payload_free)(void *payload);
} cat_write_result;

/* Writer thread, after COMMIT (or after the rollback of this request when
 * rc < 0). rc is 0 or a negative yl code (cat_db.h says how to map it). */
typedef void (*cat_write_done)(void *ud, int rc, const cat_write_result *res);

/* A write operation, run on the writer thread inside the transaction with
 * the writer connection. Return 0 or a negative yl code; on error put the
 * message in res->error (or leave it empty to use cat_db_errmsg(db)). */
typedef int (*cat_write_fn)(cat_db *db, void *arg, cat_write_result *res);

/* An operation's description, for operations that need more than a
 * function: a static const object of the module that defines it. */
enum cat_write_op_flags {
    /* Run without its own SAVEPOINT: the operation validates before it
     * writes and, when a write fails half-way, calls cat_tx_poison() (in
     * catalog/cat_internal.h) so that the whole batch rolls back. Saves
     * a savepoint per request on the hot path (viewing events). */
    CAT_WOP_NO_SAVEPOINT = 1 << 0,
};

typedef struct cat_write_op {
    const char *name; /* for logs */
    cat_write_fn fn;
    unsigned flags; /* enum cat_write_op_flags */
    /* Writer thread, after the transaction ended and before done (may be
     * NULL): count or observe the outcome (rc is final). */
    void (*finished)(cat_writer *w, int rc, const cat_write_result *res);
} cat_write_op;

/* Hooks a module registers with the writer. Each runs on the writer
 * thread with the writer connection; any may be NULL. */
typedef struct cat_writer_hooks {
    const char *name;
    /* At registration, on the registering thread: make the module's state
     * (*state, passed to the others as ud; no SQL here, the connection
     * belongs to the writer thread). 0 or a negative yl code, which fails
     * the registration (and cat_writer_start()). */
    int (*start)(cat_writer *w, void *arg, void **state);
    /* cat_writer_stop(), after the thread ended: free the state. */
    void (*stop)(void *ud);
    /* After the batch's operations, before COMMIT: write what the
     * transaction gathered. A negative yl code rolls everything back
     * (every request of the batch fails). */
    int (*before_commit)(void *ud, cat_db *db);
    /* After COMMIT (durable), before the done callbacks. */
    void (*after_commit)(void *ud, cat_db *db);
    /* After ROLLBACK of the whole transaction (not of one request's
     * savepoint), before the done callbacks. */
    void (*rollback)(void *ud, cat_db *db);
} cat_writer_hooks;

/* Opens the writer connection on cfg->db_path (creating and migrating the
 * database), loads the active-session view and starts the thread. cfg is
 * copied. Returns 0 and *out, or a negative yl code. */
int cat_writer_start(const cat_config *cfg, cat_writer **out);

/* Stops taking requests, runs and commits everything already queued (their
 * callbacks fire), joins the thread and frees w. NULL is a no-op. Call from
 * the thread that started it, after the other threads stopped submitting. */
void cat_writer_stop(cat_writer *w);

/* Any thread. Queues fn(db, arg, res); arg_free(arg) runs on the writer
 * thread after done (arg_free may be NULL). Takes ownership of arg even on
 * error. done may be NULL. Returns 0, or YL_EINTR when the writer is
 * stopping (then done is NOT called and arg is freed). */
int cat_writer_submit(cat_writer *w, cat_write_fn fn, void *arg,
                      void (*arg_free)(void *arg), cat_write_done done,
                      void *ud);

/* Any thread. The same with an operation description (op: static, it
 * outlives the writer). */
int cat_writer_submit_op(cat_writer *w, const cat_write_op *op, void *arg,
                         void (*arg_free)(void *arg), cat_write_done done,
                         void *ud);

/* Registers hooks (h: static, it outlives the writer); they run in
 * registration order, the catalog's own modules (cat_modules.c) first.
 * h->start(w, arg, &state) runs here. At most CAT_WRITER_HOOKS sets.
 * Any thread; a batch already running does not see them. Returns 0,
 * -ENOSPC, or start's error. */
#define CAT_WRITER_HOOKS 16
int cat_writer_add_hooks(cat_writer *w, const cat_writer_hooks *h, void *arg);

/* The state start() made for h on w, or NULL if h is not registered. */
void *cat_writer_hook_state(cat_writer *w, const cat_writer_hooks *h);

/* The database file was deleted or replaced under the writer (checked
 * before every COMMIT and once a second when idle, cat_db_check_file()).
 * From then on every request fails with YL_EDBLOST and nothing is
 * acknowledged; fn(ud) runs once, on the writer thread, and must not
 * block (post to your loop). Call right after cat_writer_start(). */
void cat_writer_on_lost(cat_writer *w, void (*fn)(void *ud), void *ud);

/* Requests waiting, for /metrics and back-pressure. Any thread. */
int cat_writer_queue_depth(cat_writer *w);

/* Blocking use of the writer from a thread that may block (the job runner,
 * CLI, tests) — never from the lws service thread or the writer thread:
 *
 *     cat_sync s;
 *     cat_sync_init(&s);
 *     rc = cat_jobs_claim_submit(w, cat_sync_done, &s);
 *     if (rc == 0)
 *         rc = cat_sync_wait(&s);     // s.res.json is owned by s now
 *     ...
 *     cat_sync_fini(&s);              // json_decref(s.res.json)
 */
typedef struct cat_sync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int finished;
    int rc;
    cat_write_result res; /* copy of the result; res.json holds a ref */
} cat_sync;

void cat_sync_init(cat_sync *s);
void cat_sync_done(void *ud, int rc, const cat_write_result *res);
int cat_sync_wait(cat_sync *s); /* returns the request's rc */
void cat_sync_fini(cat_sync *s);

#endif
