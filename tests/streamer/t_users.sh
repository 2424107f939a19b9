#!/usr/bin/env bash
# People who sign in to the admin console: `yunling user`, the session
# cookie (HttpOnly, SameSite=Strict, expiry), CSRF on state-changing
# requests a cookie authenticates, sign-out, disabled users, password
# changes, region scope, and the limits on failed sign-ins per user and
# per address.
. "$(dirname "$0")/lib.sh"

setup_catalog
U=(--data "$DATA")

# ---- the CLI ----
echo 'province-pass' | "$YUNLING" user add --name prov --role admin \
    --scope 53 "${U[@]}" >"$YL_TMPDIR/out" 2>>"$YL_TMPDIR/cli.log"
expect_eq "$(cat "$YL_TMPDIR/out")" "" "a password from stdin is not printed"
echo 'county-pass-1' | "$YUNLING" user add --name dalishi --role admin \
    --scope 532901 "${U[@]}" 2>>"$YL_TMPDIR/cli.log"
GEN=$("$YUNLING" user add --name gen --role viewer --scope 5329 --generate \
    "${U[@]}" 2>>"$YL_TMPDIR/cli.log")
expect_match "$GEN" '^[A-Za-z0-9]{16}$' "a generated password is printed once"
rc=0
echo 'another-pass' | "$YUNLING" user add --name prov --role admin \
    --scope 53 "${U[@]}" 2>/dev/null || rc=$?
expect_eq "$rc" 65 "a taken name"
rc=0
echo 'another-pass' | "$YUNLING" user add --name x --role site \
    --scope 53 "${U[@]}" 2>/dev/null || rc=$?
expect_eq "$rc" 64 "a site is not a person"
rc=0
echo 'short' | "$YUNLING" user add --name y --role admin --scope 53 \
    "${U[@]}" 2>/dev/null || rc=$?
expect_eq "$rc" 65 "a password under 8 bytes"
rc=0
echo 'long-enough' | "$YUNLING" user add --name z --role admin \
    --scope 99 "${U[@]}" 2>/dev/null || rc=$?
expect_eq "$rc" 65 "an unknown scope"
expect_match "$(db "SELECT pwhash FROM users WHERE name = 'prov'")" \
    '^\$argon2id\$' "stored as an Argon2id hash"
expect_eq "$("$YUNLING" user list "${U[@]}" | jq -r '.[].name' | tr '\n' ' ')" \
    "dalishi gen prov " "user list"
ok "cli: add (stdin, generated), taken name, role, short password, list"

# Sessions last 10 min here (a loaded machine may take seconds between
# steps); the expiry is tested below with a server of 2 s sessions. An
# open channel's session is checked again every second (ws_reauth).
cat >"$YL_TMPDIR/yl.ini" <<'INI'
[server]
session_ttl = 600
ws_reauth = 1
INI
start_server --config "$YL_TMPDIR/yl.ini"

# signin NAME PASSWORD [jar]: POST /api/v1/session, headers to $YL_TMPDIR/h
signin() {
    curl -s -D "$YL_TMPDIR/h" -o "$YL_TMPDIR/resp.json" -w '%{http_code}' \
        -c "${3:-$YL_TMPDIR/jar}" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$1\",\"password\":\"$2\"}" "$BASE/api/v1/session"
}
NOTICE='{"title":"会议通知","body":"明天开会","targets":["532901104201"]}'

# ---- wrong password, unknown user ----
expect_eq "$(signin prov wrong-password)" 401 "wrong password"
expect_eq "$(resp .error.code)" unauthorized "wrong password code"
expect_eq "$(resp .error.message)" "wrong name or password" "message"
expect_eq "$(hval "$YL_TMPDIR/h" set-cookie)" "" "no cookie on 401"
expect_eq "$(signin nobody wrong-password)" 401 "unknown user: the same 401"
expect_eq "$(resp .error.message)" "wrong name or password" "same message"
expect_eq "$(api POST /api/v1/session -d 'not json')" 400 "malformed body"
ok "401: wrong password and unknown user answer alike"

# ---- sign-in, cookie, who am I ----
expect_eq "$(signin prov province-pass)" 200 "sign-in"
SC=$(hval "$YL_TMPDIR/h" set-cookie)
expect_match "$SC" '^yl_session=[A-Za-z0-9_-]{43};' "cookie value"
expect_match "$SC" 'HttpOnly' "HttpOnly"
expect_match "$SC" 'SameSite=Strict' "SameSite=Strict"
expect_match "$SC" 'Path=/;' "Path=/"
expect_match "$SC" 'Max-Age=600;' "expiry from session_ttl"
expect_eq "$(hval "$YL_TMPDIR/h" cache-control)" no-store "not cached"
CSRF=$(resp .csrf)
expect_match "$CSRF" '^[A-Za-z0-9_-]{43}$' "CSRF token in the answer"
expect_eq "$(resp .user.scope)" 53 "user scope"
SID=$(sed -n 's/^yl_session=\([^;]*\);.*/\1/p' <<<"$SC")
expect_eq "$(db "SELECT count(*) FROM user_sessions WHERE hash = '$SID' OR \
    CAST(hash AS TEXT) = '$SID'")" 0 "the cookie value itself is not stored"
