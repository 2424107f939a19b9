#!/usr/bin/env bash
# The low-latency picture of a meeting (issue 13): /ws/live/<id> sends
# MPEG-TS over a websocket without subprotocol (as mpegts.js opens it),
# starting at a keyframe; ffprobe reads h264 + aac from what was received;
# clock=1 adds clock text frames; a viewer that stops reading does not
# stall another and is counted in /metrics; unknown meetings, rungs and
# languages are refused with a clear error; the viewers are closed when
# the meeting ends (1000) and when the server stops (1001).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
CLIENT="$here/livews_client.py"

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')

api POST /api/v1/meetings "${A[@]}" -d '{"title":"全省部署会",
    "starts_at":"2026-05-01T09:00:00+08:00","targets":["5329"],
    "source":"test:"}' >/dev/null
ID=$(resp .id)
[ -n "$ID" ] && [ "$ID" != null ] || fail "a test: meeting is created"

# Not live yet: HTTP 404 before any upgrade.
python3 "$CLIENT" "$PORT" "/ws/live/$ID" "$YL_TMPDIR/early" 2
expect_eq "$(jq .status "$YL_TMPDIR/early.json")" 404 \
    "a meeting that is not live: 404"

expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
for i in $(seq 1 600); do
    [ "$(code "$BASE/live/$ID/master.m3u8")" == 200 ] && break
    sleep 0.1
done
expect_eq "$(code "$BASE/live/$ID/master.m3u8")" 200 "the meeting is up"

# Refusals, each naming the problem.
python3 "$CLIENT" "$PORT" "/ws/live/999999" "$YL_TMPDIR/nomeet" 2
expect_eq "$(jq .status "$YL_TMPDIR/nomeet.json")" 404 "unknown meeting: 404"
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=1080p" "$YL_TMPDIR/norung" 2
expect_eq "$(jq .status "$YL_TMPDIR/norung.json")" 400 "unknown rung: 400"
expect_match "$(jq -r .body "$YL_TMPDIR/norung.json")" "360p/zh" \
    "... naming the pairs the meeting has"
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=360p&audio=lis" \
    "$YL_TMPDIR/nolang" 2
expect_eq "$(jq .status "$YL_TMPDIR/nolang.json")" 400 "unknown language: 400"
expect_match "$(jq -r .body "$YL_TMPDIR/nolang.json")" 'audio \\"lis\\"' \
    "... naming the language"
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=big" "$YL_TMPDIR/badrung" 2
expect_eq "$(jq .status "$YL_TMPDIR/badrung.json")" 400 "a malformed rung: 400"

# Nobody watches yet: no websocket mux runs (each starts with its first
# viewer, at a keyframe, and stops after its last: live/live.c).
[ "$(grep -c 'mux started' "$YL_TMPDIR/server.log")" -eq 0 ] ||
    fail "a mux started without a viewer"
ok "no mux runs before the first viewer"

# A slow viewer (small receive buffer, stops reading after 1 s) beside a
# fast one, both on 720p Tibetan; the fast one asks for clock frames.
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=720p&audio=bo" \
    "$YL_TMPDIR/slow" 9 --stall 1 --rcvbuf 16384 &
SLOW=$!
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=720p&audio=bo&clock=1" \
    "$YL_TMPDIR/fast" 8
wait $SLOW

fast=$YL_TMPDIR/fast.json
expect_eq "$(jq .status "$fast")" 101 "the upgrade is accepted"
expect_eq "$(jq .first_pat "$fast")" true \
    "the first chunk starts with the PAT (a keyframe chunk)"
bytes=$(jq .binary "$fast")
# 8 s of 720p (2.5 Mbit/s) + AAC: at least 6 s' worth arrived.
[ "$bytes" -gt $((6 * 2500000 / 8 / 2)) ] ||
    fail "the fast viewer got only $bytes bytes (stalled?)"
ok "the fast viewer received $bytes bytes"
expect_eq "$(ffprobe -v error -show_entries stream=codec_name -of json \
    "$YL_TMPDIR/fast" | jq -c '[.streams[].codec_name] | sort')" \
    '["aac","h264"]' \
    "ffprobe sees h264 + aac in what was received"
expect_eq "$(python3 "$here/ts_first_video.py" "$YL_TMPDIR/fast")" idr \
    "the first video PES in what was received begins an IDR access unit"
expect_match "$(ffprobe -v error -select_streams v -show_frames \
    -show_entries frame=key_frame,pict_type -of csv=p=0 "$YL_TMPDIR/fast" |
    head -1)" "^1,I" "the first decoded picture is a keyframe"
[ "$(jq .texts "$fast")" -ge 5 ] || fail "clock frames: $(jq .texts "$fast")"
clock=$(head -1 "$YL_TMPDIR/fast.txt")
expect_eq "$(jq -r .type <<<"$clock")" clock "a clock frame"
now_ms=$(date +%s%3N)
ing=$(jq .ingest_ms <<<"$clock")
[ $((now_ms - ing)) -lt 30000 ] && [ $((now_ms - ing)) -gt 0 ] ||
    fail "ingest_ms $ing is not a recent wall clock (now $now_ms)"
