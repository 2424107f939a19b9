#!/usr/bin/env bash
# A step of the wall clock during a meeting (timesyncd correcting a
# village server's clock at boot, just as its meetings restart): the
# meeting's pipeline runs on the monotonic clock, so its segments keep
# their pace. On the realtime clock a step back held every clock wait of
# the live sources and mixers for as long as the step (a day here: the
# meeting froze), and a step forward made them race to catch up. The
# server runs under libfaketime (Debian package faketime, scripts/deps.sh),
# which moves CLOCK_REALTIME only (FAKETIME_DONT_FAKE_MONOTONIC), as a
# real step does.
. "$(dirname "$0")/lib.sh"

FTRC=$YL_TMPDIR/faketime.rc
echo "+0" >"$FTRC"
faketime_env "$FTRC"
[ ${#FT_ENV[@]} -gt 0 ] || fail "no clock steps here: $FT_WHY (scripts/deps.sh)"

setup_catalog
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')
start_server_env "${FT_ENV[@]}"
expect_eq "$(api POST /api/v1/meetings "${A[@]}" \
    -d '{"title":"时钟","targets":["5329"],"source":"test:"}')" 201 "a meeting"
ID=$(resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
wait_code 200 60 "$BASE/live/$ID/v360.m3u8"

# mseq: the media sequence of the 360p playlist plus its segment count:
# the number of segments closed so far.
mseq() {
    curl -s "$BASE/live/$ID/v360.m3u8" | awk -F: '
        /^#EXT-X-MEDIA-SEQUENCE:/ { s = $2 } /^#EXTINF:/ { n++ }
        END { print s + n }'
}
# pace WHAT: segments closed in the next 4 s of real time (1 s each).
pace() {
    local a b
    a=$(mseq)
    sleep 4
    b=$(mseq)
    echo $((b - a))
}
# jumped OFFSET_S: the server's log shows its clock moved by OFFSET_S.
jumped() {
    local line ts
    # A refused upload logs a line, stamped with the server's clock.
    api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
        -F title.zh=x >/dev/null
    sleep 0.2
    line=$(grep 'upload refused' "$YL_TMPDIR/server.log" | tail -1)
    ts=$(date -d "${line%%Z *}Z" +%s 2>/dev/null) ||
        fail "no time in the server's log line: $line"
    [ $((ts - $(date +%s) - $1)) -lt 60 ] &&
        [ $(($(date +%s) + $1 - ts)) -lt 60 ] ||
        fail "the server's clock did not move by $1 s (log: ${line:0:24})"
}

n=$(pace)
[ "$n" -ge 2 ] && [ "$n" -le 6 ] || fail "before the steps: $n segments in 4 s"
ok "before: $n segments in 4 s"

echo "-1d" >"$FTRC"
n=$(pace)
jumped -86400
[ "$n" -ge 2 ] || fail "the wall clock stepped back a day: $n segments in 4 s (the meeting froze)"
ok "the wall clock a day back: $n segments in 4 s"

echo "+1d" >"$FTRC"
n=$(pace)
jumped 86400
[ "$n" -ge 2 ] && [ "$n" -le 6 ] ||
    fail "the wall clock stepped forward a day: $n segments in 4 s"
ok "the wall clock a day ahead: $n segments in 4 s"

expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
stop_server
ok "a meeting keeps its pace through steps of the wall clock"
