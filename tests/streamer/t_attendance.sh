#!/usr/bin/env bash
# Meeting attendance (issue 13): view events of kind live (an event naming
# "meeting"), on the real server: refused before the start and for a
# station the meeting is not sent to; after the start they fill the
# station's row (joined, left, watched, devices); the headcount a cadre
# enters (its own station for a site token, within its region for an
# admin), checked; the report per child region, per station and as CSV
# with a BOM, scoped (another county's admin: 403; unknown meeting: 404);
# GET /api/v1/meetings/{id} carries the totals; the wall's stats topic
# carries the live meeting's attendance.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

setup_catalog
tok() { "$YUNLING" token create --role "$1" --scope "$2" --data "$DATA" \
    2>>"$YL_TMPDIR/cli.log"; }
DALISHI=$(tok admin 532901)  # 大理市
YANGBI=$(tok admin 532922)   # 漾濞县, another county
VIEWER=$(tok viewer 5329)
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
S=(-H "Authorization: Bearer $SITE" -H 'content-type: application/json')
TOWN=532901104      # 喜洲镇, SITE's township
OTHER=$(db "SELECT code FROM sites WHERE code LIKE '532901104%' AND level = 5 \
    AND code != '532901104201' ORDER BY code LIMIT 1")

expect_eq "$(api POST /api/v1/meetings "${A[@]}" -d "{\"title\":\"全省部署会\",
    \"targets\":[\"$TOWN\"],\"source\":\"test:\"}")" 201 "a meeting for 喜洲镇"
ID=$(resp .id)
N=$(resp .n_sites)
[ "$N" -gt 5 ] || fail "喜洲镇 has its villages as sites ($N)"

ev() { # session seq kind [site] [meeting]
    printf '{"session":"%s","seq":%s,"site":"%s","meeting":%s,"kind":"%s","position_s":0,"client":"tv"}' \
        "$1" "$2" "${4:-532901104201}" "${5:-$ID}" "$3"
}
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev a 1 start)]}")" 400 "no attendance before the start"
expect_match "$(resp .error.message)" "has not started" "... says why"

# Headcount: bad input first (checked before the meeting's state).
hc() { api POST "/api/v1/meetings/${3:-$ID}/headcount" "${@:4}" -d "$1$2"; }
expect_eq "$(hc '{"site":"532901104201",' '"count":10001}' "$ID" "${S[@]}")" 400 "headcount over 10000"
expect_match "$(resp .error.message)" "^count" "... names count"
expect_eq "$(hc '{"site":"532901104201",' '"count":-1}' "$ID" "${S[@]}")" 400 "a negative headcount"
expect_eq "$(hc '{"site":"532901104201",' '"count":"12"}' "$ID" "${S[@]}")" 400 "a headcount as a string"
expect_eq "$(hc '{"site":"532901104201",' '"count":2.5}' "$ID" "${S[@]}")" 400 "a fractional headcount"
expect_eq "$(hc '{"site":"5329",' '"count":3}' "$ID" "${S[@]}")" 400 "a region is not a station"
expect_eq "$(hc '{"site":"532901104201",' '"count":3' "$ID" "${S[@]}")" 400 "malformed JSON"
expect_eq "$(hc "{\"site\":\"$OTHER\"," '"count":3}' "$ID" "${S[@]}")" 403 \
    "a site token enters only its own headcount"
expect_eq "$(hc '{"site":"532901104201",' '"count":3}' 99999 "${A[@]}")" 404 "unknown meeting"
expect_eq "$(hc '{"site":"532901104201",' '"count":3}' "$ID" \
    -H "Authorization: Bearer $YANGBI")" 403 "another county's admin"
expect_eq "$(hc '{"site":"532901104201",' '"count":3}' "$ID" \
    -H "Authorization: Bearer $VIEWER")" 403 "a viewer token"
# Not before the start: nobody can be present yet (409).
expect_eq "$(hc '{"site":"532901104201",' '"count":23}' "$ID" "${S[@]}")" 409 \
    "a headcount before the start"
expect_match "$(resp .error.message)" "会议尚未开始" "... says why, in Chinese first"
expect_eq "$(db "SELECT count(*) FROM meeting_sites WHERE meeting_id = $ID \
    AND headcount IS NOT NULL")" 0 "... and nothing is stored"

# The report's scope.
expect_eq "$(api GET "/api/v1/meetings/$ID/attendance" \
    -H "Authorization: Bearer $YANGBI")" 403 "another county's meeting"
expect_eq "$(api GET "/api/v1/meetings/99999/attendance" "${A[@]}")" 404 \
    "attendance of an unknown meeting"
expect_eq "$(api GET "/api/v1/meetings/$ID/attendance" "${S[@]}")" 403 \
    "a site token reads no report"
expect_eq "$(api GET "/api/v1/meetings/$ID/attendance?region=5323" \
    -H "Authorization: Bearer $VIEWER")" 403 "a region outside the viewer's"

# Start; the headcounts; events of two devices in one village, one in
# another.
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
expect_eq "$(hc '{"site":"532301103201",' '"count":3}' "$ID" "${A[@]}")" 400 \
    "a station the meeting is not sent to"
expect_match "$(resp .error.message)" "not sent to" "... says so"
expect_eq "$(hc '{"site":"532901104201",' '"count":23}' "$ID" "${S[@]}")" 200 "the site's headcount"
expect_eq "$(resp .headcount)" 23 "... stored"
expect_eq "$(hc "{\"site\":\"$OTHER\"," '"count":17}' "$ID" \
    -H "Authorization: Bearer $DALISHI")" 200 "the county admin's headcount"
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev a 1 start 532301103201)]}")" 403 \
    "a site token reports only its own site"
