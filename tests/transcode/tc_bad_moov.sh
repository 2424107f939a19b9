#!/usr/bin/env bash
# An mp4 whose moov box is damaged: exit 65, no output.
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 3 320x240 zho
cp src.mp4 bad.mp4
off=$(grep -obUa moov bad.mp4 | head -1 | cut -d: -f1)
[ -n "$off" ] || fail "no moov in the test file"
# Overwrite the box type and the start of its children with junk.
printf 'JUNKJUNKJUNKJUNK' | dd of=bad.mp4 bs=1 seek="$off" conv=notrunc 2>/dev/null
expect_fail 65 "bad\.mp4: .*(damaged|corrupt)" out -- -i bad.mp4 -o out
