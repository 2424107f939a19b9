/* test_cat_writer.c - the writer thread: callbacks only after COMMIT, one
 * bad request does not spoil its batch, stop flushes, the active view and
 * its rebuild after a restart, metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_config.h"
#include "catalog/cat_internal.h"
#include "catalog/cat_jobs.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_metrics.h"
#include "catalog/cat_stats.h"
#include "catalog/cat_views.h"
#include "catalog/cat_writer.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

typedef struct fx {
    char *dir;
    cat_config cfg;
    int64_t lesson;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    cat_db *db;
    char err[256];

    f->dir = fx_tmpdir();
    db = fx_open_with_sites(f->dir);
    f->lesson = fx_lesson(db, "写入测试", 60.0);
    cat_db_close(db);
    cat_config_init(&f->cfg);
    cat_config_set(&f->cfg, "server", "data", f->dir, err, sizeof(err));
    assert_int_equal(cat_config_finish(&f->cfg, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    fx_rmdir(f->dir);
    free(f);
    return 0;
}

static cat_view_batch *batch(const char *site, const char *sess, int seq0,
                             int n, int64_t lesson, int64_t recv,
                             const char *kind)
{
    json_t *body = json_object(), *evs = json_array();
    cat_view_batch *b = NULL;
    char err[256];

    for (int i = 0; i < n; i++)
        json_array_append_new(
            evs,
            json_pack("{s:s, s:i, s:s, s:I, s:s, s:f}", "session", sess, "seq",
                      seq0 + i, "site", site, "lesson", (json_int_t)lesson,
                      "kind", kind ? kind : (seq0 + i == 0 ? "start" : "beat"),
                      "position_s", 1.0 * i));
    json_object_set_new(body, "events", evs);
    if (cat_views_parse(body, NULL, 500, recv, &b, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    json_decref(body);
    return b;
}

/* A callback that checks, from another connection, that what it
 * acknowledges is already committed. */
typedef struct probe {
    const char *db_path;
    atomic_int calls;
    atomic_int visible_ok;
    int last_rc;
    int accepted_total;
} probe;

static void probe_done(void *ud, int rc, const cat_write_result *res)
{
    probe *p = ud;
    cat_db *r = NULL;
    sqlite3_stmt *st = NULL;

    p->last_rc = rc;
    if (rc == 0) {
        p->accepted_total += res->accepted;
        assert_int_equal(cat_reader_open(p->db_path, &r), 0);
        sqlite3_prepare_v2(cat_db_sqlite(r), "SELECT count(*) FROM view_events",
                           -1, &st, NULL);
        if (sqlite3_step(st) == SQLITE_ROW &&
            sqlite3_column_int(st, 0) >= p->accepted_total)
            atomic_fetch_add(&p->visible_ok, 1);
        sqlite3_finalize(st);
        cat_db_close(r);
    }
    atomic_fetch_add(&p->calls, 1);
}

static void callback_fires_after_commit(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    probe p = {.db_path = f->cfg.db_path};
    int64_t now = cat_now_ms();

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    for (int i = 0; i < 20; i++) {
        char sess[32];
        snprintf(sess, sizeof(sess), "c%d", i);
        assert_int_equal(cat_views_submit(w,
                                          batch("910101001001", sess, 0, 25,
                                                f->lesson, now, NULL),
                                          probe_done, &p),
                         0);
    }
    cat_writer_stop(w); /* runs everything queued first */
    assert_int_equal(atomic_load(&p.calls), 20);
    assert_int_equal(atomic_load(&p.visible_ok), 20);
    assert_int_equal(p.accepted_total, 500);
}

