#!/usr/bin/env bash
# bench/soak/table.sh SOAK.CSV - the first vs the last sample of a soak run
# as a Markdown table (the run's range in the last column), for
# docs/performance.md.
set -euo pipefail
awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{ n++; for (i = 1; i <= NF; i++) { v[n, i] = $i
      if (n == 1 || $i + 0 < lo[i]) lo[i] = $i + 0
      if (n == 1 || $i + 0 > hi[i]) hi[i] = $i + 0 } }
function row(label, name, scale, fmt,   i) {
    if (!(name in col))
        return
    i = col[name]
    printf "| %s | " fmt " | " fmt " | " fmt " – " fmt " |\n", label,
        v[1, i] / scale, v[n, i] / scale, lo[i] / scale, hi[i] / scale
}
END {
    printf "| figure | minute %d | minute %d | range over the run |\n", v[1, col["minute"]], v[n, col["minute"]]
    print "| --- | ---: | ---: | ---: |"
    row("server RSS, MB", "rss_kb", 1024, "%.1f")
    row("open fds", "fds", 1, "%d")
    row("threads", "threads", 1, "%d")
    row("server CPU, % of one core", "cpu_pct", 1, "%.0f")
    row("HTTP connections (/metrics)", "http_connections", 1, "%d")
    row("requests in flight", "http_inflight", 1, "%d")
    row("active sessions", "active_sessions", 1, "%d")
    row("writer queue", "writer_queue", 1, "%d")
    row("file cache, KB", "file_cache_bytes", 1024, "%.0f")
    row("database, MB", "db_kb", 1024, "%.1f")
    row("WAL, MB", "wal_kb", 1024, "%.1f")
    split("view hls stats junk slow", cls, " ")
    split("views|HLS|stats|junk|slowloris", lab, "|")
    for (k = 1; k <= 5; k++) {
        c = cls[k]
        row(lab[k] " requests", c "_n", 1, "%d")
        row(lab[k] " errors", c "_err", 1, "%d")
        if (c != "slow") {
            row(lab[k] " p50, ms", c "_p50_ms", 1, "%.1f")
            row(lab[k] " p99, ms", c "_p99_ms", 1, "%.1f")
        }
    }
    row("views: worst wait in the client queue, s", "view_max_lag_s", 1, "%.2f")
    row("slowloris held until closed, s", "slow_held_max_s", 1, "%d")
    row("GET /metrics of the sample, ms", "metrics_ms", 1, "%.1f")
    row("load generator: longest pass of its loop, s", "loop_gap_max_s", 1, "%.2f")
}' "$1"
