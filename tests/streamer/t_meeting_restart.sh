#!/usr/bin/env bash
# A meeting's pipeline that fails while live is rebuilt (issue 13, "a
# crash in a GStreamer element fails the meeting's pipeline, not the
# server; it is restarted"): the meeting stays live; its playlists go on
# with EXT-X-DISCONTINUITY and growing media sequence numbers, and ffmpeg
# reads the live HLS across it; a /ws/live viewer keeps its connection
# and gets the picture again (timestamps moving forward); the rebuild is
# counted in GET /api/v1/meetings/{id} and /metrics; the recording goes
# on. A pipeline that keeps failing ends its meeting as failed.
#
# The failure is the test-only knob YL_LIVE_TEST_FAIL (live/live.c,
# docs/operations.md): the top rung's encoder posts an error when a file
# appears (file:PATH), or S seconds after the meeting is live and after
# each rebuild starts, K times (S:K).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

setup_catalog
YL_LIVE_TEST_FAIL=file:$YL_TMPDIR/fail start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')

expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d '{"title":"重建",
    "targets":["5329"],"source":"test:"}')" 201 "a test: meeting"
ID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
wait_code 200 60 "$BASE/live/$ID/master.m3u8"
ok "live HLS is up"

# A websocket viewer from before the failure to well after it.
python3 "$here/livews_client.py" "$PORT" "/ws/live/$ID?rung=360p&audio=zh" \
    "$YL_TMPDIR/viewer" 30 &
VIEWER=$!

# last_seq [FILE]: the media sequence number of the newest segment.
last_seq() {
    awk -F: '/MEDIA-SEQUENCE/ {s = $2} /\.ts$/ {n++} END {print s + n - 1}' \
        "${1:-/dev/stdin}"
}
seq0=$(curl -s "$BASE/live/$ID/v360.m3u8" | last_seq)
# key_times FILE: the video keyframes' timestamps (s) of an MPEG-TS file.
key_times() {
    ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags \
        -of csv=p=0 "$1" 2>/dev/null | awk -F, '$2 ~ /K/ {print $1}'
}
# gap_check FILE: keyframes a second apart with one gap (the rebuild), at
# least 3 after it, never back in time.
gap_check() {
    awk 'NR > 1 { d = $1 - p; if (d < 0) back++
                  if (d > 1.15) { gap++; after = 0 } else if (gap) after++ }
         { p = $1 }
         END { printf "%d keyframes, %d gap(s), %d after, %d backwards\n",
                      NR, gap, after, back
               exit !(gap == 1 && after >= 3 && back == 0) }' "$1"
}

# The failure once the viewer has a few seconds of picture (~300 KB).
for i in $(seq 1 300); do
    [ "$(stat -c %s "$YL_TMPDIR/viewer" 2>/dev/null || echo 0)" -gt 300000 ] &&
        break
    sleep 0.1
done
touch "$YL_TMPDIR/fail"
for i in $(seq 1 300); do
    grep -q 'pipeline failed' "$YL_TMPDIR/server.log" && break
    sleep 0.1
done
grep -q 'pipeline failed' "$YL_TMPDIR/server.log" ||
    fail "the injected failure was not seen"
ok "the pipeline failed: $(grep -o 'pipeline failed.*' "$YL_TMPDIR/server.log" | head -1)"

# The playlist with the discontinuity inside its window: segments before
# it and at least two after (polled: about 5 s after the failure).
found=
for i in $(seq 1 300); do
    curl -s "$BASE/live/$ID/v360.m3u8" >"$YL_TMPDIR/v360.m3u8"
    if awk '/DISCONTINUITY$/ {d = 1; next} /\.ts$/ {if (d) a++; else b++}
            END {exit !(d && b >= 1 && a >= 2)}' "$YL_TMPDIR/v360.m3u8"; then
        found=1
        break
    fi
    sleep 0.2
done
[ -n "$found" ] || fail "no discontinuity with segments on both sides: $(cat "$YL_TMPDIR/v360.m3u8")"
ok "v360.m3u8 goes on across the rebuild with EXT-X-DISCONTINUITY"
# The first build's v360 segments on disk (for the check of their
# deletion below).
LIVE=$DATA/live/$ID
n0=$(ls "$LIVE" | grep -c '^v360_[0-9]*_[0-9]*\.ts$' || true)
seq1=$(last_seq "$YL_TMPDIR/v360.m3u8")
[ "$seq1" -gt "$seq0" ] || fail "the media sequence went from $seq0 to $seq1"
grep -A3 'DISCONTINUITY$' "$YL_TMPDIR/v360.m3u8" | grep -q 'r1_00000\.ts$' ||
    fail "the rebuilt pipeline's segments have names of their own: $(cat "$YL_TMPDIR/v360.m3u8")"
