#!/usr/bin/env bash
# Live meetings (issue 13): create with bad source URIs is refused naming
# the problem; a test: meeting starts, its live HLS is read by ffmpeg with
# two audio renditions (zh, bo), a site of a targeted region gets the
# "meeting" message on the channel (another region's site does not), and
# a stop ends the playlists with EXT-X-ENDLIST and says "ended".
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')

meeting() { # source -> status (body in resp.json)
    api POST /api/v1/meetings "${A[@]}" -d "$(jq -n --arg s "$1" \
        '{title: "全省部署会", starts_at: "2026-05-01T09:00:00+08:00",
          targets: ["5329"], source: $s}')"
}

# Bad sources: 400 naming the problem.
for bad in "rtmp://x/live|unknown kind" "srt://host|no :port" \
    "srt://:9000|no host" "srt://h:9000?mode=server|mode is" \
    "file:///no/such.mp4|no such file" "test:x|no parameters" \
    "nonsense|not a URI" "|want a URI"; do
    uri=${bad%%|*}
    want=${bad#*|}
    expect_eq "$(meeting "$uri")" 400 "source '$uri' refused"
    expect_match "$(resp .error.message)" "$want" "the reason for '$uri'"
done
expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d '{"title":"x",
    "targets":["99"],"source":"test:"}')" 400 "an unknown target code"
expect_eq "$(api POST /api/v1/meetings -H "Authorization: Bearer $SITE" \
    -d '{}')" 403 "a site token cannot create a meeting"
expect_eq "$(api POST /api/v1/meetings -H "Authorization: Bearer $DALI" \
    -H 'content-type: application/json' -d '{"title":"x",
    "targets":["5323"],"source":"test:"}')" 403 \
    "a prefecture admin cannot target another prefecture"

expect_eq "$(meeting test:)" 201 "a test: meeting is created"
ID=$(resp .id)
expect_eq "$(resp .state)" scheduled "a new meeting is scheduled"
expect_eq "$(resp .hls)" "/live/$ID/master.m3u8" "its HLS URL"
[ "$(resp .n_sites)" -gt 100 ] || fail "Dali's stations are its sites"

# Two village TVs on the channel: one in Dali (targeted), one in Chuxiong.
node "$here/meeting_ws.mjs" "$PORT" "$SITE" "$YL_TMPDIR/dali.jsonl" \
    2>"$YL_TMPDIR/dali.err" &
DALI_WS=$!
node "$here/meeting_ws.mjs" "$PORT" "$CHUX_SITE" "$YL_TMPDIR/chux.jsonl" \
    2>/dev/null &
CHUX_WS=$!
for i in $(seq 1 100); do
    [ -e "$YL_TMPDIR/dali.jsonl.ready" ] && [ -e "$YL_TMPDIR/chux.jsonl.ready" ] && break
    sleep 0.1
done

expect_eq "$(api GET "/api/v1/meetings/current?site=532901104201" \
    -H "Authorization: Bearer $SITE")" 200 "current, before the start"
expect_eq "$(resp .meeting)" null "no meeting live yet"
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
expect_eq "$(resp .state)" live "the meeting is live"
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 409 \
    "a second start"

for i in $(seq 1 100); do
    grep -q '"live"' "$YL_TMPDIR/dali.jsonl" 2>/dev/null && break
    sleep 0.1
done
msg=$(head -1 "$YL_TMPDIR/dali.jsonl")
expect_eq "$(jq -r .state <<<"$msg")" live "the Dali site is told: live"
expect_eq "$(jq -r .id <<<"$msg")" "$ID" "... which meeting"
expect_eq "$(jq -r .hls <<<"$msg")" "/live/$ID/master.m3u8" "... its HLS"
expect_eq "$(jq -r .ws <<<"$msg")" "/ws/live/$ID" "... its websocket"
expect_eq "$(jq -r .title <<<"$msg")" "全省部署会" "... its title"

# A Dali station that connects during the meeting is told at its hello.
LATE_CODE=$(db "SELECT code FROM sites WHERE code LIKE '532901%' AND \
    level = 5 AND code != '532901104201' ORDER BY code LIMIT 1")
