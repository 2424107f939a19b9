/* str_metrics.c - /metrics in the Prometheus text format (0.0.4).
 * Service thread only: the counters are plain integers owned by it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_buf.h"
#include "streamer/str_fcache.h"
#include "streamer/str_internal.h"
#include "streamer/str_livews.h"
#include "streamer/str_ws.h"

static const char *const route_names[STR_R_COUNT] = {
    "web",   "hls",     "lessons", "jobs",    "courses",  "sites",
    "views", "stats",   "notices", "session", "meetings", "live",
    "ws",    "live_ws", "api",     "metrics", "healthz",  "other"};

const int str_status_codes[STR_NSTATUS - 1] = {
    101, 200, 201, 202, 204, 206, 304, 400, 401, 403, 404,
    405, 409, 411, 413, 414, 415, 416, 431, 500, 503};

static void emit_line(void *ud, const char *line)
{
    yl_buf_printf(ud, "%s", line);
}

int str_metrics_reply(str_req *r)
{
    str_metrics *m = &r->srv->m;
    yl_buf b = YL_BUF_INIT;
    int i, j, ret;

    if (yl_buf_reserve(&b, 8192) < 0)
        return -1;
    yl_buf_printf(&b,
                  "# HELP yunling_http_requests_total HTTP requests by route "
                  "and status.\n"
                  "# TYPE yunling_http_requests_total counter\n");
    for (i = 0; i < STR_R_COUNT; i++)
        for (j = 0; j < STR_NSTATUS; j++) {
            if (m->req[i][j] == 0)
                continue;
            if (j < STR_NSTATUS - 1)
                yl_buf_printf(&b,
                              "yunling_http_requests_total{route=\"%s\","
                              "status=\"%d\"} %" PRIu64 "\n",
                              route_names[i], str_status_codes[j],
                              m->req[i][j]);
            else
                yl_buf_printf(&b,
                              "yunling_http_requests_total{route=\"%s\","
                              "status=\"other\"} %" PRIu64 "\n",
                              route_names[i], m->req[i][j]);
        }
    yl_buf_printf(
        &b,
        "# HELP yunling_http_inflight Requests being served now.\n"
        "# TYPE yunling_http_inflight gauge\n"
        "yunling_http_inflight %d\n"
        "# HELP yunling_file_bytes_total File body bytes sent.\n"
        "# TYPE yunling_file_bytes_total counter\n"
        "yunling_file_bytes_total %" PRIu64 "\n"
        "# HELP yunling_view_events_total Viewing events by outcome.\n"
        "# TYPE yunling_view_events_total counter\n"
        "yunling_view_events_total{result=\"accepted\"} %" PRIu64 "\n"
        "yunling_view_events_total{result=\"duplicate\"} %" PRIu64 "\n"
        "yunling_view_events_total{result=\"rejected\"} %" PRIu64 "\n"
        "# HELP yunling_uploads_total Lesson uploads by outcome.\n"
        "# TYPE yunling_uploads_total counter\n"
        "yunling_uploads_total{result=\"ok\"} %" PRIu64 "\n"
        "yunling_uploads_total{result=\"failed\"} %" PRIu64 "\n",
        r->srv->inflight - 1, m->bytes_file, m->events_accepted,
        m->events_duplicate, m->events_rejected, m->uploads_ok,
        m->uploads_failed);
    yl_buf_printf(
        &b,
        "# HELP yunling_http_connections Open HTTP connections.\n"
        "# TYPE yunling_http_connections gauge\n"
        "yunling_http_connections %d\n"
        "# HELP yunling_http_timeouts_total Connections cut for a "
        "request head or body that did not come in time.\n"
        "# TYPE yunling_http_timeouts_total counter\n"
        "yunling_http_timeouts_total %" PRIu64 "\n"
        "# HELP yunling_http_bad_requests_total Malformed requests or "
        "refused framing (400, connection closed).\n"
        "# TYPE yunling_http_bad_requests_total counter\n"
        "yunling_http_bad_requests_total %" PRIu64 "\n"
        "# HELP yunling_accept_errors_total accept() failures (EMFILE "
        "at the descriptor limit).\n"
        "# TYPE yunling_accept_errors_total counter\n"
        "yunling_accept_errors_total %" PRIu64 "\n"
        "# HELP yunling_accept_refused_total Clients answered 503 at "
        "the descriptor limit.\n"
        "# TYPE yunling_accept_refused_total counter\n"
        "yunling_accept_refused_total %" PRIu64 "\n",
        r->srv->nconns, m->timeouts, m->bad_requests, m->accept_errors,
        m->accept_503);
    if (r->srv->fcache != NULL)
        yl_buf_printf(
            &b,
            "# HELP yunling_file_cache_hits_total HLS responses served "
            "from the small-file cache.\n"
            "# TYPE yunling_file_cache_hits_total counter\n"
            "yunling_file_cache_hits_total %" PRIu64 "\n"
            "# HELP yunling_file_cache_bytes Bytes of small HLS files "
            "held in memory.\n"
            "# TYPE yunling_file_cache_bytes gauge\n"
            "yunling_file_cache_bytes %zu\n",
            str_fcache_hits(r->srv->fcache), str_fcache_bytes(r->srv->fcache));
    /* Into the answer itself: each block once went through a fixed
     * buffer and was left out whole when it outgrew it (the channel's at
     * 2 KB, once it had 15 counters). */
    str_ws_metrics(r->srv, &b);
    str_livews_metrics(r->srv, &b);
    str_meetings_metrics(r->srv, &b);
    str_metrics_extra(r->srv, emit_line, &b);
    if (b.err < 0) {
        yl_buf_free(&b);
        return str_reply_error(r, 500, "oom", "out of memory");
    }
    ret = str_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.s,
                    b.len, "cache-control: no-store\x0d\x0a");
    free(b.s);
    return ret;
}
