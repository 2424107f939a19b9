#!/usr/bin/env bash
# The stale-chunk drop of /ws/live (str_livews.c, STALE_US): a chunk that
# reaches the service loop more than a second after a streaming thread
# posted it goes to nobody, and its viewers start again at the next fresh
# keyframe; yunling_live_ws_gaps_total counts it. The loop is stalled on
# purpose with the test-only knob YL_LIVE_WS_TEST_STALL (the tick holds
# the service thread for the milliseconds written into the file it names).
# Checked: a viewer connected through the stall gets, after it, a chunk
# that starts with PAT and PMT and an IDR, with a jump in the picture's
# time (what waited was dropped, not sent late); the gap counter went up;
# a second viewer after the stall is unaffected.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
CLIENT="$here/livews_client.py"
STALL=$YL_TMPDIR/stall

setup_catalog
YL_LIVE_WS_TEST_STALL=$STALL start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
metric() { # name: its value in /metrics (waits out a stalled loop)
    curl -s --max-time 20 "$BASE/metrics" | sed -n "s/^$1 \([0-9]*\)$/\1/p"
}

api POST /api/v1/meetings "${A[@]}" -d '{"title":"卡顿测试",
    "starts_at":"2026-05-01T09:00:00+08:00","targets":["5329"],
    "source":"test:"}' >/dev/null
ID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
wait_code 200 60 "$BASE/live/$ID/master.m3u8"

# Viewer A for 14 s; the stall (2.5 s: a loaded sanitizer build posts
# slowly) comes once it has received data.
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=360p&audio=zh" "$YL_TMPDIR/a" 14 &
VA=$!
for i in $(seq 1 300); do
    [ "$(metric yunling_live_ws_bytes_total)" -gt 100000 ] && break
    sleep 0.1
done
[ "$(metric yunling_live_ws_bytes_total)" -gt 100000 ] ||
    fail "viewer A received nothing before the stall"
gaps0=$(metric yunling_live_ws_gaps_total)
echo 2500 >"$STALL"
for i in $(seq 1 100); do # the tick takes it within 200 ms
    [ -e "$STALL" ] || break
    sleep 0.1
done
[ ! -e "$STALL" ] || fail "the loop did not take the stall file"
# The loop may answer /metrics before it runs the chunks that waited.
for i in $(seq 1 100); do
    gaps1=$(metric yunling_live_ws_gaps_total)
    [ "$gaps1" -gt "$gaps0" ] && break
    sleep 0.1
done
[ "$gaps1" -gt "$gaps0" ] ||
    fail "yunling_live_ws_gaps_total did not go up ($gaps0 -> $gaps1)"
ok "the stall was counted as a gap ($gaps0 -> $gaps1)"
grep -q 'service loop stalls for 2500 ms' "$YL_TMPDIR/server.log" ||
    fail "the server did not log the test stall"

# Viewer B connects after the stall.
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=360p&audio=zh" "$YL_TMPDIR/b" 4
wait $VA

# A: the first frame after the stall (received once the loop's 2.5 s were
# over; the server logs the stall as it begins) starts with the PAT, its
# video with an IDR, and the picture's time jumps there (the stale chunks
# were dropped, not sent late). Found by time, not as the longest silence:
# on a loaded machine the pipeline can pause too, and after such a pause
# the next chunk goes out as it is (nothing was dropped), periodic PAT
# and all. (Failed so once in CI's ASan pass: 'not idr: [9, 1, 1]'.)
stall_iso=$(sed -n 's/^\([0-9T:.-]*Z\) .*service loop stalls for 2500 ms.*/\1/p' \
    "$YL_TMPDIR/server.log" | head -1)
# (date -d "" would be today's midnight, not an error.)
[ -n "$stall_iso" ] && stall_ms=$(date -u -d "$stall_iso" +%s%3N) ||
    fail "no time for the stall in the log ('$stall_iso')"
read -r gap_ms off pat < <(jq -rs --argjson after $((stall_ms + 2400)) '
    [range(1; length) as $i | select(.[$i].recv_ms >= $after) |
     {gap: (.[$i].recv_ms - .[$i - 1].recv_ms), off: .[$i].off,
      pat: .[$i].pat}] | first // {gap: 0, off: 0, pat: false} |
    "\(.gap) \(.off) \(.pat)"' "$YL_TMPDIR/a.frames")
[ "$gap_ms" -ge 1000 ] || fail "viewer A saw no silence of the stall (${gap_ms} ms)"
expect_eq "$pat" true "after the stall, A's first chunk starts with the PAT"
head -c "$off" "$YL_TMPDIR/a" >"$YL_TMPDIR/a.before"
tail -c +$((off + 1)) "$YL_TMPDIR/a" >"$YL_TMPDIR/a.after"
expect_eq "$(python3 "$here/ts_first_video.py" "$YL_TMPDIR/a.after")" idr \
    "... and its first video PES begins an IDR access unit"
after=$(python3 "$here/ts_check.py" "$YL_TMPDIR/a.after")
jq -e '.cc_errors == 0 and .video_back == 0 and .video_s >= 3' \
    <<<"$after" >/dev/null || fail "A's stream after the stall: $after"
whole=$(python3 "$here/ts_check.py" "$YL_TMPDIR/a")
before=$(python3 "$here/ts_check.py" "$YL_TMPDIR/a.before")
jq -e '.video_step_max >= 0.5' <<<"$whole" >/dev/null ||
    fail "A's picture time did not jump at the stall (sent late?): $whole"
jq -e '.video_step_max < 0.5' <<<"$before" >/dev/null ||
    fail "A's picture jumped before the stall: $before"
ok "A resumed at a fresh keyframe after ${gap_ms} ms: $after (jump $(jq .video_step_max <<<"$whole") s)"
expect_match "$(ffprobe -v error -select_streams v -show_frames \
    -show_entries frame=key_frame,pict_type -of csv=p=0 \
    "$YL_TMPDIR/a.after" | head -1)" "^1,I" \
    "A's first decoded picture after the stall is a keyframe"

# B, after the stall: a clean stream from a keyframe, nothing skipped.
b=$YL_TMPDIR/b.json
expect_eq "$(jq .status "$b")" 101 "B's upgrade is accepted"
expect_eq "$(jq .first_pat "$b")" true "B's first chunk starts with the PAT"
expect_eq "$(python3 "$here/ts_first_video.py" "$YL_TMPDIR/b")" idr \
    "B's first video PES begins an IDR access unit"
chk=$(python3 "$here/ts_check.py" "$YL_TMPDIR/b")
jq -e '.cc_errors == 0 and .video_back == 0 and .video_step_max < 0.5 and
    .video_s >= 2' <<<"$chk" >/dev/null || fail "B's stream: $chk"
ok "B is unaffected: $chk"
stop_server
ok "live websocket stall"
