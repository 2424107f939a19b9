/* cat_writer.c - the catalog writer thread: one connection, a queue of
 * write requests, batches committed in one transaction each, callbacks
 * after COMMIT. */
#include "catalog/cat_writer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/cat_internal.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "common/yl_time.h"

typedef struct wreq {
    struct wreq *next;
    const cat_write_op *op; /* NULL: plain fn, the default flags */
    cat_write_fn fn;
    void *arg;
    void (*arg_free)(void *);
    cat_write_done done;
    void *ud;
    int rc;
    cat_write_result res;
} wreq;

struct cat_writer {
    cat_config cfg;
    cat_db *db;     /* writer thread only (after start) */
    cat_live *live; /* owned; internally locked */
    pthread_t thread;
    bool started;
    /* WAL pages after the last COMMIT (wal_hook; writer thread only):
     * the writer checkpoints on its own connection once a batch has been
     * answered. Never on a second connection: SQLite before 3.51.3 can
     * lose committed pages when one connection checkpoints while another
     * commits (the "WAL-reset bug"; Debian 12 ships 3.40.1). */
    int wal_pages;
    atomic_uint_least64_t checkpoints;
    /* Put off while a catalog command held the checkpoint lock. */
    atomic_uint_least64_t ckpt_deferred;
    /* lock guards the queue and stopping */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    wreq *head, **tail;
    int depth;
    bool stopping;
    /* The database file is gone (writer thread sets it; lock guards the
     * hook). Every request fails from then on. */
    atomic_bool lost;
    void (*on_lost)(void *ud);
    void *on_lost_ud;
    /* Registered hooks (lock guards nhooks; an entry is written before
     * nhooks counts it and never changes after). */
    struct {
        const cat_writer_hooks *h;
        void *state;
    } hooks[CAT_WRITER_HOOKS];
    int nhooks;
    /* counters for /metrics, any thread */
    atomic_uint_least64_t txns, requests;
    atomic_uint_least64_t cpu_ns; /* writer thread CPU time */
};

/* Writer thread: the hooks registered so far, in order. */
static int hooks_now(cat_writer *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    n = w->nhooks;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Writer thread: runs every before-commit hook; the first error wins. */
static int hooks_before_commit(cat_writer *w, int n)
{
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++)
        if (w->hooks[i].h->before_commit != NULL)
            rc = w->hooks[i].h->before_commit(w->hooks[i].state, w->db);
    return rc;
}

/* Writer thread: the transaction ended (committed, or rolled back). */
static void hooks_end(cat_writer *w, int n, bool committed)
{
    for (int i = 0; i < n; i++) {
        const cat_writer_hooks *h = w->hooks[i].h;

        if (committed && h->after_commit != NULL)
            h->after_commit(w->hooks[i].state, w->db);
        else if (!committed && h->rollback != NULL)
            h->rollback(w->hooks[i].state, w->db);
    }
}

static void finish_all(cat_writer *w, wreq *list)
{
    while (list != NULL) {
        wreq *r = list;

        list = r->next;
        if (r->rc < 0 && r->res.error[0] == '\0') {
            char buf[128];
            snprintf(r->res.error, sizeof(r->res.error), "%s",
                     yl_strerror(r->rc, buf, sizeof(buf)));
        }
        if (r->op != NULL && r->op->finished != NULL)
            r->op->finished(w, r->rc, &r->res);
        if (r->done != NULL)
            r->done(r->ud, r->rc, &r->res);
        if (r->arg_free != NULL)
            r->arg_free(r->arg);
        json_decref(r->res.json);
        if (r->res.payload_free != NULL)
            r->res.payload_free(r->res.payload);
        free(r);
    }
}

/* Writer thread: false once the database file is gone, and then the
 * hook has been told (once). */
static bool file_ok(cat_writer *w)
{
    void (*fn)(void *) = NULL;
    void *ud = NULL;

    if (atomic_load(&w->lost))
        return false;
    if (cat_db_check_file(w->db) == 0)
        return true;
    YL_LOGE("cat", "%s; refusing every write from now on", w->db->errmsg);
    atomic_store(&w->lost, true);
    pthread_mutex_lock(&w->lock);
    fn = w->on_lost;
    ud = w->on_lost_ud;
    pthread_mutex_unlock(&w->lock);
    if (fn != NULL)
        fn(ud);
    return false;
}

