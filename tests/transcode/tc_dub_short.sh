#!/usr/bin/env bash
# A dub shorter than the video is padded with silence to the video's end.
. "$YL_SRCDIR/tests/transcode/lib.sh"

gen_av src.mp4 6 320x240 zho
gen_audio short.wav 2.5 22050 2
"$YUNLING" transcode -i src.mp4 --audio lis=short.wav --ladder 240 -o out
d=$(dur out/a-lis/index.m3u8)
near "$d" "$(dur src.mp4)" 0.04 || fail "dub lasts $d s, video $(dur src.mp4) s"
[ "$(probe1 out/a-lis/index.m3u8 a:0 codec_name,sample_rate,channels)" = "aac,48000,2" ] ||
    fail "dub not resampled to 48 kHz stereo AAC"
# The padding is silence: the last second is digital silence.
vol=$(ffmpeg -nostdin -v info -ss 4.5 -i out/a-lis/index.m3u8 -af volumedetect \
    -f null - 2>&1 | sed -n 's/.*max_volume: \(.*\) dB/\1/p')
awk -v v="$vol" 'BEGIN { exit !(v < -80) }' || fail "padding not silent: $vol dB"
ok "short dub padded with silence to $d s"
