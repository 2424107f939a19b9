#!/usr/bin/env bash
# Random bytes named .mp4: exit 65, "not a media file", no output.
# About 1 random file in 100 "probes" weakly as raw h263 or lrc; seeds 37
# (h263) and 131 (lrc) are such files, made the same way on every run, so
# the weak-guess case is tested every time, not once in a hundred runs.
. "$YL_SRCDIR/tests/transcode/lib.sh"
head -c 200000 /dev/urandom >noise.mp4
expect_fail 65 "noise\.mp4: not a media file" out -- -i noise.mp4 -o out
for seed in 37 131; do
    python3 -c "import random, sys; sys.stdout.buffer.write(random.Random($seed).randbytes(200000))" >"seed$seed.mp4"
    guess=$(ffprobe -v quiet -show_entries format=format_name -of csv=p=0 "seed$seed.mp4" || true)
    [ -n "$guess" ] || fail "seed $seed no longer probes as a format; pick another seed"
    expect_fail 65 "seed$seed\.mp4: not a media file" out -- -i "seed$seed.mp4" -o out
    ok "seed $seed (ffprobe guesses $guess) refused"
done
