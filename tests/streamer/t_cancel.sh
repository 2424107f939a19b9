#!/usr/bin/env bash
# Deleting a lesson cancels its job: a queued job never runs, a running
# transcoder is killed, the job's sources are removed and the job shows
# "cancelled" (it is not retried, so it does not hold the queue). A failed
# job's sources go too; its state stays "failed".
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/long.mp4" 20 640x360
make_src "$YL_TMPDIR/short.mp4" 2
printf 'not a video\n' >"$YL_TMPDIR/bogus.mp4"
# Retries at once: a deleted job that were requeued would run again now.
printf '[server]\njob_retry_delay = 0\n' >"$YL_TMPDIR/c.ini"
start_server --config "$YL_TMPDIR/c.ini"
A=(-H "Authorization: Bearer $ADMIN")
upload() { # file title: sets L and J
    expect_eq "$(api POST /api/v1/lessons "${A[@]}" -F "source=@$1" \
        -F "title.zh=$2")" 202 "upload $2"
    L=$(resp .lesson)
    J=$(resp .job)
}
jstate() { # job: its state through the API
    api GET "/api/v1/jobs/$1" "${A[@]}" >/dev/null
    resp .state
}
gone() { # path [seconds]: waits until path no longer exists
    local i
    for i in $(seq 1 $((${2:-5} * 10))); do
        [ -e "$1" ] || return 0
        sleep 0.1
    done
    return 1
}

upload "$YL_TMPDIR/long.mp4" 长课
L1=$L J1=$J
wait_job "$J1" running 30
upload "$YL_TMPDIR/long.mp4" 排队
L2=$L J2=$J
expect_eq "$(jstate "$J2")" queued "second job waits behind the first"
[ -d "$DATA/uploads/$J2" ] || fail "no sources for the queued job"

# A queued job: cancelled, its sources removed, never run.
expect_eq "$(api DELETE "/api/v1/lessons/$L2" "${A[@]}")" 200 "delete queued"
expect_eq "$(jstate "$J2")" cancelled "queued job after its lesson's delete"
expect_eq "$(resp .attempts)" 0 "never attempted"
gone "$DATA/uploads/$J2" || fail "sources of the cancelled queued job stay"
ok "deleting a lesson cancels its queued job and removes its sources"

# A running job: the transcoder is killed at once.
CHILD=
for _ in $(seq 1 200); do
    CHILD=$(pgrep -P "$SRV_PID" || true)
    [ -n "$CHILD" ] && break
    sleep 0.05
done
[ -n "$CHILD" ] || fail "no transcoder child while job $J1 runs"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" "${A[@]}")" 200 "delete running"
expect_eq "$(jstate "$J1")" cancelled "running job after its lesson's delete"
for _ in $(seq 1 50); do
    kill -0 "$CHILD" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$CHILD" 2>/dev/null && fail "the transcoder of a deleted lesson runs on"
gone "$DATA/uploads/$J1" || fail "sources of the cancelled running job stay"
gone "$DATA/hls/.job-$J1" || fail "output of the cancelled job stays"
ok "deleting a lesson kills its running transcoder and removes its files"

# The queue is free at once: the next upload runs and publishes.
upload "$YL_TMPDIR/short.mp4" 短课
L3=$L J3=$J
wait_job "$J3" done 60
expect_eq "$(jstate "$J1")/$(resp .attempts)" cancelled/1 "no retry of job $J1"
expect_eq "$(jstate "$J2")/$(resp .attempts)" cancelled/0 "no run of job $J2"
grep -q 'unknown lesson' "$YL_TMPDIR/server.log" &&
    fail "a cancelled job was published or retried: $(grep 'unknown lesson' \
        "$YL_TMPDIR/server.log" | head -2)"
grep -q '^yunling_jobs{state="cancelled"} 2$' <<<"$(curl -s "$BASE/metrics")" ||
    fail "/metrics: $(curl -s "$BASE/metrics" | grep '^yunling_jobs')"
ok "cancelled jobs are not retried and do not hold the queue"

# A failed job: its sources go with the lesson; it stays failed.
upload "$YL_TMPDIR/bogus.mp4" 坏课
L4=$L J4=$J
wait_job "$J4" failed 30
[ -d "$DATA/uploads/$J4" ] || fail "a failed job keeps its sources"
expect_eq "$(api DELETE "/api/v1/lessons/$L4" "${A[@]}")" 200 "delete failed"
expect_eq "$(jstate "$J4")" failed "a failed job stays failed"
gone "$DATA/uploads/$J4" || fail "sources of a deleted failed lesson stay"
# A published lesson: its job stays done.
expect_eq "$(api DELETE "/api/v1/lessons/$L3" "${A[@]}")" 200 "delete done"
expect_eq "$(jstate "$J3")" done "a done job stays done"
ok "deleting a failed or published lesson leaves its job's state alone"

# A restart does not bring cancelled jobs back.
stop_server
start_server --config "$YL_TMPDIR/c.ini"
sleep 1
expect_eq "$(jstate "$J1")" cancelled "job $J1 after a restart"
expect_eq "$(jstate "$J2")" cancelled "job $J2 after a restart"
stop_server
ok "cancelled jobs stay cancelled across a restart"
