#!/usr/bin/env bash
# What a lesson's pictures look like through the server (issue 11): an
# audio-only lesson's poster and thumb are real JPEGs (200 image/jpeg, not
# the 404 they were); a video lesson's "thumbs" names thumbs.vtt, served as
# text/vtt and immutable, whose every cue names a sprite sheet served as
# image/jpeg with the tile inside it.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 22
ffmpeg -nostdin -v error -y -f lavfi \
    -i "sine=frequency=330:sample_rate=44100" -t 4 -c:a aac \
    -metadata:s:a:0 language=bod "$YL_TMPDIR/talk.m4a"
start_server
AUTH=(-H "Authorization: Bearer $ADMIN")

expect_eq "$(api POST /api/v1/lessons "${AUTH[@]}" \
    -F "source=@$YL_TMPDIR/talk.m4a" -F title.bo=གཏམ་བཤད)" 202 "audio upload"
aud=$(resp .lesson)
wait_job "$(resp .job)" done
expect_eq "$(api POST /api/v1/lessons "${AUTH[@]}" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=有画面的课)" 202 "video upload"
vid=$(resp .lesson)
wait_job "$(resp .job)" done

# --- audio-only: poster and thumb exist and are JPEG pictures
api GET "/api/v1/lessons/$aud" >/dev/null
expect_eq "$(resp .languages)" "$(printf '[\n  "bo"\n]')" "audio lesson langs"
for k in poster thumb; do
    url=$(resp ".$k")
    expect_eq "$url" "/hls/$aud/$k.jpg" "audio lesson $k"
    curl -s -D "$YL_TMPDIR/h" -o "$YL_TMPDIR/$k.jpg" "$BASE$url"
    expect_match "$(head -1 "$YL_TMPDIR/h")" ' 200' "GET $k of audio lesson"
    expect_eq "$(hval "$YL_TMPDIR/h" content-type)" image/jpeg "$k type"
    expect_eq "$(ffprobe -v error -show_entries stream=codec_name \
        -of csv=p=0 "$YL_TMPDIR/$k.jpg")" mjpeg "$k is a JPEG"
done
expect_eq "$(resp .thumbs)" null "no seek thumbnails without pictures"
ok "audio-only lesson: poster and thumb served as image/jpeg"

# --- video: thumbs.vtt and its sprites
api GET "/api/v1/lessons/$vid" >/dev/null
url=$(resp .thumbs)
expect_eq "$url" "/hls/$vid/thumbs.vtt" "thumbs field"
api GET /api/v1/lessons >/dev/null
expect_eq "$(resp "[.items[] | select(.id == $vid) | .thumbs][0]")" "$url" \
    "thumbs in the list too"
curl -s -D "$YL_TMPDIR/h" -o "$YL_TMPDIR/thumbs.vtt" "$BASE$url"
expect_match "$(head -1 "$YL_TMPDIR/h")" ' 200' "GET thumbs.vtt"
expect_eq "$(hval "$YL_TMPDIR/h" content-type)" "text/vtt; charset=utf-8" \
    "thumbs.vtt type"
expect_eq "$(hval "$YL_TMPDIR/h" cache-control)" \
    "public, max-age=31536000, immutable" "thumbs.vtt cache"
expect_eq "$(hval "$YL_TMPDIR/h" access-control-allow-origin)" '*' "CORS"
expect_eq "$(head -1 "$YL_TMPDIR/thumbs.vtt")" WEBVTT "vtt header"
# 22 s at one tile per 10 s: 0-10, 10-20, 20-22.
expect_eq "$(grep -c -- '-->' "$YL_TMPDIR/thumbs.vtt")" 3 "cue count"
expect_match "$(grep -- '-->' "$YL_TMPDIR/thumbs.vtt" | tail -1)" \
    '^00:00:20\.000 --> 00:00:2[12]\.[0-9]{3}$' "last cue ends at the end"
n=0
while read -r ref; do
    f=${ref%%#*} xywh=${ref#*#xywh=}
    IFS=, read -r x y w h <<<"$xywh"
    expect_eq "$w,$h" 120,90 "tile size of $ref (a 4:3 source)"
    curl -s -D "$YL_TMPDIR/h" -o "$YL_TMPDIR/sheet.jpg" "$BASE/hls/$vid/$f"
    expect_match "$(head -1 "$YL_TMPDIR/h")" ' 200' "GET $f"
    expect_eq "$(hval "$YL_TMPDIR/h" content-type)" image/jpeg "$f type"
    size=$(ffprobe -v error -show_entries stream=width,height \
        -of csv=p=0:s=x "$YL_TMPDIR/sheet.jpg")
    [ $((x + w)) -le "${size%x*}" ] && [ $((y + h)) -le "${size#*x}" ] ||
        fail "$ref outside its sheet ($size)"
    n=$((n + 1))
done < <(grep '#xywh=' "$YL_TMPDIR/thumbs.vtt")
expect_eq "$n" 3 "cues checked"
# A byte range of a sprite, as any file.
expect_eq "$(code -r 0-99 "$BASE/hls/$vid/thumbs-0.jpg")" 206 "sprite range"
expect_eq "$(code "$BASE/hls/$vid/thumbs-9.jpg")" 404 "no such sprite"
ok "thumbs.vtt (text/vtt, immutable) and its sprites (image/jpeg)"
