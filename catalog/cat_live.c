/* cat_live.c - the site tree in memory and the view of active sessions.
 *
 * The tree is loaded from the sites table (16,000 rows at province scale)
 * and never changes after load; a reload builds a new one. The active view
 * is owned by the writer: cat_live_touch() runs on the writer thread after
 * each COMMIT, cat_live_now_json() and cat_live_totals() on any thread;
 * everything inside is guarded by l->lock. Sessions sit in a list sorted by
 * their last event's receipt time, so expiry pops from the head. Counts per
 * node (active sessions and active stations of its subtree) are kept
 * incrementally, so /stats/now costs O(children) and no SQL; its top
 * lessons (with their audio languages) walk the active sessions, and the
 * latest session starts sit in a small ring (the wall's ticker). */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_internal.h"
#include "catalog/cat_code.h"
#include "common/yl_err.h"
#include "common/yl_log.h"

int cat_tree_find(const cat_tree *t, int64_t id)
{
    void *v = cat_map_get(&t->by_id, (uint64_t)id);

    return v != NULL ? (int)((uintptr_t)v - 1) : -1;
}

void cat_tree_free(cat_tree *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->n; i++)
        free(t->nodes[i].name);
    free(t->nodes);
    free(t->kids);
    cat_map_fini(&t->by_id);
    free(t);
}

int cat_tree_load(cat_db *db, cat_tree **out)
{
    static const char sql_n[] = "SELECT count(*) FROM sites";
    /* Parents before children; children in code order. */
    static const char sql[] =
        "SELECT id, code, level, parent_id, name, stations FROM sites "
        "ORDER BY level, code";
    cat_tree *t = NULL;
    sqlite3_stmt *st;
    int rc, n = 0, *fill = NULL;

    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    cat_map_init(&t->by_id);
    st = cat_stmt(db, sql_n);
    if (st == NULL) {
        rc = YL_EDB;
        goto fail;
    }
    rc = sqlite3_step(st);
    n = sqlite3_column_int(st, 0);
    cat_stmt_done(st);
    if (rc != SQLITE_ROW) {
        rc = cat_err(db, rc, "count sites");
        goto fail;
    }
    t->nodes = calloc((size_t)n + 1, sizeof(*t->nodes));
    t->kids = calloc((size_t)n + 1, sizeof(*t->kids));
    fill = calloc((size_t)n + 1, sizeof(*fill));
    if (t->nodes == NULL || t->kids == NULL || fill == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    st = cat_stmt(db, sql);
    if (st == NULL) {
        rc = YL_EDB;
        goto fail;
    }
    rc = SQLITE_DONE;
    while (t->n < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cat_node *nd = &t->nodes[t->n];

        nd->id = sqlite3_column_int64(st, 0);
        snprintf(nd->code, sizeof(nd->code), "%s", cat_col_text(st, 1));
        nd->level = sqlite3_column_int(st, 2);
        nd->parent = sqlite3_column_type(st, 3) == SQLITE_NULL
                         ? -1
                         : cat_tree_find(t, sqlite3_column_int64(st, 3));
        nd->name = strdup(cat_col_text(st, 4));
        nd->stations = sqlite3_column_int(st, 5);
        if (nd->name == NULL ||
            cat_map_put(&t->by_id, (uint64_t)nd->id,
                        (void *)(uintptr_t)(t->n + 1)) < 0) {
            rc = -ENOMEM;
            cat_stmt_done(st);
            goto fail;
        }
        t->n++;
    }
    cat_stmt_done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = cat_err(db, rc, "load sites");
        goto fail;
    }
    /* Children: count, prefix sums, fill (rows came in code order). */
    for (int i = 0; i < t->n; i++)
        if (t->nodes[i].parent >= 0)
            t->nodes[t->nodes[i].parent].nkids++;
    for (int i = 0, pos = 0; i < t->n; i++) {
        t->nodes[i].first_child = pos;
        fill[i] = pos;
        pos += t->nodes[i].nkids;
    }
    for (int i = 0; i < t->n; i++)
        if (t->nodes[i].parent >= 0)
            t->kids[fill[t->nodes[i].parent]++] = i;
    free(fill);
    *out = t;
    return 0;
fail:
    free(fill);
    cat_tree_free(t);
    return rc;
}