static void bad_request_does_not_spoil_its_batch(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    cat_sync good, bad, again;
    int64_t now = cat_now_ms();

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    cat_sync_init(&good);
    cat_sync_init(&bad);
    cat_sync_init(&again);
    /* Queued back to back: very likely one transaction. */
    assert_int_equal(
        cat_views_submit(w,
                         batch("910101001001", "g", 0, 3, f->lesson, now, NULL),
                         cat_sync_done, &good),
        0);
    assert_int_equal(
        cat_views_submit(w, batch("910101001001", "b", 0, 3, 4242, now, NULL),
                         cat_sync_done, &bad),
        0);
    assert_int_equal(
        cat_views_submit(w,
                         batch("910101001001", "g", 0, 3, f->lesson, now, NULL),
                         cat_sync_done, &again),
        0);
    assert_int_equal(cat_sync_wait(&good), 0);
    assert_int_equal(good.res.accepted, 3);
    assert_int_equal(cat_sync_wait(&bad), YL_EINVAL);
    assert_non_null(strstr(bad.res.error, "events[0].lesson"));
    assert_non_null(strstr(bad.res.error, "4242"));
    assert_int_equal(cat_sync_wait(&again), 0);
    assert_int_equal(again.res.accepted, 0);
    assert_int_equal(again.res.duplicates, 3);
    cat_sync_fini(&good);
    cat_sync_fini(&bad);
    cat_sync_fini(&again);

    /* Jobs through the writer: nothing queued. */
    cat_sync_init(&good);
    assert_int_equal(cat_jobs_claim_submit(w, cat_sync_done, &good), 0);
    assert_int_equal(cat_sync_wait(&good), YL_ENOTFOUND);
    cat_sync_fini(&good);
    {
        cat_metrics m;
        assert_int_equal(cat_metrics_get(w, NULL, now, &m), 0);
        assert_int_equal(m.events_accepted, 3);
        assert_int_equal(m.events_duplicate, 3);
        assert_int_equal(m.batches_rejected, 1);
        assert_int_equal(m.active_sessions, 1);
        assert_int_equal(m.active_sites, 1);
    }
    cat_writer_stop(w);
    /* After stop, submitting fails cleanly. */
}

/* Hooks a test module registers: what ran, in order, on the writer
 * thread; before_commit fails when asked to. */
typedef struct hook_log {
    char seq[64];
    atomic_int len;
    bool fail_before;
    bool stopped;
} hook_log;

static void hook_note(hook_log *l, char c)
{
    int n = atomic_load(&l->len);

    if (n < (int)sizeof(l->seq) - 1) {
        l->seq[n] = c;
        atomic_store(&l->len, n + 1);
    }
}

static int t_start(cat_writer *w, void *arg, void **state)
{
    (void)w;
    *state = arg;
    return 0;
}

static void t_stop(void *ud)
{
    ((hook_log *)ud)->stopped = true;
}

static int t_before(void *ud, cat_db *db)
{
    hook_log *l = ud;

    (void)db;
    hook_note(l, 'B');
    return l->fail_before ? YL_EDB : 0;
}

static void t_after(void *ud, cat_db *db)
{
    (void)db;
    hook_note(ud, 'C');
}

static void t_rollback(void *ud, cat_db *db)
{
    (void)db;
    hook_note(ud, 'R');
}

static const cat_writer_hooks test_hooks = {
    .name = "test",
    .start = t_start,
    .stop = t_stop,
    .before_commit = t_before,
    .after_commit = t_after,
    .rollback = t_rollback,
};

static int payload_frees;

static void payload_free(void *p)
{
    payload_frees++;
    free(p);
}

/* An operation with its own result payload. */
static int op_with_payload(cat_db *db, void *arg, cat_write_result *res)
{
    int *v = malloc(sizeof(*v));

    (void)db, (void)arg;
    if (v == NULL)
        return -ENOMEM;
    *v = 42;
    res->payload = v;
    res->payload_free = payload_free;
    return 0;
}

static void payload_seen(void *ud, int rc, const cat_write_result *res)
{
    int *out = ud;

    *out = rc == 0 && res->payload != NULL ? *(int *)res->payload : -1;
}

