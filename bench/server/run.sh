#!/usr/bin/env bash
# bench/server/run.sh - the server's benchmarks, figures to stdout:
#  1. delivery: wrk against one HLS segment and one media playlist, served
#     by `yunling serve` and by stock nginx (Debian, default worker count)
#     from the same files on the same machine in the same run;
#  2. view ingest over HTTP (bench/server/viewload.c): events/s and p99 for
#     batches of 50 and for single events, and the database count checked
#     against the acknowledged count;
#  3. statistics over HTTP on the synthetic province (bench/catalog makes
#     90 days of history for 14,888 villages and 200 lessons): p50/p99 of
#     /stats/ranking per prefecture and /stats/now for the province.
# Environment: SECS (wrk/load seconds, 10), ROUNDS (delivery rounds, 2),
# CONNS (wrk connections, 100), PARTS (default "delivery ingest stats";
# stats builds its history first: minutes), STATS_DIR (keep that history
# there and reuse it next time), WORK (scratch dir, removed at the end).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${SECS:-10}
PARTS=" ${PARTS:-delivery ingest stats} "
[ "${SKIP_STATS:-0}" == 1 ] && PARTS=${PARTS/ stats / }
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-100}
WORK=${WORK:-$(mktemp -d /tmp/yl-bench-server.XXXXXX)}
B=$src/build-bench
Y=$B/app/yunling
LOAD=$B/tests/streamer/yl_viewload
SRV=
NGX=