/* Fails every request of list with YL_EDBLOST. */
static void fail_lost(cat_writer *w, wreq *list)
{
    for (wreq *r = list; r != NULL; r = r->next) {
        r->rc = YL_EDBLOST;
        snprintf(r->res.error, sizeof(r->res.error),
                 "the database file was removed or replaced; the server "
                 "is stopping (nothing was stored)");
    }
    finish_all(w, list);
}

/* Writer thread: runs one batch in one transaction. */
static void run_batch(cat_writer *w, wreq *list)
{
    cat_db *db = w->db;
    bool aborted = false, lost = false;
    int nhooks = hooks_now(w);
    int rc;

    if (!file_ok(w)) {
        fail_lost(w, list);
        return;
    }
    rc = cat_db_begin(db);
    if (rc < 0) {
        for (wreq *r = list; r != NULL; r = r->next) {
            r->rc = rc;
            snprintf(r->res.error, sizeof(r->res.error),
                     "database busy or failing: %.400s", db->errmsg);
        }
        finish_all(w, list);
        return;
    }
    for (wreq *r = list; r != NULL; r = r->next) {
        cat_tx sp;
        bool need_sp = r->op == NULL || !(r->op->flags & CAT_WOP_NO_SAVEPOINT);

        db->errmsg[0] = '\0';
        r->rc = need_sp ? cat_tx_begin(db, &sp) : 0;
        if (r->rc == 0) {
            r->rc = r->fn(db, r->arg, &r->res);
            if (r->rc < 0 && r->res.error[0] == '\0')
                snprintf(r->res.error, sizeof(r->res.error), "%s", db->errmsg);
            if (need_sp)
                r->rc = cat_tx_end(db, &sp, r->rc);
        }
        if (cat_tx_poisoned(db)) {
            aborted = true; /* an operation failed half-applied */
            break;
        }
    }
    if (!aborted) {
        rc = hooks_before_commit(w, nhooks);
        /* Acknowledge nothing that would go into a file nobody will
         * open again. */
        if (rc == 0 && !file_ok(w)) {
            lost = true;
            aborted = true;
        }
        if (rc == 0 && !lost)
            rc = cat_db_commit(db);
        if (rc < 0)
            aborted = true;
    }
    if (lost) {
        cat_db_rollback(db);
        hooks_end(w, nhooks, false);
        fail_lost(w, list);
        return;
    }
    if (aborted) {
        /* A full disk aborts everyone's writes: each is told so (507),
         * not a generic database error; so does a read-only file (503). */
        int cause = rc == -ENOSPC || rc == -EROFS ? rc : YL_EDB;

        for (wreq *r = list; r != NULL; r = r->next)
            if (r->rc == -ENOSPC || r->rc == -EROFS)
                cause = r->rc;
        YL_LOGE("cat", "writer transaction aborted: %s", db->errmsg);
        cat_db_rollback(db);
        hooks_end(w, nhooks, false);
        for (wreq *r = list; r != NULL; r = r->next) {
            if (r->rc >= 0) {
                r->rc = cause;
                snprintf(r->res.error, sizeof(r->res.error),
                         "transaction aborted: %.400s", db->errmsg);
            }
        }
    } else {
        hooks_end(w, nhooks, true);
        atomic_fetch_add(&w->txns, 1);
    }
    finish_all(w, list);
}

#define CKPT_PAGES 1000 /* as SQLite's auto-checkpoint: ~4 MiB of WAL */

/* Writer thread, after each COMMIT (replaces SQLite's auto-checkpoint,
 * which would copy pages back inside COMMIT, before anyone is answered). */
static int wal_hook(void *ud, sqlite3 *h, const char *dbname, int pages)
{
    cat_writer *w = ud;

    (void)h, (void)dbname;
    w->wal_pages = pages;
    return SQLITE_OK;
}

/* Writer thread, after a batch's callbacks: copies the WAL back into the
 * database once it holds CKPT_PAGES. PASSIVE never waits for readers; the
 * requests queued meanwhile wait for the copy (milliseconds per 4 MiB). */
