#!/usr/bin/env bash
# A source with no video is a valid lesson: an audio-only HLS package.
. "$YL_SRCDIR/tests/transcode/lib.sh"

ffmpeg -nostdin -v error -y -f lavfi -i "sine=frequency=330:sample_rate=44100" \
    -t 5 -c:a aac -metadata:s:a:0 language=bod talk.m4a
"$YUNLING" transcode -i talk.m4a --subs bo=/dev/null -o out 2>err.txt && rc=0 || rc=$?
# (an empty subtitle file is refused: checked here in passing)
[ "$rc" -eq 65 ] || fail "empty subtitle file: exit $rc"
no_output out
"$YUNLING" transcode -i talk.m4a -o out
[ ! -d out/v0 ] || fail "video rung in an audio-only lesson"
[ ! -e out/poster.jpg ] && [ ! -e out/thumb.jpg ] ||
    fail "poster for an audio-only lesson"
grep -q 'TYPE=AUDIO.*LANGUAGE="bo".*NAME="བོད་སྐད"' out/master.m3u8 ||
    fail "no bo audio rendition"
! grep -q 'RESOLUTION=' out/master.m3u8 || fail "video variant listed"
line=$(grep '^#EXT-X-STREAM-INF' out/master.m3u8)
[ "$(attr "$line" CODECS)" = "mp4a.40.2" ] || fail "CODECS of the variant"
[ "$(grep -A1 '^#EXT-X-STREAM-INF' out/master.m3u8 | tail -1)" = "a-bo/index.m3u8" ] ||
    fail "audio-only variant URI"
near "$(dur out/a-bo/index.m3u8)" 5 0.04 || fail "duration $(dur out/a-bo/index.m3u8)"
jq -e '.video == [] and .poster == null and .thumb == null and .languages == ["bo"]
    and (.duration_s - 5 | fabs) < 0.05' out/lesson.json >/dev/null ||
    fail "lesson.json: $(cat out/lesson.json)"
ffmpeg -nostdin -v error -i out/master.m3u8 -f null - || fail "not playable"
ok "audio-only package"
