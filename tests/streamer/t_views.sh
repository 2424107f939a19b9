#!/usr/bin/env bash
# POST /api/v1/views: acknowledged after commit, idempotent on (session,
# seq), and each kind of bad input refused with its own clear error while
# nothing of the batch is stored.
. "$(dirname "$0")/lib.sh"

setup_catalog
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
max_body = 64k
max_events = 50
INI
start_server --config "$YL_TMPDIR/y.ini"
# A published lesson to watch.
make_src "$YL_TMPDIR/src.mp4" 2
api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 >/dev/null
LID=$(resp .lesson)
wait_job "$(resp .job)" done
S=(-H "Authorization: Bearer $SITE" -H 'Content-Type: application/json')
ev() { # session seq kind pos [ts]
    printf '{"session":"%s","seq":%d,"site":"532901104201","lesson":%d,"kind":"%s","position_s":%s,"audio_lang":"zh","rendition":"480p","client":"tv"%s}' \
        "$1" "$2" "$LID" "$3" "$4" "${5:+,\"ts\":$5}"
}
count() { db "SELECT count(*) FROM view_events"; }

B1="{\"events\":[$(ev s1 1 start 0 1000),$(ev s1 2 beat 15 16000),$(ev s1 3 beat 30 31000)]}"
expect_eq "$(api POST /api/v1/views "${S[@]}" -d "$B1")" 200 "a batch"
expect_eq "$(resp .accepted)/$(resp .duplicates)" 3/0 "accepted/duplicates"
expect_eq "$(count)" 3 "stored at the answer"
expect_eq "$(api POST /api/v1/views "${S[@]}" -d "$B1")" 200 "the same again"
expect_eq "$(resp .accepted)/$(resp .duplicates)" 0/3 "idempotent"
expect_eq "$(count)" 3 "nothing new stored"
# The batch claims 30 s (2 x 15 s by its ts) but arrived at once at a
# station never heard from before: credit is bounded by the server's clock.
W=$(db "SELECT watched_s, claimed_s, capped FROM sessions WHERE skey = 's1'")
expect_eq "$W" "0.0|30.0|1" "a session sent at once: claimed 30 s, credited 0"
ok "accepted after commit; idempotent on (session, seq)"

bad() { # status code-regex message-regex body [curl args]
    local want=$1 c=$2 m=$3 body=$4 st
    shift 4
    st=$(api POST /api/v1/views "${S[@]}" "$@" -d "$body")
    expect_eq "$st" "$want" "status for $body"
    expect_match "$(resp .error.code)" "$c" "code for $body"
    expect_match "$(resp .error.message)" "$m" "message for $body"
    expect_eq "$(count)" 3 "nothing stored for $body"
}
bad 400 malformed_json 'not JSON' '{"events":[{"session":'
bad 400 malformed_json 'not JSON' '{"events": [1, 2,]}'
bad 400 invalid 'events' '[]'
bad 400 invalid 'events' '{"evnts":[]}'
bad 400 invalid 'events\[0\].seq' \
    "{\"events\":[$(ev s2 1 start 0 | sed 's/"seq":1/"seq":"one"/')]}"
bad 400 invalid 'events\[0\].position_s' \
    "{\"events\":[$(ev s2 1 start '"x"')]}"
bad 400 invalid 'events\[0\].kind' "{\"events\":[$(ev s2 1 pause 0)]}"
NOW=$(date +%s%3N)
bad 400 invalid 'events\[1\].ts: .* s ahead of the server clock' \
    "{\"events\":[$(ev s2 1 start 0 "$NOW"),$(ev s2 2 beat 15 $((NOW + 300000)))]}"
bad 400 invalid 'events\[1\].lesson.*99' \
    "{\"events\":[$(ev s2 1 start 0),$(ev s2 2 beat 1 | sed "s/\"lesson\":$LID/\"lesson\":99/")]}"
bad 403 forbidden '532901104299' \
    "{\"events\":[$(ev s2 1 start 0 | sed 's/532901104201/532901104299/')]}"
bad 400 invalid 'session' \
    "{\"events\":[$(ev s1 9 beat 3 | sed "s/\"lesson\":$LID/\"lesson\":$LID,\"x\":1/;s/\"session\":\"s1\"/\"session\":\"\"/")]}"
ok "malformed JSON, wrong types, unknown lesson/site: each its own error"

# unknown site with an admin token (no scope refusal first)
st=$(api POST /api/v1/views -H "Authorization: Bearer $ADMIN" \
    -d "{\"events\":[$(ev s3 1 start 0 | sed 's/532901104201/532901104299/')]}")
expect_match "$st" '^40[04]$' "unknown site (admin)"
expect_match "$(resp .error.message)" 532901104299 "unknown site message"

# The token in the body: what navigator.sendBeacon sends as a page closes
# (no headers of its own; a string body goes as text/plain).
T=(-H 'Content-Type: text/plain;charset=UTF-8')
st=$(api POST /api/v1/views "${T[@]}" \
    -d "{\"token\":\"$SITE\",\"events\":[$(ev b1 1 start 0 1000),$(ev b1 2 end 5 6000)]}")
