#!/usr/bin/env bash
# The console's provisioning page: POST /api/v1/sites/{code}/tokens makes
# a site token with a setup path for every village of a county (once;
# rotate replaces them), DELETE revokes a station's tokens; both within
# the admin's region only.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server --config "$(token_cache_conf)"
A=(-H "Authorization: Bearer $ADMIN")
D=(-H "Authorization: Bearer $DALI")
N=$(db "SELECT count(*) FROM sites WHERE code LIKE '532901%' AND level = 5")

expect_eq "$(api POST /api/v1/sites/532901/tokens)" 401 "anonymous"
expect_eq "$(api POST /api/v1/sites/532901/tokens -H "Authorization: Bearer $SITE")" \
    403 "a site token"
expect_eq "$(api POST /api/v1/sites/532301/tokens "${D[@]}")" 403 \
    "Dali's admin provisions a Chuxiong county"
expect_eq "$(api POST /api/v1/sites/5329/tokens "${D[@]}")" 400 \
    "a prefecture at once (the CLI's job)"
expect_eq "$(api POST '/api/v1/sites/532901/tokens?level=county' "${D[@]}")" 400 \
    "a bad level"
expect_eq "$(api POST /api/v1/sites/539999/tokens "${A[@]}")" 404 "an unknown county"
ok "provision: 401, 403 (role, region), 400, 404"

expect_eq "$(api POST /api/v1/sites/532901/tokens "${D[@]}")" 201 "provision"
# 喜洲村委会 already had a site token (setup_catalog): kept, not listed.
expect_eq "$(resp .created)" "$((N - 1))" "one token per village without one"
expect_eq "$(resp .kept)" 1 "the village that had one keeps it"
T=$(resp '.tokens[0].token')
C=$(resp '.tokens[0].code')
expect_match "$(resp '.tokens[0].setup')" "^/\?setup=$C\.$T\$" "setup path"
expect_match "$(resp '.tokens[0].name')" '.' "village name"
expect_eq "$(api GET /api/v1/whoami -H "Authorization: Bearer $T")" 200 \
    "the new token works"
expect_eq "$(resp .site.code)" "$C" "for its village"
expect_eq "$(api POST /api/v1/sites/532901/tokens "${D[@]}")" 201 "again"
expect_eq "$(resp .created)" 0 "idempotent: nothing new"
ok "provision: a token and setup path per village, once"

expect_eq "$(api DELETE /api/v1/sites/532301103201/tokens "${D[@]}")" 403 \
    "Dali's admin revokes a Chuxiong station"
expect_eq "$(api DELETE "/api/v1/sites/$C/tokens" "${D[@]}")" 200 "revoke"
expect_eq "$(resp .revoked)" 1 "one token revoked"
# The server trusts a verified token for test_token_cache_ms (300 here).
wait_code 401 5 "$BASE/api/v1/whoami" -H "Authorization: Bearer $T"
expect_eq "$(api GET /api/v1/whoami -H "Authorization: Bearer $T")" 401 \
    "the revoked token"
expect_eq "$(api POST '/api/v1/sites/532901/tokens?rotate=1' "${D[@]}")" 201 \
    "rotate"
expect_eq "$(resp .created)" "$N" "rotate: new tokens for every village"
expect_eq "$(api GET /api/v1/whoami -H "Authorization: Bearer $SITE")" 401 \
    "rotate revokes the old ones"
ok "revoke one station; rotate replaces every token"
stop_server
