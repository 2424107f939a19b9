#!/usr/bin/env bash
# The seek-preview track: thumbs.vtt with one cue per --thumbs seconds,
# each naming a tile of a sprite sheet (thumbs-N.jpg, 10x10 tiles of
# 160x90 at most); a second sheet after 100 tiles; the last cue ends at the
# lesson's end; --thumbs 0 writes none; a bad value is a usage error.
. "$YL_SRCDIR/tests/transcode/lib.sh"

# 101.5 s at 1 s per tile: 102 tiles, 100 on sheet 0 and 2 on sheet 1.
# 5 frames a second and x264 ultrafast keep it quick under the sanitizers.
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=192x108:rate=5" \
    -t 101.5 -c:v libx264 -preset ultrafast -pix_fmt yuv420p src.mp4
"$YUNLING" transcode -i src.mp4 --thumbs 1 --ladder 108 --preset ultrafast \
    --progress none -o out
v=out/thumbs.vtt
[ "$(head -1 $v)" = WEBVTT ] || fail "thumbs.vtt header: $(head -1 $v)"
n=$(grep -c -- '-->' $v)
[ "$n" -eq 102 ] || fail "$n cues, want 102"
grep -q '^00:00:00.000 --> 00:00:01.000$' $v || fail "first cue"
# The end of the last cue is the lesson's end (101.4-101.6 s: where the
# last 0.2 s frame ends).
last=$(grep -- '-->' $v | tail -1)
[[ $last =~ ^00:01:41\.000\ --\>\ 00:01:41\.[4-6][0-9]{2}$ ]] ||
    fail "last cue: $last"
grep -A1 -- '^00:01:39.000 -->' $v | tail -1 |
    grep -qx 'thumbs-0.jpg#xywh=1440,810,160,90' || fail "tile 99"
grep -A1 -- '^00:01:41.000 -->' $v | tail -1 |
    grep -qx 'thumbs-1.jpg#xywh=160,0,160,90' || fail "tile 101"
# Every cue names a sheet that exists and a tile inside it (each sheet
# probed once: an ffprobe per tile was most of this test's time).
declare -A SIZE
while read -r f; do
    [ -f "out/$f" ] || fail "cue names missing $f"
    SIZE[$f]=$(ffprobe -v error -show_entries stream=width,height -of csv=p=0:s=x "out/$f")
done < <(grep -o '^thumbs-[0-9]*\.jpg' $v | sort -u)
while read -r f x y w h; do
    size=${SIZE[$f]}
    W=${size%x*} H=${size#*x}
    [ $((x + w)) -le "$W" ] && [ $((y + h)) -le "$H" ] ||
        fail "$f ($size): tile $x,$y,$w,$h outside"
done < <(grep '#xywh=' $v | sed 's/#xywh=/ /; s/,/ /g' | sort -u)
p=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 out/thumbs-0.jpg)
[ "$p" = "mjpeg,1600,900" ] || fail "sheet 0: $p"
p=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 out/thumbs-1.jpg)
[ "$p" = "mjpeg,320,90" ] || fail "sheet 1 cut to its 2 tiles: $p"
[ ! -e out/thumbs-2.jpg ] || fail "a third sheet"
jq -e '.thumbs == "thumbs.vtt"' out/lesson.json >/dev/null ||
    fail "lesson.json thumbs: $(jq -c .thumbs out/lesson.json)"
# A tile is the picture at its time: tile 50 (50 s) differs from tile 0.
ffmpeg -nostdin -v error -y -i out/thumbs-0.jpg -vf crop=160:90:0:0 t0.png
ffmpeg -nostdin -v error -y -i out/thumbs-0.jpg -vf crop=160:90:0:450 t50.png
! cmp -s t0.png t50.png || fail "tiles 0 and 50 are the same picture"
ok "thumbs.vtt and two sprite sheets"

# Default: one tile every 10 s; a 4:3 picture gets 120x90 tiles.
gen_av src43.mp4 12 160x120 zho
"$YUNLING" transcode -i src43.mp4 --ladder 120 --progress none -o out43
grep -q '^thumbs-0.jpg#xywh=120,0,120,90$' out43/thumbs.vtt ||
    fail "4:3 tiles: $(cat out43/thumbs.vtt)"
[ "$(grep -c -- '-->' out43/thumbs.vtt)" -eq 2 ] || fail "default interval"
ok "default interval, 4:3 tiles"

"$YUNLING" transcode -i src43.mp4 --ladder 120 --thumbs 0 --progress none -o out0
[ ! -e out0/thumbs.vtt ] && ! ls out0/thumbs-*.jpg 2>/dev/null ||
    fail "--thumbs 0 wrote thumbnails"
jq -e '.thumbs == null' out0/lesson.json >/dev/null || fail "thumbs not null"
for bad in -1 601 x 1.5; do
    "$YUNLING" transcode -i src43.mp4 --thumbs "$bad" -o outbad 2>err.txt &&
        rc=0 || rc=$?
    [ "$rc" -eq 64 ] || fail "--thumbs $bad: exit $rc"
    grep -q -- "--thumbs $bad: expected 0 (none) to 600 seconds" err.txt ||
        fail "--thumbs $bad message: $(cat err.txt)"
    no_output outbad
done
ok "--thumbs 0 writes none; bad values exit 64"
