/* cat_metrics.h - catalog counters for /metrics (Prometheus text is the
 * streamer's job). */
#ifndef YL_CAT_METRICS_H
#define YL_CAT_METRICS_H

#include <stdint.h>

#include "catalog/cat_db.h"
#include "catalog/cat_jobs.h"
#include "catalog/cat_writer.h"

typedef struct cat_metrics {
    /* since the writer started (monotonic counters) */
    uint64_t events_accepted;
    uint64_t events_duplicate;
    uint64_t batches_rejected;
    uint64_t write_transactions;
    uint64_t write_requests;
    uint64_t credit_capped; /* sessions whose watch credit was capped */
    double writer_cpu_s;    /* CPU time of the writer thread */
    /* gauges */
    int64_t writer_queue;
    int64_t active_sessions; /* now, whole database */
    int64_t active_sites;
    int64_t jobs[CAT_JOB_NSTATES];
    int64_t lessons_ready;
} cat_metrics;

/* Fills m: counters and active view from w (any thread, no SQLite), jobs
 * and lessons from rd (the caller's reader). w or rd may be NULL (their
 * fields are left 0). 0 or a negative code. */
int cat_metrics_get(cat_writer *w, cat_db *rd, int64_t now_ms, cat_metrics *m);

#endif