typedef struct lsess {
    int64_t id;
    int64_t site_id;
    int64_t lesson;
    int node; /* index in l->tree, -1 if the site is unknown to it */
    int64_t last_ms;
    char audio[24]; /* BCP-47 tag, "" if none yet */
    struct lsess *prev, *next;
} lsess;

/* A session start, for the ticker. */
typedef struct lstart {
    int64_t site_id, lesson, at_ms;
    char audio[24];
} lstart;

#define STARTS_MAX  64 /* ring of the latest starts */
#define STARTS_JSON 10 /* starts in one answer */
#define TOP_LESSONS 5
#define TOP_LANGS   8

struct cat_live {
    pthread_mutex_t lock;
    int64_t window_ms;
    cat_tree *tree;
    int *sessions;      /* per node: active sessions in its subtree */
    int *sites;         /* per node: active stations in its subtree */
    int *own;           /* per node: active sessions at the node itself */
    cat_map by_id;      /* session id -> lsess */
    lsess *head, *tail; /* by last_ms, oldest first */
    int64_t total_sessions;
    lstart starts[STARTS_MAX]; /* ring; starts_n ever added */
    uint64_t starts_n;
};

static void count_locked(cat_live *l, int node, int dir)
{
    bool site_flip;

    if (node < 0)
        return;
    l->own[node] += dir;
    site_flip =
        (dir > 0 && l->own[node] == 1) || (dir < 0 && l->own[node] == 0);
    for (int i = node; i >= 0; i = l->tree->nodes[i].parent) {
        l->sessions[i] += dir;
        if (site_flip)
            l->sites[i] += dir;
    }
}

static void unlink_locked(cat_live *l, lsess *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = NULL;
}

/* Inserts s keeping the list sorted by last_ms (usually at the tail). */
static void insert_sorted_locked(cat_live *l, lsess *s)
{
    lsess *after = l->tail;

    while (after != NULL && after->last_ms > s->last_ms)
        after = after->prev;
    s->prev = after;
    s->next = after ? after->next : l->head;
    if (s->next)
        s->next->prev = s;
    else
        l->tail = s;
    if (after)
        after->next = s;
    else
        l->head = s;
}

static void remove_locked(cat_live *l, lsess *s)
{
    unlink_locked(l, s);
    cat_map_del(&l->by_id, (uint64_t)s->id);
    count_locked(l, s->node, -1);
    l->total_sessions--;
    free(s);
}

static void expire_locked(cat_live *l, int64_t now_ms)
{
    while (l->head != NULL && l->head->last_ms < now_ms - l->window_ms)
        remove_locked(l, l->head);
}

static int alloc_counts(cat_live *l)
{
    size_t n = (size_t)l->tree->n + 1;

    free(l->sessions);
    free(l->sites);
    free(l->own);
    l->sessions = calloc(n, sizeof(int));
    l->sites = calloc(n, sizeof(int));
    l->own = calloc(n, sizeof(int));
    return l->sessions && l->sites && l->own ? 0 : -ENOMEM;
}

static void add_start_locked(cat_live *l, const lsess *s)
{
    lstart *st = &l->starts[l->starts_n++ % STARTS_MAX];

    st->site_id = s->site_id;
    st->lesson = s->lesson;
    st->at_ms = s->last_ms;
    snprintf(st->audio, sizeof(st->audio), "%s", s->audio);
}

/* Inserts a session new to the view; start: also a start for the ticker
 * (not when the view is rebuilt at startup). */
