#!/usr/bin/env bash
# Lip sync through a meeting's SRT ingest (issue 13): a source with a
# white flash and a 1 kHz beep at the same instants every 2 s, pushed over
# SRT; in 8 s of the meeting's live HLS each flash's onset is paired with
# the nearest beep's, on the capture's own timestamps, and most pairs must
# be within 150 ms (the hand-over keeps the source's timestamps: it was
# ~1 s off when it went by arrival). Twice: the encoder goes away and
# comes back (a new caller, new timestamps). As bench/live/avsync.sh.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
SRT_PORT=$(free_udp_port)

expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"sync\",
    \"targets\":[\"5329\"],
    \"source\":\"srt://:$SRT_PORT?mode=listener\"}")" 201 "an SRT meeting"
ID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
wait_code 200 60 "$BASE/live/$ID/master.m3u8"

push() { # seconds
    ffmpeg -nostdin -v error -re -f lavfi -i "color=c=black:s=1280x720:r=25,\
drawbox=x=0:y=0:w=1280:h=720:c=white:t=fill:enable='lt(mod(t\,2)\,0.08)'" \
        -f lavfi -i "aevalsrc='if(lt(mod(t\,2)\,0.08)\,\
0.8*sin(2*PI*1000*t)\,0)':s=48000" -t "$1" -c:v libx264 \
        -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p \
        -b:v 2500k -c:a aac -b:a 128k -f mpegts \
        "srt://127.0.0.1:$SRT_PORT?mode=caller" 2>>"$YL_TMPDIR/push.err"
}

# check WHAT: captures 8 s of the live HLS and checks the pairs.
check() {
    local out
    ffmpeg -nostdin -v error -i "$BASE/live/$ID/master.m3u8" -map 0:v:0 \
        -map 0:a:0 -t 8 -c copy -y "$YL_TMPDIR/cap.ts" \
        2>"$YL_TMPDIR/cap.err" ||
        fail "$1: capture: $(cat "$YL_TMPDIR/cap.err")"
    out=$(python3 - "$YL_TMPDIR/cap.ts" <<'PY'
import re, subprocess, sys
f = sys.argv[1]
out = subprocess.run(['ffprobe', '-v', 'error', '-f', 'lavfi', '-i',
                      f'movie={f},signalstats', '-show_entries',
                      'frame=pts_time:frame_tags=lavfi.signalstats.YAVG',
                      '-of', 'csv=p=0'], capture_output=True, text=True).stdout
fl, prev = [], 0
for line in out.split('\n'):
    p = line.split(',')
    if len(p) < 2:
        continue
    t, y = float(p[0]), float(p[1])
    if y > 128 and prev <= 128:
        fl.append(t)
    prev = y
# -copyts: the beeps on the same timestamps as the flashes.
err = subprocess.run(['ffmpeg', '-nostdin', '-copyts', '-i', f, '-map', '0:a:0',
                      '-af', 'silencedetect=n=-30dB:d=0.03', '-f', 'null', '-'],
                     capture_output=True, text=True).stderr
be = [float(x) for x in re.findall(r'silence_end: ([\d.]+)', err)]
offs = []
for t in fl:
    c = min(be, key=lambda b: abs(b - t)) if be else None
    offs.append(round((c - t) * 1000) if c is not None and abs(c - t) < 0.9
                else 9999)
good = sum(1 for o in offs if abs(o) <= 150)
print(f'{good} {len(offs)} {offs}')
PY
    )
    set -- "$1" $out
    echo "# $1: audio minus video, ms: ${*:4}"
    [ "$3" -ge 3 ] || fail "$1: only $3 flashes in 8 s of live HLS"
    [ $(($2 * 3)) -ge $(($3 * 2)) ] ||
        fail "$1: sound and picture apart by more than 150 ms: ${*:4}"
    ok "$1: lip sync within 150 ms in $2 of $3 pairs"
}

push 30 &
PUSH=$!
for i in $(seq 1 300); do
    grep -q 'source back' "$YL_TMPDIR/server.log" && break
    sleep 0.1
done
grep -q 'source back' "$YL_TMPDIR/server.log" ||
    fail "the source was not taken: $(tail -5 "$YL_TMPDIR/server.log")"
sleep 8 # the segments from before the feed leave the live window
check "first caller"
wait "$PUSH" || fail "push 1: $(cat "$YL_TMPDIR/push.err")"

# The encoder comes back: a new caller, its timestamps from anew.
for i in $(seq 1 100); do
    [ "$(grep -c 'source lost: slate on' "$YL_TMPDIR/server.log")" -ge 2 ] &&
        break
    sleep 0.1
done
push 30 &
PUSH=$!
for i in $(seq 1 300); do
    [ "$(grep -c 'source back' "$YL_TMPDIR/server.log")" -ge 2 ] && break
    sleep 0.1
done
sleep 8
check "the caller again"
wait "$PUSH" || fail "push 2: $(cat "$YL_TMPDIR/push.err")"
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
stop_server
ok "lip sync of an SRT meeting"
