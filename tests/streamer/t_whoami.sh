#!/usr/bin/env bash
# GET /api/v1/whoami: a site token names its site (what a player checks at
# setup), an admin token its region with no site, a wrong or expired token
# is a 401; POST /api/v1/views with a wrong token counts as rejected in
# /metrics.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
bearer() { printf 'Authorization: Bearer %s' "$1"; }
rejected() {
    curl -s "$BASE/metrics" |
        sed -n 's/^yunling_view_events_total{result="rejected"} //p'
}

expect_eq "$(api GET /api/v1/whoami -H "$(bearer "$SITE")")" 200 "site token"
expect_eq "$(resp .role)" site "site role"
expect_eq "$(resp .scope)" 532901104201 "site scope"
expect_eq "$(resp .site.code)" 532901104201 "site code"
expect_eq "$(resp .site.name)" 喜洲村委会 "site name"
expect_eq "$(api GET /api/v1/whoami -H "$(bearer "$DALI")")" 200 "admin token"
expect_eq "$(resp .role)" admin "admin role"
expect_eq "$(resp .scope)" 5329 "admin scope"
expect_eq "$(resp .site)" null "an admin token has no site"
expect_eq "$(api GET /api/v1/whoami)" 401 "no token"
expect_eq "$(resp .error.code)" unauthorized "no token code"
expect_eq "$(api GET /api/v1/whoami -H "$(bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)")" \
    401 "unknown token"
expect_match "$(resp .error.message)" "unknown or revoked" "unknown token message"
expect_eq "$(api GET /api/v1/whoami -H "$(bearer "$EXPIRED")")" 401 "expired"
expect_eq "$(resp .error.code)" token_expired "expired code"
expect_eq "$(api POST /api/v1/whoami -H "$(bearer "$SITE")")" 405 "POST"
ok "whoami: site, admin, none, unknown, expired"

r0=$(rejected)
ev='{"events":[{"session":"00000000-0000-4000-8000-000000000001","seq":1,"site":"532901104201","lesson":1,"kind":"start","position_s":0,"audio_lang":"zh","rendition":"720p","client":"tv"}]}'
expect_eq "$(api POST /api/v1/views -H "$(bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" \
    -H 'Content-Type: application/json' --data "$ev")" 401 "views, wrong token"
expect_eq "$(api POST /api/v1/views -H 'Content-Type: application/json' \
    --data "$ev")" 401 "views, no token"
expect_eq "$(rejected)" "$((r0 + 2))" "two refused batches counted as rejected"
stop_server
ok "views refused for the token are counted in /metrics"
