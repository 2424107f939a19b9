#!/usr/bin/env bash
# --dub-clock source (a meeting's recording): a dub is placed by its
# timestamps on the source's clock. The dub below starts 1 s before the
# picture and its tone at the picture's first frame: on the source's clock
# the lesson's sound starts with the tone; on its own clock (the default)
# with the dub's first, silent, second.
. "$YL_SRCDIR/tests/transcode/lib.sh"

ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -t 4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
    -output_ts_offset 10 -f mpegts v.ts
ffmpeg -nostdin -v error -y -f lavfi \
    -i "aevalsrc=if(gte(t\,1)\,0.5*sin(2*PI*1000*t)\,0):s=48000:d=5" \
    -c:a aac -output_ts_offset 9 -f mpegts a.ts
maxvol() { # FILE SECONDS: the loudest sample of its first SECONDS
    ffmpeg -nostdin -v info -t "$2" -i "$1" -af volumedetect \
        -f null - 2>&1 | sed -n 's/.*max_volume: \(.*\) dB/\1/p'
}
"$YUNLING" transcode -i v.ts --audio bo=a.ts --dub-clock source --ladder 240 \
    --progress none -o src
v=$(maxvol src/a-bo/index.m3u8 0.5)
awk -v v="$v" 'BEGIN { exit !(v > -20) }' ||
    fail "source clock: the first 0.5 s is not the tone ($v dB)"
near "$(dur src/a-bo/index.m3u8)" "$(dur src/v0/index.m3u8)" 0.1 ||
    fail "source clock: the dub does not end with the video"
"$YUNLING" transcode -i v.ts --audio bo=a.ts --ladder 240 --progress none \
    -o own
v2=$(maxvol own/a-bo/index.m3u8 0.5)
awk -v v="$v2" 'BEGIN { exit !(v < -60) }' ||
    fail "own clock: the first 0.5 s is not the dub's silence ($v2 dB)"
expect_fail 64 'dub-clock x: expected own or source' bad -- \
    -i v.ts --audio bo=a.ts --dub-clock x -o bad
ok "dub clock: source ($v dB at the start), own ($v2 dB)"
