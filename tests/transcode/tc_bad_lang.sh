#!/usr/bin/env bash
# A language tag that is not well-formed BCP-47: usage error (64) naming the
# tag; a well-formed but unknown tag is accepted and named by itself.
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 2 160x120 zho
gen_audio dub.wav 2
expect_fail 64 '"tibet@n" is not a well-formed BCP-47' out -- \
    -i src.mp4 --audio tibet@n=dub.wav -o out
expect_fail 64 '"b_o" is not a well-formed BCP-47' out -- \
    -i src.mp4 --subs b_o=dub.wav -o out
expect_fail 64 '"x1" is not a well-formed BCP-47' out -- \
    -i src.mp4 --audio-lang 0=x1 -o out
expect_fail 64 "--audio-lang 3=bo: src\.mp4 has 1 audio stream" out -- \
    -i src.mp4 --audio-lang 3=bo -o out
"$YUNLING" transcode -i src.mp4 --audio qaa-Latn=dub.wav --ladder 120 -o out
grep -q 'LANGUAGE="qaa-Latn",NAME="qaa-Latn"' out/master.m3u8 ||
    fail "unknown tag not named by itself"
ok "well-formed unknown tag accepted"
