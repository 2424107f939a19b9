#!/usr/bin/env bash
# bench/live/fanout.sh - many browsers on one meeting's sub-second stream:
# N websocket viewers of the 360p rung (/ws/live/<id>?rung=360p&clock=1)
# in a separate process, against one viewer in the same run. Reports
# viewers kept, the picture's age on arrival (p50/p99/max, from the clock
# frames: receipt - ingest time, one machine, one clock), the extra p99
# over the first row (run 1 first), what the server sent (Gbit/s), its
# CPU (cores, /proc/PID/stat over the window; the pipeline's own encode is
# in it: "above 1" is the CPU above the first row, the fan-out's share),
# CPU per Gbit/s, the client's own CPU, the server's skip/drop/gap
# counters and the 1-minute load average when the row started. Issue 13's fan-out;
# SRS's published yardstick is 6,000 HTTP-FLV players at 84 % of one core.
#
# usage: bench/live/fanout.sh [N...]      (default: 1 1000)
# env: SECS (window, default 20), WORK (/tmp/yl-bench-fanout), YUNLING,
#      CLIENT (c: build/bench/live/yl_fanout_client, one epoll thread, the
#      default; node: fanout_client.mjs, node's `ws`, which spends about a
#      core on 1,000 viewers and so measures itself), FANOUT_CLIENT (the
#      C client's path), NICE (e.g. -10: server and client run at that
#      niceness, for a machine others load; say so next to the figures).
# Not a test: the source is the generated test: picture (720p25), so the
# pipeline's own cost is in the CPU figure; run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
counts=${*:-"1 1000"}
secs=${SECS:-20}
work=${WORK:-/tmp/yl-bench-fanout}
Y=${YUNLING:-$PWD/build/app/yunling}
client=${CLIENT:-c}
nice=
[ -n "${NICE:-}" ] && nice="nice -n $NICE"
C=${FANOUT_CLIENT:-$(dirname "$Y")/../bench/live/yl_fanout_client}
if [ "$client" = c ] && [ ! -x "$C" ]; then
    echo "no $C: cmake --build build --target yl_fanout_client (or CLIENT=node)" >&2
    exit 1
fi
hz=$(getconf CLK_TCK)
ulimit -n 65536 2>/dev/null || ulimit -n 8192
rm -rf "$work"
mkdir -p "$work/data"
"$Y" sites import --data "$work/data" >/dev/null 2>&1
admin=$("$Y" token create --role admin --scope 53 --data "$work/data" 2>/dev/null)
$nice "$Y" serve --listen 127.0.0.1:0 --data "$work/data" >"$work/serve.out" \
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

echo "| viewers | kept | age p50 | age p99 | age max | p99 over first | sent | server CPU | above first | CPU per Gbit/s | client CPU | skips | dropped | gaps | load |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
p99_1=
cores_1=
for n in $counts; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    s0=$(metric yunling_live_ws_skips_total)
    d0=$(metric yunling_live_ws_dropped_total)
    g0=$(metric yunling_live_ws_gaps_total)
    url="ws://127.0.0.1:$port/ws/live/$id?rung=360p&clock=1"
    if [ "$client" = node ]; then
        $nice node bench/live/fanout_client.mjs "$url" "$n" "$((secs + 3))" >"$work/client-$n.json" &
    else
        $nice "$C" "$url" "$n" "$((secs + 3))" >"$work/client-$n.json" &
    fi
    cpid=$!
    # the window: once every viewer is connected (the client says nothing
    # until the end, so wait for the server's gauge); the client's own
    # window (its ages) starts a little earlier and ends later
    for _ in $(seq 1 600); do
        [ "$(metric yunling_live_ws_viewers)" -ge "$n" ] && break
        sleep 0.1
    done
    c0=$(ticks); y1=$(metric yunling_live_ws_bytes_total); t0=$(date +%s.%N)
    cc0=$(awk '{ print $14 + $15 }' "/proc/$cpid/stat" 2>/dev/null || echo 0)
    sleep "$((secs - 2))"
    c1=$(ticks); y2=$(metric yunling_live_ws_bytes_total); t1=$(date +%s.%N)
    cc1=$(awk '{ print $14 + $15 }' "/proc/$cpid/stat" 2>/dev/null || echo 0)
    wait "$cpid"
    r=$(cat "$work/client-$n.json")
    s1=$(metric yunling_live_ws_skips_total)
    d1=$(metric yunling_live_ws_dropped_total)
    g1=$(metric yunling_live_ws_gaps_total)
    read -r cores gbps ccores <<<"$(echo "$c0 $c1 $t0 $t1 $hz $y1 $y2 $cc0 $cc1" |
        awk '{ w = $4 - $3; printf "%.3f %.4f %.3f", ($2 - $1) / $5 / w, ($7 - $6) * 8 / w / 1e9, ($9 - $8) / $5 / w }')"
    # the C client measures its own CPU over its window; node's from /proc
    ccores=$(jq -r ".client_cpu // \"$ccores\"" <<<"$r")
    p99=$(jq -r .age_p99 <<<"$r")
    : "${p99_1:=$p99}" "${cores_1:=$cores}"
    echo "| $n | $(jq -r .open_at_end <<<"$r") | $(jq -r .age_p50 <<<"$r") ms |" \
        "$p99 ms | $(jq -r .age_max <<<"$r") ms | $((p99 - p99_1)) ms |" \
        "$gbps Gbit/s | $cores | $(echo "$cores $cores_1" | awk '{ printf "%.3f", $1 - $2 }') |" \
        "$(echo "$cores $gbps" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }') |" \
        "$ccores | $((s1 - s0)) | $((d1 - d0)) | $((g1 - g0)) | $load |"
    sleep 2
done
echo
echo "$(nproc) cores, ${secs} s per row, client $client${NICE:+, nice $NICE}, the test: source (720p25 + 360p, 2 languages), $(date -u +%FT%TZ)"
