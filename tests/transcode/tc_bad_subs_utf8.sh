#!/usr/bin/env bash
# A subtitle file with invalid UTF-8 (GBK bytes): exit 65 naming the file
# and line; no output (ffmpeg would silently drop every cue).
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 2 160x120 zho
printf '1\n00:00:00,500 --> 00:00:01,500\nབཀྲ་ཤིས།\n\n2\n00:00:01,600 --> 00:00:01,900\n\xc4\xe3\xba\xc3 \xff\n' >bad.srt
expect_fail 65 "bad\.srt: line [0-9]+: invalid UTF-8" out -- \
    -i src.mp4 --subs bo=bad.srt -o out