ok "clock frames carry the ingest wall clock"
# The age of the newest picture when it reaches a viewer on loopback:
# capture, x264 (zerolatency), mpegtsmux, the handoff to the loop.
ages=$(jq -s '[.[] | .recv_ms - .ingest_ms] | sort' "$YL_TMPDIR/fast.txt")
ok "picture age on arrival (ms): median $(jq '.[length / 2 | floor]' <<<"$ages"), max $(jq 'max' <<<"$ages"), all $(jq -c . <<<"$ages")"
expect_eq "$(jq .texts "$YL_TMPDIR/slow.json")" 0 \
    "no clock frames without clock=1"

metrics=$(curl -s "$BASE/metrics")
skips=$(sed -n 's/^yunling_live_ws_skips_total \([0-9]*\)$/\1/p' <<<"$metrics")
dropped=$(sed -n 's/^yunling_live_ws_dropped_total \([0-9]*\)$/\1/p' \
    <<<"$metrics")
[ "${skips:-0}" -ge 1 ] && [ "${dropped:-0}" -ge 1 ] ||
    fail "the slow viewer is not counted (skips=$skips dropped=$dropped)"
ok "the slow viewer skipped $skips time(s), $dropped chunk(s) dropped"
expect_match "$metrics" 'route="live_ws",status="101"' \
    "upgrades are counted under route live_ws"
expect_match "$metrics" 'yunling_live_ws_viewers 0' "no viewer left"

# The 720p/bo mux ran for its two viewers only, and stopped after them.
mux_log() { grep -c "(720p/bo): $1" "$YL_TMPDIR/server.log" || true; }
expect_eq "$(mux_log 'mux started')" 1 "the 720p/bo mux started once"
for i in $(seq 1 100); do
    [ "$(mux_log 'no viewer, mux stopped')" -ge 1 ] && break
    sleep 0.1
done
expect_eq "$(mux_log 'no viewer, mux stopped')" 1 \
    "the 720p/bo mux stopped after its last viewer"
[ "$(grep -c 'mux started' "$YL_TMPDIR/server.log")" -eq 1 ] ||
    fail "muxes of pairs nobody watched started"
# Started again by a new viewer a second later: a clean start (PAT, PMT,
# an IDR), unbroken continuity counters, and nothing from before the stop
# (no sound older than the first picture, no jump in the picture's time).
sleep 1
python3 "$CLIENT" "$PORT" "/ws/live/$ID?rung=720p&audio=bo" \
    "$YL_TMPDIR/again" 4
expect_eq "$(mux_log 'mux started')" 2 "a new viewer starts the mux again"
expect_eq "$(jq .first_pat "$YL_TMPDIR/again.json")" true \
    "after the restart, the first chunk starts with the PAT"
expect_eq "$(python3 "$here/ts_first_video.py" "$YL_TMPDIR/again")" idr \
    "... and its first video PES begins an IDR access unit"
chk=$(python3 "$here/ts_check.py" "$YL_TMPDIR/again")
jq -e '.packets > 1000 and .cc_errors == 0 and .video_back == 0 and
    .video_step_max < 0.2 and .audio_early < 0.3 and .video_s >= 2' \
    <<<"$chk" >/dev/null ||
    fail "the restarted mux's stream is not clean: $chk"
ok "the restarted mux's stream is clean: $chk"
expect_eq "$(ffprobe -v error -show_entries stream=codec_name -of json \
    "$YL_TMPDIR/again" | jq -c '[.streams[].codec_name] | sort')" \
    '["aac","h264"]' "ffprobe sees h264 + aac after the restart"

# A viewer is closed (1000) when the meeting stops.
python3 "$CLIENT" "$PORT" "/ws/live/$ID" "$YL_TMPDIR/end" 20 &
END=$!
for i in $(seq 1 300); do # connected (a busy machine starts python slowly)
    curl -s "$BASE/metrics" | grep -q '^yunling_live_ws_viewers 1$' && break
    sleep 0.1
done
sleep 1
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
wait $END
expect_eq "$(jq .closed "$YL_TMPDIR/end.json")" 1000 \
    "the viewer is closed when the meeting ends"
[ "$(jq .binary "$YL_TMPDIR/end.json")" -gt 0 ] ||
    fail "the default rung (360p, first language) sent nothing"

# SIGTERM closes a viewer with 1001 (going away) and the server exits 0.
api POST /api/v1/meetings "${A[@]}" -d '{"title":"第二场",
    "starts_at":"2026-05-01T09:00:00+08:00","targets":["5329"],
    "source":"test:"}' >/dev/null
ID2=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID2/start" "${A[@]}")" 200 \
    "a second meeting starts"
for i in $(seq 1 600); do
    [ "$(code "$BASE/live/$ID2/master.m3u8")" == 200 ] && break
    sleep 0.1
done
python3 "$CLIENT" "$PORT" "/ws/live/$ID2" "$YL_TMPDIR/term" 30 &
TERM_V=$!
for i in $(seq 1 300); do
    curl -s "$BASE/metrics" | grep -q '^yunling_live_ws_viewers 1$' && break
    sleep 0.1
done
stop_server
wait $TERM_V
expect_eq "$(jq .closed "$YL_TMPDIR/term.json")" 1001 \
    "SIGTERM closes a viewer with 1001"
ok "live websocket"
