#!/usr/bin/env bash
# Subtitles with broken timestamps (malformed; end before start): exit 65
# naming the file and line; no output.
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 2 160x120 zho
printf '1\n00:00:00,500 --> 00:00:01,500\nꓡꓲ-ꓢꓴ\n\n2\n00:00:61,000 --> 00:0x:02,000\nꓡꓲ\n' >bad1.srt
expect_fail 65 "bad1\.srt: line [0-9]+: .*timestamp" out -- \
    -i src.mp4 --subs lis=bad1.srt -o out
printf '1\n00:00:05,000 --> 00:00:01,000\nꓡꓲ\n' >bad2.srt
expect_fail 65 "bad2\.srt: line [0-9]+: .*timestamp" out -- \
    -i src.mp4 --subs lis=bad2.srt -o out
