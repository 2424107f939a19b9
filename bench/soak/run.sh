#!/usr/bin/env bash
# bench/soak/run.sh - the soak benchmark: `yunling serve` under mixed load
# at province scale for SOAK_SECS (default 3600), sampled every minute.
#
# Setup: a fresh data dir, `yunling sites import` (Yunnan), one site token
# per station (1,461 townships + 14,888 villages), LESSONS lessons uploaded
# over HTTP from a short lavfi source. Then bench/soak/soakload.c (another
# process, loopback) runs every station's viewing beat each 15 s
# (~1,090 single-event POST /api/v1/views per second over a keep-alive
# pool), HLS fetches (HLS_RATE/s), stats reads and junk requests and
# slowloris connections, while this script uploads a lesson every
# UPLOAD_EVERY seconds and deletes all but the newest two of those (the
# LESSONS base lessons stay: the stations watch them).
#
# Output in OUT (default /tmp/yl-soak-<UTC time>): soak.csv (one row a
# minute: RSS, fds, threads, CPU, database/WAL size, /metrics gauges,
# per-class requests/errors/p50/p99), uploads.csv, server.log, soak.png
# (bench/soak/plot.gp), summary.txt (first vs last minute).
#
# Environment: SOAK_SECS (3600), INTERVAL (60), LESSONS (3), SRC_SECS (20,
# length of the generated lesson), HLS_RATE (300), VIEW_CONNS (128),
# UPLOAD_EVERY (300), BUILD (build dir, default build-bench, Release),
# OUT, KEEP_DATA (1 keeps OUT/data).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
SOAK_SECS=${SOAK_SECS:-3600}
INTERVAL=${INTERVAL:-60}
LESSONS=${LESSONS:-3}
SRC_SECS=${SRC_SECS:-20}
HLS_RATE=${HLS_RATE:-300}
VIEW_CONNS=${VIEW_CONNS:-128}
UPLOAD_EVERY=${UPLOAD_EVERY:-300}
B=${BUILD:-$src/build-bench}
OUT=${OUT:-/tmp/yl-soak-$(date -u +%Y%m%dT%H%M%SZ)}
Y=$B/app/yunling
LOAD=$B/bench/soak/yl_soakload
D=$OUT/data
SRV=
GEN=

cleanup() {
    [ -n "$GEN" ] && kill -TERM "$GEN" 2>/dev/null
    [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
    [ "${KEEP_DATA:-0}" == 1 ] || rm -rf "$D"
}
trap cleanup EXIT

if [ ! -d "$B" ] || [ "$B" == "$src/build-bench" ]; then
    cmake -S "$src" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$B" -j2 --target yunling yl_soakload >/dev/null
mkdir -p "$D" "$OUT/bin"
# Copies: a rebuild of the tree during a long run does not touch them.
cp "$Y" "$LOAD" "$OUT/bin/"
Y=$OUT/bin/yunling
LOAD=$OUT/bin/yl_soakload
echo "soak: output in $OUT"

{
    echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), lws $(pkg-config --modversion libwebsockets), sqlite $(sqlite3 --version | cut -d' ' -f1)"
    echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# SOAK_SECS=$SOAK_SECS INTERVAL=$INTERVAL HLS_RATE=$HLS_RATE VIEW_CONNS=$VIEW_CONNS UPLOAD_EVERY=$UPLOAD_EVERY LESSONS=$LESSONS"
} >"$OUT/summary.txt"

# ---- catalog: sites, tokens
"$Y" sites import --data "$D" >/dev/null
ADMIN=$("$Y" token create --role admin --scope 53 --data "$D")
# Townships (level 4) and villages (level 5) are the stations.
sqlite3 "$D/yunling.db" "SELECT id, code FROM sites WHERE level IN (4, 5)" |
    tr '|' ' ' | "$LOAD" tokens "$OUT/stations.txt" |
    sqlite3 "$D/yunling.db"
NST=$(wc -l <"$OUT/stations.txt")
echo "soak: $NST stations with site tokens"

# ---- server and lessons
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$SRC_SECS" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest \
    "$OUT/src.mp4"
"$Y" serve --listen 127.0.0.1:0 --data "$D" >"$OUT/server.out" \
    2>"$OUT/server.log" &
SRV=$!
for _ in $(seq 1 200); do
    grep -q '^listening on' "$OUT/server.out" && break
    sleep 0.05
done
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OUT/server.out")
BASE=http://127.0.0.1:$PORT
AUTH="Authorization: Bearer $ADMIN"

# upload TITLE → "lesson job" (empty on failure)
upload() {
    curl -s -H "$AUTH" -F "source=@$OUT/src.mp4" -F "title.zh=$1" \
        -F category=soak "$BASE/api/v1/lessons" | jq -r '"\(.lesson) \(.job)"'
}
wait_job() { # job [timeout s] → final state
    local st=queued
    for _ in $(seq 1 $((${2:-300} * 2))); do
        st=$(curl -s -H "$AUTH" "$BASE/api/v1/jobs/$1" | jq -r .state)
        case $st in done | failed | cancelled) break ;; esac
        sleep 0.5
    done
    echo "$st"
}

