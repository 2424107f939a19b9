/* cat_views.c - viewing events: validate and apply (writer thread),
 * sessions, daily rollups, station activity. Parsing (service thread) is in
 * cat_views_parse.c, a session's missing seqs in cat_views_holes.c, what
 * they share in cat_views_internal.h.
 *
 * Within one writer transaction, sessions and rollup deltas gather in
 * memory (struct cat_vctx) and are written once per key by
 * views_flush() (the before-commit hook) just before COMMIT, so a transaction
 * of many small batches costs one upsert per touched (region, day) instead of
 * one per event. After COMMIT the touched sessions go to the active view. */
#include "catalog/cat_views.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_lang.h"
#include "catalog/cat_code.h"
#include "catalog/cat_views_internal.h"
#include "common/yl_err.h"
#include "common/yl_utf8.h"
#include "common/yl_log.h"

#define CREDIT_CAP_MS  20000
#define SESS_CACHE_MAX 65536 /* sessions kept between transactions */
/* Watch credit (docs/api.md "Watch credit"); TS_SKEW_MS, the furthest a ts
 * may be ahead of the receipt, is in cat_views_parse.c. */
#define SPAN_SLACK_MS   20000                /* per session, <= its span */
#define BACKLOG_MAX_MS  (24 * 3600 * 1000LL) /* longest silence credited */
#define BACKLOG_HOLD_MS (10 * 60 * 1000)     /* to drain an offline queue */
/* A station's row is rewritten when its backlog changes, else at most
 * once per this much of its receipts: a row read back after a restart
 * may be this far behind, offering that much more backlog. */
#define SITE_SAVE_MS 60000

/* ---- writer side ---- */

/* A station's contact with the server, for offline queues: the silence
 * before its latest contact is time its sessions may have been watching
 * unheard, so it may be credited once, shared by all of them. */
typedef struct vsite {
    int64_t id;
    int64_t last_recv; /* latest receipt of any of its events */
    double backlog;    /* seconds still to draw, until until_ms */
    int64_t until_ms;
    int64_t saved_recv; /* last_recv as the row has it */
    bool dirty;         /* backlog changed, or no row yet */
    bool touched;       /* in v->stxn: row checked at flush */
} vsite;

typedef struct vlesson {
    double duration; /* 0 when unknown (pending) */
} vlesson;

typedef struct vsld { /* site-lesson-day delta */
    struct vsld *chain;
    int64_t site, day, lesson;
    double watched;
    int sessions, completions;
} vsld;

typedef struct vreg { /* region-day delta */
    int64_t region, parent, day;
    double watched;
    int sessions, completions;
} vreg;

struct cat_vctx {
    cat_tree *tree;   /* own copy: the writer thread only */
    cat_map sess;     /* khash -> vsess chain */
    cat_map sites;    /* site id -> vsite */
    cat_map lessons;  /* id -> vlesson */
    cat_map sld;      /* hash -> vsld chain */
    cat_map reg;      /* region << 16 | day -> vreg */
    cat_map act;      /* site << 16 | day -> (void *)1 */
    cat_map act_done; /* same keys, committed: the bit is set already */
    bool poisoned;
    int64_t next_sess_id; /* 0: read max(id) first */
    vsess **txn; /* sessions with accepted events in this transaction */
    size_t ntxn, captxn;
    vsite **stxn; /* sites touched in this transaction */
    size_t nstxn, capstxn;
    int64_t last_tree_reload_ms;
    int64_t data_version; /* PRAGMA data_version when the caches were good */
};

static void free_map_values(cat_map *m, bool chained)
{
    size_t i = 0, used = m->len;
    uint64_t k;
    void *v;

    while (cat_map_next(m, &i, &k, &v)) {
        if (chained) {
            /* vsess and vsld both start with their chain pointer */
            void *p = v;
            while (p != NULL) {
                void *next = *(void **)p;
                free(p);
                p = next;
            }
        } else if (v != (void *)1) {
            free(v);
        }
    }
    /* A table grown by one big transaction would be scanned by every later
     * small one: give it back. */
    if (m->cap > 1024 && m->cap > 8 * used)
        cat_map_fini(m);
    else
        cat_map_clear(m);
}

/* Ends a transaction. Sessions and lessons stay cached across committed
 * transactions
 * (this connection is their only writer, so the cache is the table plus
 * nothing) up to SESS_CACHE_MAX; anything else is dropped. */
static void vctx_end(struct cat_vctx *v, bool committed)
{
    v->next_sess_id = 0;
    if (!committed || v->sess.len > SESS_CACHE_MAX)
        free_map_values(&v->sess, true);
    if (!committed || v->lessons.len > 4096)
        free_map_values(&v->lessons, false);
    if (!committed || v->sites.len > SESS_CACHE_MAX)
        free_map_values(&v->sites, false);
    free_map_values(&v->sld, true);
    free_map_values(&v->reg, false);
    free_map_values(&v->act, false);
    v->poisoned = false;
}

/* The key of the views state on a writer connection (cat_db_clientdata):
 * the connection does not know this module. */
static const char vctx_key = 'v';

static void vctx_free(void *p)
{
    struct cat_vctx *v = p;

    if (v == NULL)
        return;
    vctx_end(v, false);
    cat_map_fini(&v->sess);
    cat_map_fini(&v->lessons);
    cat_map_fini(&v->sites);
    cat_map_fini(&v->sld);
    cat_map_fini(&v->reg);
    cat_map_fini(&v->act);
    cat_map_fini(&v->act_done);
    free(v->txn);
    free(v->stxn);
    cat_tree_free(v->tree);
    free(v);
}