cleanup() {
    [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
    [ -n "$NGX" ] && kill -QUIT "$NGX" 2>/dev/null && wait "$NGX" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

cmake -S "$src" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target yunling yl_viewload bench_catalog >/dev/null 2>&1
chmod 755 "$WORK" # nginx workers run as nobody

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), $(nginx -v 2>&1 | cut -d' ' -f3), lws $(pkg-config --modversion libwebsockets), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

start_yunling() { # data-dir
    # --init: the delivery run seeds hls/ by hand, with no catalog yet.
    "$Y" serve --init --listen 127.0.0.1:0 --data "$1" >"$WORK/srv.out" \
        2>>"$WORK/srv.log" &
    SRV=$!
    for _ in $(seq 1 100); do
        grep -q '^listening on' "$WORK/srv.out" && break
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/srv.out")
}
stop_yunling() {
    kill -TERM "$SRV"
    wait "$SRV" || true
    SRV=
}

# cpu PID...: CPU time (ticks of 1/100 s) used so far by these processes
# and all their threads.
cpu() {
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$t"
}
# cpu_main PID: CPU ticks of the main thread only (yunling's event loop).
cpu_main() { awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat"; }
# cpu_named PID NAME: CPU ticks of the threads called NAME.
cpu_named() {
    local t=0 d
    for d in /proc/"$1"/task/*; do
        [ "$(cat "$d/comm" 2>/dev/null)" == "$2" ] &&
            t=$((t + $(awk '{ print $14 + $15 }' "$d/stat")))
    done
    echo "$t"
}

# wrk URL [extra wrk args] → "req/s MB/s p99"
wrk_run() {
    local url=$1 out
    shift
    out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url")
    echo "$out" >>"$WORK/wrk.log"
    awk '/Requests\/sec/ { r = $2 }
         /Transfer\/sec/ { t = $2; if (t ~ /GB/) m = t * 1024;
                           else if (t ~ /MB/) m = t + 0; else m = t / 1024 }
         /^ +99%/ { p = $2 }
         /Non-2xx/ { bad = $NF }
         END { printf "%.0f %.1f %s %s\n", r, m, p, bad + 0 }' <<<"$out"
}

# ---- 1. delivery
if [[ $PARTS == *" delivery "* ]]; then
D=$WORK/deliv
mkdir -p "$D/hls/7/v0"
head -c 190000 /dev/urandom >"$D/hls/7/v0/seg_00001.m4s"
{
    printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n'
    printf '#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="init.mp4"\n'
    for i in $(seq 0 149); do printf '#EXTINF:4.000000,\nseg_%05d.m4s\n' "$i"; done
    printf '#EXT-X-ENDLIST\n'
} >"$D/hls/7/v0/index.m3u8"
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<NGINX
# As Debian's /etc/nginx/nginx.conf where it matters (worker_processes
# auto, sendfile, tcp_nopush, keepalive_timeout 65), minus the access log
# (yunling keeps none either).
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 768; }
http {
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    include /etc/nginx/mime.types;
    types { video/iso.segment m4s; }
    access_log off;
    server {
        listen 127.0.0.1:0;
        root $D;
    }
}
NGINX
# nginx cannot listen on port 0: find a free port first.
NPORT=
for p in $(shuf -i 20000-60000 -n 50); do
    ss -ltn | grep -q ":$p " || { NPORT=$p; break; }
done
sed -i "s/listen 127.0.0.1:0;/listen 127.0.0.1:$NPORT;/" "$WORK/nginx/nginx.conf"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' &
NGX=$!
start_yunling "$D"
sleep 0.5
NWORKERS=$(pgrep -P "$NGX" | wc -l)
for u in /hls/7/v0/seg_00001.m4s /hls/7/v0/index.m3u8; do
    cmp -s <(curl -s "http://127.0.0.1:$PORT$u") <(curl -s "http://127.0.0.1:$NPORT$u") ||
        { echo "nginx and yunling serve different bytes for $u" >&2; exit 1; }
done
echo
echo "## Delivery (wrk -t2 -c$CONNS -d${SECS}s, $ROUNDS rounds; nginx $NWORKERS workers)"
echo "| file | server | req/s | MB/s | p99 | non-2xx | server CPU s | req per CPU-s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
declare -A SUM CPUS
NPIDS="$NGX $(pgrep -P "$NGX" | tr '\n' ' ')"
for r in $(seq 1 "$ROUNDS"); do
    for u in seg_00001.m4s index.m3u8; do
        for s in yunling nginx; do
            p=$PORT
            pids=$SRV
            if [ $s == nginx ]; then
                p=$NPORT
                pids=$NPIDS
            fi
            c0=$(cpu $pids)
            read -r rps mbs p99 bad < <(wrk_run "http://127.0.0.1:$p/hls/7/v0/$u")
            c1=$(cpu $pids)
            cs=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 100 }')
            per=$(awk -v r="$rps" -v c="$cs" -v t="$SECS" 'BEGIN { printf "%.0f", (c > 0 ? r * t / c : 0) }')
            echo "| $u (round $r) | $s | $rps | $mbs | $p99 | $bad | $cs | $per |"
            SUM[$u-$s]=$((${SUM[$u-$s]:-0} + rps))
            CPUS[$u-$s]=$(awk -v a="${CPUS[$u-$s]:-0}" -v b="$cs" 'BEGIN { print a + b }')
        done
    done
done
for u in seg_00001.m4s index.m3u8; do
    awk -v y="${SUM[$u-yunling]}" -v n="${SUM[$u-nginx]}" -v u="$u" -v k="$ROUNDS" \
        -v cy="${CPUS[$u-yunling]}" -v cn="${CPUS[$u-nginx]}" -v t="$SECS" \
        'BEGIN { printf "| %s mean | yunling / nginx | %.0f / %.0f | | req/s ratio %.2f | | | per CPU-s %.0f / %.0f, ratio %.2f |\n",
                 u, y / k, n / k, y / n, y * t / cy, n * t / cn, (y / cy) / (n / cn) }'
done
stop_yunling
kill -QUIT "$NGX"
wait "$NGX" 2>/dev/null || true
NGX=
fi

# ---- 2. view ingest over HTTP
if [[ $PARTS == *" ingest "* ]]; then
I=$WORK/ingest
mkdir -p "$I"
"$Y" sites import --data "$I" >/dev/null 2>&1
ADMIN=$("$Y" token create --role admin --scope 53 --data "$I" 2>/dev/null)
SITE=$("$Y" token create --role site --scope 532901104201 --data "$I" 2>/dev/null)
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$WORK/src.mp4"
start_yunling "$I"
curl -s -H "Authorization: Bearer $ADMIN" -F "source=@$WORK/src.mp4" \
    -F title.zh=bench "http://127.0.0.1:$PORT/api/v1/lessons" >/dev/null
for _ in $(seq 1 300); do
    st=$(curl -s -H "Authorization: Bearer $ADMIN" \
        "http://127.0.0.1:$PORT/api/v1/jobs/1" | jq -r .state)
    [ "$st" == done ] && break
    sleep 0.2
done
echo
echo "## View ingest over HTTP (bench/server/viewload, keep-alive, ${SECS}s each)"
echo "CPU seconds per thread: loop (lws service thread), ingest (JSON parse + checks), writer (SQLite, with its checkpointer); rates per CPU-second of each."
echo
echo "| events per request | connections | requests/s | events/s | p50 ms | p99 ms | loop / ingest / writer CPU s | requests per loop CPU-s | events per ingest CPU-s | events per writer CPU-s | acknowledged | in DB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
TOTAL=0
for spec in "50 32" "1 64" "1 256"; do
    set -- $spec
    c0=$(cpu "$SRV")
    m0=$(cpu_main "$SRV")
    i0=$(cpu_named "$SRV" yl-ingest)
    j=$("$LOAD" --port "$PORT" --token "$SITE" --site 532901104201 --lesson 1 \
        --conns "$2" --batch "$1" --seconds "$SECS" --prefix "b$1c$2")
    c1=$(cpu "$SRV")
    m1=$(cpu_main "$SRV")
    i1=$(cpu_named "$SRV" yl-ingest)
    read -r lcpu icpu wcpu < <(awk -v c0="$c0" -v c1="$c1" -v m0="$m0" \
        -v m1="$m1" -v i0="$i0" -v i1="$i1" 'BEGIN {
        l = (m1 - m0) / 100; i = (i1 - i0) / 100;
        printf "%.2f %.2f %.2f\n", l, i, (c1 - c0) / 100 - l - i }')
    read -r lper iper wper < <(awk -v n="$(jq .requests <<<"$j")" \
        -v e="$(jq .events <<<"$j")" -v l="$lcpu" -v i="$icpu" -v w="$wcpu" \
        'BEGIN { printf "%.0f %.0f %.0f\n", (l > 0 ? n / l : 0),
                 (i > 0 ? e / i : 0), (w > 0 ? e / w : 0) }')
    ev=$(jq .events <<<"$j")
    TOTAL=$((TOTAL + ev))
    indb=$(sqlite3 -cmd '.timeout 5000' "$I/yunling.db" 'SELECT count(*) FROM view_events')
    echo "| $1 | $2 | $(jq .req_per_s <<<"$j") | $(jq .events_per_s <<<"$j") | $(jq .p50_ms <<<"$j") | $(jq .p99_ms <<<"$j") | $lcpu / $icpu / $wcpu | $lper | $iper | $wper | $TOTAL | $indb |"
    [ "$(jq .errors <<<"$j")" == 0 ] || echo "  (errors: $j)"
done
stop_yunling
indb=$(sqlite3 "$I/yunling.db" 'SELECT count(*) FROM view_events')
[ "$indb" == "$TOTAL" ] && echo "database count $indb == acknowledged $TOTAL" ||
    echo "MISMATCH: database $indb, acknowledged $TOTAL"
fi

# ---- 3. statistics over HTTP
[[ $PARTS == *" stats "* ]] || exit 0
S=${STATS_DIR:-$WORK/stats}
echo
echo "## Statistics over HTTP (synthetic province: bench/catalog history)"
REUSE=
[ -f "$S/yunling.db" ] && REUSE=--reuse
"$B/bench/catalog/bench_catalog" --data "$S" --days 90 --ingest 0 $REUSE \
    >"$WORK/catalog.txt"
grep '^rows:' "$WORK/catalog.txt" | sed 's/^/    /'
ADMIN=$("$Y" token create --role admin --scope 53 --data "$S" 2>/dev/null)
start_yunling "$S"
TODAY=$(TZ=Asia/Shanghai date +%F)
FROM=$(TZ=Asia/Shanghai date -d '89 days ago' +%F)
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| endpoint | connections | req/s | p50 | p99 |"
echo "| --- | --- | --- | --- | --- |"
for c in 1 8; do
    out=$(YL_TOKEN=$ADMIN YL_FROM=$FROM YL_TO=$TODAY wrk -t1 -c$c \
        -d"${SECS}s" --latency -s "$src/bench/server/ranking.lua" \
        "http://127.0.0.1:$PORT")
    echo "$out" >>"$WORK/wrk.log"
    awk -v c=$c '/Requests\/sec/ { r = $2 } /^ +50%/ { p5 = $2 } /^ +99%/ { p9 = $2 }
        END { printf "| /stats/ranking (16 prefectures, 90 days) | %d | %.0f | %s | %s |\n", c, r, p5, p9 }' <<<"$out"
    out=$(wrk -t1 -c$c -d"${SECS}s" --latency -H "Authorization: Bearer $ADMIN" \
        "http://127.0.0.1:$PORT/api/v1/stats/now?region=53")
    echo "$out" >>"$WORK/wrk.log"
    awk -v c=$c '/Requests\/sec/ { r = $2 } /^ +50%/ { p5 = $2 } /^ +99%/ { p9 = $2 }
        END { printf "| /stats/now (province) | %d | %.0f | %s | %s |\n", c, r, p5, p9 }' <<<"$out"
    # The floor: a response that does nothing (no catalog at all).
    out=$(wrk -t1 -c$c -d"${SECS}s" --latency "http://127.0.0.1:$PORT/healthz")
    echo "$out" >>"$WORK/wrk.log"
    awk -v c=$c '/Requests\/sec/ { r = $2 } /^ +50%/ { p5 = $2 } /^ +99%/ { p9 = $2 }
        END { printf "| /healthz (baseline: no work) | %d | %.0f | %s | %s |\n", c, r, p5, p9 }' <<<"$out"
done
stop_yunling
