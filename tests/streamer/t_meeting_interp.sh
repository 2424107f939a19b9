#!/usr/bin/env bash
# An interpreter as a separate audio-only SRT feed (issue 13): the main
# source is test: (zh: a 440 Hz tone), bo comes from an SRT listener of
# its own, pushed audio-only (MP2 in MPEG-TS) at 1000 Hz by ffmpeg. The bo
# rendition carries that tone; when the interpreter stops, bo goes silent
# while zh and the picture go on; when it pushes again, the tone returns in
# the same playlists. Its URI is shown to the meeting's admins only.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
P=$(free_udp_port)
TONE=$(dirname "$0")/tone.py
SECRET=interp-secret-0123

expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"口译\",
    \"targets\":[\"5329\"], \"source\":\"test:\", \"audio\":[\"zh\",
    {\"lang\":\"bod\",
     \"source\":\"srt://:$P?mode=listener&latency=125&passphrase=$SECRET\"}]}")" \
    201 "a meeting with an interpreter"
ID=$(resp .id)
expect_eq "$(resp .audio[1].lang)" bo "the interpreter's tag is normalised"
expect_eq "$(api GET "/api/v1/meetings/$ID" -H "Authorization: Bearer $SITE")" \
    200 "a station reads the meeting"
expect_eq "$(jq -c .audio "$YL_TMPDIR/resp.json")" '["zh",{"lang":"bo"}]' \
    "without the interpreter's URI"
expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "the admin reads it"
expect_match "$(resp .audio[1].source)" "^srt://:$P" "with the URI"
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
wait_code 200 90 "$BASE/live/$ID/master.m3u8"
expect_eq "$(curl -s "$BASE/live/$ID/master.m3u8" | grep -c 'TYPE=AUDIO')" 2 \
    "two renditions"

tone_of() { # LANG: the tone of LANG's newest segment
    local seg
    seg=$(curl -s "$BASE/live/$ID/a_$1.m3u8" | grep '\.ts$' | tail -1)
    curl -s -o "$YL_TMPDIR/$1.ts" "$BASE/live/$ID/$seg"
    python3 "$TONE" "$YL_TMPDIR/$1.ts" 440 1000 2>/dev/null || echo error
}
wait_tone() { # LANG WANT WHAT: polls for up to 40 s
    local i t=
    for i in $(seq 1 80); do
        t=$(tone_of "$1")
        [ "${t%% *}" == "$2" ] && return 0
        sleep 0.5
    done
    fail "$3: $1 wants $2, the newest segment has: $t"
}
last_seq() { # the 360p rung's segments so far
    curl -s "$BASE/live/$ID/v360.m3u8" | awk -F: '/MEDIA-SEQUENCE/ {s=$2}
        /\.ts$/ {n++} END {print s + n}'
}
push() { # seconds; run in the background, its pid is ffmpeg's (exec)
    exec ffmpeg -nostdin -v error -re -f lavfi \
        -i "sine=frequency=1000:sample_rate=48000" -t "$1" -c:a mp2 \
        -b:a 128k -metadata:s:a:0 language=bod -f mpegts \
        "srt://127.0.0.1:$P?mode=caller&passphrase=$SECRET" \
        2>>"$YL_TMPDIR/push.err"
}

wait_tone bo silence "no interpreter yet"
wait_tone zh 440 "the main source's Mandarin"
push 60 &
PUSH=$!
wait_tone bo 1000 "the interpreter's feed"
wait_tone zh 440 "Mandarin meanwhile"
ok "bo comes from the interpreter's own feed"

kill "$PUSH" 2>/dev/null || true
wait "$PUSH" 2>/dev/null || true
s1=$(last_seq)
wait_tone bo silence "the interpreter left"
wait_tone zh 440 "Mandarin after the interpreter left"
s2=$(last_seq)
[ "$s2" -gt "$s1" ] || fail "the picture goes on ($s1 -> $s2)"
grep -q 'interpreter (bo) lost: silence' "$YL_TMPDIR/server.log" ||
    fail "the loss is logged"
ok "the interpreter's loss silences bo only"

push 60 &
PUSH=$!
wait_tone bo 1000 "the interpreter is back"
# The websocket path of (360p, bo) carries the interpreter too.
python3 "$(dirname "$0")/livews_client.py" "$PORT" \
    "/ws/live/$ID?rung=360p&audio=bo" "$YL_TMPDIR/ws" 4
expect_eq "$(jq .status "$YL_TMPDIR/ws.json")" 101 "/ws/live ?audio=bo"
expect_eq "$(python3 "$TONE" "$YL_TMPDIR/ws" 440 1000 | cut -d' ' -f1)" 1000 \
    "/ws/live ?audio=bo carries the interpreter's tone"
kill "$PUSH" 2>/dev/null || true
wait "$PUSH" 2>/dev/null || true
ok "the interpreter's return is picked up in the same playlists"
! grep -q "$SECRET" "$YL_TMPDIR/server.log" ||
    fail "the passphrase is in the log"

expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
for i in $(seq 1 100); do
    curl -s "$BASE/live/$ID/a_bo.m3u8" | grep -q ENDLIST && break
    sleep 0.1
done
curl -s "$BASE/live/$ID/a_bo.m3u8" | grep -q ENDLIST || fail "no ENDLIST"
# The recording has both languages (the job's dubs), Mandarin first.
for i in $(seq 1 300); do
    api GET "/api/v1/meetings/$ID" "${A[@]}" >/dev/null
    [[ "$(resp .recording.job)" =~ ^[0-9]+$ ]] && break
    sleep 0.1
done
JOB=$(resp .recording.job)
[[ $JOB =~ ^[0-9]+$ ]] || fail "no recording job: $(resp .recording)"
expect_eq "$(db "SELECT inputs FROM jobs WHERE id = $JOB" |
    jq -c '.audio | keys_unsorted')" '["zh","bo"]' \
    "the recording's languages: zh, then the interpreter's bo"
stop_server
ok "interpreter feed"
