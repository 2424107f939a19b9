#!/usr/bin/env bash
# A meeting fed by an SRT listener (issue 13, source loss): before the
# encoder connects and after it goes away, the live HLS goes on (slate:
# black with "信号中断，请稍候", and silence); when the encoder pushes again
# the picture comes back, in the same playlists (no reload).
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
SRT_PORT=$(free_udp_port)

expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"SRT\",
    \"targets\":[\"5329\"],
    \"source\":\"srt://:$SRT_PORT?mode=listener\"}")" 201 "an SRT meeting"
ID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"

# One SRT listener a port: a second meeting on the port, or with an
# interpreter on it, is refused while this one is live (409 naming it).
expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"同端口\",
    \"targets\":[\"5329\"],
    \"source\":\"srt://:$SRT_PORT?mode=listener\"}")" 201 "a second meeting"
ID2=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID2/start" "${A[@]}")" 409 \
    "its start while the port is taken"
expect_match "$(resp .error.message)" \
    "^source: port $SRT_PORT is already taken by live meeting $ID " "the reason"
expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"译员\",
    \"targets\":[\"5329\"], \"source\":\"test:\", \"audio\":[\"zh\",
    {\"lang\":\"bo\",\"source\":\"srt://:$SRT_PORT?mode=listener\"}]}")" \
    201 "a meeting with an interpreter on the port"
ID3=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID3/start" "${A[@]}")" 409 \
    "its start while the port is taken"
expect_match "$(resp .error.message)" "^audio\[1\]\.source: port $SRT_PORT " \
    "the interpreter's reason"

# No encoder yet: the slate keeps the stream going.
# (About 3 s; a minute under ThreadSanitizer on a busy machine.)
for i in $(seq 1 600); do
    [ "$(code "$BASE/live/$ID/master.m3u8")" == 200 ] && break
    sleep 0.1
done
expect_eq "$(code "$BASE/live/$ID/master.m3u8")" 200 "the master playlist is up"
expect_eq "$(code "$BASE/live/$ID/master.m3u8")" 200 \
    "live HLS from the slate before the encoder connects"
grep -q 'source lost: slate on' "$YL_TMPDIR/server.log" ||
    fail "the slate is on"

# seg_count: segments written so far for the 360p rung.
last_seq() {
    curl -s "$BASE/live/$ID/v360.m3u8" | awk -F: '/MEDIA-SEQUENCE/ {s=$2}
        /\.ts$/ {n++} END {print s + n}'
}
# newest_yavg: mean luma of the first frame of the newest 360p segment
# (the slate is black with a line of white text; testsrc2 is bright).
newest_yavg() {
    local seg
    seg=$(curl -s "$BASE/live/$ID/v360.m3u8" | grep '\.ts$' | tail -1)
    curl -s -o "$YL_TMPDIR/newest.ts" "$BASE/live/$ID/$seg"
    ffmpeg -nostdin -i "$YL_TMPDIR/newest.ts" -vf \
        signalstats,metadata=print:key=lavfi.signalstats.YAVG -frames:v 1 \
        -f null - 2>&1 | grep -o 'YAVG=[0-9.]*' | head -1 | cut -d= -f2
}
# Black alone is 16; the slate's white text lifts it a little.
is_slate() { awk -v y="$1" 'BEGIN { exit !(y > 18 && y < 40) }'; }
# wait_slate yes|no WHAT: polls the newest segment for up to 20 s (the
# pipeline lags real time under sanitizers).
wait_slate() {
    local i y
    for i in $(seq 1 40); do
        y=$(newest_yavg)
        if [ "$1" == yes ]; then is_slate "$y" && return 0; else
            is_slate "$y" || return 0
        fi
        sleep 0.5
    done
    fail "$2 (mean luma $y)"
}
wait_slate yes "the slate before the encoder connects"

push() { # seconds
    ffmpeg -nostdin -v error -re -f lavfi \
        -i "testsrc2=size=1280x720:rate=25" -f lavfi \
        -i "sine=frequency=330:sample_rate=48000" -t "$1" -c:v libx264 \
        -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g 25 -c:a aac \
        -f mpegts "srt://127.0.0.1:$SRT_PORT?mode=caller" \
        2>>"$YL_TMPDIR/push.err"
}
push 12 &
PUSH=$!
wait_slate no "the encoder's picture is live"
wait "$PUSH" || fail "push 1: $(cat "$YL_TMPDIR/push.err")"
grep -q 'source back' "$YL_TMPDIR/server.log" ||
    fail "the source was taken: $(tail -5 "$YL_TMPDIR/server.log")"
n_back=$(grep -c 'source back' "$YL_TMPDIR/server.log")
s1=$(last_seq)
# Polled (was a 4 s sleep): a new segment, and the server has noticed the
# encoder left.
for i in $(seq 1 100); do
    s2=$(last_seq)
    [ "$s2" -gt "$s1" ] &&
        [ "$(grep -c 'source lost: slate on' "$YL_TMPDIR/server.log")" -ge 2 ] &&
        break
    sleep 0.1
done
[ "$s2" -gt "$s1" ] || fail "segments keep coming after the encoder left ($s1 -> $s2)"
expect_eq "$(grep -c 'source lost: slate on' "$YL_TMPDIR/server.log")" 2 \
    "the slate is on again after the encoder left"
wait_slate yes "the slate after the encoder left"

# The encoder comes back: the same meeting picks it up.
push 6 || fail "push 2: $(cat "$YL_TMPDIR/push.err")"
[ "$(grep -c 'source back' "$YL_TMPDIR/server.log")" -gt "$n_back" ] ||
    fail "the source was not picked up again: $(tail -8 "$YL_TMPDIR/server.log")"
ok "the SRT encoder's return was picked up"

# The playlists stayed valid: ffmpeg reads 3 s of it.
ffmpeg -nostdin -v error -i "$BASE/live/$ID/master.m3u8" -map 0:v:0 -t 3 \
    -c copy -f mpegts -y "$YL_TMPDIR/read.ts" 2>"$YL_TMPDIR/read.err" ||
    fail "ffmpeg reads the live HLS: $(cat "$YL_TMPDIR/read.err")"
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
for i in $(seq 1 100); do
    curl -s "$BASE/live/$ID/v360.m3u8" | grep -q ENDLIST && break
    sleep 0.1
done
curl -s "$BASE/live/$ID/v360.m3u8" | grep -q ENDLIST || fail "no ENDLIST"
stop_server
ok "SRT meeting with source loss"