static void hooks_run_at_commit_and_rollback(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    hook_log l = {.fail_before = false};
    cat_sync s;
    int seen = 0;

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    assert_int_equal(cat_writer_add_hooks(w, &test_hooks, &l), 0);
    assert_ptr_equal(cat_writer_hook_state(w, &test_hooks), &l);
    /* A committed batch: before-commit, then after-commit; the payload
     * reaches done and is freed after it. */
    cat_sync_init(&s);
    assert_int_equal(
        cat_writer_submit(w, op_with_payload, NULL, NULL, payload_seen, &seen),
        0);
    assert_int_equal(cat_jobs_claim_submit(w, cat_sync_done, &s), 0);
    assert_int_equal(cat_sync_wait(&s), YL_ENOTFOUND);
    cat_sync_fini(&s);
    assert_int_equal(seen, 42);
    assert_int_equal(payload_frees, 1);
    assert_true(atomic_load(&l.len) >= 2);
    assert_int_equal(l.seq[0], 'B');
    assert_int_equal(l.seq[1], 'C');
    /* A failing before-commit hook rolls the batch back: every request
     * fails, the rollback hooks run. */
    l.fail_before = true;
    atomic_store(&l.len, 0);
    cat_sync_init(&s);
    assert_int_equal(
        cat_writer_submit(w, op_with_payload, NULL, NULL, cat_sync_done, &s),
        0);
    assert_int_equal(cat_sync_wait(&s), YL_EDB);
    assert_null(s.res.payload);
    cat_sync_fini(&s);
    assert_int_equal(atomic_load(&l.len), 2);
    assert_int_equal(l.seq[0], 'B');
    assert_int_equal(l.seq[1], 'R');
    cat_writer_stop(w);
    assert_true(l.stopped);
    assert_int_equal(payload_frees, 2);
}

struct pusher {
    cat_writer *w;
    int64_t lesson;
    int id;
    int acked;
};

static void *push_thread(void *p)
{
    struct pusher *u = p;

    for (int i = 0; i < 200; i++) {
        cat_sync s;
        char sess[32];
        cat_sync_init(&s);
        snprintf(sess, sizeof(sess), "t%d-%d", u->id, i);
        assert_int_equal(
            cat_views_submit(u->w,
                             batch(u->id ? "910201001002" : "910101002001",
                                   sess, 0, 1, u->lesson, cat_now_ms(), NULL),
                             cat_sync_done, &s),
            0);
        if (cat_sync_wait(&s) == 0)
            u->acked += s.res.accepted;
        cat_sync_fini(&s);
    }
    return NULL;
}

static int64_t count_events(const char *path)
{
    cat_db *r = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n;

    assert_int_equal(cat_reader_open(path, &r), 0);
    sqlite3_prepare_v2(cat_db_sqlite(r), "SELECT count(*) FROM view_events", -1,
                       &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    cat_db_close(r);
    return n;
}

static void concurrent_submitters_and_the_active_view(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    pthread_t th[2];
    struct pusher u[2];
    json_t *now = NULL, *it;
    int64_t t;

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    for (int i = 0; i < 2; i++) {
        u[i] = (struct pusher){w, f->lesson, i, 0};
        pthread_create(&th[i], NULL, push_thread, &u[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(u[0].acked + u[1].acked, 400);
    assert_int_equal(count_events(f->cfg.db_path), 400);

    /* 400 single-event sessions are active now: 200 in 甲市 (三村) and 200
     * in 乙州 (六村). */
    t = cat_now_ms();
    assert_int_equal(cat_stats_now(w, NULL, t, &now), 0);
    assert_int_equal(
        json_integer_value(json_object_get(now, "active_sessions")), 400);
    assert_int_equal(json_integer_value(json_object_get(now, "active_sites")),
                     2);
    assert_int_equal(json_array_size(json_object_get(now, "items")), 2);
    it = json_array_get(json_object_get(now, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "code")), "9101");
    assert_int_equal(json_integer_value(json_object_get(it, "active_sessions")),
                     200);
    json_decref(now);
    /* A county: its townships, zeros included. */
    assert_int_equal(cat_stats_now(w, "910101", t, &now), 0);
    assert_int_equal(json_array_size(json_object_get(now, "items")), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(now, "items"), 0),
                         "active_sessions")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(now, "items"), 1),
                         "active_sessions")),
                     200);
    json_decref(now);
    assert_int_equal(cat_stats_now(w, "919999", t, &now), YL_ENOTFOUND);

    /* Restart: the view is rebuilt from the sessions table. */
    cat_writer_stop(w);
    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    assert_int_equal(cat_stats_now(w, "91", cat_now_ms(), &now), 0);
    assert_int_equal(
        json_integer_value(json_object_get(now, "active_sessions")), 400);
    json_decref(now);
    /* One minute later nobody is active. */
    assert_int_equal(cat_stats_now(w, "91", cat_now_ms() + 61000, &now), 0);
    assert_int_equal(
        json_integer_value(json_object_get(now, "active_sessions")), 0);
    assert_int_equal(json_integer_value(json_object_get(now, "active_sites")),
                     0);
    json_decref(now);
    cat_writer_stop(w);
}

