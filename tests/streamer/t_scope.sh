#!/usr/bin/env bash
# Admin tokens act inside their region only, whatever the level: a province
# admin cannot report viewing events for another province's sites; a
# lesson belongs to its uploader's region, and deleting it or reading its
# job needs an admin of a region containing that one; job errors name
# files relative to the data directory.
. "$(dirname "$0")/lib.sh"

setup_catalog # Yunnan (53): ADMIN, DALI, SITE ...
"$YUNLING" sites import --province 52 --data "$DATA" >/dev/null \
    2>>"$YL_TMPDIR/cli.log" || fail "import Guizhou (52)"
tok() { # role scope
    "$YUNLING" token create --role "$1" --scope "$2" --data "$DATA" \
        2>>"$YL_TMPDIR/cli.log"
}
GZ=$(tok admin 52)
CTY=$(tok admin 532901)  # 大理市, a county of Dali (5329)
CTY2=$(tok admin 532923) # 祥云县, another county of Dali
bearer() { echo "Authorization: Bearer $1"; }
start_server

# A lesson to report on (the events need one; its state does not matter).
make_src "$YL_TMPDIR/src.mp4" 2
expect_eq "$(api POST /api/v1/lessons -H "$(bearer "$ADMIN")" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课)" 202 "upload"
L1=$(resp .lesson)
J1=$(resp .job)

# ---- issue 8 bug 3: views outside a province admin's province ----
ev() { # session site
    printf '{"events":[{"session":"%s","seq":1,"site":"%s","lesson":%d,"kind":"start","position_s":0}]}' \
        "$1" "$2" "$L1"
}
count() { db "SELECT count(*) FROM view_events"; }
expect_eq "$(api POST /api/v1/views -H "$(bearer "$ADMIN")" \
    -d "$(ev yn-gz 520102016001)")" 403 "Yunnan admin reports a Guizhou site"
expect_eq "$(resp .error.code)" forbidden "403 code"
expect_match "$(resp .error.message)" "520102016001.*outside.*53" \
    "403 names the site and the region"
expect_eq "$(api POST /api/v1/views -H "$(bearer "$GZ")" \
    -d "$(ev gz-yn 532901104201)")" 403 "Guizhou admin reports a Yunnan site"
# One site of the batch outside is enough to refuse all of it.
MIX="{\"events\":[$(ev mix1 532901104201 | jq -c '.events[0]'),$(ev mix2 520102016001 | jq -c '.events[0]')]}"
expect_eq "$(api POST /api/v1/views -H "$(bearer "$ADMIN")" -d "$MIX")" 403 \
    "a batch with one site outside"
expect_eq "$(count)" 0 "nothing stored from refused batches"
expect_eq "$(api POST /api/v1/views -H "$(bearer "$ADMIN")" \
    -d "$(ev yn-yn 532901104201)")" 200 "Yunnan admin reports a Yunnan site"
expect_eq "$(resp .accepted)" 1 "accepted"
expect_eq "$(api POST /api/v1/views -H "$(bearer "$GZ")" \
    -d "$(ev gz-gz 520102016001)")" 200 "Guizhou admin reports a Guizhou site"
expect_eq "$(resp .accepted)" 1 "accepted"
# The beacon form (token in the body) is held to the same region.
expect_eq "$(api POST /api/v1/views -H 'Content-Type: text/plain' \
    -d "$(ev beacon 520102016001 | jq -c --arg t "$ADMIN" '. + {token: $t}')")" \
    403 "Yunnan admin's beacon for a Guizhou site"
ok "bug 3: a province admin reports only its own province's sites"

# ---- issue 8 bug 4: lessons and jobs belong to the uploader's region ----
printf 'not a video\n' >"$YL_TMPDIR/bogus.mp4"
expect_eq "$(api POST /api/v1/lessons -H "$(bearer "$CTY")" \
    -F "source=@$YL_TMPDIR/bogus.mp4" -F title.zh=县课)" 202 "county upload"
L2=$(resp .lesson)
J2=$(resp .job)
wait_job "$J1" done
wait_job "$J2" failed
expect_eq "$(api GET "/api/v1/lessons/$L1")" 200 "anonymous read of a lesson"
expect_eq "$(resp .owner)" 53 "owner of the province's upload"
expect_eq "$(api GET "/api/v1/lessons/$L2" -H "$(bearer "$CTY")")" 200 \
    "county admin reads its failed lesson"
