#!/usr/bin/env bash
# bench/live/fanout.sh - many browsers on one meeting's sub-second stream:
# N websocket viewers of the 360p rung (/ws/live/<id>?rung=360p&clock=1)
# in a separate node process, against one viewer in the same run. Reports
# viewers kept, the picture's age on arrival (p50/p99/max, from the clock
# frames: receipt - ingest time, one machine, one clock), the extra p99
# over the single viewer, what the server sent (Gbit/s), its CPU (cores,
# /proc/PID/stat over the window) and CPU per Gbit/s, and the server's
# skip/drop counters. Issue 13's fan-out; SRS's published yardstick is
# 6,000 HTTP-FLV players at 84 % of one core.
#
# usage: bench/live/fanout.sh [N...]      (default: 1 1000)
# env: SECS (window, default 20), WORK (/tmp/yl-bench-fanout), YUNLING.
# Not a test: the source is the generated test: picture (720p25), so the
# pipeline's own cost is in the CPU figure; run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
counts=${*:-"1 1000"}
secs=${SECS:-20}
work=${WORK:-/tmp/yl-bench-fanout}
Y=${YUNLING:-$PWD/build/app/yunling}
hz=$(getconf CLK_TCK)
ulimit -n 65536 2>/dev/null || ulimit -n 8192
rm -rf "$work"
mkdir -p "$work/data"
"$Y" sites import --data "$work/data" >/dev/null 2>&1
admin=$("$Y" token create --role admin --scope 53 --data "$work/data" 2>/dev/null)
"$Y" serve --listen 127.0.0.1:0 --data "$work/data" >"$work/serve.out" \
    2>"$work/serve.log" &
spid=$!
trap 'kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
    grep -q '^listening on ' "$work/serve.out" && break
    sleep 0.05
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.out")
B=http://127.0.0.1:$port
A=(-H "Authorization: Bearer $admin" -H 'content-type: application/json')
id=$(curl -s "${A[@]}" -d '{"title":"扇出基准","targets":["53"],"source":"test:"}' \
    "$B/api/v1/meetings" | jq -r .id)
curl -s -o /dev/null -X POST "${A[@]}" "$B/api/v1/meetings/$id/start"
for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/live/$id/master.m3u8")" = 200 ] && break
    sleep 0.1
done
sleep 2
metric() { curl -s "$B/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$spid/stat"; }

echo "| viewers | kept | age p50 | age p99 | age max | sent | server CPU | CPU per Gbit/s | skips | dropped |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $counts; do
    s0=$(metric yunling_live_ws_skips_total)
    d0=$(metric yunling_live_ws_dropped_total)
    y0=$(metric yunling_live_ws_bytes_total)
    node bench/live/fanout_client.mjs "ws://127.0.0.1:$port/ws/live/$id?rung=360p&clock=1" \
        "$n" "$secs" >"$work/client-$n.json" &
    cpid=$!
    # the window: once every viewer is connected (the client says nothing
    # until the end, so wait for the server's gauge)
    for _ in $(seq 1 600); do
        [ "$(metric yunling_live_ws_viewers)" -ge "$n" ] && break
        sleep 0.1
    done
    c0=$(ticks); y1=$(metric yunling_live_ws_bytes_total); t0=$(date +%s.%N)
    sleep "$((secs - 2))"
    c1=$(ticks); y2=$(metric yunling_live_ws_bytes_total); t1=$(date +%s.%N)
    wait "$cpid"
    r=$(cat "$work/client-$n.json")
    s1=$(metric yunling_live_ws_skips_total)
    d1=$(metric yunling_live_ws_dropped_total)
    read -r cores gbps <<<"$(echo "$c0 $c1 $t0 $t1 $hz $y1 $y2" |
        awk '{ w = $4 - $3; printf "%.3f %.4f", ($2 - $1) / $5 / w, ($7 - $6) * 8 / w / 1e9 }')"
    echo "| $n | $(jq -r .open_at_end <<<"$r") | $(jq -r .age_p50 <<<"$r") ms |" \
        "$(jq -r .age_p99 <<<"$r") ms | $(jq -r .age_max <<<"$r") ms |" \
        "$gbps Gbit/s | $cores | $(echo "$cores $gbps" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }') |" \
        "$((s1 - s0)) | $((d1 - d0)) |"
    sleep 2
done
echo
echo "$(nproc) cores, ${secs} s per row, the test: source (720p25 + 360p, 2 languages), $(date -u +%FT%TZ)"
