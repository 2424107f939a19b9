#!/usr/bin/env bash
# Declared audio tracks of a meeting (issue 13, interpreter audio): an SRT
# listener meeting declared ["zh", "bo"] is pushed two audio tracks tagged
# in the reverse order (first bod at 500 Hz, then zho at 1200 Hz); each
# rendition carries its own language's tone, whatever order the decoder
# exposes the tracks in. Then what POST /api/v1/meetings refuses in
# "audio" (400, naming the element).
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
SRT_PORT=$(free_udp_port)
TONE=$(dirname "$0")/tone.py

# ---- bad input ----
bad() { # body-fragment regex what
    expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"a\",
        \"targets\":[\"5329\"], \"source\":\"srt://:$SRT_PORT?mode=listener\",
        $1}")" 400 "$3"
    expect_match "$(resp .error.message)" "$2" "$3: the message"
}
bad '"audio":["zh","b@d"]' '^audio\[1\]: not a BCP-47' "a malformed tag"
bad '"audio":["zh","bo","zho"]' '^audio\[2\]: zh is given twice' \
    "a duplicate (after normalising zho)"
bad '"audio":["zh","bo","lis","ii","wbm"]' '^audio: want an array of 1 to 4' \
    "too many tracks"
bad '"audio":[]' '^audio: want an array' "an empty list"
bad '"audio":"zh"' '^audio: want an array' "a string, not an array"
bad '"audio":["zh",7]' '^audio\[1\]: want a language tag' "a number"
bad '"audio":[{"lang":"bo"}]' '^audio\[0\]\.source: want an srt' \
    "an object without source"
bad '"audio":[{"lang":"bo","source":"srt://:'"$SRT_PORT"'?mode=listener"}]' \
    '^audio\[0\]\.source: port [0-9]+ is already the main source' \
    "an interpreter on the main source's port"
bad '"audio":[{"lang":"bo","source":"rtsp://cam/x"}]' \
    '^audio\[0\]\.source: an interpreter.s feed is srt://' "an rtsp interpreter"
bad '"audio":[{"lang":"bo","source":"srt://:9?mode=listener&x=1"}]' \
    '^audio\[0\]\.source: .*unknown SRT parameter' "a bad SRT parameter"
bad '"audio":[{"lang":"bo","source":"srt://:9?mode=listener","x":1}]' \
    '^audio\[0\]: unknown key "x"' "an unknown key"
bad '"audio":[{"lang":7,"source":"srt://:9?mode=listener"}]' \
    '^audio\[0\]\.lang: not a BCP-47' "a numeric lang"
expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d '{"title":"a",
    "targets":["5329"], "source":"file:///etc/hostname",
    "audio":["zh",{"lang":"bo","source":"srt://:9?mode=listener"}]}')" 400 \
    "an interpreter with a file source"
expect_match "$(resp .error.message)" 'needs a live main source' \
    "an interpreter with a file source: the message"
ok "bad audio declarations are refused with 400"

# ---- two tagged tracks in the reverse order ----
expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"两种语言\",
    \"targets\":[\"5329\"], \"audio\":[\"zho\",\"BO\"],
    \"source\":\"srt://:$SRT_PORT?mode=listener\"}")" 201 "a declared meeting"
ID=$(resp .id)
expect_eq "$(jq -c .audio "$YL_TMPDIR/resp.json")" '["zh","bo"]' "the list is stored normalised"
expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get"
expect_eq "$(jq -c .audio "$YL_TMPDIR/resp.json")" '["zh","bo"]' "GET shows the audio list"
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
wait_code 200 90 "$BASE/live/$ID/master.m3u8"
curl -s "$BASE/live/$ID/master.m3u8" >"$YL_TMPDIR/master.m3u8"
expect_eq "$(grep -c 'TYPE=AUDIO' "$YL_TMPDIR/master.m3u8")" 2 "two renditions"
grep 'TYPE=AUDIO' "$YL_TMPDIR/master.m3u8" | head -1 | grep -q \
    'LANGUAGE="zh".*DEFAULT=YES' || fail "zh first and default: $(cat "$YL_TMPDIR/master.m3u8")"
grep -q 'LANGUAGE="bo".*URI="a_bo.m3u8"' "$YL_TMPDIR/master.m3u8" ||
    fail "a bo rendition: $(cat "$YL_TMPDIR/master.m3u8")"

