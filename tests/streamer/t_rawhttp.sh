#!/usr/bin/env bash
# Raw-socket HTTP as an attacker or a flaky village link writes it (issue
# 8): pipelined requests with bodies in one write (the write that once hung
# the server for good), every split point of a views batch followed by the
# next request (once parsed as empty and dropped), duplicate framing
# headers, CONNECT, upgrades, half-close, slowloris headers and bodies, and
# fd exhaustion at a lowered `ulimit -n`. The client is tests/streamer/
# rawhttp.mjs (node's net module, bounded in count and time).
. "$(dirname "$0")/lib.sh"
RAW=$(dirname "$0")/rawhttp.mjs

setup_catalog
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
header_timeout = 2
body_timeout = 2
keepalive = 2
INI
start_server --config "$YL_TMPDIR/y.ini"
make_src "$YL_TMPDIR/src.mp4" 1
api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 >/dev/null
LID=$(resp .lesson)
wait_job "$(resp .job)" done
export PORT SITE LID

for c in pipeline framing upgrades halfclose slow; do
    timeout 120 node "$RAW" "$c" || fail "rawhttp case $c"
done

out=$(timeout 300 node "$RAW" splits) || fail "rawhttp case splits: $out"
echo "$out" | grep '^ok'
read -r _ n prefix < <(echo "$out" | grep '^SPLITS')
expect_eq "$(db "SELECT count(*) FROM sessions WHERE skey LIKE '$prefix%'")" \
    "$n" "sessions stored once each across the splits"
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz after the attacks"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$SRV_PID/status")
[ "$rss" -lt 400000 ] || fail "server RSS ${rss} kB after the attacks"
ok "server RSS ${rss} kB after $n split exchanges"
stop_server

# fd exhaustion: the server under a low descriptor limit.
old=$(ulimit -Sn)
ulimit -Sn 96
start_server --config "$YL_TMPDIR/y.ini"
ulimit -Sn "$old"
timeout 60 node "$RAW" fds || fail "rawhttp case fds"
n=$(grep -c 'accept: ' "$YL_TMPDIR/server.log" || true)
[ "$n" -le 3 ] || fail "accept failures logged $n times (want one line per 10 s)"
grep -q '^yunling_accept_errors_total [1-9]' <<<"$(curl -s "$BASE/metrics")" ||
    fail "no accept errors counted at the fd limit"
ok "fd limit: accept errors counted, logged $n time(s), server answers"
stop_server
