#!/usr/bin/env bash
# bench/live/tsmux.sh - what the websocket path's muxes cost a meeting
# nobody watches over /ws/live: the server's CPU (user+sys of the whole
# process, /proc/PID/stat) with 0 websocket viewers, for two builds, A
# (e.g. before: one mpegtsmux per (rung, language) always running) and B
# (after: a mux runs only while its pair is watched), alternated round by
# round in one run on the same machine, for two sources:
#   test:   videotestsrc 720p25 + 2 languages (zh, bo): 2 rungs x 2 = 4 muxes
#   file:   a generated 720p25 MPEG-TS with 3 languages (zh, bo, lis),
#           played in real time: 2 rungs x 3 = 6 muxes
# Each cell is WINDOW seconds once the meeting's HLS segments flow (start
# excluded), per wall second and per second of meeting encoded (v360
# segments closed meanwhile). The 1-minute load average is printed with
# each cell: the machine is shared, so compare A and B within a round.
#
# usage: bench/live/tsmux.sh [WINDOW] [WORKDIR]
#   WINDOW   seconds measured per cell (default 60)
#   WORKDIR  media and data (default /tmp/yl-bench-tsmux)
# env: A, B (the two yunling binaries; B defaults to build-bench/app/yunling),
#   ROUNDS (default 3), SOURCES (default "test file"). Not a test.
set -euo pipefail
cd "$(dirname "$0")/../.."
win=${1:-60}
work=${2:-/tmp/yl-bench-tsmux}
B=${B:-$PWD/build-bench/app/yunling}
A=${A:?A must name the binary to compare with (e.g. a build of main)}
rounds=${ROUNDS:-3}
sources=${SOURCES:-test file}
len=$((win + 40))
hz=$(getconf CLK_TCK)
mkdir -p "$work"
src=$work/meeting-${len}s.ts

if [[ " $sources " == *" file "* ]] && [ ! -s "$src" ]; then
    echo "generating a ${len} s 1280x720p25 source with 3 audio tracks" >&2
    ffmpeg -nostdin -v error -y -f lavfi \
        -i "testsrc2=size=1280x720:rate=25,noise=alls=8:allf=t" \
        -f lavfi -i "sine=frequency=220:sample_rate=48000" \
        -f lavfi -i "sine=frequency=330:sample_rate=48000" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$len" \
        -map 0:v -map 1:a -map 2:a -map 3:a \
        -c:v libx264 -preset veryfast -b:v 4000k -pix_fmt yuv420p -g 50 \
        -c:a aac -b:a 128k -ac 2 \
        -metadata:s:a:0 language=zho -metadata:s:a:1 language=bod \
        -metadata:s:a:2 language=lis "$src"
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# The newest segment's media sequence number in a media playlist (1 s each).
last_seq() {
    awk -F: '/MEDIA-SEQUENCE/ {s = $2} /\.ts$/ {n++} END {print s + n - 1}' "$1"
}
load1() { cut -d' ' -f1 /proc/loadavg; }

# run BIN SOURCE: prints "cores load" for one cell.
run() {
    local bin=$1 kind=$2 d=$work/data port i id admin spid uri c0 c1 t0 t1
    local l0 l1
    rm -rf "$d"
    mkdir -p "$d"
    "$bin" sites import --data "$d" >/dev/null 2>&1
    admin=$("$bin" token create --role admin --scope 53 --data "$d" 2>/dev/null)
    "$bin" serve --listen 127.0.0.1:0 --data "$d" >"$work/serve.out" \
        2>"$work/serve.log" &
    spid=$!
    for i in $(seq 1 200); do
        grep -q '^listening on ' "$work/serve.out" && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
        "$work/serve.out")
    if [ "$kind" == test ]; then uri=test:; else uri=file://$src; fi
    id=$(curl -s -H "Authorization: Bearer $admin" \
        -H 'content-type: application/json' \
        -d "$(jq -n --arg s "$uri" '{title:"基准会议",
            starts_at:"2026-01-01T09:00:00+08:00",targets:["53"],source:$s}')" \
        "http://127.0.0.1:$port/api/v1/meetings" | jq -r .id)
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $admin" \
        "http://127.0.0.1:$port/api/v1/meetings/$id/start"
    for i in $(seq 1 600); do
        [ "$(find "$d/live/$id" -name '*.ts' 2>/dev/null | wc -l)" -ge 6 ] &&
            break
        sleep 0.1
    done
    sleep 2
    l0=$(load1)
    s0=$(last_seq "$d/live/$id/v360.m3u8")
    c0=$(cpu_ticks "$spid")
    t0=$(date +%s.%N)
    sleep "$win"
    c1=$(cpu_ticks "$spid")
    t1=$(date +%s.%N)
    s1=$(last_seq "$d/live/$id/v360.m3u8")
    l1=$(load1)
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $admin" \
        "http://127.0.0.1:$port/api/v1/meetings/$id/stop"
    kill -TERM "$spid"
    wait "$spid" || true
    # Per wall second, and per second of meeting encoded (segments closed
    # meanwhile): on a crowded machine the pipeline falls behind real
    # time and the first measures what the scheduler gave it.
    echo "$c0 $c1 $t0 $t1 $hz $l0 $l1 $s0 $s1" |
        awk '{ m = $9 - $8; if (m < 1) m = 1
               printf "%.3f %.3f %.1f-%.1f\n", ($2 - $1) / $5 / ($4 - $3),
                   ($2 - $1) / $5 / m, $6, $7 }'
}

echo "| round | source | A cores | A per media s | load | B cores | B per media s | load | B - A per media s |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for r in $(seq 1 "$rounds"); do
    for s in $sources; do
        if [ $((r % 2)) -eq 1 ]; then
            read -r a am al < <(run "$A" "$s")
            read -r b bm bl < <(run "$B" "$s")
        else
            read -r b bm bl < <(run "$B" "$s")
            read -r a am al < <(run "$A" "$s")
        fi
        echo "| $r | $s | $a | $am | $al | $b | $bm | $bl |" \
            "$(echo "$am $bm" | awk '{ printf "%+.3f", $2 - $1 }') |"
    done
done
echo
echo "CPU seconds per wall second (cores) and per second of meeting" \
    "encoded, over ${win} s, 0 websocket viewers, $(nproc) cores," \
    "$(date -u +%FT%TZ)"