static void touch_locked(cat_live *l, int64_t session_id, int64_t site_id,
                         int64_t lesson, const char *audio, int64_t last_ms,
                         bool ended, bool start)
{
    lsess *s = cat_map_get(&l->by_id, (uint64_t)session_id);

    if (ended) {
        if (s != NULL)
            remove_locked(l, s);
    } else if (s != NULL) {
        if (audio != NULL && audio[0] != '\0')
            snprintf(s->audio, sizeof(s->audio), "%s", audio);
        if (last_ms > s->last_ms) {
            unlink_locked(l, s);
            s->last_ms = last_ms;
            insert_sorted_locked(l, s);
        }
    } else if ((s = calloc(1, sizeof(*s))) != NULL) {
        s->id = session_id;
        s->site_id = site_id;
        s->lesson = lesson;
        s->node = cat_tree_find(l->tree, site_id);
        s->last_ms = last_ms;
        snprintf(s->audio, sizeof(s->audio), "%s", audio ? audio : "");
        if (cat_map_put(&l->by_id, (uint64_t)session_id, s) < 0) {
            free(s);
        } else {
            insert_sorted_locked(l, s);
            count_locked(l, s->node, +1);
            l->total_sessions++;
            if (start)
                add_start_locked(l, s);
        }
    }
}

void cat_live_touch(cat_live *l, int64_t session_id, int64_t site_id,
                    int64_t lesson, const char *audio, int64_t last_ms,
                    bool ended)
{
    pthread_mutex_lock(&l->lock);
    touch_locked(l, session_id, site_id, lesson, audio, last_ms, ended, true);
    pthread_mutex_unlock(&l->lock);
}

int cat_live_new(cat_db *db, int window_s, int64_t now_ms, cat_live **out)
{
    static const char sql[] =
        "SELECT id, site_id, lesson_id, audio_lang, last_ms FROM sessions "
        "WHERE last_ms >= ?1 AND ended = 0 ORDER BY last_ms";
    cat_live *l;
    sqlite3_stmt *st;
    int rc;

    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    cat_map_init(&l->by_id);
    l->window_ms = (int64_t)window_s * 1000;
    rc = cat_tree_load(db, &l->tree);
    if (rc == 0)
        rc = alloc_counts(l);
    if (rc < 0)
        goto fail;
    /* Sessions active when the previous process stopped. */
    st = cat_stmt(db, sql);
    if (st == NULL) {
        rc = YL_EDB;
        goto fail;
    }
    sqlite3_bind_int64(st, 1, now_ms - l->window_ms);
    pthread_mutex_lock(&l->lock);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        touch_locked(l, sqlite3_column_int64(st, 0),
                     sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                     cat_col_text(st, 3), sqlite3_column_int64(st, 4), false,
                     false);
    pthread_mutex_unlock(&l->lock);
    cat_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = cat_err(db, rc, "load active sessions");
        goto fail;
    }
    *out = l;
    return 0;
fail:
    cat_live_free(l);
    return rc;
}