OT=$("$YUNLING" token create --role site --scope "$OTHER" --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
expect_eq "$(api POST /api/v1/views "${A[@]}" \
    -d "{\"events\":[$(ev a 1 start 532301103201)]}")" 400 \
    "a station the meeting is not sent to"
expect_match "$(resp .error.message)" "events\[0\].site: meeting $ID is not sent" "... says so"
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev a 1 start),$(ev a 2 beat),$(ev b 1 start)]}")" 200 "live events"
expect_eq "$(resp .accepted)" 3 "... accepted"
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev a 2 beat)]}")" 200 "a resend"
expect_eq "$(resp .duplicates)" 1 "... is a duplicate"
expect_eq "$(api POST /api/v1/views -H "Authorization: Bearer $OT" \
    -H 'content-type: application/json' \
    -d "{\"events\":[$(ev c 1 start "$OTHER")]}")" 200 "the other village"
expect_eq "$(db "SELECT devices FROM meeting_sites WHERE meeting_id = $ID \
    AND site_id = 532901104201")" 2 "two devices in 喜洲村"

expect_eq "$(api GET "/api/v1/meetings/$ID/attendance?region=532901&sites=1" \
    -H "Authorization: Bearer $DALISHI")" 200 "the county admin's report"
expect_eq "$(resp .totals.targeted)" "$N" "targeted"
expect_eq "$(resp .totals.attended)" 2 "attended"
expect_eq "$(resp .totals.headcount)" 40 "headcount sum"
expect_eq "$(resp '.children | length')" 1 "one child region (the township)"
expect_eq "$(resp '.children[0].code')" "$TOWN" "... 喜洲镇"
expect_eq "$(resp '.sites | length')" "$N" "every targeted station"
expect_eq "$(resp '.sites[] | select(.code == "532901104201") | .devices')" 2 \
    "the station's devices"
expect_eq "$(resp '.sites[] | select(.code == "532901104201") | .headcount')" 23 \
    "the station's headcount"
expect_eq "$(api GET "/api/v1/meetings/$ID/attendance" \
    -H "Authorization: Bearer $VIEWER")" 200 "a viewer's report (its region)"
expect_eq "$(resp .region)" 5329 "... of its region"
expect_eq "$(resp '.children[0].code')" 532901 "... per county"

curl -s -D "$YL_TMPDIR/csvh.txt" -o "$YL_TMPDIR/att.csv" \
    -H "Authorization: Bearer $ADMIN" \
    "$BASE/api/v1/meetings/$ID/attendance?region=5329&format=csv"
expect_match "$(hval "$YL_TMPDIR/csvh.txt" content-type)" "text/csv" "CSV type"
expect_eq "$(head -c 3 "$YL_TMPDIR/att.csv" | od -An -tx1 | tr -d ' ')" efbbbf \
    "CSV starts with a UTF-8 BOM"
expect_match "$(sed -n 1p "$YL_TMPDIR/att.csv")" "代码,名称,应到站点,实到站点,到会率" "CSV header in Chinese"
expect_match "$(sed -n 2p "$YL_TMPDIR/att.csv")" "^532901,大理市,$N,2," "CSV row of 大理市"
curl -s -o "$YL_TMPDIR/sites.csv" -H "Authorization: Bearer $ADMIN" \
    "$BASE/api/v1/meetings/$ID/attendance?region=$TOWN&sites=1&format=csv"
expect_eq "$(($(wc -l <"$YL_TMPDIR/sites.csv") - 1))" "$N" "a CSV row per station"
expect_eq "$(api GET "/api/v1/meetings/$ID/attendance?format=xml" "${A[@]}")" 400 "an unknown format"

expect_eq "$(api GET "/api/v1/meetings/$ID" -H "Authorization: Bearer $SITE")" 200 "get, site"
expect_eq "$(resp .attendance.targeted)" 1 "a site sees its own station"
expect_eq "$(resp .attendance.devices)" 2 "... its devices"
expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get, admin"
expect_eq "$(resp .attendance.attended)" 2 "attended in the totals"

# The list of meetings, with attendance within the region.
expect_eq "$(api GET /api/v1/meetings -H "Authorization: Bearer $DALISHI")" 200 \
    "the county admin's list"
expect_eq "$(resp ".meetings[] | select(.id == $ID) | .attendance.attended")" 2 \
    "... the province's meeting with its attendance in the county"
expect_eq "$(resp ".meetings[] | select(.id == $ID) | .source")" null \
    "... never the source URI"
expect_eq "$(api GET /api/v1/meetings -H "Authorization: Bearer $YANGBI")" 200 \
    "another county's list"
expect_eq "$(resp "[.meetings[] | select(.id == $ID)] | length")" 0 \
    "... does not hold a meeting sent elsewhere"
expect_eq "$(api GET /api/v1/meetings "${S[@]}")" 403 "a site token has no list"

# The wall's stats topic: the live meeting's attendance, pushed.
node "$here/attend_stats.mjs" "$PORT" "$VIEWER" 5329 >"$YL_TMPDIR/stats.json" \
    2>"$YL_TMPDIR/stats.err" || fail "stats subscription: $(cat "$YL_TMPDIR/stats.err")"
expect_eq "$(jq -r .meeting.id "$YL_TMPDIR/stats.json")" "$ID" "the wall sees the live meeting"
expect_eq "$(jq -r .meeting.attended "$YL_TMPDIR/stats.json")" 2 "... its attended stations"
expect_eq "$(jq -r .meeting.targeted "$YL_TMPDIR/stats.json")" "$N" "... of targeted"

expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
# An ended meeting still takes queued events (a TV that was offline).
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev a 3 end)]}")" 200 "a late end after the stop"
stop_server
ok "attendance"