IDS=()
for i in $(seq 1 "$LESSONS"); do
    read -r l j < <(upload "soak base $i")
    st=$(wait_job "$j")
    [ "$st" == done ] || { echo "soak: base lesson $l: job $j $st" >&2; exit 1; }
    IDS+=("$l")
done
LIST=$(IFS=,; echo "${IDS[*]}")
# Every HLS path of the base lessons: master, media playlists, init and
# media segments (URIs in a playlist are relative to it).
: >"$OUT/hls.txt"
for l in "${IDS[@]}"; do
    echo "/hls/$l/master.m3u8" >>"$OUT/hls.txt"
    for m in $(curl -s "$BASE/hls/$l/master.m3u8" |
        grep -o 'URI="[^"]*"\|^[^#].*' | sed 's/^URI="//; s/"$//'); do
        dir=/hls/$l/$(dirname "$m")
        echo "/hls/$l/$m" >>"$OUT/hls.txt"
        curl -s "$BASE/hls/$l/$m" | grep -o 'URI="[^"]*"\|^[^#].*' |
            sed 's/^URI="//; s/"$//' | sed "s|^|$dir/|" >>"$OUT/hls.txt"
    done
done
sort -u -o "$OUT/hls.txt" "$OUT/hls.txt"
echo "soak: lessons $LIST, $(wc -l <"$OUT/hls.txt") HLS paths"

# ---- the load
echo "# server pid $SRV port $PORT, $NST stations, lessons $LIST, $(wc -l <"$OUT/hls.txt") HLS paths" >>"$OUT/summary.txt"
"$LOAD" --port "$PORT" --pid "$SRV" --stations "$OUT/stations.txt" \
    --lessons "$LIST" --hls "$OUT/hls.txt" --admin "$ADMIN" \
    --csv "$OUT/soak.csv" --data "$D" --seconds "$SOAK_SECS" \
    --interval "$INTERVAL" --view-conns "$VIEW_CONNS" --hls-rate "$HLS_RATE" \
    2>"$OUT/soakload.log" &
GEN=$!

# Uploads while the load runs: one every UPLOAD_EVERY s; the previous
# upload's job state is recorded; all but the newest two are deleted.
echo "t_s,lesson,job,upload_status,upload_ms,prev_job_state,deleted" >"$OUT/uploads.csv"
T0=$(date +%s)
NEXT=$((T0 + UPLOAD_EVERY / 2))
UPS=()
PREV_JOB=
while kill -0 "$GEN" 2>/dev/null; do
    sleep 1
    [ "$(date +%s)" -ge "$NEXT" ] || continue
    NEXT=$((NEXT + UPLOAD_EVERY))
    pst=
    [ -n "$PREV_JOB" ] && pst=$(curl -s -H "$AUTH" "$BASE/api/v1/jobs/$PREV_JOB" | jq -r .state)
    r=$(curl -s -o "$OUT/upload.json" -w '%{http_code} %{time_total}' \
        -H "$AUTH" -F "source=@$OUT/src.mp4" -F "title.zh=soak $(date -u +%T)" \
        -F category=soak "$BASE/api/v1/lessons" || echo "000 0")
    l=$(jq -r '.lesson // empty' "$OUT/upload.json" 2>/dev/null || true)
    j=$(jq -r '.job // empty' "$OUT/upload.json" 2>/dev/null || true)
    del=
    if [ -n "$l" ]; then
        UPS+=("$l")
        PREV_JOB=$j
    fi
    while [ ${#UPS[@]} -gt 2 ]; do
        c=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "$AUTH" \
            "$BASE/api/v1/lessons/${UPS[0]}")
        del="$del ${UPS[0]}:$c"
        UPS=("${UPS[@]:1}")
    done
    read -r code secs <<<"$r"
    echo "$(($(date +%s) - T0)),$l,$j,$code,$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }'),$pst,${del# }" >>"$OUT/uploads.csv"
done
wait "$GEN" || true
GEN=

# ---- stop and sum up
rc=0
kill -TERM "$SRV"
wait "$SRV" || rc=$?
SRV=
{
    cat "$OUT/soakload.log"
    echo "server exit status after SIGTERM: $rc"
    echo "server log lines: $(wc -l <"$OUT/server.log") (errors: $(grep -c ' E ' "$OUT/server.log" || true))"
    echo "uploads: $(($(wc -l <"$OUT/uploads.csv") - 1)), not 202: $(awk -F, 'NR > 1 && $4 != 202' "$OUT/uploads.csv" | wc -l)"
    # Every acknowledged view (200) is one row; junk views are all refused.
    echo "views acknowledged (200): $(sed -n 's/.* view \([0-9]*\) (\([0-9]*\) errors).*/\1 - \2/p' "$OUT/soakload.log" | bc), rows in view_events: $(sqlite3 "$D/yunling.db" 'SELECT count(*) FROM view_events')"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "first and last sample:"
    (head -2 "$OUT/soak.csv"; tail -1 "$OUT/soak.csv") | column -s, -t
} >>"$OUT/summary.txt"
gnuplot -e "csv='$OUT/soak.csv'; png='$OUT/soak.png'; iv=$INTERVAL" "$src/bench/soak/plot.gp" ||
    echo "soak: gnuplot failed (apt-get install gnuplot-nox)" >&2
cat "$OUT/summary.txt"
