#!/usr/bin/env bash
# Sites imported while the server runs: /stats/now knows a region that was
# added to the database after the server started (its in-memory site tree
# is reloaded on demand), and an unknown region is still a 404.
. "$(dirname "$0")/lib.sh"

setup_catalog
# Nujiang (5333) missing at start, as if the import came later.
sqlite3 "$DATA/yunling.db" "PRAGMA foreign_keys=OFF;
    DELETE FROM sites WHERE code LIKE '5333%';"
[ "$(db "SELECT count(*) FROM sites WHERE code LIKE '5333%'")" = 0 ] ||
    fail "could not remove 5333 for the test"
start_server
AUTH=(-H "Authorization: Bearer $ADMIN")
expect_eq "$(api GET '/api/v1/stats/now?region=5333' "${AUTH[@]}")" 404 \
    "region not imported yet"
"$YUNLING" sites import --data "$DATA" >"$YL_TMPDIR/import.txt" 2>&1 ||
    fail "import while the server runs: $(cat "$YL_TMPDIR/import.txt")"
# The on-demand reload is tried at most every 2 s: poll until it has been.
wait_code 200 10 "$BASE/api/v1/stats/now?region=5333" "${AUTH[@]}"
expect_eq "$(api GET '/api/v1/stats/now?region=5333' "${AUTH[@]}")" 200 \
    "region imported while running"
expect_eq "$(resp .region.code)" 5333 "region code"
[ "$(resp '.items | length')" -ge 4 ] || fail "5333 has $(resp '.items | length') counties"
sleep 2.1
expect_eq "$(api GET '/api/v1/stats/now?region=5399' "${AUTH[@]}")" 404 \
    "a region that does not exist"
expect_eq "$(curl -s "$BASE/healthz")" ok healthz
stop_server
ok "/stats/now finds a region imported while the server runs"
