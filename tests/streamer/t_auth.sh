#!/usr/bin/env bash
# Bearer tokens: 401 (missing, malformed, unknown, revoked, expired) and
# 403 (site token doing admin things, admin outside its region, site token
# for another site); anonymous reads of the public catalog.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server --config "$(token_cache_conf)"
EV='{"events":[{"session":"a1","seq":1,"site":"532301103201","lesson":1,"kind":"start","position_s":0}]}'
bearer() { echo "Authorization: Bearer $1"; }

# anonymous: public reads work, the rest is 401
expect_eq "$(api GET /api/v1/lessons)" 200 "anonymous lesson list"
expect_eq "$(api GET /api/v1/sites/5329)" 200 "anonymous site"
expect_eq "$(api POST /api/v1/views -d "$EV")" 401 "anonymous views"
expect_eq "$(resp .error.code)" unauthorized "401 code"
expect_match "$(resp .error.message)" "token" "401 message names the token"
curl -s -D "$YL_TMPDIR/h" -o /dev/null -X POST -d "$EV" "$BASE/api/v1/views"
expect_match "$(hval "$YL_TMPDIR/h" www-authenticate)" Bearer "WWW-Authenticate"
# Without a header the token may ride in a beacon's text/plain body, which
# is held to a beacon's 64 KB (max_body is 1 MB here).
PAD=$(head -c 70000 /dev/zero | tr '\0' ' ')
expect_eq "$(api POST /api/v1/views -H 'Content-Type: text/plain' \
    -d "{\"token\":\"$SITE\",\"events\":[]}$PAD")" 413 "anonymous beacon body over 64 KB"
expect_eq "$(api POST /api/v1/views -H 'Content-Type: text/plain' \
    -d '{"events":[]}')" 401 "a beacon body without a token"
expect_eq "$(api POST /api/v1/lessons -F x=1)" 401 "anonymous upload"
expect_eq "$(api GET /api/v1/jobs/1)" 401 "anonymous job"
expect_eq "$(api GET /api/v1/stats/now)" 401 "anonymous stats"
expect_eq "$(api DELETE /api/v1/lessons/1)" 401 "anonymous delete"
ok "anonymous: public reads 200, the rest 401"

# malformed / wrong / revoked / expired
expect_eq "$(api GET /api/v1/stats/now -H 'Authorization: Basic dXNlcjpwdw==')" \
    401 "Basic auth"
expect_match "$(resp .error.message)" Bearer "malformed header message"
expect_eq "$(api GET /api/v1/stats/now -H "$(bearer nope)")" 401 "short token"
expect_eq "$(api GET /api/v1/stats/now -H "$(bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)")" \
    401 "unknown token"
expect_match "$(resp .error.message)" "unknown or revoked" "unknown token msg"
expect_eq "$(api GET /api/v1/lessons -H "$(bearer nope)")" 401 \
    "a bad token is refused even where none is needed"
expect_eq "$(api GET /api/v1/stats/now -H "$(bearer "$EXPIRED")")" 401 \
    "expired token"
expect_eq "$(resp .error.code)" token_expired "expired code"
expect_match "$(resp .error.message)" "expired at 1970-01-01" "expired message"
T=$("$YUNLING" token create --role admin --scope 53 --name revoke-me \
    --data "$DATA" 2>/dev/null)
expect_eq "$(api GET /api/v1/stats/now -H "$(bearer "$T")")" 200 "before revoke"
TID=$(db "SELECT id FROM tokens WHERE name = 'revoke-me'")
"$YUNLING" token revoke "$TID" --data "$DATA" >/dev/null 2>&1
# The server trusts a verified token for test_token_cache_ms (300 here).
wait_code 401 5 "$BASE/api/v1/stats/now" -H "$(bearer "$T")"
expect_eq "$(api GET /api/v1/stats/now -H "$(bearer "$T")")" 401 "revoked"
ok "401: Basic, short, unknown, expired (clear message), revoked"

# 403: roles and scopes
S=(-H "$(bearer "$SITE")")
D=(-H "$(bearer "$DALI")")
expect_eq "$(api POST /api/v1/lessons "${S[@]}" -F x=1)" 403 "site token uploads"
expect_eq "$(resp .error.code)" forbidden "403 code"
expect_eq "$(api GET /api/v1/jobs/1 "${S[@]}")" 403 "site token reads a job"
expect_eq "$(api DELETE /api/v1/lessons/1 "${S[@]}")" 403 "site token deletes"
expect_eq "$(api GET /api/v1/stats/now "${S[@]}")" 403 "site token stats/now"
expect_eq "$(api GET /api/v1/stats/sites/532301103201 "${S[@]}")" 403 \
    "site token reads another site"
expect_eq "$(api GET /api/v1/stats/sites/532901104201 "${S[@]}")" 200 \
    "site token reads its own site"
expect_eq "$(api POST /api/v1/views "${S[@]}" -d "$EV")" 403 \
    "site token reports another site"
expect_match "$(resp .error.message)" 532301103201 "403 names the site"
expect_eq "$(api GET '/api/v1/stats/now?region=5323' "${D[@]}")" 403 \
    "Dali admin reads Chuxiong"
expect_match "$(resp .error.message)" "outside" "out-of-scope message"
expect_eq "$(api GET /api/v1/stats/now "${D[@]}")" 200 \
    "Dali admin defaults to its region"
expect_eq "$(resp .region.code)" 5329 "default region = token scope"
expect_eq "$(api GET '/api/v1/stats/ranking?region=532901' "${D[@]}")" 200 \
    "Dali admin reads one of its counties"
expect_eq "$(api GET '/api/v1/stats/ranking?region=53' "${D[@]}")" 403 \
    "Dali admin reads the province"
expect_eq "$(api GET /api/v1/stats/sites/532301103201 "${D[@]}")" 403 \
    "Dali admin reads a Chuxiong village"
expect_eq "$(api POST /api/v1/views "${D[@]}" -d "$EV")" 403 \
    "Dali admin reports for Chuxiong"
ok "403: site token vs admin endpoints, admin outside its region"
stop_server