static void end_event_leaves_the_active_view(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    cat_sync s;
    json_t *now = NULL;
    int64_t t = cat_now_ms();

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    cat_sync_init(&s);
    cat_views_submit(w, batch("910101001001", "e1", 0, 2, f->lesson, t, NULL),
                     cat_sync_done, &s);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    assert_int_equal(cat_stats_now(w, "910101001", t, &now), 0);
    assert_int_equal(
        json_integer_value(json_object_get(now, "active_sessions")), 1);
    json_decref(now);
    cat_sync_init(&s);
    cat_views_submit(w, batch("910101001001", "e1", 2, 1, f->lesson, t, "end"),
                     cat_sync_done, &s);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    assert_int_equal(cat_stats_now(w, "910101001", t, &now), 0);
    assert_int_equal(
        json_integer_value(json_object_get(now, "active_sessions")), 0);
    json_decref(now);
    cat_writer_stop(w);
}

static void publish_updates_the_cached_duration(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    cat_db *db = NULL;
    cat_lesson_new ln = {0};
    int64_t lid = 0, jid = 0, t = cat_now_ms();
    json_t *job = NULL, *meta;
    cat_sync s;
    sqlite3_stmt *st = NULL;

    /* A pending lesson (no duration yet) with its job claimed. */
    assert_int_equal(cat_db_open(f->cfg.db_path, 0, &db), 0);
    ln.titles = fx_json("{\"zh\":\"待发布\"}");
    ln.inputs = fx_json("{\"source\":\"s.mp4\"}");
    ln.uploads_dir = f->dir;
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), 0);
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    json_decref(job);
    json_decref(ln.titles);
    json_decref(ln.inputs);
    cat_db_close(db);

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    /* Position 1 of an unknown duration completes nothing... */
    cat_sync_init(&s);
    cat_views_submit(w, batch("910101001001", "p1", 0, 2, lid, t, NULL),
                     cat_sync_done, &s);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    /* ...the job publishes it as 1 s long (through the writer)... */
    meta = fx_json("{\"version\":1,\"duration_s\":1.0,\"video\":[],"
                   "\"audio\":[],\"languages\":[\"zh\"]}");
    cat_sync_init(&s);
    assert_int_equal(cat_jobs_finish_submit(w, jid, meta, cat_sync_done, &s),
                     0);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    /* ...and the next event sees the new duration: 1 of 1 s completes. */
    cat_sync_init(&s);
    cat_views_submit(w, batch("910101001001", "p1", 2, 1, lid, t, NULL),
                     cat_sync_done, &s);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    cat_writer_stop(w);
    assert_int_equal(cat_reader_open(f->cfg.db_path, &db), 0);
    sqlite3_prepare_v2(cat_db_sqlite(db),
                       "SELECT completed FROM sessions WHERE skey = 'p1'", -1,
                       &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    cat_db_close(db);
}

