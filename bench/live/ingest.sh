#!/usr/bin/env bash
# bench/live/ingest.sh - what a live meeting's pipeline costs: CPU of the
# server's GStreamer pipeline for a 720p25 source with two video rungs
# (720p, 360p) and three audio languages (zh, bo, lis), against the ffmpeg
# CLI doing the same live ladder (-f hls, 1 s MPEG-TS segments) in the
# same run. Issue 13's "ingest-to-segment cost".
#
# Both play the same generated MPEG-TS file in real time (the meeting's
# file:// source is paced by clocksync; ffmpeg by -re), with the same x264
# settings as live/live.c (veryfast, zerolatency, no B-frames, a keyframe
# every second, High profile, 2500 / 800 kbit/s) and AAC 96 kbit/s per
# language. CPU is user+sys of the process over a window of WINDOW seconds
# once segments flow (from /proc/PID/stat), so the server's idle cost is
# included for yunling (it is a few ms/s) and start-up excluded for both.
#
# usage: bench/live/ingest.sh [WINDOW] [WORKDIR]
#   WINDOW   seconds measured (default 30)
#   WORKDIR  media and outputs (default /tmp/yl-bench-live)
# env: YUNLING (binary; default build/app/yunling), ROUNDS (default 2,
#   alternating yunling and ffmpeg). Not a test: run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
win=${1:-30}
work=${2:-/tmp/yl-bench-live}
Y=${YUNLING:-$PWD/build/app/yunling}
rounds=${ROUNDS:-2}
len=$((win + 40))
mkdir -p "$work"
src=$work/meeting-${len}s.ts
hz=$(getconf CLK_TCK)

if [ ! -s "$src" ]; then
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

cpu_ticks() { # PID: utime + stime of the process, all threads
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# measure PID DIR: waits until DIR has a few segments, then CPU over win s.
measure() {
    local pid=$1 dir=$2 i c0 c1 t0 t1
    for i in $(seq 1 300); do
        [ "$(find "$dir" -name '*.ts' 2>/dev/null | wc -l)" -ge 6 ] && break
        kill -0 "$pid" 2>/dev/null || { echo "process $pid exited" >&2; return 1; }
        sleep 0.1
    done
    sleep 2
    c0=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    sleep "$win"
    c1=$(cpu_ticks "$pid")
    t1=$(date +%s.%N)
    # CPU seconds per wall second (1.0 = one core busy)
    echo "$c0 $c1 $t0 $t1 $hz" | awk '{ printf "%.3f", ($2 - $1) / $5 / ($4 - $3) }'
}

run_yunling() {
    local d=$work/yl-data port i id cores
    rm -rf "$d"
    mkdir -p "$d"
    "$Y" sites import --data "$d" >/dev/null 2>&1
    local admin
    admin=$("$Y" token create --role admin --scope 53 --data "$d" 2>/dev/null)
    "$Y" serve --listen 127.0.0.1:0 --data "$d" >"$work/serve.out" \
        2>"$work/serve.log" &
    local spid=$!
    for i in $(seq 1 200); do
        grep -q '^listening on ' "$work/serve.out" && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.out")
    id=$(curl -s -H "Authorization: Bearer $admin" \
        -H 'content-type: application/json' \
        -d "$(jq -n --arg s "file://$src" \
            '{title:"基准会议",starts_at:"2026-01-01T09:00:00+08:00",targets:["53"],source:$s}')" \
        "http://127.0.0.1:$port/api/v1/meetings" | jq -r .id)
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $admin" \
        "http://127.0.0.1:$port/api/v1/meetings/$id/start"
    cores=$(measure "$spid" "$d/live/$id")
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $admin" \
        "http://127.0.0.1:$port/api/v1/meetings/$id/stop"
    kill -TERM "$spid"
    wait "$spid" || true
    echo "$cores"
}

run_ffmpeg() {
    local d=$work/ff-out fpid cores
    rm -rf "$d"
    mkdir -p "$d"
    local x264="-c:v libx264 -preset veryfast -tune zerolatency -bf 0 -profile:v high -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0"
    # shellcheck disable=SC2086
    ffmpeg -nostdin -v error -re -i "$src" \
        -filter_complex "[0:v]split=2[a][b];[a]scale=1280:720[v0];[b]scale=640:360[v1]" \
        -map "[v0]" -map "[v1]" -map 0:a:0 -map 0:a:1 -map 0:a:2 \
        $x264 -b:v:0 2500k -b:v:1 800k \
        -c:a aac -b:a 96k -ac 2 -ar 48000 \
        -f hls -hls_time 1 -hls_list_size 6 -hls_flags delete_segments+independent_segments \
        -var_stream_map "v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud,language:zh a:1,agroup:aud,language:bo a:2,agroup:aud,language:lis" \
        -master_pl_name master.m3u8 -hls_segment_filename "$d/%v/seg_%05d.ts" \
        "$d/%v/index.m3u8" 2>"$work/ffmpeg.log" &
    fpid=$!
    cores=$(measure "$fpid" "$d")
    kill -TERM "$fpid" 2>/dev/null || true
    wait "$fpid" 2>/dev/null || true
    echo "$cores"
}

echo "| round | yunling (cores) | ffmpeg CLI (cores) | ratio |"
echo "| ---: | ---: | ---: | ---: |"
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then
        y=$(run_yunling)
        f=$(run_ffmpeg)
    else
        f=$(run_ffmpeg)
        y=$(run_yunling)
    fi
    echo "| $r | $y | $f | $(echo "$y $f" | awk '{ printf "%.2f", $1 / $2 }') |"
done
echo
echo "CPU seconds per second of meeting over ${win} s (1.00 = one core)," \
    "$(nproc) cores, $(date -u +%FT%TZ)"