static struct cat_vctx *vctx_of(cat_db *db)
{
    return cat_db_clientdata(db, &vctx_key);
}

static int vctx_get(cat_db *db, struct cat_vctx **out)
{
    struct cat_vctx *v = vctx_of(db);
    int rc;

    if (v == NULL) {
        v = calloc(1, sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        rc = cat_tree_load(db, &v->tree);
        if (rc == 0)
            rc = cat_db_set_clientdata(db, &vctx_key, v, vctx_free);
        if (rc < 0) {
            cat_tree_free(v->tree);
            free(v);
            return rc;
        }
    }
    *out = v;
    return 0;
}

void cat_views_forget_lesson(cat_db *db, int64_t id)
{
    struct cat_vctx *v = vctx_of(db);

    if (v != NULL)
        free(cat_map_del(&v->lessons, (uint64_t)id));
}

/* Site node of id; reloads the tree (at most every 2 s) when a site exists
 * in the table but not in memory (imported while serving). */
static int find_site(cat_db *db, struct cat_vctx *v, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM sites WHERE id = ?1";
    int idx = cat_tree_find(v->tree, id), rc;
    sqlite3_stmt *st;
    cat_tree *t = NULL;
    int64_t now = cat_now_ms();

    if (idx >= 0 || now - v->last_tree_reload_ms < 2000)
        return idx;
    st = cat_stmt(db, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return -1;
    v->last_tree_reload_ms = now;
    if (cat_tree_load(db, &t) < 0)
        return -1;
    cat_tree_free(v->tree);
    v->tree = t;
    if (cat_live_of(db) != NULL)
        cat_live_reload_tree(cat_live_of(db), db);
    return cat_tree_find(v->tree, id);
}

static int get_lesson(cat_db *db, struct cat_vctx *v, int64_t id, vlesson **out)
{
    static const char sql[] = "SELECT duration_s FROM lessons WHERE id = ?1";
    vlesson *l = cat_map_get(&v->lessons, (uint64_t)id);
    sqlite3_stmt *st;
    int rc;

    if (l != NULL) {
        *out = l;
        return 0;
    }
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        l = calloc(1, sizeof(*l));
        if (l == NULL) {
            rc = -ENOMEM;
        } else {
            l->duration = sqlite3_column_double(st, 0);
            rc = cat_map_put(&v->lessons, (uint64_t)id, l);
            if (rc < 0)
                free(l);
        }
    } else {
        rc = rc == SQLITE_DONE ? YL_ENOTFOUND : cat_err(db, rc, "lesson");
    }
    cat_stmt_done(st);
    if (rc == 0)
        *out = l;
    return rc;
}

/* The session for skey from the transaction's map or the table; NULL with
 * rc 0 when it does not exist yet. */
static int find_sess(cat_db *db, struct cat_vctx *v, const view_ev *e,
                     vsess **out)
{
    static const char sql[] =
        "SELECT id, site_id, lesson_id, client, audio_lang, rendition, "
        "start_ms, last_ms, last_seq, last_clock, watched_s, furthest_s, "
        "ended, completed, holes, claimed_s, backlog_s, capped, addr "
        "FROM sessions WHERE skey = ?1";
    vsess *s = cat_map_get(&v->sess, e->khash), *head = s;
    sqlite3_stmt *st;
    int rc;

    for (; s != NULL; s = s->chain)
        if (strcmp(s->skey, e->skey) == 0) {
            *out = s;
            return 0;
        }
    *out = NULL;
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    sqlite3_bind_text(st, 1, e->skey, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
            cat_stmt_done(st);
            return -ENOMEM;
        }
        scopy(s->skey, sizeof(s->skey), e->skey);
        s->id = sqlite3_column_int64(st, 0);
        s->site_id = sqlite3_column_int64(st, 1);
        s->lesson = sqlite3_column_int64(st, 2);
        scopy(s->client, sizeof(s->client), cat_col_text(st, 3));
        scopy(s->audio, sizeof(s->audio), cat_col_text(st, 4));
        scopy(s->rendition, sizeof(s->rendition), cat_col_text(st, 5));
        s->start_ms = sqlite3_column_int64(st, 6);
        s->last_ms = sqlite3_column_int64(st, 7);
        s->last_seq = sqlite3_column_int64(st, 8);
        s->last_clock = sqlite3_column_int64(st, 9);
        s->watched = sqlite3_column_double(st, 10);
        s->furthest = sqlite3_column_double(st, 11);
        s->ended = sqlite3_column_int(st, 12);
        s->completed = sqlite3_column_int(st, 13);
        cat_holes_parse(s, (const char *)sqlite3_column_text(st, 14));
        s->claimed = sqlite3_column_double(st, 15);
        s->backlog = sqlite3_column_double(st, 16);
        s->capped = sqlite3_column_int(st, 17);
        scopy(s->addr, sizeof(s->addr), cat_col_text(st, 18));
        s->chain = head;
        rc = cat_map_put(&v->sess, e->khash, s);
        if (rc < 0)
            free(s);
        else
            *out = s;
    } else {
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "session");
    }
    cat_stmt_done(st);
    return rc;
}

/* The station's contact record from the cache or the table; a station
 * never heard from starts at recv with no backlog (its past is unknown,
 * so none of it is credited). */