expect_eq "$(resp .owner)" 532901 "owner of the county's upload"

# Jobs: an admin whose region contains the lesson's owner.
expect_eq "$(api GET "/api/v1/jobs/$J1")" 401 "anonymous job read"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$SITE")")" 403 \
    "site token reads a job"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$CTY")")" 403 \
    "county admin reads the province's job"
expect_eq "$(resp .error.code)" forbidden "403 code"
expect_match "$(resp .error.message)" "53.*532901" "403 names both regions"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$DALI")")" 403 \
    "prefecture admin reads the province's job"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$GZ")")" 403 \
    "Guizhou admin reads a Yunnan job"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$ADMIN")")" 200 \
    "province admin reads its job"
expect_eq "$(api GET "/api/v1/jobs/$J2" -H "$(bearer "$CTY2")")" 403 \
    "county admin reads a sibling county's job"
expect_eq "$(api GET "/api/v1/jobs/$J2" -H "$(bearer "$GZ")")" 403 \
    "Guizhou admin reads a Yunnan county's job"
expect_eq "$(api GET "/api/v1/jobs/$J2" -H "$(bearer "$DALI")")" 200 \
    "prefecture admin reads its county's job"
expect_eq "$(api GET "/api/v1/jobs/$J2" -H "$(bearer "$CTY")")" 200 \
    "county admin reads its own job"
ok "bug 4: jobs are read within the lesson's region only"

# Job errors and logs name files relative to the data directory.
ERR=$(resp .error)
[[ $ERR != *"$DATA"* ]] || fail "job error names a server path: $ERR"
[[ $ERR != *"$YL_TMPDIR"* ]] || fail "job error names a server path: $ERR"
expect_match "$ERR" "^uploads/$J2/source\.mp4: " "error names the upload"
if grep -qF "$YL_TMPDIR" "$DATA/jobs/$J2.log"; then
    fail "job log names server paths: $(grep -F "$YL_TMPDIR" \
        "$DATA/jobs/$J2.log" | head -3)"
fi
ok "bug 4: job errors and logs name files relative to the data directory"

# Deleting: the same rule; public reads stay public.
expect_eq "$(api DELETE "/api/v1/lessons/$L1")" 401 "anonymous delete"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" -H "$(bearer "$SITE")")" 403 \
    "site token deletes"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" -H "$(bearer "$CTY")")" 403 \
    "county admin deletes the province's lesson"
expect_match "$(resp .error.message)" "53.*532901" "403 names both regions"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" -H "$(bearer "$DALI")")" 403 \
    "prefecture admin deletes the province's lesson"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" -H "$(bearer "$GZ")")" 403 \
    "Guizhou admin deletes a Yunnan lesson"
expect_eq "$(api GET "/api/v1/lessons/$L1")" 200 "still there, still public"
expect_eq "$(code "$BASE/hls/$L1/master.m3u8")" 200 "its playlist too"
expect_eq "$(api DELETE "/api/v1/lessons/$L2" -H "$(bearer "$CTY2")")" 403 \
    "county admin deletes a sibling county's lesson"
expect_eq "$(api DELETE "/api/v1/lessons/$L2" -H "$(bearer "$CTY")")" 200 \
    "county admin deletes its own lesson"
ok "bug 4: a lesson is deleted by an admin of its region only"

# A lesson from before owners (owner NULL): province-wide, only a province
# admin acts on it.
db "UPDATE lessons SET owner_id = NULL WHERE id = $L1"
expect_eq "$(api GET "/api/v1/lessons/$L1")" 200 "legacy lesson, public"
expect_eq "$(resp .owner)" null "no owner"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$DALI")")" 403 \
    "prefecture admin reads a province-wide job"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" -H "$(bearer "$DALI")")" 403 \
    "prefecture admin deletes a province-wide lesson"
expect_match "$(resp .error.message)" "province" "403 says who may"
expect_eq "$(api GET "/api/v1/jobs/$J1" -H "$(bearer "$ADMIN")")" 200 \
    "province admin reads a province-wide job"
expect_eq "$(api DELETE "/api/v1/lessons/$L1" -H "$(bearer "$ADMIN")")" 200 \
    "province admin deletes a province-wide lesson"
ok "bug 4: lessons without an owner are the province admins'"

stop_server