LATE=$("$YUNLING" token create --role site --scope "$LATE_CODE" \
    --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
node "$here/meeting_ws.mjs" "$PORT" "$LATE" "$YL_TMPDIR/late.jsonl" \
    2>/dev/null &
LATE_WS=$!
for i in $(seq 1 100); do
    grep -q '"live"' "$YL_TMPDIR/late.jsonl" 2>/dev/null && break
    sleep 0.1
done
expect_eq "$(head -1 "$YL_TMPDIR/late.jsonl" | jq -r .id)" "$ID" \
    "a station connecting during the meeting is told at its hello"

expect_eq "$(api GET "/api/v1/meetings/current" \
    -H "Authorization: Bearer $SITE")" 200 "current, live"
expect_eq "$(resp .meeting.id)" "$ID" "the site's current meeting"
expect_eq "$(resp .meeting.source)" null "a site does not see the source URI"
expect_eq "$(api GET "/api/v1/meetings/current" \
    -H "Authorization: Bearer $CHUX_SITE")" 200 "current, another region"
expect_eq "$(resp .meeting)" null "Chuxiong has no meeting"

# The live HLS appears within seconds.
# (About 3 s; a minute under ThreadSanitizer on a busy machine.)
for i in $(seq 1 600); do
    [ "$(code "$BASE/live/$ID/master.m3u8")" == 200 ] && break
    sleep 0.1
done
expect_eq "$(code "$BASE/live/$ID/master.m3u8")" 200 "the master playlist is up"
curl -s -D "$YL_TMPDIR/h.txt" -o "$YL_TMPDIR/master.m3u8" \
    "$BASE/live/$ID/master.m3u8"
expect_match "$(hval "$YL_TMPDIR/h.txt" cache-control)" \
    "(^|[ ,])max-age=0,.*s-maxage=1" \
    "a live playlist: a second in shared caches, none in the browser's"
master=$(cat "$YL_TMPDIR/master.m3u8")
expect_match "$master" 'LANGUAGE="zh",NAME="中文"' "Mandarin rendition"
expect_match "$master" 'LANGUAGE="bo"' "Tibetan rendition"
expect_match "$master" 'RESOLUTION=1280x720' "720p rung"
expect_match "$master" 'RESOLUTION=640x360' "360p rung"
expect_match "$master" 'CODECS="mp4a.40.2",AUDIO="aud"' "audio-only rung"
media=$(curl -s "$BASE/live/$ID/v360.m3u8")
expect_match "$media" "#EXT-X-PROGRAM-DATE-TIME:20" "wall clock per segment"
seg=$(grep -m1 '\.ts$' <<<"$media")
curl -s -D "$YL_TMPDIR/h2.txt" -o "$YL_TMPDIR/seg.ts" "$BASE/live/$ID/$seg"
expect_match "$(hval "$YL_TMPDIR/h2.txt" cache-control)" "immutable" \
    "a live segment is immutable"
expect_match "$(ffprobe -v error -show_entries stream=profile,pix_fmt,has_b_frames \
    -of compact "$YL_TMPDIR/seg.ts")" "profile=High.*has_b_frames=0.*pix_fmt=yuv420p" \
    "H.264 High 4:2:0 (not 4:4:4)"

# ffmpeg reads 5 s of the live master with both audio renditions.
ffprobe -v error -show_entries stream=index,codec_type:stream_tags=language \
    -of json "$BASE/live/$ID/master.m3u8" >"$YL_TMPDIR/probe.json" \
    2>"$YL_TMPDIR/probe.err" || fail "ffprobe of the live master"
# (The audio-only rung shows the Mandarin playlist once more.)
expect_eq "$(jq -c '[.streams[] | select(.codec_type == "audio") |
    .tags.language // empty] | unique' "$YL_TMPDIR/probe.json")" \
    '["bo","zh"]' "ffprobe sees the Mandarin and Tibetan tracks"
lang_index() {
    jq "[.streams[] | select(.tags.language == \"$1\")][0].index" \
        "$YL_TMPDIR/probe.json"
}
ffmpeg -nostdin -v error -i "$BASE/live/$ID/master.m3u8" -map 0:v:0 \
    -map "0:$(lang_index zh)" -map "0:$(lang_index bo)" -t 5 -c copy -f mpegts -y "$YL_TMPDIR/read.ts" \
    2>"$YL_TMPDIR/read.err" || fail "ffmpeg reads the live HLS: $(cat "$YL_TMPDIR/read.err")"
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
    "$YL_TMPDIR/read.ts")
