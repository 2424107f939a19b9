#!/usr/bin/env bash
# SIGTERM (and SIGINT) in the middle of a run: exit 130, no OUTDIR, no
# temporary directory.
. "$YL_SRCDIR/tests/transcode/lib.sh"
gen_av src.mp4 20 640x360 zho
for sig in TERM INT; do
    "$YUNLING" transcode -i src.mp4 --progress json -o out >p.txt 2>e.txt &
    pid=$!
    # Wait until it is encoding (a progress line past 0), then signal.
    for _ in $(seq 1 100); do
        grep -q '"time_s":[1-9]' p.txt 2>/dev/null && break
        sleep 0.1
    done
    ls -a | grep -q '^\.out\.tmp-' || fail "no temporary directory while running"
    kill -$sig $pid
    rc=0
    wait $pid || rc=$?
    [ "$rc" -eq 130 ] || fail "SIG$sig: exit $rc, expected 130"
    tail -1 p.txt | jq -e '.event == "error" and .code == "interrupted"' >/dev/null ||
        fail "no interrupted event: $(tail -1 p.txt)"
    no_output out
    ok "SIG$sig: exit 130, nothing left"
done

# SIGKILL cannot be cleaned up after: the temporary directory stays, but its
# lock dies with the process, and the next run for the same OUTDIR removes
# it.
"$YUNLING" transcode -i src.mp4 --progress json -o out >p.txt 2>e.txt &
pid=$!
for _ in $(seq 1 100); do
    grep -q '"time_s":[1-9]' p.txt 2>/dev/null && break
    sleep 0.1
done
kill -KILL $pid
wait $pid || true
ls -a | grep -q '^\.out\.tmp-' || fail "SIGKILL left no temporary directory?"
"$YUNLING" transcode -i src.mp4 --ladder 180 -o out
[ -f out/master.m3u8 ] || fail "second run did not publish"
! ls -a | grep -q '^\.out\.tmp-' || fail "stale temporary directory not removed"
ok "SIGKILL leftovers removed by the next run"
