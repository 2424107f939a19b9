#!/usr/bin/env bash
# An OUTDIR that cannot be written: exit 73, nothing left. Tests run as
# root, which ignores permission bits, so the parent is a regular file (and,
# when not root, also a read-only directory).
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 1 160x120 zho
: >afile
expect_fail 73 "afile: cannot write there: Not a directory" afile/out -- \
    -i src.mp4 -o afile/out
if [ "$(id -u)" -ne 0 ]; then
    mkdir ro && chmod 555 ro
    expect_fail 73 "ro: cannot write there: Permission denied" ro/out -- \
        -i src.mp4 -o ro/out
fi
