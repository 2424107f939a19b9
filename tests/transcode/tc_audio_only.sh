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
# A card drawn from the sound stands in for a picture (issue 11: the
# poster of an audio-only lesson was a 404).
p=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 out/poster.jpg)
[ "$p" = "mjpeg,1280,720" ] || fail "audio-only poster.jpg: $p"
p=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 out/thumb.jpg)
[ "$p" = "mjpeg,320,180" ] || fail "audio-only thumb.jpg: $p"
# Not a black frame: the card's mean luma is that of a dark blue ground
# with amber bars (a black picture is 16 or less).
y=$(ffprobe -v error -f lavfi -i "movie=out/poster.jpg,signalstats" \
    -show_entries frame_tags=lavfi.signalstats.YAVG -of csv=p=0)
awk -v y="$y" 'BEGIN { exit !(y > 30 && y < 120) }' ||
    fail "audio-only poster luma $y"
[ ! -e out/thumbs.vtt ] || fail "seek thumbnails for an audio-only lesson"
grep -q 'TYPE=AUDIO.*LANGUAGE="bo".*NAME="བོད་སྐད"' out/master.m3u8 ||
    fail "no bo audio rendition"
! grep -q 'RESOLUTION=' out/master.m3u8 || fail "video variant listed"
line=$(grep '^#EXT-X-STREAM-INF' out/master.m3u8)
[ "$(attr "$line" CODECS)" = "mp4a.40.2" ] || fail "CODECS of the variant"
[ "$(grep -A1 '^#EXT-X-STREAM-INF' out/master.m3u8 | tail -1)" = "a-bo/index.m3u8" ] ||
    fail "audio-only variant URI"
near "$(dur out/a-bo/index.m3u8)" 5 0.04 || fail "duration $(dur out/a-bo/index.m3u8)"
jq -e '.video == [] and .poster == "poster.jpg" and .thumb == "thumb.jpg"
    and .thumbs == null and .languages == ["bo"]
    and (.duration_s - 5 | fabs) < 0.05' out/lesson.json >/dev/null ||
    fail "lesson.json: $(cat out/lesson.json)"
ffmpeg -nostdin -v error -i out/master.m3u8 -f null - || fail "not playable"
ok "audio-only package"
