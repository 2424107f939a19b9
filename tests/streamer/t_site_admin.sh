#!/usr/bin/env bash
# The console's station page: a region's or a station's default language
# set over POST /api/v1/sites/{code}/lang (admin within the code; bad
# input refused), and ?state=1 on the site endpoints: online now and last
# seen, from a real channel connection (site_state.mjs).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

setup_catalog
VIEWER=$("$YUNLING" token create --role viewer --scope 5329 --data "$DATA" \
    2>>"$YL_TMPDIR/cli.log")
start_server
D=(-H "Authorization: Bearer $DALI")
J=(-H 'Content-Type: application/json')

expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":"bo"}')" \
    401 "anonymous"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":"bo"}' \
    -H "Authorization: Bearer $SITE")" 403 "a site token"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":"bo"}' \
    -H "Authorization: Bearer $VIEWER")" 403 "a viewer token"
expect_eq "$(api POST /api/v1/sites/532301/lang "${J[@]}" -d '{"lang":"bo"}' \
    "${D[@]}")" 403 "Dali's admin, a Chuxiong county"
expect_eq "$(api POST /api/v1/sites/539999/lang "${J[@]}" -d '{"lang":"bo"}' \
    "${D[@]}")" 404 "an unknown county"
expect_eq "$(api POST /api/v1/sites/53290x/lang "${J[@]}" -d '{"lang":"bo"}' \
    "${D[@]}")" 400 "not a code"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":' \
    "${D[@]}")" 400 "malformed JSON"
expect_eq "$(resp .error.code)" malformed_json "malformed JSON: its code"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":7}' \
    "${D[@]}")" 400 "lang a number"
expect_match "$(resp .error.message)" '^lang:' "the field is named"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{}' \
    "${D[@]}")" 400 "no lang"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" \
    -d '{"lang":"not a tag!"}' "${D[@]}")" 400 "not a BCP-47 tag"
long="bo-$(printf 'x%.0s' $(seq 70))"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" \
    -d "{\"lang\":\"$long\"}" "${D[@]}")" 400 "a tag of 73 bytes (never cut to fit)"
ok "default language: 401, 403 (role, region), 404, 400 (code, JSON, type, tag)"

expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":"bo"}' \
    "${D[@]}")" 200 "a county's language"
expect_eq "$(resp .own_lang)" bo "stored"
expect_eq "$(api GET /api/v1/sites/532901104201)" 200 "a village below"
expect_eq "$(resp .lang)" bo "inherited by its villages"
expect_eq "$(resp .lang_from)" 532901 "from the county"
expect_eq "$(api POST /api/v1/sites/532901104201/lang "${J[@]}" \
    -d '{"lang":"BOD"}' "${D[@]}")" 200 "a station's own (an alias)"
expect_eq "$(resp .own_lang)" bo "stored canonical"
expect_eq "$(api POST /api/v1/sites/532901/lang "${J[@]}" -d '{"lang":null}' \
    "${D[@]}")" 200 "cleared"
expect_eq "$(resp .own_lang)" null "the county inherits again"
expect_eq "$(db "SELECT lang FROM sites WHERE code = '532901'")" "" \
    "cleared in the catalog"
ok "default language: set, inherited, canonical, cleared"

expect_eq "$(api GET '/api/v1/sites?parent=532901104&state=1')" 401 \
    "state: anonymous"
expect_eq "$(api GET '/api/v1/sites?parent=532901104&state=1' \
    -H "Authorization: Bearer $SITE")" 403 "state: a site token"
expect_eq "$(api GET '/api/v1/sites?parent=532301&state=1' "${D[@]}")" 403 \
    "state: another prefecture"
expect_eq "$(api GET '/api/v1/sites?parent=532901104&state=2' "${D[@]}")" 400 \
    "state=2"
expect_eq "$(api GET '/api/v1/sites?parent=532901104')" 200 "no state: open"
expect_eq "$(resp '.items[0] | has("online")')" false "no state: none shown"
expect_eq "$(api GET '/api/v1/sites?parent=532901104&state=1' \
    -H "Authorization: Bearer $VIEWER")" 200 "state: a viewer in scope"
ok "state=1: 401, 403 (role, region), 400; anonymous lists stay as they were"

export PORT DALI SITE
node "$here/site_state.mjs" || fail "online and last seen"
stop_server