static int get_site(cat_db *db, struct cat_vctx *v, int64_t id, int64_t recv,
                    vsite **out)
{
    static const char sql[] = "SELECT last_recv_ms, backlog_s, "
                              "backlog_until_ms FROM site_credit "
                              "WHERE site_id = ?1";
    vsite *t = cat_map_get(&v->sites, (uint64_t)id);
    sqlite3_stmt *st;
    int rc;

    if (t != NULL) {
        *out = t;
        return 0;
    }
    st = cat_stmt(db, sql);
    if (st == NULL)
        return YL_EDB;
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        cat_stmt_done(st);
        return -ENOMEM;
    }
    t->id = id;
    t->last_recv = recv;
    t->dirty = true;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->last_recv = sqlite3_column_int64(st, 0);
        t->backlog = sqlite3_column_double(st, 1);
        t->until_ms = sqlite3_column_int64(st, 2);
        t->saved_recv = t->last_recv;
        t->dirty = false;
    }
    cat_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(t);
        return cat_err(db, rc, "site credit");
    }
    if (cat_map_put(&v->sites, (uint64_t)id, t) < 0) {
        free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

/* A receipt from station t at recv. A silence longer than the backlog
 * still open replaces it: events queued offline during the silence may
 * draw on it for BACKLOG_HOLD_MS (the queue drains in a few batches).
 * Each silence is offered once, so all a station's backlogs together
 * never exceed the real time that passed. */
static int site_touch(struct cat_vctx *v, vsite *t, int64_t recv)
{
    int64_t gap = recv - t->last_recv;

    if (gap > 0) {
        double open = recv <= t->until_ms ? t->backlog : 0;

        if (gap > BACKLOG_MAX_MS)
            gap = BACKLOG_MAX_MS;
        if (gap / 1000.0 > open) {
            t->backlog = gap / 1000.0;
            t->until_ms = recv + BACKLOG_HOLD_MS;
            t->dirty = true;
        }
        t->last_recv = recv;
    }
    if (!t->touched) {
        if (v->nstxn == v->capstxn) {
            size_t n = v->capstxn ? v->capstxn * 2 : 64;
            vsite **a = realloc(v->stxn, n * sizeof(*a));
            if (a == NULL)
                return -ENOMEM;
            v->stxn = a;
            v->capstxn = n;
        }
        v->stxn[v->nstxn++] = t;
        t->touched = true;
    }
    return 0;
}

/* Credit for an event of session s (its receipt already in s->last_ms)
 * that claims claim seconds. Everything a session claimed is credited
 * while it stays within what the server saw pass: the span between the
 * session's first and latest receipt, plus SPAN_SLACK_MS for network
 * jitter (at most the span itself, so a session sent all at once earns
 * nothing from it), plus what it drew from its station's backlog. A
 * claim over that budget waits: it is credited later if the session's
 * span grows. Sets *newly_capped when a cap cut credit for the first
 * time in this session. */
static double session_credit(vsess *s, vsite *t, double claim,
                             int *newly_capped)
{
    double span = (double)(s->last_ms - s->start_ms) / 1000.0, budget, want;

    s->claimed += claim;
    budget = span + fmin(span, SPAN_SLACK_MS / 1000.0) + s->backlog;
    if (s->claimed > budget && t->last_recv <= t->until_ms && t->backlog > 0) {
        double take = fmin(s->claimed - budget, t->backlog);
        t->backlog -= take;
        t->dirty = true;
        s->backlog += take;
        budget += take;
    }
    /* 1 ms of rounding is not a cut */
    if (s->claimed > budget + 0.001 && !s->capped) {
        s->capped = 1;
        *newly_capped = 1;
    }
    want = fmin(s->claimed, budget);
    return want > s->watched ? want - s->watched : 0;
}

/* An event of kind live as cat_attend.c takes it (borrowing e's strings). */
static const cat_attend_ev *attend_ev(const view_ev *e, cat_attend_ev *out)
{
    out->skey = e->skey;
    out->client = e->client;
    out->seq = e->seq;
    out->site_id = e->site_id;
    out->meeting = e->meeting;
    out->ts = e->ts;
    out->recv_ms = e->recv_ms;
    out->kind = e->kind;
    return out;
}

/* Every event must name a known station and lesson (or, kind live, a
 * started meeting sent to that station: cat_attend_check), and a session
 * must keep its site and lesson (or meeting). Nothing is written here. */
static int validate(cat_db *db, struct cat_vctx *v, const cat_view_batch *b)
{
    cat_attend_ev ae;

    for (int i = 0; i < b->n; i++) {
        const view_ev *e = &b->ev[i];
        vlesson *l;
        vsess *s = NULL;
        int rc, idx;

        idx = find_site(db, v, e->site_id);
        if (idx < 0)
            return cat_fail(db, YL_EINVAL, "events[%d].site: unknown site %lld",
                            i, (long long)e->site_id);
        if (v->tree->nodes[idx].level < CAT_LEVEL_TOWNSHIP)
            return cat_fail(db, YL_EINVAL,
                            "events[%d].site: %lld is not a station", i,
                            (long long)e->site_id);
        if (e->meeting != 0) {
            rc = find_sess(db, v, e, &s);
            if (rc == 0 && s != NULL)
                return cat_fail(db, YL_EINVAL,
                                "events[%d].meeting: session \"%s\" belongs "
                                "to lesson %lld",
                                i, e->skey, (long long)s->lesson);
            if (rc == 0)
                rc = cat_attend_check(db, i, attend_ev(e, &ae));
            if (rc < 0)
                return rc;
        } else {
            rc = get_lesson(db, v, e->lesson, &l);
            if (rc == YL_ENOTFOUND)
                return cat_fail(db, YL_EINVAL,
                                "events[%d].lesson: unknown lesson %lld", i,
                                (long long)e->lesson);
            if (rc < 0)
                return rc;
            rc = find_sess(db, v, e, &s);
            if (rc < 0)
                return rc;
        }
        if (s == NULL) {
            /* New session: its first event in this batch decides. */
            for (int j = 0; j < i; j++) {
                const view_ev *f = &b->ev[j];
                if (f->khash == e->khash && strcmp(f->skey, e->skey) == 0) {
                    if (f->site_id != e->site_id || f->lesson != e->lesson ||
                        f->meeting != e->meeting)
                        return cat_fail(db, YL_EINVAL,
                                        "events[%d]: session \"%s\" changes "
                                        "site or %s (see events[%d])",
                                        i, e->skey,
                                        e->meeting ? "meeting" : "lesson", j);
                    break;
                }
            }
        } else if (s->site_id != e->site_id) {
            return cat_fail(db, YL_EINVAL,
                            "events[%d].site: session \"%s\" belongs to "
                            "site %lld",
                            i, e->skey, (long long)s->site_id);
        } else if (s->lesson != e->lesson) {
            return cat_fail(db, YL_EINVAL,
                            "events[%d].lesson: session \"%s\" belongs to "
                            "lesson %lld",
                            i, e->skey, (long long)s->lesson);
        }
    }
    return 0;
}

static uint64_t sld_hash(int64_t site, int64_t day, int64_t lesson)
{
    int64_t k[3] = {site, day, lesson};
    return cat_hash_str((const char *)k, sizeof(k));
}

/* Adds a delta to the site-lesson-day and every region-day of the
 * station's ancestry. */
static int add_delta(struct cat_vctx *v, int node, int64_t lesson, int64_t day,
                     double watched, int sessions, int completions)
{
    const cat_node *n = &v->tree->nodes[node];
    uint64_t h = sld_hash(n->id, day, lesson);
    vsld *d = cat_map_get(&v->sld, h), *head = d;

    for (; d != NULL; d = d->chain)
        if (d->site == n->id && d->day == day && d->lesson == lesson)
            break;
    if (d == NULL) {
        d = calloc(1, sizeof(*d));
        if (d == NULL)
            return -ENOMEM;
        d->site = n->id;
        d->day = day;
        d->lesson = lesson;
        d->chain = head;
        if (cat_map_put(&v->sld, h, d) < 0) {
            free(d);
            return -ENOMEM;
        }
    }
    d->watched += watched;
    d->sessions += sessions;
    d->completions += completions;
    for (int i = node; i >= 0; i = v->tree->nodes[i].parent) {
        const cat_node *a = &v->tree->nodes[i];
        uint64_t k = ((uint64_t)a->id << 16) | (uint64_t)(day & 0xffff);
        vreg *r = cat_map_get(&v->reg, k);

        if (r == NULL) {
            r = calloc(1, sizeof(*r));
            if (r == NULL)
                return -ENOMEM;
            r->region = a->id;
            r->parent = a->parent >= 0 ? v->tree->nodes[a->parent].id : 0;
            r->day = day;
            if (cat_map_put(&v->reg, k, r) < 0) {
                free(r);
                return -ENOMEM;
            }
        }
        r->watched += watched;
        r->sessions += sessions;
        r->completions += completions;
    }
    return 0;
}

/* A new session: only in memory until views_flush() inserts it with
 * its final state (one INSERT instead of INSERT + UPDATE). Its id is taken
 * here: this connection holds the write lock for the whole transaction, so
 * max(id) + n cannot collide. */
static int insert_sess(cat_db *db, struct cat_vctx *v, const view_ev *e,
                       vsess **out)
{
    static const char sql_max[] = "SELECT coalesce(max(id), 0) FROM sessions";
    sqlite3_stmt *st;
    vsess *s;
    int rc;

    if (v->next_sess_id == 0) {
        st = cat_stmt(db, sql_max);
        if (st == NULL)
            return YL_EDB;
        rc = sqlite3_step(st);
        v->next_sess_id = sqlite3_column_int64(st, 0) + 1;
        cat_stmt_done(st);
        if (rc != SQLITE_ROW)
            return cat_err(db, rc, "session id");
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    scopy(s->skey, sizeof(s->skey), e->skey);
    s->id = v->next_sess_id++;
    s->isnew = true;
    s->site_id = e->site_id;
    s->lesson = e->lesson;
    s->start_ms = s->last_ms = e->recv_ms;
    s->last_seq = e->seq;
    /* Counting starts at 1 (or 0): what came first was late. */
    cat_holes_add(s, 1, e->seq - 1);
    s->last_clock = e->ts >= 0 ? e->ts : e->recv_ms;
    scopy(s->client, sizeof(s->client), e->client);
    scopy(s->audio, sizeof(s->audio), e->audio);
    scopy(s->rendition, sizeof(s->rendition), e->rendition);
    scopy(s->addr, sizeof(s->addr), e->addr);
    s->chain = cat_map_get(&v->sess, e->khash);
    if (cat_map_put(&v->sess, e->khash, s) < 0) {
        free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

static int apply_one(cat_db *db, struct cat_vctx *v, const view_ev *e,
                     int *accepted, int *dups, int *capped)
{
    static const char sql[] =
        "INSERT INTO view_events(session_id, seq, kind, position_s, "
        "ts_ms, recv_ms, credited_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *st = cat_stmt(db, sql);
    int node = cat_tree_find(v->tree, e->site_id);
    int64_t day = cat_day_of_ms(e->recv_ms);
    int64_t clock = e->ts >= 0 ? e->ts : e->recv_ms;
    bool is_new = false, newer;
    double credit = 0, claim = 0, dur;
    vlesson *l = NULL;
    vsess *s = NULL;
    vsite *site = NULL;
    int rc, completions = 0, cut = 0;

    if (st == NULL || node < 0)
        return YL_EDB;
    rc = get_lesson(db, v, e->lesson, &l);
    if (rc == 0)
        rc = get_site(db, v, e->site_id, e->recv_ms, &site);
    if (rc == 0)
        rc = site_touch(v, site, e->recv_ms);
    if (rc == 0)
        rc = find_sess(db, v, e, &s);
    if (rc == 0 && s == NULL) {
        rc = insert_sess(db, v, e, &s);
        is_new = true;
    }
    if (rc < 0)
        return rc;
    newer = !is_new && e->seq > s->last_seq;
    if (!is_new && !newer && !cat_holes_take(s, e->seq)) {
        (*dups)++; /* stored before (see vhole) */
        return 0;
    }
    if (e->recv_ms > s->last_ms)
        s->last_ms = e->recv_ms;
    if (newer) {
        int64_t gap = clock - s->last_clock;
        claim =
            gap <= 0 ? 0 : (gap < CREDIT_CAP_MS ? gap : CREDIT_CAP_MS) / 1000.0;
    }
    /* Every accepted event, claiming or not, may release credit held back
     * while the session's span was short. */
    credit = session_credit(s, site, claim, &cut);
    *capped += cut;
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, e->seq);
    sqlite3_bind_int(st, 3, e->kind);
    sqlite3_bind_double(st, 4, e->pos);
    if (e->ts >= 0)
        sqlite3_bind_int64(st, 5, e->ts);
    sqlite3_bind_int64(st, 6, e->recv_ms);
    sqlite3_bind_double(st, 7, credit);
    rc = sqlite3_step(st);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE)
        return cat_err(db, rc, "insert event");
    (*accepted)++;
    if (newer) {
        cat_holes_add(s, s->last_seq + 1, e->seq - 1);
        s->last_seq = e->seq;
        s->last_clock = clock;
        s->ended = e->kind == KIND_END;
        if (e->client[0])
            scopy(s->client, sizeof(s->client), e->client);
        if (e->audio[0])
            scopy(s->audio, sizeof(s->audio), e->audio);
        if (e->rendition[0])
            scopy(s->rendition, sizeof(s->rendition), e->rendition);
        if (e->addr[0])
            scopy(s->addr, sizeof(s->addr), e->addr);
    } else if (is_new) {
        s->ended = e->kind == KIND_END;
    }
    s->watched += credit;
    dur = l->duration;
    s->furthest = fmax(s->furthest, dur > 0 ? fmin(e->pos, dur) : e->pos);
    if (!s->completed && dur > 0 && s->furthest >= 0.9 * dur) {
        s->completed = 1;
        completions = 1;
    }
    if (!s->touched) {
        if (v->ntxn == v->captxn) {
            size_t n = v->captxn ? v->captxn * 2 : 256;
            vsess **t = realloc(v->txn, n * sizeof(*t));
            if (t == NULL)
                return -ENOMEM;
            v->txn = t;
            v->captxn = n;
        }
        v->txn[v->ntxn++] = s;
    }
    s->dirty = true;
    s->touched = true;
    rc = add_delta(v, node, e->lesson, day, credit, is_new ? 1 : 0, 0);
    /* A completion counts on the day its session started, so a range's
     * completion rate is "of the sessions started then, how many finished"
     * and never exceeds 1. */
    if (rc == 0 && completions > 0)
        rc = add_delta(v, node, e->lesson, cat_day_of_ms(s->start_ms), 0, 0,
                       completions);
    if (rc == 0 &&
        cat_map_get(&v->act_done, ((uint64_t)e->site_id << 16) |
                                      (uint64_t)(day & 0xffff)) == NULL &&
        cat_map_get(&v->act, ((uint64_t)e->site_id << 16) |
                                 (uint64_t)(day & 0xffff)) == NULL)
        rc = cat_map_put(
            &v->act, ((uint64_t)e->site_id << 16) | (uint64_t)(day & 0xffff),
            (void *)1);
    return rc;
}

/* The session and lesson caches are the tables plus this connection's own
 * writes. Another connection's commit (a second process on the same
 * database, the CLI) changes PRAGMA data_version: then they are read
 * again. Checked at the first batch of a transaction, which holds the
 * write lock, so nothing can change while it runs. */
static int caches_current(cat_db *db, struct cat_vctx *v)
{
    sqlite3_stmt *st = cat_stmt(db, "PRAGMA data_version");
    int64_t dv;
    int rc;

    if (st == NULL)
        return YL_EDB;
    rc = sqlite3_step(st);
    dv = sqlite3_column_int64(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW)
        return cat_err(db, rc, "data_version");
    if (dv != v->data_version) {
        free_map_values(&v->sess, true);
        free_map_values(&v->lessons, false);
        free_map_values(&v->sites, false);
        v->data_version = dv;
    }
    return 0;
}

static int apply_batch(cat_db *db, const cat_view_batch *b, int *accepted,
                       int *dups, int *capped)
{
    struct cat_vctx *v;
    int rc;

    *accepted = *dups = *capped = 0;
    rc = vctx_get(db, &v);
    if (rc == 0 && v->ntxn == 0 && v->nstxn == 0 && v->sld.len == 0)
        rc = caches_current(db, v);
    if (rc < 0)
        return rc;
    rc = validate(db, v, b);
    if (rc < 0)
        return rc;
    for (int i = 0; i < b->n; i++) {
        cat_attend_ev ae;

        if (b->ev[i].meeting != 0)
            rc =
                cat_attend_apply(db, attend_ev(&b->ev[i], &ae), accepted, dups);
        else
            rc = apply_one(db, v, &b->ev[i], accepted, dups, capped);
        if (rc < 0) {
            v->poisoned = true; /* deltas are half-applied */
            cat_tx_poison(db);
            return rc;
        }
    }
    return 0;
}

/* Sets bit (day - base) of a station's activity bitmap, growing it. */
static int mark_active(cat_db *db, int64_t site, int64_t day)
{
    static const char sql_get[] =
        "SELECT base_day, bits FROM site_activity WHERE code = ?1";
    static const char sql_put[] =
        "INSERT OR REPLACE INTO site_activity(code, base_day, bits) "
        "VALUES (?1, ?2, ?3)";
    sqlite3_stmt *g = cat_stmt(db, sql_get), *p = cat_stmt(db, sql_put);
    char code[24];
    unsigned char *bits = NULL;
    int64_t base = day & ~(int64_t)63, nbase;
    int len = 0, nlen, rc;
    int64_t off;

    if (g == NULL || p == NULL)
        return YL_EDB;
    snprintf(code, sizeof(code), "%lld", (long long)site);
    sqlite3_bind_text(g, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(g);
    if (rc == SQLITE_ROW) {
        base = sqlite3_column_int64(g, 0);
        len = sqlite3_column_bytes(g, 1);
        bits = malloc((size_t)len + 1);
        if (bits != NULL && len > 0)
            memcpy(bits, sqlite3_column_blob(g, 1), (size_t)len);
    } else if (rc == SQLITE_DONE) {
        bits = malloc(1);
    } else {
        cat_stmt_done(g);
        return cat_err(db, rc, "activity");
    }
    cat_stmt_done(g);
    if (bits == NULL)
        return -ENOMEM;
    nbase = day < base ? (day & ~(int64_t)63) : base;
    nlen = len + (int)((base - nbase) / 8);
    off = day - nbase;
    if (off / 8 >= nlen)
        nlen = (int)(off / 8) + 8; /* grow by at least 64 days */
    if (nbase != base || nlen != len) {
        unsigned char *nb = calloc((size_t)nlen, 1);
        if (nb == NULL) {
            free(bits);
            return -ENOMEM;
        }
        if (len > 0)
            memcpy(nb + (base - nbase) / 8, bits, (size_t)len);
        free(bits);
        bits = nb;
    }
    bits[off / 8] |= (unsigned char)(1u << (off % 8));
    sqlite3_bind_text(p, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(p, 2, nbase);
    sqlite3_bind_blob(p, 3, bits, nlen, SQLITE_TRANSIENT);
    rc = sqlite3_step(p);
    cat_stmt_done(p);
    free(bits);
    return rc == SQLITE_DONE ? 0 : cat_err(db, rc, "activity");
}

/* Binds session s to q: the UPDATE of a known session or, when s is new,
 * the INSERT with the columns that never change after. */
static void bind_session(sqlite3_stmt *q, const vsess *s)
{
    char holes[HOLES_MAX * 44];

    sqlite3_bind_int64(q, 1, s->id);
    cat_bind_text(q, 2, s->client[0] ? s->client : NULL);
    cat_bind_text(q, 3, s->audio[0] ? s->audio : NULL);
    cat_bind_text(q, 4, s->rendition[0] ? s->rendition : NULL);
    sqlite3_bind_int64(q, 5, s->last_ms);
    sqlite3_bind_int64(q, 6, s->last_seq);
    sqlite3_bind_int64(q, 7, s->last_clock);
    sqlite3_bind_double(q, 8, s->watched);
    sqlite3_bind_double(q, 9, s->furthest);
    sqlite3_bind_int(q, 10, s->ended);
    sqlite3_bind_int(q, 11, s->completed);
    cat_bind_text(q, 16, cat_holes_format(s, holes, sizeof(holes)));
    sqlite3_bind_double(q, 17, s->claimed);
    sqlite3_bind_double(q, 18, s->backlog);
    sqlite3_bind_int(q, 19, s->capped);
    cat_bind_text(q, 20, s->addr[0] ? s->addr : NULL);
    if (s->isnew) {
        sqlite3_bind_text(q, 12, s->skey, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 13, s->site_id);
        sqlite3_bind_int64(q, 14, s->lesson);
        sqlite3_bind_int64(q, 15, s->start_ms);
    }
}

/* Writes the sessions the open transaction changed, and marks them clean. */
static int flush_sessions(cat_db *db, struct cat_vctx *v)
{
    static const char sql_sess[] =
        "UPDATE sessions SET client = ?2, audio_lang = ?3, rendition = ?4, "
        "last_ms = ?5, last_seq = ?6, last_clock = ?7, watched_s = ?8, "
        "furthest_s = ?9, ended = ?10, completed = ?11, holes = ?16, "
        "claimed_s = ?17, backlog_s = ?18, capped = ?19, addr = ?20 "
        "WHERE id = ?1";
    static const char sql_ins[] =
        "INSERT INTO sessions(id, client, audio_lang, rendition, last_ms, "
        "last_seq, last_clock, watched_s, furthest_s, ended, completed, skey, "
        "site_id, lesson_id, start_ms, holes, claimed_s, backlog_s, capped, "
        "addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
    sqlite3_stmt *st, *ins;
    int rc = 0;

    st = cat_stmt(db, sql_sess);
    ins = cat_stmt(db, sql_ins);
    for (size_t n = 0; st != NULL && ins != NULL && rc == 0 && n < v->ntxn;
         n++) {
        vsess *s = v->txn[n];
        sqlite3_stmt *q = s->isnew ? ins : st;
        if (!s->dirty)
            continue;
        bind_session(q, s);
        rc = sqlite3_step(q);
        cat_stmt_done(q);
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "write session");
        s->dirty = false;
        s->isnew = false;
    }
    if (rc == 0 && (st == NULL || ins == NULL))
        rc = YL_EDB;
    return rc;
}

/* Writes the site credit rows that changed, or whose receipt time is
 * SITE_SAVE_MS old, while rc is 0; returns rc or the first error. */
static int flush_site_credit(cat_db *db, struct cat_vctx *v, int rc)
{
    static const char sql_site[] =
        "INSERT INTO site_credit(site_id, last_recv_ms, backlog_s, "
        "backlog_until_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE "
        "SET last_recv_ms = excluded.last_recv_ms, "
        "backlog_s = excluded.backlog_s, "
        "backlog_until_ms = excluded.backlog_until_ms";
    sqlite3_stmt *st = cat_stmt(db, sql_site);

    for (size_t n = 0; st != NULL && rc == 0 && n < v->nstxn; n++) {
        vsite *t = v->stxn[n];
        if (!t->dirty && t->last_recv - t->saved_recv < SITE_SAVE_MS)
            continue;
        t->saved_recv = t->last_recv; /* on rollback the cache goes */
        t->dirty = false;
        sqlite3_bind_int64(st, 1, t->id);
        sqlite3_bind_int64(st, 2, t->last_recv);
        sqlite3_bind_double(st, 3, t->backlog);
        sqlite3_bind_int64(st, 4, t->until_ms);
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "site credit");
    }
    if (rc == 0 && st == NULL)
        rc = YL_EDB;
    return rc;
}

/* Adds the gathered rollups (site-lesson days, region days) and marks the
 * active days, while rc is 0; returns rc or the first error (a statement
 * that cannot be prepared is YL_EDB: the transaction must not commit
 * without its rollups). */
static int flush_rollups(cat_db *db, struct cat_vctx *v, int rc)
{
    static const char sql_sld[] =
        "INSERT INTO roll_site_lesson_day(site_id, day, lesson_id, watched_s, "
        "sessions, completions) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT DO UPDATE SET watched_s = watched_s + excluded.watched_s, "
        "sessions = sessions + excluded.sessions, "
        "completions = completions + excluded.completions";
    static const char sql_reg[] =
        "INSERT INTO roll_region_day(parent_id, day, region_id, watched_s, "
        "sessions, completions) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT DO UPDATE SET watched_s = watched_s + excluded.watched_s, "
        "sessions = sessions + excluded.sessions, "
        "completions = completions + excluded.completions";
    sqlite3_stmt *st = cat_stmt(db, sql_sld);
    size_t i;
    uint64_t k;
    void *val;

    for (i = 0; st != NULL && rc == 0 && cat_map_next(&v->sld, &i, &k, &val);)
        for (vsld *d = val; d != NULL && rc == 0; d = d->chain) {
            sqlite3_bind_int64(st, 1, d->site);
            sqlite3_bind_int64(st, 2, d->day);
            sqlite3_bind_int64(st, 3, d->lesson);
            sqlite3_bind_double(st, 4, d->watched);
            sqlite3_bind_int(st, 5, d->sessions);
            sqlite3_bind_int(st, 6, d->completions);
            rc = sqlite3_step(st);
            cat_stmt_done(st);
            rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "rollup");
        }
    if (st == NULL && rc == 0)
        rc = YL_EDB;
    st = cat_stmt(db, sql_reg);
    for (i = 0; st != NULL && rc == 0 && cat_map_next(&v->reg, &i, &k, &val);) {
        vreg *r = val;
        sqlite3_bind_int64(st, 1, r->parent);
        sqlite3_bind_int64(st, 2, r->day);
        sqlite3_bind_int64(st, 3, r->region);
        sqlite3_bind_double(st, 4, r->watched);
        sqlite3_bind_int(st, 5, r->sessions);
        sqlite3_bind_int(st, 6, r->completions);
        rc = sqlite3_step(st);
        cat_stmt_done(st);
        rc = rc == SQLITE_DONE ? 0 : cat_err(db, rc, "rollup");
    }
    for (i = 0; rc == 0 && cat_map_next(&v->act, &i, &k, &val);)
        rc = mark_active(db, (int64_t)(k >> 16), (int64_t)(k & 0xffff));
    if (st == NULL && rc == 0)
        rc = YL_EDB;
    return rc;
}

/* Before COMMIT: writes the session rows and rollups gathered in the open
 * transaction. Each step prepares its statements even after an earlier
 * error; the first error is kept. */
static int views_flush(cat_db *db)
{
    struct cat_vctx *v = vctx_of(db);
    int rc;

    if (v == NULL || v->poisoned)
        return v != NULL ? YL_EDB : 0;
    rc = flush_sessions(db, v);
    rc = flush_site_credit(db, v, rc);
    rc = flush_rollups(db, v, rc);
    free_map_values(&v->sld, true);
    free_map_values(&v->reg, false);
    if (rc < 0)
        v->poisoned = true;
    return rc;
}

/* After COMMIT (committed) or ROLLBACK: applies the gathered changes to
 * the active view, or drops them. */
static void views_txn_end(cat_db *db, bool committed)
{
    struct cat_vctx *v = vctx_of(db);
    cat_live *live = cat_live_of(db);
    size_t i = 0;
    uint64_t k;
    void *val;

    if (v == NULL)
        return;
    /* The active view orders sessions by when the writer committed their
     * latest event (receipt + queueing, milliseconds later), which only
     * grows, so each touch appends at the tail of its expiry list. */
    int64_t seen = cat_now_ms();

    for (size_t n = 0; n < v->ntxn; n++) {
        vsess *s = v->txn[n];
        if (committed && live != NULL)
            cat_live_touch(live, s->id, s->site_id, s->lesson, s->audio,
                           seen > s->last_ms ? seen : s->last_ms,
                           s->ended != 0);
        s->touched = false;
    }
    v->ntxn = 0;
    for (size_t n = 0; n < v->nstxn; n++)
        v->stxn[n]->touched = false;
    v->nstxn = 0;
    if (committed) {
        /* Bounded: at most a few days of stations are remembered. */
        if (v->act_done.len > 200000)
            cat_map_clear(&v->act_done);
        for (i = 0; cat_map_next(&v->act, &i, &k, &val);)
            cat_map_put(&v->act_done, k, (void *)1);
    }
    vctx_end(v, committed);
}

/* ---- writer hooks ---- */

/* Per writer: the counters of /metrics (any thread reads them). */
typedef struct views_stats {
    atomic_uint_least64_t accepted, duplicates, rejected, capped;
} views_stats;

static int hook_start(cat_writer *w, void *arg, void **state)
{
    views_stats *vs = calloc(1, sizeof(*vs));

    (void)w, (void)arg;
    if (vs == NULL)
        return -ENOMEM;
    *state = vs;
    return 0;
}

static void hook_stop(void *ud)
{
    free(ud);
}

static int hook_before_commit(void *ud, cat_db *db)
{
    (void)ud;
    return views_flush(db);
}

static void hook_after_commit(void *ud, cat_db *db)
{
    (void)ud;
    views_txn_end(db, true);
}

static void hook_rollback(void *ud, cat_db *db)
{
    (void)ud;
    views_txn_end(db, false);
}

const cat_writer_hooks cat_views_hooks = {
    .name = "views",
    .start = hook_start,
    .stop = hook_stop,
    .before_commit = hook_before_commit,
    .after_commit = hook_after_commit,
    .rollback = hook_rollback,
};

void cat_views_counters(cat_writer *w, uint64_t c[4])
{
    views_stats *vs = cat_writer_hook_state(w, &cat_views_hooks);

    c[0] = vs != NULL ? atomic_load(&vs->accepted) : 0;
    c[1] = vs != NULL ? atomic_load(&vs->duplicates) : 0;
    c[2] = vs != NULL ? atomic_load(&vs->rejected) : 0;
    c[3] = vs != NULL ? atomic_load(&vs->capped) : 0;
}

/* ---- entry points ---- */

static int views_op(cat_db *db, void *arg, cat_write_result *res)
{
    return apply_batch(db, arg, &res->accepted, &res->duplicates, &res->capped);
}

/* Writer thread, after the transaction: counts for /metrics. */
static void views_finished(cat_writer *w, int rc, const cat_write_result *res)
{
    views_stats *vs = cat_writer_hook_state(w, &cat_views_hooks);

    if (vs == NULL)
        return;
    if (rc < 0) {
        atomic_fetch_add(&vs->rejected, 1);
    } else {
        atomic_fetch_add(&vs->accepted, (uint64_t)res->accepted);
        atomic_fetch_add(&vs->duplicates, (uint64_t)res->duplicates);
        atomic_fetch_add(&vs->capped, (uint64_t)res->capped);
    }
}

/* View batches validate before they write and poison the whole
 * transaction if a write fails, so they need no savepoint. */
static const cat_write_op views_wop = {
    .name = "views",
    .fn = views_op,
    .flags = CAT_WOP_NO_SAVEPOINT,
    .finished = views_finished,
};

static void batch_free(void *p)
{
    cat_view_batch_free(p);
}

int cat_views_submit(cat_writer *w, cat_view_batch *b, cat_write_done done,
                     void *ud)
{
    return cat_writer_submit_op(w, &views_wop, b, batch_free, done, ud);
}

int cat_views_apply(cat_db *db, const cat_view_batch *b, int *accepted,
                    int *duplicates)
{
    bool own = sqlite3_get_autocommit(db->h) != 0;
    cat_tx tx;
    int rc, capped;

    rc = cat_tx_begin(db, &tx);
    if (rc < 0)
        return rc;
    rc = apply_batch(db, b, accepted, duplicates, &capped);
    if (rc >= 0)
        rc = views_flush(db);
    rc = cat_tx_end(db, &tx, rc);
    /* The gathered state is dropped either way: flushed, or rolled back. */
    views_txn_end(db, own && rc >= 0);
    return rc;
}
