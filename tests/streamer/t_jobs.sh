#!/usr/bin/env bash
# Jobs survive a server crash: kill -9 the server while a transcode runs;
# the transcoder dies with it; after a restart the job runs again and the
# lesson is published. A transient failure (here: the transcoder killed by
# job_timeout) is tried three times, waiting job_retry_delay (doubling)
# between attempts, then the job stays failed with why.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/long.mp4" 20 640x360
start_server
st=$(api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/long.mp4" -F title.zh=长课)
expect_eq "$st" 202 "upload"
J=$(resp .job)
L=$(resp .lesson)
wait_job "$J" running 30
sleep 0.5
CHILD=$(pgrep -P "$SRV_PID" || true)
[ -n "$CHILD" ] || fail "no transcoder child while the job runs"
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
for i in $(seq 1 20); do
    kill -0 "$CHILD" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$CHILD" 2>/dev/null && fail "the transcoder outlived the server"
expect_eq "$(db "SELECT state FROM jobs WHERE id = $J")" running \
    "state left by the crash"
ok "kill -9 during a transcode: the child died with the server"

start_server
wait_job "$J" done 120
grep -q "interrupted job" "$YL_TMPDIR/server.log" ||
    fail "the restart did not report the requeue"
expect_eq "$(api GET "/api/v1/lessons/$L")" 200 "published lesson"
expect_eq "$(code "$BASE/hls/$L/master.m3u8")" 200 "its playlist"
[ -z "$(ls -A "$DATA/hls" | grep '^\.job' || true)" ] || fail "job dir left"
expect_eq "$(grep -c '^=== job' "$DATA/jobs/$J.log")" 2 "two attempts logged"
stop_server
ok "after the restart the job ran again and published lesson $L"

printf '[server]\njob_timeout = 1\njob_retry_delay = 1\n' >"$YL_TMPDIR/t.ini"
start_server --config "$YL_TMPDIR/t.ini"
st=$(api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/long.mp4" -F title.zh=超时)
expect_eq "$st" 202 "upload"
J=$(resp .job)
# After the first timeout the job waits for its retry and says when.
for _ in $(seq 1 100); do
    api GET "/api/v1/jobs/$J" -H "Authorization: Bearer $ADMIN" >/dev/null
    [ "$(resp .attempts)/$(resp .state)" == 1/queued ] && break
    sleep 0.05
done
expect_eq "$(resp .attempts)/$(resp .state)" 1/queued "requeued after the first timeout"
expect_match "$(resp .retry_at_ms)" '^[0-9]{13}$' "retry_at_ms of a waiting job"
wait_job "$J" failed 60
api GET "/api/v1/jobs/$J" -H "Authorization: Bearer $ADMIN" >/dev/null
expect_eq "$(resp .attempts)" 3 "attempts after timeouts"
expect_match "$(resp .error)" "timed out after 1 s" "failure reason"
expect_eq "$(grep -c '^=== job' "$DATA/jobs/$J.log")" 3 "three attempts logged"
# Attempt starts (log headers, whole seconds): 1 s of transcoding, then 1 s
# and 2 s of waiting: the third starts >= 4 s after the first.
T=($(sed -n 's/^=== job [0-9]* attempt [0-9]* \([0-9T:-]*\)Z.*/\1/p' \
    "$DATA/jobs/$J.log" | while read -r t; do date -u -d "$t" +%s; done))
[ $((T[2] - T[0])) -ge 4 ] ||
    fail "attempts started at ${T[*]}: retries did not wait (1 s, then 2 s)"
stop_server
ok "a transient failure (timeout) is retried after 1 s, then 2 s, then stays failed"
