#!/usr/bin/env bash
# The websocket channel at /ws (yunling.v1) driven by real websocket clients
# (node `ws`, tests/streamer/ws_cases.mjs): refused hellos, bad frames,
# presence counting a site once, notices stored then pushed with receipts
# and replay, withdrawal, views over the channel, subscriptions, a notice
# surviving kill -9 right after its 201, a silent peer dropped by the
# ping/pong keepalive, and a station's channel closed when its token is
# revoked or expires.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

setup_catalog
VIEWER=$("$YUNLING" token create --role viewer --scope 53 --data "$DATA" \
    2>>"$YL_TMPDIR/cli.log")
SITE2_CODE=$(db "SELECT code FROM sites WHERE code LIKE '532901%' AND \
    level = 5 AND code != '532901104201' ORDER BY code LIMIT 1")
SITE2=$("$YUNLING" token create --role site --scope "$SITE2_CODE" \
    --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
SITE3_CODE=$(db "SELECT code FROM sites WHERE code LIKE '532901%' AND \
    level = 5 AND code NOT IN ('532901104201', '$SITE2_CODE') ORDER BY code \
    LIMIT 1")
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
ws_hello = 2
ws_ping = 2
ws_max_message = 8192
ws_rate = 20
ws_push_ms = 200
ws_reauth = 1
test_token_cache_ms = 300
INI
start_server --config "$YL_TMPDIR/y.ini"
export PORT ADMIN DALI SITE CHUX_SITE EXPIRED VIEWER SITE2 SITE2_CODE

cases() { node "$here/ws_cases.mjs" "$1" || fail "phase $1"; }

cases refused
cases bad
cases presence
cases notices

# Views need a published lesson.
make_src "$YL_TMPDIR/src.mp4" 2
api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 >/dev/null
LID=$(resp .lesson)
wait_job "$(resp .job)" done
export LID
cases views
expect_eq "$(db "SELECT count(*) FROM view_events v JOIN sessions s ON \
    s.id = v.session_id WHERE s.skey = 'ws-s1'")" 2 \
    "events sent over the channel are stored once"
expect_eq "$(db "SELECT count(*) FROM view_events v JOIN sessions s ON \
    s.id = v.session_id WHERE s.skey = 'ws-burst'")" 480 \
    "a burst of 24 batches over the channel: all 480 events stored"
cases subscribe
# A wall that reads nothing for a while loses deltas, and gets whole
# snapshots when it reads again (a small receive buffer: Python).
python3 "$here/ws_stale.py" "$PORT" "$ADMIN" 53 "$SITE3_CODE" ||
    fail "a wall that fell behind"
cases slow
cases deadPeer

# A station's open channel goes with its credentials (ws_reauth = 1 here):
# its tokens revoked through the API (at once), one revoked with the CLI,
# one expiring while connected (in the database, as time would).
T3=$("$YUNLING" token create --role site --scope "$SITE3_CODE" \
    --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
ws_hold token "$T3"
expect_eq "$(api DELETE "/api/v1/sites/$SITE3_CODE/tokens" \
    -H "Authorization: Bearer $ADMIN")" 200 "revoke a connected station"
ws_held "revoked through the API: its channel closed 4401" \
    '^4401 unknown or revoked token$' 3
T3=$("$YUNLING" token create --role site --scope "$SITE3_CODE" \
    --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
ws_hold token "$T3"
"$YUNLING" token revoke "$(db 'SELECT max(id) FROM tokens')" \
    --data "$DATA" 2>>"$YL_TMPDIR/cli.log" || fail "token revoke"
ws_held "revoked with the CLI: closed 4401 within ws_reauth" \
    '^4401 unknown or revoked token$' 6
T3=$("$YUNLING" token create --role site --scope "$SITE3_CODE" \
    --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
ws_hold token "$T3"
db "UPDATE tokens SET expires_ms = $(($(date +%s%3N) - 1000)) WHERE id = \
    (SELECT max(id) FROM tokens)" || fail "expire the token"
ws_held "expired while connected: closed 4401" '^4401 token expired at ' 6

# Attachments: type checked by content, size-limited, served only to the
# sites a notice carrying them was sent to.
printf '%%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%%%EOF\n' >"$YL_TMPDIR/a.pdf"
printf 'MZ not a pdf at all' >"$YL_TMPDIR/fake.pdf"
A=(-H "Authorization: Bearer $ADMIN")
expect_eq "$(api POST /api/v1/attachments "${A[@]}" \
    -F "file=@$YL_TMPDIR/a.pdf")" 201 "a PDF attachment"
AID=$(resp .id)
expect_eq "$(resp .type)" application/pdf "its type, from its content"
expect_eq "$(api POST /api/v1/attachments "${A[@]}" \
    -F "file=@$YL_TMPDIR/fake.pdf;type=application/pdf")" 415 \
    "a file named .pdf that is not one"
expect_eq "$(api POST /api/v1/attachments "${A[@]}" \
    -H 'content-type: application/json' -d '{}')" 415 "not multipart"
expect_eq "$(api POST /api/v1/attachments -H "Authorization: Bearer $SITE" \
    -F "file=@$YL_TMPDIR/a.pdf")" 403 "a site cannot upload"
head -c 21000000 /dev/zero >"$YL_TMPDIR/big.pdf"
expect_eq "$(api POST /api/v1/attachments "${A[@]}" \
    -F "file=@$YL_TMPDIR/big.pdf")" 413 "over 20 MB"
expect_eq "$(api POST /api/v1/notices "${A[@]}" \
    -d "{\"title\":\"附件\",\"body\":\"见附件\",\"targets\":[\"5329\"],\"attachments\":[999]}")" \
    400 "a notice with an unknown attachment"
expect_match "$(resp .error.message)" 'attachments\[0\]: unknown attachment 999' \
    "named"
expect_eq "$(api POST /api/v1/notices "${A[@]}" \
    -d "{\"title\":\"附件\",\"body\":\"见附件\",\"targets\":[\"5329\"],\"attachments\":[$AID]}")" \
    201 "a notice with the attachment"
expect_eq "$(curl -s -H "Authorization: Bearer $SITE" \
    "$BASE/api/v1/attachments/$AID" | cmp - "$YL_TMPDIR/a.pdf" && echo same)" \
    same "a targeted site gets the file"
expect_eq "$(code -H "Authorization: Bearer $CHUX_SITE" \
    "$BASE/api/v1/attachments/$AID")" 404 "a site it was not sent to: 404"
expect_eq "$(code "$BASE/api/v1/attachments/$AID")" 401 "no token: 401"
ok "attachments"

# kill -9 right after the 201: the notice and its receipt rows were
# committed before the answer, so the site gets it when it comes back.
SINCE=$(db "SELECT coalesce(max(id), 0) FROM notices")
expect_eq "$(api POST /api/v1/notices -H "Authorization: Bearer $ADMIN" \
    -d '{"title":"断电前发出","body":"测试","targets":["532901104201"]}')" 201 \
    "a notice before the crash"
NID=$(resp .id)
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
start_server --config "$YL_TMPDIR/y.ini"
export PORT SINCE NID
cases afterCrash

# A broadcast written one connection a round (ws_pace = 1), on the
# default poll loop, where pacing is off unless configured; keepalive
# pings far apart, so only the rounds can write the frames.
stop_server
grep -v '^ws_ping' "$YL_TMPDIR/y.ini" >"$YL_TMPDIR/paced.ini"
printf 'ws_pace = 1\nws_ping = 300\n' >>"$YL_TMPDIR/paced.ini"
start_server --config "$YL_TMPDIR/paced.ini"
SINCE=$(db "SELECT max(id) FROM notices")
cases paced

# SIGTERM: connected clients get a close frame (1001), then the server
# exits 0.
node "$here/ws_cases.mjs" sigterm >"$YL_TMPDIR/sigterm.out" 2>&1 &
NODE=$!
for _ in $(seq 100); do
    grep -q connected "$YL_TMPDIR/sigterm.out" && break
    sleep 0.1
done
stop_server
wait "$NODE" || fail "sigterm: $(cat "$YL_TMPDIR/sigterm.out")"
cat "$YL_TMPDIR/sigterm.out"
ok "websocket channel"