/* One "start" event of session sess at site in audio language lang. */
static cat_view_batch *start_in(const char *site, const char *sess,
                                int64_t lesson, const char *lang, int64_t t)
{
    json_t *body = json_pack("{s:[{s:s, s:i, s:s, s:I, s:s, s:f, s:s}]}",
                             "events", "session", sess, "seq", 0, "site", site,
                             "lesson", (json_int_t)lesson, "kind", "start",
                             "position_s", 0.0, "audio_lang", lang);
    cat_view_batch *b = NULL;
    char err[256];

    if (cat_views_parse(body, NULL, 500, t, &b, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    json_decref(body);
    return b;
}

/* The wall's figures in /stats/now: the lessons watched now with their
 * audio languages, and the latest starts named by place, newest first,
 * both limited to the region asked for. */
static void active_view_has_top_lessons_and_starts(void **state)
{
    fx *f = *state;
    cat_writer *w = NULL;
    cat_sync s;
    json_t *now = NULL, *les, *st, *it;
    int64_t t = cat_now_ms();
    static const struct {
        const char *site, *sess, *lang;
    } ev[] = {{"910101001001", "w1", "zh"},
              {"910101001002", "w2", "bo"},
              {"910101002001", "w3", "zh"},
              {"910201001001", "w4", "lis"}};

    assert_int_equal(cat_writer_start(&f->cfg, &w), 0);
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
        cat_sync_init(&s);
        cat_views_submit(w,
                         start_in(ev[i].site, ev[i].sess, f->lesson, ev[i].lang,
                                  t + (int64_t)i),
                         cat_sync_done, &s);
        assert_int_equal(cat_sync_wait(&s), 0);
        cat_sync_fini(&s);
    }
    assert_int_equal(cat_stats_now(w, "9101", t + 10, &now), 0);
    les = json_object_get(now, "lessons");
    assert_int_equal(json_array_size(les), 1);
    it = json_array_get(les, 0);
    assert_int_equal(json_integer_value(json_object_get(it, "lesson")),
                     f->lesson);
    assert_int_equal(json_integer_value(json_object_get(it, "sessions")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(it, "langs"), "zh")),
        2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(it, "langs"), "bo")),
        1);
    assert_null(json_object_get(json_object_get(it, "langs"), "lis"));
    st = json_object_get(now, "starts");
    assert_int_equal(json_array_size(st), 3); /* 乙州's start is not 甲市's */
    it = json_array_get(st, 0);
    assert_string_equal(json_string_value(json_object_get(it, "site")),
                        "910101002001");
    assert_string_equal(json_string_value(json_object_get(it, "place")),
                        "一县西乡三村");
    assert_string_equal(json_string_value(json_object_get(it, "audio")), "zh");
    json_decref(now);
    /* A further event of a session is no new start. */
    cat_sync_init(&s);
    cat_views_submit(w,
                     batch("910101001001", "w1", 1, 1, f->lesson, t + 5, NULL),
                     cat_sync_done, &s);
    assert_int_equal(cat_sync_wait(&s), 0);
    cat_sync_fini(&s);
    assert_int_equal(cat_stats_now(w, NULL, t + 10, &now), 0);
    assert_int_equal(json_array_size(json_object_get(now, "starts")), 4);
    assert_null(json_object_get(now, "grandchildren"));
    json_decref(now);
    /* Depth 2: the counties of the province too (一县 has three active
     * stations, 三县 one). */
    assert_int_equal(cat_stats_now_depth(w, NULL, 2, t + 10, &now), 0);
    it = json_object_get(now, "grandchildren");
    assert_int_equal(json_array_size(it), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(it, 0), "code")),
        "910101");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(it, 0),
                                                        "active_sites")),
                     3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(it, 2),
                                                        "active_sites")),
                     1);
    json_decref(now);
    cat_writer_stop(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(publish_updates_the_cached_duration,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(callback_fires_after_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(hooks_run_at_commit_and_rollback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_request_does_not_spoil_its_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            concurrent_submitters_and_the_active_view, setup, teardown),
        cmocka_unit_test_setup_teardown(end_event_leaves_the_active_view, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(active_view_has_top_lessons_and_starts,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("cat_writer", tests, NULL, NULL);
}