J=(-b "$YL_TMPDIR/jar")
expect_eq "$(api GET /api/v1/session "${J[@]}")" 200 "who am I"
expect_eq "$(resp .user.name)" prov "who am I: name"
expect_eq "$(resp .csrf)" "$CSRF" "who am I repeats the CSRF token"
expect_eq "$(api GET /api/v1/stats/now "${J[@]}")" 200 \
    "a cookie reads what an admin token reads"
ok "sign-in: HttpOnly SameSite=Strict cookie with expiry; who am I"

# ---- the websocket channel takes the cookie (same origin only) ----
node "$(dirname "$0")/ws_session.mjs" "$PORT" "$SID" || fail "ws session"
ok "ws: a session cookie says hello for the console"

# ---- CSRF ----
expect_eq "$(api POST /api/v1/notices "${J[@]}" -d "$NOTICE")" 403 \
    "POST without X-CSRF-Token"
expect_eq "$(resp .error.code)" csrf "CSRF code"
expect_eq "$(api POST /api/v1/notices "${J[@]}" -H 'X-CSRF-Token: AAAA' \
    -d "$NOTICE")" 403 "a wrong X-CSRF-Token"
expect_eq "$(api DELETE /api/v1/lessons/1 "${J[@]}")" 403 \
    "DELETE without X-CSRF-Token"
expect_eq "$(api POST /api/v1/notices "${J[@]}" -H "X-CSRF-Token: $CSRF" \
    -d "$NOTICE")" 201 "POST with the CSRF token"
expect_eq "$(api POST /api/v1/notices -H "Authorization: Bearer $ADMIN" \
    -d "$NOTICE")" 201 "a bearer token needs no CSRF token"
expect_eq "$(api POST /api/v1/notices "${J[@]}" \
    -H "Authorization: Bearer $ADMIN" -d "$NOTICE")" 201 \
    "a bearer token wins over a cookie"
ok "CSRF: missing or wrong → 403; right → 201; bearer requests unaffected"

# ---- a county admin's scope ----
K=(-b "$YL_TMPDIR/jar.county")
expect_eq "$(signin dalishi county-pass-1 "$YL_TMPDIR/jar.county")" 200 \
    "county sign-in"
KCSRF=$(resp .csrf)
expect_eq "$(api GET '/api/v1/stats/now?region=5323' "${K[@]}")" 403 \
    "county admin reads Chuxiong"
expect_eq "$(api GET '/api/v1/stats/now?region=5329' "${K[@]}")" 403 \
    "county admin reads its prefecture"
expect_eq "$(api GET '/api/v1/stats/now' "${K[@]}")" 200 \
    "county admin reads its county"
expect_eq "$(resp .region.code)" 532901 "default region = user scope"
expect_eq "$(api POST /api/v1/notices "${K[@]}" -H "X-CSRF-Token: $KCSRF" \
    -d '{"title":"t","body":"b","targets":["532301103201"]}')" 403 \
    "county admin sends to another county"
expect_eq "$(api POST /api/v1/notices "${K[@]}" -H "X-CSRF-Token: $KCSRF" \
    -d "$NOTICE")" 201 "county admin sends within its county"
expect_eq "$(api POST /api/v1/notices "${K[@]}" -H "X-CSRF-Token: $CSRF" \
    -d "$NOTICE")" 403 "another session's CSRF token"
ok "a county admin signed in acts within its county only"

# ---- a viewer may read, not act ----
V=(-b "$YL_TMPDIR/jar.viewer")
expect_eq "$(signin gen "$GEN" "$YL_TMPDIR/jar.viewer")" 200 "viewer sign-in"
VCSRF=$(resp .csrf)
expect_eq "$(api POST /api/v1/notices "${V[@]}" -H "X-CSRF-Token: $VCSRF" \
    -d "$NOTICE")" 403 "a viewer sends a notice"
ok "viewer: signs in, cannot send"

# ---- expiry ----
# (curl's jar drops the cookie at its Max-Age: send it by hand, as a
# browser whose clock is behind would)
stop_server
printf '[server]\nsession_ttl = 2\n' >"$YL_TMPDIR/short.ini"
start_server --config "$YL_TMPDIR/short.ini"
expect_eq "$(signin prov province-pass "$YL_TMPDIR/jar.short")" 200 \
    "sign-in with 2 s sessions"