static void checkpoint_if_due(cat_writer *w)
{
    if (w->wal_pages < CKPT_PAGES)
        return;
    /* A catalog command is writing (cat_db.h, CAT_DB_GUEST): not under
     * its commits; after a later batch. */
    if (cat_db_ckpt_trylock(w->db) < 0) {
        atomic_fetch_add(&w->ckpt_deferred, 1);
        return;
    }
    w->wal_pages = 0;
    sqlite3_wal_checkpoint_v2(cat_db_sqlite(w->db), NULL,
                              SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    cat_db_ckpt_unlock(w->db);
    atomic_fetch_add(&w->checkpoints, 1);
}

static void *writer_main(void *p)
{
    cat_writer *w = p;

    for (;;) {
        wreq *list, **cut;
        int n = 0;

        pthread_mutex_lock(&w->lock);
        while (w->head == NULL && !w->stopping) {
            /* Idle: look at the database file once a second, so a
             * deleted one is noticed without a write. The monotonic
             * clock (w->cond's): a wall clock set back would stretch
             * this second by as much. */
            if (yl_timed_wait_ms(&w->cond, &w->lock, 1000) == ETIMEDOUT &&
                w->head == NULL && !atomic_load(&w->lost)) {
                pthread_mutex_unlock(&w->lock);
                file_ok(w);
                pthread_mutex_lock(&w->lock);
            }
        }
        if (w->head == NULL) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        /* Take up to writer_batch requests. */
        list = w->head;
        cut = &w->head;
        while (*cut != NULL && n < w->cfg.writer_batch) {
            cut = &(*cut)->next;
            n++;
        }
        w->head = *cut;
        *cut = NULL;
        if (w->head == NULL)
            w->tail = &w->head;
        w->depth -= n;
        pthread_mutex_unlock(&w->lock);
        atomic_fetch_add(&w->requests, (uint64_t)n);
        run_batch(w, list);
        checkpoint_if_due(w);
        {
            struct timespec ts;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
            atomic_store(&w->cpu_ns, (uint64_t)ts.tv_sec * 1000000000u +
                                         (uint64_t)ts.tv_nsec);
        }
    }
    return NULL;
}

int cat_writer_start(const cat_config *cfg, cat_writer **out)
{
    cat_writer *w;
    int rc;

    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->cfg = *cfg;
    if (w->cfg.writer_batch <= 0)
        w->cfg.writer_batch = 512;
    if (w->cfg.active_window_s <= 0)
        w->cfg.active_window_s = 60;
    pthread_mutex_init(&w->lock, NULL);
    yl_cond_init_mono(&w->cond);
    atomic_init(&w->lost, false);
    w->tail = &w->head;
    rc = cat_db_open(cfg->db_path, 0, &w->db);
    if (rc < 0)
        goto fail;
    /* Creates the checkpoint lock file now (cat_db.h, CAT_DB_GUEST): a
     * catalog command run by a user who may not create it can lock it. */
    if (cat_db_ckpt_trylock(w->db) == 0)
        cat_db_ckpt_unlock(w->db);
    /* SQLite opens a file it may not write (mode 0444 for a non-root
     * user, a read-only mount) read-only: reads are served, every write
     * fails with -EROFS (503 read_only). Said once, here. */
    if (sqlite3_db_readonly(cat_db_sqlite(w->db), "main") == 1)
        YL_LOGW("cat",
                "the database %s is read-only: serving reads, refusing "
                "every write (503 read_only) until it is writable and the "
                "server restarted",
                cfg->db_path);
    rc = cat_live_new(w->db, w->cfg.active_window_s, cat_now_ms(), &w->live);
    if (rc < 0)
        goto fail;
    rc = cat_live_attach(w->db, w->live);
    if (rc < 0)
        goto fail;
    for (int i = 0; cat_writer_modules[i] != NULL; i++) {
        rc = cat_writer_add_hooks(w, cat_writer_modules[i], NULL);
        if (rc < 0)
            goto fail;
    }
    sqlite3_wal_hook(cat_db_sqlite(w->db), wal_hook, w);
    rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        rc = -rc;
        goto fail;
    }
    w->started = true;
    *out = w;
    return 0;
fail:
    YL_LOGE("cat", "writer start on \"%s\" failed", cfg->db_path);
    cat_writer_stop(w);
    return rc;
}

