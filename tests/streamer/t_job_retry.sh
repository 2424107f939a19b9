#!/usr/bin/env bash
# POST /api/v1/jobs/{id}/retry: a failed job queued again (the admin
# console's 重试) from the sources kept after its failure; scope, states,
# removed sources.
. "$(dirname "$0")/lib.sh"

setup_catalog
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
job_attempts = 1
INI
printf 'this is not a video\n' >"$YL_TMPDIR/bad.mp4"
start_server --config "$YL_TMPDIR/y.ini"
A=(-H "Authorization: Bearer $ADMIN")

expect_eq "$(api POST /api/v1/lessons "${A[@]}" -F "source=@$YL_TMPDIR/bad.mp4" \
    -F title.zh=坏)" 202 "bad upload"
JOB=$(resp .job)
LESSON=$(resp .lesson)
wait_job "$JOB" failed 30
expect_eq "$(api POST "/api/v1/jobs/$JOB/retry")" 401 "anonymous retry"
expect_eq "$(api POST "/api/v1/jobs/$JOB/retry" -H "Authorization: Bearer $SITE")" \
    403 "a site token retries"
expect_eq "$(api POST "/api/v1/jobs/$JOB/retry" -H "Authorization: Bearer $DALI")" \
    403 "a prefecture admin retries the province's job"
expect_eq "$(api POST /api/v1/jobs/999/retry "${A[@]}")" 404 "an unknown job"
ok "retry: 401, 403 (role, region), 404"

expect_eq "$(api POST "/api/v1/jobs/$JOB/retry" "${A[@]}")" 202 "retry"
expect_eq "$(resp .state)" queued "queued again"
expect_eq "$(resp .lesson)" "$LESSON" "its lesson"
expect_eq "$(db "SELECT state FROM lessons WHERE id = $LESSON")" pending \
    "the lesson is pending again"
wait_job "$JOB" failed 30
expect_eq "$(db "SELECT attempts FROM jobs WHERE id = $JOB")" 1 \
    "the attempts counted afresh"
ok "retry: queued, run again (and failed again: the same bad file)"

rm -rf "$DATA/uploads/$JOB"
expect_eq "$(api POST "/api/v1/jobs/$JOB/retry" "${A[@]}")" 409 \
    "sources removed"
expect_match "$(resp .error.message)" "upload the lesson again" "409 message"
db "UPDATE jobs SET state = 'done' WHERE id = $JOB"
mkdir -p "$DATA/uploads/$JOB"
expect_eq "$(api POST "/api/v1/jobs/$JOB/retry" "${A[@]}")" 400 "a done job"
expect_match "$(resp .error.message)" "not failed" "400 message"
ok "retry: 409 when the sources are gone, 400 when not failed"
stop_server