void cat_live_free(cat_live *l)
{
    if (l == NULL)
        return;
    while (l->head != NULL) {
        lsess *s = l->head;
        l->head = s->next;
        free(s);
    }
    cat_map_fini(&l->by_id);
    cat_tree_free(l->tree);
    free(l->sessions);
    free(l->sites);
    free(l->own);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

const cat_tree *cat_live_tree(cat_live *l)
{
    return l->tree;
}

int cat_live_reload_tree(cat_live *l, cat_db *db)
{
    cat_tree *t = NULL;
    int rc = cat_tree_load(db, &t);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&l->lock);
    cat_tree_free(l->tree);
    l->tree = t;
    rc = alloc_counts(l);
    for (lsess *s = l->head; s != NULL; s = s->next) {
        s->node = cat_tree_find(t, s->site_id);
        if (rc == 0)
            count_locked(l, s->node, +1);
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

static json_t *node_json_locked(cat_live *l, int i)
{
    const cat_node *n = &l->tree->nodes[i];

    return json_pack("{s:s, s:s, s:s, s:i, s:i}", "code", n->code, "name",
                     n->name, "level", cat_level_name(n->level),
                     "active_sessions", l->sessions[i], "active_sites",
                     l->sites[i]);
}

static bool node_within(const cat_tree *t, int node, int idx)
{
    for (int i = node; i >= 0; i = t->nodes[i].parent)
        if (i == idx)
            return true;
    return false;
}

typedef struct ltop {
    int64_t lesson;
    int sessions, nlangs;
    struct {
        char tag[24];
        int n;
    } langs[TOP_LANGS];
} ltop;

static int cmp_ltop(const void *a, const void *b)
{
    const ltop *x = a, *y = b;

    if (x->sessions != y->sessions)
        return x->sessions > y->sessions ? -1 : 1;
    return x->lesson < y->lesson ? -1 : x->lesson > y->lesson;
}

/* The lessons watched now within node idx, most sessions first, each with
 * its sessions per audio language: [{"lesson":7,"sessions":3,
 * "langs":{"zh":2,"bo":1}}]. O(active sessions). */
static json_t *lessons_json_locked(cat_live *l, int idx)
{
    json_t *arr = json_array();
    ltop *top = NULL;
    int n = 0, cap = 0;
    cat_map at;

    cat_map_init(&at);
    for (lsess *s = l->head; s != NULL; s = s->next) {
        void *v;
        ltop *t;
        int k;

        if (!node_within(l->tree, s->node, idx))
            continue;
        v = cat_map_get(&at, (uint64_t)s->lesson);
        if (v == NULL) {
            if (n == cap) {
                ltop *nt =
                    realloc(top, sizeof(*top) * (size_t)(cap ? cap * 2 : 16));
                if (nt == NULL)
                    break;
                top = nt;
                cap = cap ? cap * 2 : 16;
            }
            if (cat_map_put(&at, (uint64_t)s->lesson,
                            (void *)(uintptr_t)(n + 1)) < 0)
                break;
            memset(&top[n], 0, sizeof(top[n]));
            top[n].lesson = s->lesson;
            v = (void *)(uintptr_t)(++n);
        }
        t = &top[(uintptr_t)v - 1];
        t->sessions++;
        for (k = 0; k < t->nlangs; k++)
            if (strcmp(t->langs[k].tag, s->audio) == 0)
                break;
        if (k == t->nlangs && k < TOP_LANGS) {
            snprintf(t->langs[k].tag, sizeof(t->langs[k].tag), "%s",
                     s->audio[0] ? s->audio : "und");
            t->nlangs++;
        }
        if (k < TOP_LANGS)
            t->langs[k].n++;
    }
    if (n > 1)
        qsort(top, (size_t)n, sizeof(*top), cmp_ltop);
    for (int i = 0; i < n && i < TOP_LESSONS; i++) {
        json_t *langs = json_object();

        for (int k = 0; k < top[i].nlangs; k++)
            json_object_set_new(langs, top[i].langs[k].tag,
                                json_integer(top[i].langs[k].n));
        json_array_append_new(arr,
                              json_pack("{s:I, s:i, s:o}", "lesson",
                                        (json_int_t)top[i].lesson, "sessions",
                                        top[i].sessions, "langs", langs));
    }
    free(top);
    cat_map_fini(&at);
    return arr;
}

/* The latest session starts within node idx, newest first:
 * [{"site":"532901104201","place":"大理市喜洲镇喜洲村委会","lesson":7,
 *   "audio":"zh","at_ms":...}]; place names the county, township and
 * village (what lies below the prefecture). */
static json_t *starts_json_locked(cat_live *l, int idx)
{
    json_t *arr = json_array();
    uint64_t i = l->starts_n, lo = i > STARTS_MAX ? i - STARTS_MAX : 0;

    while (i > lo && json_array_size(arr) < STARTS_JSON) {
        const lstart *st = &l->starts[--i % STARTS_MAX];
        int node = cat_tree_find(l->tree, st->site_id), chain[8], nc = 0;
        char place[384];
        size_t len = 0;

        if (node < 0 || !node_within(l->tree, node, idx))
            continue;
        for (int k = node; k >= 0 && nc < 8 && l->tree->nodes[k].level >= 3;
             k = l->tree->nodes[k].parent)
            chain[nc++] = k;
        place[0] = '\0';
        while (nc > 0 && len < sizeof(place) - 1) {
            int w = snprintf(place + len, sizeof(place) - len, "%s",
                             l->tree->nodes[chain[--nc]].name);
            if (w < 0)
                break;
            len += (size_t)w < sizeof(place) - len ? (size_t)w
                                                   : sizeof(place) - len - 1;
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:s, s:I}", "site",
                           l->tree->nodes[node].code, "place", place, "lesson",
                           (json_int_t)st->lesson, "audio", st->audio, "at_ms",
                           (json_int_t)st->at_ms));
    }
    return arr;
}

