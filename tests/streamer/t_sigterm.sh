#!/usr/bin/env bash
# SIGTERM: the listener closes at once, an in-flight download finishes
# whole, an idle keep-alive connection does not hold the exit, exit 0.
. "$(dirname "$0")/lib.sh"

mkdir -p "$DATA/hls/7/v0"
head -c 20000000 /dev/urandom >"$DATA/hls/7/v0/big.m4s"
# --init: hls/ was seeded by hand before any catalog existed.
start_server --init

# One server per data directory: a second is refused, naming the first.
rc=0
timeout 10 "$YUNLING" serve --listen 127.0.0.1:0 --data "$DATA" \
    >"$YL_TMPDIR/second.out" 2>"$YL_TMPDIR/second.log" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
    fail "a second server on the same data directory: exit $rc"
grep -q "in use by another yunling serve (pid $SRV_PID)" "$YL_TMPDIR/second.log" ||
    fail "second server's message: $(cat "$YL_TMPDIR/second.log")"
expect_eq "$(curl -s "$BASE/healthz")" ok "the first server is unharmed"
ok "a second server on the same data directory is refused"

# An idle keep-alive connection, left open.
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&5

OUT=$YL_TMPDIR/dl
curl -s --limit-rate 8M -o "$OUT" -w '%{http_code}' \
    "$BASE/hls/7/v0/big.m4s" >"$YL_TMPDIR/dl.code" &
CURL=$!
# In flight for sure (its first bytes arrived), not after a fixed time.
for _ in $(seq 1 200); do
    [ -s "$OUT" ] && break
    sleep 0.05
done
[ -s "$OUT" ] || fail "the download never started"
T0=$(date +%s.%N)
kill -TERM "$SRV_PID"
sleep 0.3
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz" || true)
expect_eq "$st" 000 "a new connection after SIGTERM"
wait "$CURL" || fail "the in-flight download failed"
expect_eq "$(cat "$YL_TMPDIR/dl.code")" 200 "in-flight download status"
cmp -s "$OUT" "$DATA/hls/7/v0/big.m4s" || fail "in-flight download incomplete"
rc=0
wait "$SRV_PID" || rc=$?
SRV_PID=
T1=$(date +%s.%N)
expect_eq "$rc" 0 "exit status"
exec 5>&-
awk -v a="$T0" -v b="$T1" 'BEGIN { exit !(b - a < 10) }' ||
    fail "stopping took more than 10 s"
grep -q 'stopping: listener closed' "$YL_TMPDIR/server.log" ||
    fail "no 'stopping' line in the log"
grep -q ' I str stopped' "$YL_TMPDIR/server.log" || fail "no 'stopped' line"
ok "SIGTERM: refused new connections, finished a 20 MB download, exit 0"
