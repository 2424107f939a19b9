#!/usr/bin/env bash
# An existing OUTDIR is refused (73) and left untouched; --force replaces it
# atomically (no trace of the old contents, no temporary directory).
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 2 160x120 zho
mkdir out
echo keep >out/old.txt
rc=0
"$YUNLING" transcode -i src.mp4 -o out 2>err.txt || rc=$?
[ "$rc" -eq 73 ] || fail "exit $rc, expected 73"
grep -q '^yunling transcode: out: output directory exists' err.txt || fail "message"
[ "$(cat out/old.txt)" = keep ] || fail "existing OUTDIR was touched"
ls -a | grep -q '^\.out\.tmp-' && fail "temporary directory left"
ok "existing OUTDIR refused"
"$YUNLING" transcode -i src.mp4 --force -o out
[ ! -e out/old.txt ] || fail "old contents survived --force"
[ -f out/master.m3u8 ] && [ -f out/lesson.json ] || fail "not replaced"
! ls -a | grep -q '^\.out\.tmp-' || fail "temporary directory left"
ok "--force replaced OUTDIR"