void cat_writer_stop(cat_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (w->started)
        pthread_join(w->thread, NULL);
    /* Requests submitted after the thread left (none if the caller obeyed
     * the contract) are failed rather than lost silently. */
    for (wreq *r = w->head; r != NULL; r = r->next)
        r->rc = YL_EINTR;
    finish_all(w, w->head);
    cat_db_close(w->db);
    for (int i = w->nhooks - 1; i >= 0; i--)
        if (w->hooks[i].h->stop != NULL)
            w->hooks[i].h->stop(w->hooks[i].state);
    cat_live_free(w->live);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

static int submit(cat_writer *w, const cat_write_op *op, cat_write_fn fn,
                  void *arg, void (*arg_free)(void *arg), cat_write_done done,
                  void *ud)
{
    wreq *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        if (arg_free != NULL)
            arg_free(arg);
        return -ENOMEM;
    }
    r->op = op;
    r->fn = fn;
    r->arg = arg;
    r->arg_free = arg_free;
    r->done = done;
    r->ud = ud;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        if (arg_free != NULL)
            arg_free(arg);
        free(r);
        return YL_EINTR;
    }
    *w->tail = r;
    w->tail = &r->next;
    w->depth++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int cat_writer_submit(cat_writer *w, cat_write_fn fn, void *arg,
                      void (*arg_free)(void *arg), cat_write_done done,
                      void *ud)
{
    return submit(w, NULL, fn, arg, arg_free, done, ud);
}

int cat_writer_submit_op(cat_writer *w, const cat_write_op *op, void *arg,
                         void (*arg_free)(void *arg), cat_write_done done,
                         void *ud)
{
    return submit(w, op, op->fn, arg, arg_free, done, ud);
}

int cat_writer_add_hooks(cat_writer *w, const cat_writer_hooks *h, void *arg)
{
    void *state = NULL;
    int rc;

    pthread_mutex_lock(&w->lock);
    rc = w->nhooks < CAT_WRITER_HOOKS ? 0 : -ENOSPC;
    pthread_mutex_unlock(&w->lock);
    if (rc == 0 && h->start != NULL)
        rc = h->start(w, arg, &state);
    if (rc < 0) {
        YL_LOGE("cat", "writer hooks \"%s\" not registered", h->name);
        return rc;
    }
    pthread_mutex_lock(&w->lock);
    if (w->nhooks < CAT_WRITER_HOOKS) {
        w->hooks[w->nhooks].h = h;
        w->hooks[w->nhooks].state = state;
        w->nhooks++;
    } else {
        rc = -ENOSPC;
    }
    pthread_mutex_unlock(&w->lock);
    if (rc < 0 && h->stop != NULL)
        h->stop(state);
    return rc;
}

void *cat_writer_hook_state(cat_writer *w, const cat_writer_hooks *h)
{
    void *state = NULL;

    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nhooks; i++)
        if (w->hooks[i].h == h)
            state = w->hooks[i].state;
    pthread_mutex_unlock(&w->lock);
    return state;
}

void cat_writer_on_lost(cat_writer *w, void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&w->lock);
    w->on_lost = fn;
    w->on_lost_ud = ud;
    pthread_mutex_unlock(&w->lock);
}

int cat_writer_queue_depth(cat_writer *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    n = w->depth;
    pthread_mutex_unlock(&w->lock);
    return n;
}

cat_live *cat_writer_live(cat_writer *w)
{
    return w->live;
}

void cat_writer_counters(cat_writer *w, uint64_t c[3])
{
    c[0] = atomic_load(&w->txns);
    c[1] = atomic_load(&w->requests);
    c[2] = atomic_load(&w->cpu_ns);
}

void cat_sync_init(cat_sync *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
}

void cat_sync_done(void *ud, int rc, const cat_write_result *res)
{
    cat_sync *s = ud;

    pthread_mutex_lock(&s->lock);
    s->rc = rc;
    s->res = *res;
    /* A copy, not another reference: the writer drops its own reference
     * right after this callback while the waiting thread takes one, and
     * jansson's reference counts are not meant to be shared by threads. */
    if (res->json != NULL)
        s->res.json = json_deep_copy(res->json);
    s->res.payload = NULL; /* the writer frees it after this callback */
    s->res.payload_free = NULL;
    s->finished = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int cat_sync_wait(cat_sync *s)
{
    pthread_mutex_lock(&s->lock);
    while (!s->finished)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return s->rc;
}

void cat_sync_fini(cat_sync *s)
{
    json_decref(s->res.json);
    s->res.json = NULL;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
}
