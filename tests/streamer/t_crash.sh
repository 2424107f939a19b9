#!/usr/bin/env bash
# Crash test: while clients post viewing events, kill -9 the server,
# restart it, and check that every acknowledged event is in the database.
# Then the same with SIGTERM, which must also exit 0.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 2
start_server
api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 >/dev/null
LID=$(resp .lesson)
wait_job "$(resp .job)" done

LOAD=$YL_BINDIR/tests/streamer/yl_viewload
[ -x "$LOAD" ] || fail "$LOAD not built"

# load PREFIX: 16 connections post batches of 5 events until the server
# goes away (or 20 s); every acknowledged batch lands in $YL_TMPDIR/acked.
load() {
    "$LOAD" --port "$PORT" --token "$SITE" --site 532901104201 \
        --lesson "$LID" --conns 16 --batch 5 --seconds 20 --prefix "$1" \
        --acked "$YL_TMPDIR/acked" >"$YL_TMPDIR/load-$1.json"
}

check_acked() { # what
    local acked missing stored
    acked=$(awk '{ n += $3 } END { print n + 0 }' "$YL_TMPDIR/acked")
    [ "$acked" -ge 100 ] || fail "$1: only $acked events acknowledged"
    awk '$3 != $4 { bad = 1 } END { exit bad }' "$YL_TMPDIR/acked" ||
        fail "$1: a fresh batch was not accepted whole"
    # Every acknowledged (session, seq) is a row of view_events.
    awk '{ for (i = 0; i < $3; i++) print $1 "," $2 + i }' \
        "$YL_TMPDIR/acked" >"$YL_TMPDIR/expected.csv"
    missing=$(sqlite3 -cmd '.timeout 5000' "$DATA/yunling.db" \
        'CREATE TEMP TABLE exp (skey TEXT, seq INTEGER)' '.mode csv' \
        ".import $YL_TMPDIR/expected.csv exp" '.mode list' \
        'SELECT count(*) FROM exp e LEFT JOIN sessions s ON s.skey = e.skey
         LEFT JOIN view_events v ON v.session_id = s.id AND v.seq = e.seq
         WHERE v.seq IS NULL')
    expect_eq "$missing" 0 "$1: acknowledged events missing from the DB"
    stored=$(db "SELECT count(*) FROM view_events")
    [ "$stored" -ge "$acked" ] || fail "$1: $stored stored < $acked acked"
    echo "$acked events acknowledged, all in the DB ($stored stored)"
}

: >"$YL_TMPDIR/acked"
load k &
LP=$!
sleep 2
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
wait "$LP"
jq -e '.server_gone and .errors == 0' "$YL_TMPDIR/load-k.json" >/dev/null ||
    fail "load: $(cat "$YL_TMPDIR/load-k.json")"
start_server
MSG=$(check_acked "kill -9")
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz after the restart"
ok "kill -9 while posting: $MSG"

: >"$YL_TMPDIR/acked"
load t &
LP=$!
sleep 1.5
kill -TERM "$SRV_PID"
rc=0
wait "$SRV_PID" || rc=$?
SRV_PID=
wait "$LP"
expect_eq "$rc" 0 "exit status after SIGTERM while posting"
MSG=$(check_acked "SIGTERM")
ok "SIGTERM while posting: exit 0, $MSG"
