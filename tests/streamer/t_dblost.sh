#!/usr/bin/env bash
# A database deleted or replaced under a running server (issue 8, bug 7):
# the next write is not acknowledged, the server stops with a non-zero
# exit and says why; a restart does not create an empty catalog over a
# data directory that still has lessons or uploads unless --init says so.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 1
start_server
api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 >/dev/null
LID=$(resp .lesson)
wait_job "$(resp .job)" done
S=(-H "Authorization: Bearer $SITE" -H 'Content-Type: application/json')
views() { # session
    printf '{"events":[{"session":"%s","seq":1,"site":"532901104201","lesson":%d,"kind":"start","position_s":0,"audio_lang":"zh","rendition":"480p","client":"tv"}]}' \
        "$1" "$LID"
}
expect_eq "$(api POST /api/v1/views "${S[@]}" -d "$(views a)")" 200 \
    "views before the delete"

# wait_exit WHAT: the server stops by itself within 5 s with a non-zero
# status, left in EXIT_RC.
wait_exit() {
    local i
    for i in $(seq 1 50); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$SRV_PID" 2>/dev/null && fail "$1: the server keeps running"
    EXIT_RC=0
    wait "$SRV_PID" || EXIT_RC=$?
    SRV_PID=
    [ "$EXIT_RC" -ne 0 ] || fail "$1: exit status 0"
}

# 1. Deleted: the write right after is refused, the server stops.
rm -f "$DATA/yunling.db"
st=$(api POST /api/v1/views "${S[@]}" -d "$(views b)" || true)
[ "$st" != 200 ] || fail "a write after the delete answered 200"
wait_exit "database deleted"
grep -q 'removed or replaced' "$YL_TMPDIR/server.log" ||
    fail "no clear error in the log"
[ "$(curl -s "http://127.0.0.1:$PORT/healthz" || true)" != ok ] ||
    fail "healthz still ok"
ok "database deleted: write refused ($st), server exited $EXIT_RC"

# 2. A restart must not create an empty catalog next to hls/$LID.
rm -f "$DATA/yunling.db-wal" "$DATA/yunling.db-shm"
rc=0
"$YUNLING" serve --listen 127.0.0.1:0 --data "$DATA" \
    >"$YL_TMPDIR/refused.out" 2>"$YL_TMPDIR/refused.err" || rc=$?
[ "$rc" -ne 0 ] || fail "serve started over a data dir without its database"
grep -q -- '--init' "$YL_TMPDIR/refused.err" ||
    fail "the refusal does not mention --init: $(cat "$YL_TMPDIR/refused.err")"
[ ! -e "$DATA/yunling.db" ] || fail "a fresh database was created anyway"
rc=0
"$YUNLING" token create --role admin --scope 53 --data "$DATA" \
    >/dev/null 2>"$YL_TMPDIR/refused.err" || rc=$?
[ "$rc" -ne 0 ] || fail "token create made a fresh catalog"
[ ! -e "$DATA/yunling.db" ] || fail "token create created a database"
ok "restart refused without --init (serve and token create)"

# 3. --init creates it; an empty data dir needs no --init.
start_server --init
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz after --init"
stop_server
mkdir -p "$YL_TMPDIR/other"
"$YUNLING" sites list --data "$YL_TMPDIR/other" \
    >/dev/null 2>>"$YL_TMPDIR/cli.log" ||
    fail "an empty data dir was not initialised without --init"
ok "--init creates the catalog; an empty data dir needs no flag"

# 4. Replaced (another database moved over it) while running.
setup_catalog
start_server
up() {
    api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
        -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 || true
}
expect_eq "$(up)" 202 "an upload before the replacement"
mv "$YL_TMPDIR/other/yunling.db" "$DATA/yunling.db"
st=$(up)
[ "$st" != 202 ] || fail "an upload after the replacement was answered 202"
wait_exit "database replaced"
ok "database replaced: write refused ($st), server exited $EXIT_RC"