# push [ffmpeg args...]: the encoder in the background (PUSH), 40 s of a
# test picture with two tracks, 500 then 1200 Hz (args: their tags).
PUSH_ARGS=()
PUSHES=0
push() {
    PUSH_ARGS=("$@")
    PUSHES=$((PUSHES + 1))
    ffmpeg -nostdin -v error -re -f lavfi -i "testsrc2=size=640x360:rate=25" \
        -f lavfi -i "sine=frequency=500:sample_rate=48000" \
        -f lavfi -i "sine=frequency=1200:sample_rate=48000" -t 40 \
        -map 0:v -map 1:a -map 2:a -c:v libx264 -preset ultrafast \
        -tune zerolatency -pix_fmt yuv420p -g 25 -c:a aac "$@" \
        -f mpegts "srt://127.0.0.1:$SRT_PORT?mode=caller" \
        2>>"$YL_TMPDIR/push.err" &
    PUSH=$!
}
push -metadata:s:a:0 language=bod -metadata:s:a:1 language=zho

# tone_of LANG: the tone of the newest segment of LANG's playlist.
tone_of() {
    local seg
    seg=$(curl -s "$BASE/live/$ID/a_$1.m3u8" | grep '\.ts$' | tail -1)
    curl -s -o "$YL_TMPDIR/$1.ts" "$BASE/live/$ID/$seg"
    python3 "$TONE" "$YL_TMPDIR/$1.ts" 500 1200 2>/dev/null || echo error
}
# wait_tone LANG WANT: polls LANG's newest segment for up to 40 s.
wait_tone() {
    local i t=
    for i in $(seq 1 80); do
        t=$(tone_of "$1")
        [ "${t%% *}" == "$2" ] && return 0
        if ! kill -0 "$PUSH" 2>/dev/null; then
            # Under a sanitizer on a busy machine the caller's SRT
            # handshake can time out: the encoder tries again, as a
            # real one does, a few times.
            [ "$PUSHES" -lt 6 ] ||
                fail "the encoder stopped: $(cat "$YL_TMPDIR/push.err")"
            push "${PUSH_ARGS[@]}"
        fi
        sleep 0.5
    done
    fail "$1: want $2 Hz, the newest segment has: $t"
}
wait_tone bo 500
wait_tone zh 1200
ok "bo carries the bod track (500 Hz), zh the zho track (1200 Hz)"
grep -q 'language bo) -> bo' "$YL_TMPDIR/server.log" ||
    fail "the log says how the tracks were matched"
kill "$PUSH" 2>/dev/null || true
wait "$PUSH" 2>/dev/null || true

# The encoder comes back without language tags (the same two tracks, 500
# then 1200 Hz): the rebuilt ingest matches again, untagged tracks in
# stream order: the first is zh, the second bo.
n_back=$(grep -c 'source back' "$YL_TMPDIR/server.log")
push
wait_tone zh 500
wait_tone bo 1200
[ "$(grep -c 'source back' "$YL_TMPDIR/server.log")" -gt "$n_back" ] ||
    fail "the encoder's return was picked up"
grep -q 'language none) -> zh' "$YL_TMPDIR/server.log" ||
    fail "the log says the untagged track went to zh"
ok "untagged tracks fill the declared languages in stream order"
kill "$PUSH" 2>/dev/null || true
wait "$PUSH" 2>/dev/null || true

# Then with the first track tagged in a language nobody declared (eng,
# what encoders write by default) and the second zho: zh takes its
# track, the eng one fills bo, which is still free (not silence).
n_back=$(grep -c 'source back' "$YL_TMPDIR/server.log")
push -metadata:s:a:0 language=eng -metadata:s:a:1 language=zho
wait_tone zh 1200
wait_tone bo 500
[ "$(grep -c 'source back' "$YL_TMPDIR/server.log")" -gt "$n_back" ] ||
    fail "the encoder's return was picked up (3)"
grep -q 'is tagged en, not declared: taken as bo' \
    "$YL_TMPDIR/server.log" || fail "the log says the eng track went to bo"
ok "a track in an undeclared language fills a free rendition"
kill "$PUSH" 2>/dev/null || true
wait "$PUSH" 2>/dev/null || true
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
stop_server
ok "declared audio tracks"
