#!/usr/bin/env bash
# bench/live/latency.sh - latency from ingest to the browser's picture
# (issue 13): a source pushed in real time over SRT into a yunling meeting,
# and the time until Chromium presents each of its marked frames (a
# full-screen flash every 2 s, numbered), for
#   1. yunling's /ws/live (360p rung) in mpegts.js,
#   2. the reference: the same ffmpeg output relayed untouched by a minimal
#      node websocket server (ref_relay.mjs) to mpegts.js,
#   3. yunling's live HLS in hls.js,
#   4. the reference: ffmpeg's own 1-second-segment HLS behind nginx,
#   and 3 and 4 again with hls.js's low-latency settings,
# all from one encode of one source, with the same detection page
# (latency.html) and the player's own settings (player-web's live.js).
# Per case: flashes seen, p50/p99/max latency, and for 1 the latency the
# player itself reports (from the clock frames). How: latency.mjs's header
# and docs/performance.md ("Latency from ingest to picture").
#
# usage: bench/live/latency.sh
# env: FLASHES (per case, default 20), CASES (names, default all), MUXDELAY
# (ffmpeg -muxdelay of the sender, seconds; default ffmpeg's 0.7), WORK
# (/tmp/yl-bench-latency), YUNLING (default build/app/yunling), NICE (e.g.
# -10: run everything of the bench - yunling, nginx, ffmpeg, node,
# Chromium - at that niceness, ahead of other work on a shared machine;
# needs root; default: as started). With the kernel's autogroups
# (sched_autogroup_enabled) niceness ranks processes only within their
# session, so on a machine shared by other sessions it helps little.
# Not a test: run on a quiet machine; about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
work=${WORK:-/tmp/yl-bench-latency}
Y=${YUNLING:-$PWD/build/app/yunling}
[ -x "$Y" ] || { echo "no $Y: run scripts/setup.sh first" >&2; exit 1; }
[ -f player-web/dist/js/live.js ] || { echo "no player-web/dist: run scripts/setup.sh first" >&2; exit 1; }
[ -n "${NICE:-}" ] && renice -n "$NICE" -p $$ >/dev/null
rm -rf "$work"
mkdir -p "$work/data" "$work/nginx/logs" "$work/hls"
chmod 755 "$work" "$work/hls" # nginx workers run as nobody
spid=
npid=
cleanup() {
    [ -n "$npid" ] && kill -QUIT "$npid" 2>/dev/null && wait "$npid" 2>/dev/null
    [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    true
}
trap cleanup EXIT

echo "# $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), niceness $(nice)," \
    "$(ffmpeg -version | head -1 | cut -d' ' -f1-3), $(chromium --version 2>/dev/null | head -1)," \
    "$(nginx -v 2>&1 | cut -d' ' -f3)"

# yunling, with a meeting fed by an SRT listener
"$Y" sites import --data "$work/data" >/dev/null 2>&1
admin=$("$Y" token create --role admin --scope 53 --data "$work/data" 2>/dev/null)
"$Y" serve --listen 127.0.0.1:0 --data "$work/data" --web "$src/player-web/dist" \
    >"$work/serve.out" 2>"$work/serve.log" &
spid=$!
for _ in $(seq 1 200); do
    grep -q '^listening on ' "$work/serve.out" && break
    sleep 0.05
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.out")
B=http://127.0.0.1:$port
srt_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
A=(-H "Authorization: Bearer $admin" -H 'content-type: application/json')
id=$(curl -s "${A[@]}" -d "{\"title\":\"延迟基准\",\"targets\":[\"53\"],\"source\":\"srt://:$srt_port?mode=listener\"}" \
    "$B/api/v1/meetings" | jq -r .id)
curl -s -o /dev/null -X POST "${A[@]}" "$B/api/v1/meetings/$id/start"
for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/live/$id/master.m3u8")" = 200 ] && break
    sleep 0.1
done

# nginx serving the reference HLS (ffmpeg writes it into $work/hls)
cat >"$work/nginx/nginx.conf" <<NGINX
# As Debian's /etc/nginx/nginx.conf where it matters, minus the access log;
# CORS for the bench page (another port), no caching of the playlist.
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 768; }
http {
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    include /etc/nginx/mime.types;
    access_log off;
    server {
        listen 127.0.0.1:NPORT;
        root $work/hls;
        add_header Access-Control-Allow-Origin *;
        location ~ \.m3u8\$ { add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
    }
}
NGINX
# nginx cannot listen on port 0: find a free port first.
nport=
for p in $(shuf -i 20000-60000 -n 50); do
    ss -ltn | grep -q ":$p " || { nport=$p; break; }
done
sed -i "s/NPORT/$nport/" "$work/nginx/nginx.conf"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
npid=$!

YL=$B MEETING=$id SRT_PORT=$srt_port NGINX=http://127.0.0.1:$nport HLS_DIR=$work/hls WORK=$work \
    node bench/live/latency.mjs
echo
echo "# done $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); details in $work/latency.json"
grep -E 'source (lost|back)' "$work/serve.log" | tail -3 || true
