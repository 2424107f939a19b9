#!/usr/bin/env bash
# Phone video: a picture stored landscape with a display matrix ("rotate")
# comes out upright in every rung and in the poster, as the ffmpeg CLI
# (which honours the matrix) shows it: a white top-left quadrant ends where
# the CLI's autorotated picture has it, for 90, 180 and 270 degrees.
. "$YL_SRCDIR/tests/transcode/lib.sh"

ffmpeg -nostdin -v error -y -f lavfi \
    -i "color=black:size=320x180:rate=25,drawbox=x=0:y=0:w=160:h=90:color=white:t=fill" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 2 \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 64k \
    -metadata:s:a:0 language=zho flat.mp4

# gray4 INPUT: the first picture as 4x4 gray bytes (decimal), as ffmpeg
# shows it (display matrix applied).
gray4() {
    ffmpeg -nostdin -v error -i "$1" -frames:v 1 -vf scale=4:4:flags=area \
        -f rawvideo -pix_fmt gray - | od -An -tu1 -v | tr -s ' \n' ' '
}
# same A B: byte lists equal within 48 levels each.
same() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = split(a, x, " "); m = split(b, y, " ");
        if (n != m || n != 16) exit 1;
        for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > 48) exit 1 }
    }'
}

for deg in 90 180 270; do
    ffmpeg -nostdin -v error -y -i flat.mp4 -c copy \
        -metadata:s:v:0 rotate="$deg" "rot$deg.mp4"
    want=$(gray4 "rot$deg.mp4")
    [ "$want" != "$(gray4 flat.mp4)" ] ||
        fail "ffmpeg wrote no display matrix for $deg degrees"
    if [ "$deg" = 180 ]; then
        ladder=180,90 dims="320,180 160,90"
    else
        ladder=320,160 dims="180,320 90,160"
    fi
    "$YUNLING" transcode -i "rot$deg.mp4" --ladder "$ladder" -o "out$deg"
    [ -z "$(ls out$deg | grep '^v2$')" ] || fail "$deg degrees: more than 2 rungs"

    i=0
    for d in $dims; do
        got=$(probe1 "out$deg/v$i/index.m3u8" v:0 width,height)
        [ "$got" = "$d" ] || fail "$deg degrees: v$i is $got, expected $d"
        i=$((i + 1))
    done
    got=$(gray4 "out$deg/v0/index.m3u8")
    same "$want" "$got" || fail "$deg degrees: v0 shows [$got], ffmpeg [$want]"
    got=$(gray4 "out$deg/v1/index.m3u8")
    same "$want" "$got" || fail "$deg degrees: v1 shows [$got], ffmpeg [$want]"
    got=$(gray4 "out$deg/poster.jpg")
    same "$want" "$got" || fail "$deg degrees: poster shows [$got], ffmpeg [$want]"
    # The rungs carry no display matrix of their own: turned once, not twice.
    [ -z "$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data \
        -of csv=p=0 "out$deg/v0/index.m3u8" | tr -d ',\n')" ] ||
        fail "$deg degrees: v0 still has side data"
    ok "rotate=$deg: rungs $dims upright, as ffmpeg shows the source"
done