expect_eq "$st" 200 "a beacon batch with the token in the body"
expect_eq "$(resp .accepted)" 2 "beacon events accepted"
expect_eq "$(db "SELECT ended FROM sessions WHERE skey = 'b1'")" 1 "beacon end stored"
for t in '' '"token":"nope",' "\"token\":\"$EXPIRED\"," '"token":7,'; do
    st=$(api POST /api/v1/views "${T[@]}" -d "{$t\"events\":[$(ev b2 1 start 0)]}")
    expect_eq "$st" 401 "body token '$t'"
    expect_match "$(resp .error.code)" '^(unauthorized|token_expired)$' "code for '$t'"
done
expect_match "$(resp .error.message)" 'token' "message names the token"
# Anonymous requests that are not a beacon's text/plain body: 401 at once
# (t_auth: a beacon's body is held to a beacon's 64 KB).
st=$(api POST /api/v1/views -H 'Content-Type: application/json' \
    -d "{\"token\":\"$SITE\",\"events\":[$(ev b4 1 start 0)]}")
expect_eq "$st" 401 "a body token outside a text/plain body"
expect_match "$(resp .error.message)" 'sendBeacon' "401 says where a token may go"
api POST /api/v1/views "${T[@]}" -d "{\"token\":\"$EXPIRED\",\"events\":[]}" >/dev/null
expect_eq "$(resp .error.code)" token_expired "expired token in the body"
st=$(api POST /api/v1/views "${T[@]}" \
    -d "{\"token\":\"$SITE\",\"events\":[$(ev b3 1 start 0 | sed 's/532901104201/532901104299/')]}")
expect_eq "$st" 403 "a body token is held to its own site too"
expect_eq "$(db "SELECT count(*) FROM sessions WHERE skey IN ('b2', 'b3')")" 0 \
    "nothing stored for refused beacon batches"
db "DELETE FROM view_events WHERE session_id IN
    (SELECT id FROM sessions WHERE skey = 'b1')" >/dev/null
ok "token in the body (sendBeacon): accepted; unknown/expired/missing 401, other site 403"

# over the limits
BIG="{\"events\":[$(for i in $(seq 1 51); do ev "m$i" 1 start 0; echo -n ,; done | sed 's/,$//')]}"
bad 413 batch_too_large '50' "$BIG"
PAD=$(head -c 70000 /dev/zero | tr '\0' ' ')
bad 413 body_too_large '65536' "{\"events\":[]}$PAD"
st=$(curl -s -o "$YL_TMPDIR/resp.json" -w '%{http_code}' "${S[@]}" \
    -H 'Transfer-Encoding: chunked' --data-binary "$B1" "$BASE/api/v1/views")
expect_eq "$st" 411 "chunked body without Content-Length"
ok "over the event and body limits: 413; chunked: 411"

# Clients that give up before the deferred answer: no harm done.
PIDS=()
for i in $(seq 1 60); do
    curl -s -o /dev/null -m 0.002 "${S[@]}" \
        -d "{\"events\":[$(ev "gone$i" 1 start 0)]}" "$BASE/api/v1/views" &
    PIDS+=($!)
done
wait "${PIDS[@]}" || true
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz after clients left"
db "DELETE FROM view_events WHERE session_id IN
    (SELECT id FROM sessions WHERE skey LIKE 'gone%')" >/dev/null
ok "clients leaving before the answer"

# Credit follows the server's clock: a start, then a beat 2 s later that
# claims 2 s, is credited about 2 s.
NOW=$(date +%s%3N)
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev rt 1 start 0 "$NOW")]}")" 200 "real-time start"
sleep 2
NOW2=$(date +%s%3N)
expect_eq "$(api POST /api/v1/views "${S[@]}" \
    -d "{\"events\":[$(ev rt 2 beat 2 "$NOW2")]}")" 200 "real-time beat"
W=$(db "SELECT watched_s = claimed_s AND capped = 0 FROM sessions
    WHERE skey = 'rt'")
expect_eq "$W" 1 "a beat as late as it claims is credited in full"
db "DELETE FROM view_events WHERE session_id IN
    (SELECT id FROM sessions WHERE skey = 'rt')" >/dev/null
ok "credit bounded by the server's clock; a ts from the future refused"

expect_eq "$(curl -s "$BASE/healthz")" ok "healthz"
M=$(curl -s "$BASE/metrics")
A=$(echo "$M" | sed -n 's/^yunling_view_events_total{result="accepted"} //p')
[ "${A:-0}" -ge 3 ] || fail "metrics: accepted events ($A)"
grep -q '^yunling_view_events_total{result="duplicate"} 3$' <<<"$M" ||
    fail "metrics: duplicate events"
grep -q '^yunling_active_sessions ' <<<"$M" || fail "metrics: sessions"
C=$(echo "$M" | sed -n 's/^yunling_view_credit_capped_total //p')
[ "${C:-0}" -ge 1 ] || fail "metrics: capped sessions ($C)"
stop_server
ok "metrics count the events; clean stop"
