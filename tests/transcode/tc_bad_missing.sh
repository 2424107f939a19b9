#!/usr/bin/env bash
# A missing source file: exit 65, the file named, no output.
. "$YL_SRCDIR/tests/transcode/lib.sh"
expect_fail 65 "nope\.mp4: .*No such file" out -- -i nope.mp4 -o out
gen_av src.mp4 1 160x120 zho
expect_fail 65 "gone\.wav: .*No such file" out -- -i src.mp4 --audio bo=gone.wav -o out
expect_fail 65 "gone\.srt: .*No such file" out -- -i src.mp4 --subs bo=gone.srt -o out
expect_fail 64 "-o OUTDIR are required" out -- -i src.mp4