awk -v d="$dur" 'BEGIN { exit !(d >= 4) }' || fail "5 s read, got $dur"
expect_eq "$(ffprobe -v error -select_streams a -show_entries stream=index \
    -of json "$YL_TMPDIR/read.ts" | jq '.streams | length')" 2 \
    "two audio tracks read"
ok "ffmpeg read ${dur}s of live HLS with two audio tracks"

expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get"
expect_eq "$(resp .source_health)" ok "the pipeline is healthy"

# Stop: ENDLIST and "ended".
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
expect_eq "$(resp .state)" ended "the meeting ended"
for i in $(seq 1 100); do
    curl -s "$BASE/live/$ID/v720.m3u8" | grep -q '#EXT-X-ENDLIST' && break
    sleep 0.1
done
for f in v720 v360 a_zh a_bo; do
    curl -s "$BASE/live/$ID/$f.m3u8" | grep -q '#EXT-X-ENDLIST' ||
        fail "$f.m3u8 has no ENDLIST after the stop"
done
ok "every media playlist ends with EXT-X-ENDLIST"
wait "$DALI_WS" || fail "the Dali site saw no ended message: $(cat "$YL_TMPDIR/dali.err")"
expect_eq "$(tail -1 "$YL_TMPDIR/dali.jsonl" | jq -r .state)" ended \
    "the Dali site is told: ended"
wait "$LATE_WS" || fail "the late station saw no ended message"
kill "$CHUX_WS" 2>/dev/null || true
wait "$CHUX_WS" 2>/dev/null || true
expect_eq "$(wc -c <"$YL_TMPDIR/chux.jsonl")" 0 \
    "the Chuxiong site got no meeting message"
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 409 \
    "a second stop"
expect_eq "$(db "SELECT state FROM meetings WHERE id = $ID")" ended \
    "stored as ended"

# A pipeline that fails fails its meeting, not the server.
printf 'not a video' >"$YL_TMPDIR/junk.mp4"
expect_eq "$(meeting "file://$YL_TMPDIR/junk.mp4")" 201 "a junk file meeting"
JID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$JID/start" "${A[@]}")" 200 \
    "its start is accepted"
for i in $(seq 1 100); do
    [ "$(db "SELECT state FROM meetings WHERE id = $JID")" == failed ] && break
    sleep 0.1
done
expect_eq "$(db "SELECT state FROM meetings WHERE id = $JID")" failed \
    "the junk meeting failed"
expect_eq "$(code "$BASE/healthz")" 200 "the server lives on"

# A rehearsal file plays in real time and ends the meeting at its end.
make_src "$YL_TMPDIR/rehearsal.mp4" 4 640x360
expect_eq "$(meeting "file://$YL_TMPDIR/rehearsal.mp4")" 201 "a file meeting"
FID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$FID/start" "${A[@]}")" 200 \
    "the file meeting starts"
for i in $(seq 1 600); do
    [ "$(db "SELECT state FROM meetings WHERE id = $FID")" == ended ] && break
    sleep 0.1
done
expect_eq "$(db "SELECT state FROM meetings WHERE id = $FID")" ended \
    "the file meeting ended with its file"
curl -s "$BASE/live/$FID/v360.m3u8" | grep -q '#EXT-X-ENDLIST' ||
    fail "the file meeting's playlist has no ENDLIST"
expect_eq "$(code "$BASE/live/$FID/v720.m3u8")" 404 \
    "no 720p rung above a 360p source"

# A rehearsal file without sound: live HLS of its picture; the websocket
# stream (picture and sound in one MPEG-TS) does not exist, and says so
# (it answered "starting" for ever).
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -t 30 \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$YL_TMPDIR/silent.mp4"
expect_eq "$(meeting "file://$YL_TMPDIR/silent.mp4")" 201 "a silent file meeting"
QID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$QID/start" "${A[@]}")" 200 \
    "the silent meeting starts"
wait_code 200 60 "$BASE/live/$QID/master.m3u8"
expect_eq "$(api GET "/ws/live/$QID" -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')" 404 \
    "its websocket stream: 404"
expect_match "$(resp .error.message)" 'has no websocket stream.*no sound' \
    "... saying why"
expect_eq "$(api POST "/api/v1/meetings/$QID/stop" "${A[@]}")" 200 \
    "the silent meeting stops"

stop_server
ok "meetings"
