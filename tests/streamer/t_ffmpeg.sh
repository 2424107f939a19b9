#!/usr/bin/env bash
# End to end: ffmpeg reads /hls/<id>/master.m3u8 over HTTP from the server
# and decodes every frame of every segment: first a lesson made with the
# ffmpeg CLI, then one that went through the real pipeline (upload → job →
# yunling transcode → publish) with a dub and subtitles.
. "$(dirname "$0")/lib.sh"

make_hls "$DATA/hls/7"
# --init: hls/ was seeded by hand before any catalog existed.
start_server --init

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
ok "ffmpeg decoded 150 frames of master.m3u8 over HTTP ($n200 HLS requests)"
stop_server

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 4 640x360
ffmpeg -nostdin -v error -y -f lavfi -i sine=frequency=660:sample_rate=48000 \
    -t 4 -c:a aac "$YL_TMPDIR/lis.m4a"
printf 'WEBVTT\n\n00:00.500 --> 00:02.000\nꓡꓲ-ꓢꓴ\n' >"$YL_TMPDIR/lis.vtt"
start_server --init
st=$(api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F "audio.lis=@$YL_TMPDIR/lis.m4a" \
    -F "subs.lis=@$YL_TMPDIR/lis.vtt" -F title.zh=全流程 -F audio_lang.0=zh)
expect_eq "$st" 202 "upload"
L=$(resp .lesson)
wait_job "$(resp .job)" done
M3U=$BASE/hls/$L/master.m3u8
curl -s "$M3U" | grep -q 'LANGUAGE="lis"' || fail "no Lisu rendition"
ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$M3U" \
    >"$YL_TMPDIR/streams"
grep -q video "$YL_TMPDIR/streams" || fail "no video over HTTP"
grep -q audio "$YL_TMPDIR/streams" || fail "no audio over HTTP"
ffmpeg -nostdin -v error -i "$M3U" -map 0:v -map 0:a -f null - ||
    fail "ffmpeg could not decode the transcoded lesson over HTTP"
D=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$M3U")
expect_match "$D" '^(3\.9|4\.0)' "transcoded duration over HTTP"
stop_server
ok "upload → transcode → ffmpeg decoded /hls/$L/master.m3u8 over HTTP"
