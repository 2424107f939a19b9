#!/usr/bin/env bash
# End to end: ffmpeg reads /hls/<id>/master.m3u8 over HTTP from the server
# and decodes every frame of every segment.
. "$(dirname "$0")/lib.sh"

make_hls "$DATA/hls/7"
start_server

D=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
    "$BASE/hls/7/master.m3u8")
expect_match "$D" '^(5\.9|6\.0)' "duration over HTTP"
N=$(ffprobe -v error -count_frames -select_streams v:0 \
    -show_entries stream=nb_read_frames -of csv=p=0 "$BASE/hls/7/master.m3u8" |
    sed -n 1p)
expect_eq "$N" 150 "video frames decoded over HTTP"
ffmpeg -nostdin -v error -i "$BASE/hls/7/master.m3u8" -map 0 -f null - ||
    fail "ffmpeg could not decode the lesson over HTTP"
M=$(curl -s "$BASE/metrics")
# ffmpeg asks for "Range: bytes=0-": its answers are 206s.
n200=$(echo "$M" | awk '/^yunling_http_requests_total\{route="hls",status="20[06]"\}/ { n += $2 } END { print n + 0 }')
[ "$n200" -ge 8 ] || fail "expected >= 8 HLS responses, got $n200"
stop_server
ok "ffmpeg decoded 150 frames of master.m3u8 over HTTP ($n200 HLS requests)"
