#!/usr/bin/env bash
# --segment-type ts (old set-top boxes): MPEG-TS segments, playlist version
# 6, keyframe-aligned rungs, playable through master.m3u8.
. "$YL_SRCDIR/tests/transcode/lib.sh"

gen_av src.mp4 6 640x360 eng
"$YUNLING" transcode -i src.mp4 --segment-type ts --ladder 360,180 \
    --segment-seconds 2 -o out
ls out/v0/seg_00000.ts out/v1/seg_00000.ts out/a-en/seg_00000.ts >/dev/null ||
    fail "no .ts segments"
[ ! -e out/v0/init.mp4 ] || fail "init.mp4 in a ts package"
grep -q '^#EXT-X-VERSION:6' out/master.m3u8 || fail "master is not version 6"
[ "$(probe1 out/v1/index.m3u8 v:0 codec_name,width,height)" = "h264,320,180" ] ||
    fail "v1: $(probe1 out/v1/index.m3u8 v:0 codec_name,width,height)"
check_video_rung out/v0
check_video_rung out/v1
[ "$(seg_starts out/v0)" = "$(seg_starts out/v1)" ] || fail "rungs not aligned"
near "$(dur out/v0/index.m3u8)" "$(dur src.mp4)" 0.04 || fail "v0 duration"
near "$(dur out/a-en/index.m3u8)" "$(dur src.mp4)" 0.04 || fail "audio duration"
ffmpeg -nostdin -v error -i out/master.m3u8 -map 0 -f null - ||
    fail "ffmpeg cannot read master.m3u8"
grep -q 'LANGUAGE="en"' out/master.m3u8 || fail "eng not normalised to en"
ok "ts package: 2 aligned rungs + en audio, plays"