# The renditions close their segments at their own times: each gets its
# discontinuity (or has already counted it in DISCONTINUITY-SEQUENCE).
for f in v720 a_zh a_bo; do
    for i in $(seq 1 100); do
        curl -s "$BASE/live/$ID/$f.m3u8" >"$YL_TMPDIR/$f.m3u8"
        grep -q 'DISCONTINUITY$\|DISCONTINUITY-SEQUENCE:1$' "$YL_TMPDIR/$f.m3u8" &&
            break
        sleep 0.2
    done
    grep -q 'DISCONTINUITY$\|DISCONTINUITY-SEQUENCE:1$' "$YL_TMPDIR/$f.m3u8" ||
        fail "$f.m3u8 has no discontinuity: $(cat "$YL_TMPDIR/$f.m3u8")"
done
ok "every rendition has the discontinuity (media sequence $seq0 -> $seq1)"

# ffmpeg reads the whole window, across the discontinuity.
ffmpeg -nostdin -v error -live_start_index 0 -i "$BASE/live/$ID/master.m3u8" \
    -map 0:v:0 -map 0:a:0 -t 5 -f null - 2>"$YL_TMPDIR/read.err" ||
    fail "ffmpeg reads the live HLS across the rebuild: $(cat "$YL_TMPDIR/read.err")"
ok "ffmpeg reads the live HLS across the rebuild"

expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get"
expect_eq "$(resp .state)" live "the meeting stays live"
expect_eq "$(resp .source_restarts)" 1 "one rebuild in source_restarts"
expect_match "$(resp .source_error)" "enc_v720.*YL_LIVE_TEST_FAIL" \
    "source_error names the failed element"
expect_eq "$(api GET "/api/v1/meetings/$ID" -H "Authorization: Bearer $SITE")" \
    200 "a station's get"
expect_match "$(resp .source_error)" '^信号源出错' \
    "a station sees that the source failed, not the element's message"
expect_eq "$(resp .source)" null "nor the source"
for i in $(seq 1 100); do
    api GET "/api/v1/meetings/$ID" "${A[@]}" >/dev/null
    [ "$(resp .source_health)" == ok ] && break
    sleep 0.1
done
expect_eq "$(resp .source_health)" ok "healthy again after the rebuild"
curl -s "$BASE/metrics" >"$YL_TMPDIR/metrics"
grep -q '^yunling_live_pipeline_restarts_total 1$' "$YL_TMPDIR/metrics" ||
    fail "/metrics counts the rebuild: $(grep yunling_live "$YL_TMPDIR/metrics")"
ok "the rebuild is counted in /metrics"

# The viewer kept its connection: keyframes before and after the rebuild,
# with a gap (the time it took) and time only moving forward.
wait "$VIEWER" || fail "the websocket viewer"
expect_eq "$(jq .status "$YL_TMPDIR/viewer.json")" 101 "the viewer's upgrade"
key_times "$YL_TMPDIR/viewer" >"$YL_TMPDIR/keys"
gap_check "$YL_TMPDIR/keys" >"$YL_TMPDIR/keys.sum" ||
    fail "the viewer's stream across the rebuild: $(cat "$YL_TMPDIR/keys.sum")"
ok "the websocket viewer went on: $(cat "$YL_TMPDIR/keys.sum")"

# Once the discontinuity left the window, the playlist says so.
for i in $(seq 1 100); do
    curl -s "$BASE/live/$ID/a_bo.m3u8" >"$YL_TMPDIR/a_bo.m3u8"
    grep -q 'DISCONTINUITY$' "$YL_TMPDIR/a_bo.m3u8" || break
    sleep 0.2
done
grep -q '^#EXT-X-DISCONTINUITY-SEQUENCE:1$' "$YL_TMPDIR/a_bo.m3u8" ||
    fail "EXT-X-DISCONTINUITY-SEQUENCE after the window slid: $(cat "$YL_TMPDIR/a_bo.m3u8")"
ok "EXT-X-DISCONTINUITY-SEQUENCE:1 once the tag left the window"

# The recording goes on across the rebuild: its top rung's file (while
# live) has keyframes before and after the gap, time moving forward only.
REC=$(ls -d "$DATA/recordings/$ID"-* | head -1)
key_times "$REC/v720.ts" >"$YL_TMPDIR/rkeys"
gap_check "$YL_TMPDIR/rkeys" >"$YL_TMPDIR/rkeys.sum" ||
    fail "the recording across the rebuild: $(cat "$YL_TMPDIR/rkeys.sum")"
