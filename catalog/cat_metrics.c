/* cat_metrics.c - counters and gauges for /metrics. */
#include "catalog/cat_metrics.h"

#include <string.h>

#include "catalog/cat_internal.h"
#include "common/yl_err.h"

int cat_metrics_get(cat_writer *w, cat_db *rd, int64_t now_ms, cat_metrics *m)
{
    static const char sql[] =
        "SELECT count(*) FROM lessons WHERE state = 'ready'";
    sqlite3_stmt *st;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (w != NULL) {
        uint64_t c[3], v[4];
        cat_writer_counters(w, c);
        cat_views_counters(w, v);
        m->write_transactions = c[0];
        m->write_requests = c[1];
        m->writer_cpu_s = c[2] / 1e9;
        m->events_accepted = v[0];
        m->events_duplicate = v[1];
        m->batches_rejected = v[2];
        m->credit_capped = v[3];
        m->writer_queue = cat_writer_queue_depth(w);
        cat_live_totals(cat_writer_live(w), now_ms, &m->active_sessions,
                        &m->active_sites);
    }
    if (rd != NULL) {
        rc = cat_jobs_counts(rd, m->jobs);
        if (rc < 0)
            return rc;
        st = cat_stmt(rd, sql);
        if (st == NULL)
            return YL_EDB;
        rc = sqlite3_step(st);
        m->lessons_ready = sqlite3_column_int64(st, 0);
        cat_stmt_done(st);
        rc = rc == SQLITE_ROW ? 0 : cat_err(rd, rc, "count lessons");
    }
    return rc;
}
