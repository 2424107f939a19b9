#!/usr/bin/env bash
# An mp4 cut to 30% of its bytes (moov first, so it still probes at full
# length while its data stops early): exit 65 "truncated", not a short
# lesson; with the moov at the end the same cut loses the index.
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 8 320x240 zho
size=$(stat -c %s src.mp4)
head -c $((size * 30 / 100)) src.mp4 >cut.mp4
near "$(dur cut.mp4)" 8 0.1 || fail "cut.mp4 should still probe as 8 s"
expect_fail 65 "cut\.mp4: truncated: data ends at [0-9.]+ s of 8\.0 s" out -- \
    -i cut.mp4 --progress none -o out
ffmpeg -nostdin -v error -y -i src.mp4 -c copy late.mp4 # moov at the end
head -c $((size * 30 / 100)) late.mp4 >cut2.mp4
expect_fail 65 "cut2\.mp4: " out -- -i cut2.mp4 -o out