int cat_live_now_json(cat_live *l, const char *region, int depth,
                      int64_t now_ms, void **json_out)
{
    json_t *res = NULL, *items, *grand = NULL;
    int idx = -1, rc = 0;

    pthread_mutex_lock(&l->lock);
    expire_locked(l, now_ms);
    if (region == NULL || region[0] == '\0') {
        int roots = 0;
        for (int i = 0; i < l->tree->n; i++)
            if (l->tree->nodes[i].parent < 0 && roots++ == 0)
                idx = i;
        if (roots != 1)
            idx = -1;
    } else if (cat_code_level(region) > 0) {
        idx = cat_tree_find(l->tree, strtoll(region, NULL, 10));
    }
    if (idx < 0) {
        rc = YL_ENOTFOUND;
        goto out;
    }
    items = json_array();
    if (depth >= 2)
        grand = json_array();
    for (int k = 0; k < l->tree->nodes[idx].nkids; k++) {
        int c = l->tree->kids[l->tree->nodes[idx].first_child + k];

        json_array_append_new(items, node_json_locked(l, c));
        for (int j = 0; grand != NULL && j < l->tree->nodes[c].nkids; j++)
            json_array_append_new(
                grand,
                node_json_locked(
                    l, l->tree->kids[l->tree->nodes[c].first_child + j]));
    }
    res = json_pack(
        "{s:{s:s, s:s, s:s}, s:I, s:I, s:i, s:i, s:o, s:o, s:o}", "region",
        "code", l->tree->nodes[idx].code, "name", l->tree->nodes[idx].name,
        "level", cat_level_name(l->tree->nodes[idx].level), "at_ms",
        (json_int_t)now_ms, "window_s", (json_int_t)(l->window_ms / 1000),
        "active_sessions", l->sessions[idx], "active_sites", l->sites[idx],
        "items", items, "lessons", lessons_json_locked(l, idx), "starts",
        starts_json_locked(l, idx));
    if (res == NULL)
        rc = -ENOMEM;
    else if (grand != NULL)
        json_object_set_new(res, "grandchildren", grand);
out:
    pthread_mutex_unlock(&l->lock);
    *json_out = res;
    return rc;
}

void cat_live_totals(cat_live *l, int64_t now_ms, int64_t *sessions,
                     int64_t *sites)
{
    int64_t a = 0, b = 0;

    pthread_mutex_lock(&l->lock);
    expire_locked(l, now_ms);
    a = l->total_sessions;
    for (int i = 0; i < l->tree->n; i++)
        if (l->tree->nodes[i].parent < 0)
            b += l->sites[i];
    pthread_mutex_unlock(&l->lock);
    *sessions = a;
    *sites = b;
}

/* The key of the active view on a writer connection (cat_db_clientdata). */
static const char live_key = 'l';

cat_live *cat_live_of(cat_db *db)
{
    return cat_db_clientdata(db, &live_key);
}

int cat_live_attach(cat_db *db, cat_live *l)
{
    return cat_db_set_clientdata(db, &live_key, l, NULL); /* borrowed */
}
