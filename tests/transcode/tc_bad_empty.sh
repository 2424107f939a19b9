#!/usr/bin/env bash
# A zero-byte source: exit 65, no output.
. "$YL_SRCDIR/tests/transcode/lib.sh"
: >empty.mp4
expect_fail 65 "empty\.mp4: empty file" out -- -i empty.mp4 -o out
