#!/usr/bin/env bash
# Admin tokens act inside their region only, whatever the level: a province
# admin cannot report viewing events for another province's sites.
. "$(dirname "$0")/lib.sh"

setup_catalog # Yunnan (53): ADMIN, DALI, SITE ...
"$YUNLING" sites import --province 52 --data "$DATA" >/dev/null \
    2>>"$YL_TMPDIR/cli.log" || fail "import Guizhou (52)"
tok() { # role scope
    "$YUNLING" token create --role "$1" --scope "$2" --data "$DATA" \
        2>>"$YL_TMPDIR/cli.log"
}
GZ=$(tok admin 52)
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

stop_server
