#!/usr/bin/env bash
# A failed job's sources are kept for keep_failed_sources seconds (for a
# retry), then removed: by the job runner while it runs, and at start.
. "$(dirname "$0")/lib.sh"

setup_catalog
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
job_attempts = 1
keep_failed_sources = 3
INI
printf 'this is not a video\n' >"$YL_TMPDIR/bad.mp4"
bad_upload() {
    expect_eq "$(api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
        -F "source=@$YL_TMPDIR/bad.mp4" -F title.zh=坏)" 202 "bad upload"
    JOB=$(resp .job)
    wait_job "$JOB" failed 30
}
gone_within() { # dir seconds what
    local i
    for i in $(seq 1 $(($2 * 10))); do
        [ -e "$1" ] || return 0
        sleep 0.1
    done
    fail "$3: $1 still there after $2 s"
}

start_server --config "$YL_TMPDIR/y.ini"
bad_upload
D=$DATA/uploads/$JOB
[ -f "$D/source.mp4" ] || fail "the failed job's source was removed at once"
gone_within "$D" 15 "periodic sweep"
ok "failed job's sources kept, then removed by the runner"

# Removed at start too: fail one, stop at once, restart after the window.
bad_upload
D=$DATA/uploads/$JOB
[ -f "$D/source.mp4" ] || fail "the second source was removed at once"
stop_server
sleep 3.5
[ -d "$D" ] || fail "sources vanished while the server was stopped"
start_server --config "$YL_TMPDIR/y.ini"
gone_within "$D" 3 "sweep at start"
# The lesson and job stay, with their error.
expect_eq "$(curl -s -H "Authorization: Bearer $ADMIN" \
    "$BASE/api/v1/jobs/$JOB" | jq -r .state)" failed "job state kept"
ok "expired sources removed at start"
stop_server

# The default keeps them (7 days): through a restart's sweep. The job
# runner sweeps at start before it takes a job, so once a job queued
# after the restart has failed, the sweep has run (an event to wait for,
# not a sleep: the default sweeps every 600 s, a sleep saw none).
rm -f "$YL_TMPDIR/y.ini"
printf '[server]\njob_attempts = 1\n' >"$YL_TMPDIR/y.ini"
start_server --config "$YL_TMPDIR/y.ini"
bad_upload
FIRST=$JOB
stop_server
start_server --config "$YL_TMPDIR/y.ini"
bad_upload
[ -f "$DATA/uploads/$FIRST/source.mp4" ] ||
    fail "default retention removed a fresh failed job's source"
ok "default retention keeps a fresh failure's sources"
stop_server