ok "the recording went on: $(cat "$YL_TMPDIR/rkeys.sum")"
# Segments that left the window go from the disk, the first build's too
# (its names differ from the rebuilt one's): once the two builds together
# have written 18 segments of v360, no more than 17 are on disk (15 kept,
# one being written, one being listed); hlssink2 kept each build's last
# 15 for good.
# r1_last: the highest file number of the rebuilt build's v360 on disk.
r1_last() {
    local x
    x=$(ls "$LIVE" | sed -n 's/^v360_[0-9]*r1_\([0-9]*\)\.ts$/\1/p' |
        sort -n | tail -1)
    echo $((10#${x:-0}))
}
for i in $(seq 1 600); do
    [ "$(r1_last)" -ge $((17 - n0)) ] && break
    sleep 0.2
done
[ "$(r1_last)" -ge $((17 - n0)) ] ||
    fail "the rebuilt pipeline wrote $(r1_last) segments of v360 ($n0 before it)"
n=$(ls "$LIVE" | grep -c '^v360_.*\.ts$')
[ "$n" -le 17 ] || fail "$n v360 segments on disk after $((18 - n0)) of the rebuild and $n0 before: $(ls "$LIVE")"
ok "old segments leave the disk across the rebuild ($n of v360 on disk, $n0 of the first build before)"

started=$(api GET "/api/v1/meetings/$ID" "${A[@]}" >/dev/null; resp .started_ms)
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
for i in $(seq 1 300); do
    api GET "/api/v1/meetings/$ID" "${A[@]}" >/dev/null
    st=$(resp '.recording.state // "null"')
    [ "$st" != recording ] && [ "$st" != null ] && break
    sleep 0.1
done
JOB=$(resp .recording.job)
[[ $JOB =~ ^[0-9]+$ ]] || fail "the recording made no job: $(resp .recording)"
meet_s=$(awk -v a="$started" -v b="$(resp .ended_ms)" \
    'BEGIN { printf "%.1f", (b - a) / 1000 }')
rj=$DATA/uploads/$JOB/recording.json
[ -f "$rj" ] || fail "no recording.json for job $JOB"
expect_eq "$(jq -r '.cut // "none"' "$rj")" none "the recording was not cut"
# The rebuild costs a few seconds (back-off, start); before and after are
# both recorded. (The lesson's transcode is streamer_meeting_record's.)
dur=$(jq .duration_s "$rj")
awk -v d="$dur" -v m="$meet_s" 'BEGIN { exit !(d > m - 20 && d < m + 0.5) }' ||
    fail "the recording lasts ${dur}s, the meeting ${meet_s}s"
ok "one recording of ${dur}s for a meeting of ${meet_s}s"
stop_server

# A pipeline that fails at every build: rebuilt RESTART_MAX (5) times
# with a growing back-off, then the meeting fails. (A catalog of its own:
# no transcode of the first recording meanwhile.) The back-off is the
# production one shortened tenfold (YL_LIVE_TEST_RESTART_MS=100: 0.1, 0.2,
# 0.4, 0.8, 0.8 s instead of 1, 2, 4, 8, 8 s), the first phase above
# having waited for the real first one.
DATA=$YL_TMPDIR/data2
setup_catalog
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
from=$(($(wc -l <"$YL_TMPDIR/server.log") + 1))
YL_LIVE_TEST_FAIL=1:100 YL_LIVE_TEST_RESTART_MS=100 start_server
expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d '{"title":"总是失败",
    "targets":["5329"],"source":"test:"}')" 201 "a second meeting"
ID2=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID2/start" "${A[@]}")" 200 "start"
# Live, then 5 rebuilds after 0.1+0.2+0.4+0.8+0.8 s, each failing 1 s
# after it starts: about 10 s (3 minutes at most on a loaded machine).
for i in $(seq 1 1800); do
    [ "$(db "SELECT state FROM meetings WHERE id = $ID2")" == failed ] && break
    sleep 0.1
done
expect_eq "$(db "SELECT state FROM meetings WHERE id = $ID2")" failed \
    "a pipeline that keeps failing fails its meeting"
expect_eq "$(tail -n +"$from" "$YL_TMPDIR/server.log" |
    grep -c "meeting=$ID2\] pipeline failed")" 5 "after five rebuilds"
expect_eq "$(tail -n +"$from" "$YL_TMPDIR/server.log" |
    grep "meeting=$ID2\] pipeline failed" | sed 's/.*: rebuild //' |
    tr '\n' ' ')" "1 in 0.1 s 2 in 0.2 s 3 in 0.4 s 4 in 0.8 s 5 in 0.8 s " \
    "the back-off doubles up to its cap"
expect_match "$(db "SELECT error FROM meetings WHERE id = $ID2")" \
    YL_LIVE_TEST_FAIL "its error names the failure"
expect_eq "$(code "$BASE/healthz")" 200 "the server lives on"
stop_server
ok "meeting pipeline rebuilt after a failure"
