#!/usr/bin/env bash
# Random bytes named .mp4: exit 65, no output.
. "$YL_SRCDIR/tests/transcode/lib.sh"
head -c 200000 /dev/urandom >noise.mp4
expect_fail 65 "noise\.mp4: not a media file" out -- -i noise.mp4 -o out