CSRF=$(resp .csrf)
SID=$(sed -n 's/^yl_session=\([^;]*\);.*/\1/p' <<<"$(hval "$YL_TMPDIR/h" set-cookie)")
X=(-H "Cookie: yl_session=$SID")
wait_code 401 10 "$BASE/api/v1/session" "${X[@]}" # the 2 s run out
expect_eq "$(api GET /api/v1/session "${X[@]}")" 401 "expired session"
expect_eq "$(resp .error.code)" session_expired "expired code"
expect_eq "$(api POST /api/v1/notices "${X[@]}" -H "X-CSRF-Token: $CSRF" \
    -d "$NOTICE")" 401 "an expired session cannot act"
expect_eq "$(resp .error.code)" session_expired "expired code on an action"
expect_eq "$(api GET /api/v1/lessons "${X[@]}")" 200 \
    "a stale cookie does not break public reads"
ok "expired session: 401 session_expired; public reads still work"
stop_server
start_server --config "$YL_TMPDIR/yl.ini"

# ---- sign-out ----
expect_eq "$(signin prov province-pass)" 200 "sign-in again"
CSRF=$(resp .csrf)
OLD=$(sed -n 's/^yl_session=\([^;]*\);.*/\1/p' <<<"$(hval "$YL_TMPDIR/h" set-cookie)")
expect_eq "$(api DELETE /api/v1/session "${J[@]}")" 403 "sign-out needs CSRF"
ws_hold session "$OLD" # the console's channel, open while it signs out
curl -s -D "$YL_TMPDIR/h" -o /dev/null -b "$YL_TMPDIR/jar" -X DELETE \
    -H "X-CSRF-Token: $CSRF" "$BASE/api/v1/session"
ws_held "signed out: the console's channel closed 4401" \
    '^4401 the session has ended; sign in again$' 6
expect_match "$(hval "$YL_TMPDIR/h" set-cookie)" '^yl_session=;.*Max-Age=0' \
    "sign-out clears the cookie"
expect_eq "$(api GET /api/v1/session -H "Cookie: yl_session=$OLD")" 401 \
    "the old cookie after sign-out"
expect_eq "$(api DELETE /api/v1/session)" 401 "sign-out when not signed in"
ok "sign-out: CSRF, cookie cleared, the session ended on the server"

# ---- password change and disabled users ----
expect_eq "$(signin dalishi county-pass-1 "$YL_TMPDIR/jar.county")" 200 \
    "county sign-in before passwd"
echo 'county-pass-2' | "$YUNLING" user passwd dalishi "${U[@]}"
expect_eq "$(api GET /api/v1/session "${K[@]}")" 401 "passwd ends sessions"
expect_eq "$(signin dalishi county-pass-1)" 401 "the old password"
expect_eq "$(signin dalishi county-pass-2 "$YL_TMPDIR/jar.county")" 200 \
    "the new password"
ws_hold session "$(awk '$6 == "yl_session" { print $7 }' \
    "$YL_TMPDIR/jar.county")"
"$YUNLING" user disable dalishi "${U[@]}"
expect_eq "$(api GET /api/v1/session "${K[@]}")" 401 \
    "a disabled user's session"
ws_held "a disabled user's open channel closed 4401" \
    '^4401 the session has ended; sign in again$' 6
expect_eq "$(signin dalishi county-pass-2)" 403 "a disabled user signs in"
expect_eq "$(resp .error.code)" user_disabled "disabled code"
expect_eq "$(signin dalishi wrong-password)" 401 \
    "a disabled user with a wrong password: no hint"
"$YUNLING" user enable dalishi "${U[@]}"
expect_eq "$(signin dalishi county-pass-2)" 200 "enabled again"
ok "passwd and disable end sessions; a disabled user is refused"

# ---- rate limits ----
echo 'limited-pass' | "$YUNLING" user add --name limited --role admin \
    --scope 53 "${U[@]}"
for i in 1 2 3 4 5; do
    expect_eq "$(signin limited wrong-password)" 401 "failure $i"
done
expect_eq "$(signin limited limited-pass)" 429 \
    "the sixth attempt, even with the right password"
expect_eq "$(resp .error.code)" too_many_attempts "429 code"
RA=$(hval "$YL_TMPDIR/h" retry-after)
expect_match "$RA" '^[0-9]+$' "Retry-After"
[ "$RA" -gt 800 ] && [ "$RA" -le 900 ] || fail "Retry-After $RA not ~15 min"
expect_eq "$(signin prov province-pass)" 200 "other users are not limited"
ok "per user: 5 failures in 15 min → 429 with Retry-After"

stop_server
cat >"$YL_TMPDIR/yl.ini" <<'INI'
[server]
signin_fails_addr = 3
INI
start_server --config "$YL_TMPDIR/yl.ini"
expect_eq "$(signin a1 wrong-password)" 401 "address failure 1"
expect_eq "$(signin a2 wrong-password)" 401 "address failure 2"
expect_eq "$(signin a3 wrong-password)" 401 "address failure 3"
expect_eq "$(signin prov province-pass)" 429 "the address is limited"
ok "per address: signin_fails_addr failures → 429"
stop_server
