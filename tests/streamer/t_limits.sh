#!/usr/bin/env bash
# A request line or header over the limit gets 414 / 431 (not a hang or a
# crash); the limit comes from the config file; the server stays healthy.
. "$(dirname "$0")/lib.sh"

mkdir -p "$DATA/hls/7"
echo '#EXTM3U' >"$DATA/hls/7/master.m3u8"
cat >"$YL_TMPDIR/yunling.ini" <<'INI'
[server]
# a small limit, so the test does not need huge requests
max_header = 1024
# the libuv loop (the default is lws's poll): tested here
event_loop = libuv
INI
# --init: hls/ was seeded by hand before any catalog existed.
start_server --init --config "$YL_TMPDIR/yunling.ini"

long() { head -c "$1" /dev/zero | tr '\0' a; }

expect_eq "$(code "$BASE/hls/7/master.m3u8?x=$(long 700)")" 200 \
    "query under the limit"
expect_eq "$(code "$BASE/hls/7/$(long 1500)")" 414 "long path"
expect_eq "$(code "$BASE/hls/7/master.m3u8?x=$(long 1500)")" 414 "long query"
curl -s "$BASE/$(long 1500)" | jq -e '.error.code == "uri_too_long"' \
    >/dev/null || fail "414 body is a JSON error"
expect_eq "$(code -A "$(long 1500)" "$BASE/hls/7/master.m3u8")" 431 \
    "long User-Agent"
expect_eq "$(code -H "Authorization: Bearer $(long 1500)" \
    "$BASE/api/v1/lessons")" 431 "long Authorization"
expect_eq "$(code -H "Cookie: a=$(long 1500)" "$BASE/hls/7/master.m3u8")" \
    431 "long Cookie"
ok "414 for a long request line, 431 for a long header"

# Any header larger than the request's head space, or several that add up
# past it (4 x max_header = 4096 bytes here), or too many lines: answered
# 431 and the connection closed (lws once dropped these without a word).
expect_eq "$(code -H "X-Junk: $(long 70000)" "$BASE/hls/7/master.m3u8")" \
    431 "a 70 kB unknown header"
expect_eq "$(code "$BASE/hls/7/master.m3u8")" 200 "served after the junk"
junk=()
for i in 1 2 3 4 5 6 7 8; do junk+=(-H "X-Junk-$i: $(long 700)"); done
expect_eq "$(code "${junk[@]}" "$BASE/hls/7/master.m3u8")" 431 \
    "5.6 kB of unknown headers"
junk=()
for i in $(seq 1 120); do junk+=(-H "X-L$i: v"); done
expect_eq "$(code "${junk[@]}" "$BASE/hls/7/master.m3u8")" 431 \
    "120 header lines"
# A head filled to its limit, then many short headers after it: nothing
# more is stored (ASan once saw the separators written past the buffer).
junk=(-H "X-Fill: $(long 1000)" -H "X-Fill2: $(long 1000)" \
    -H "X-Fill3: $(long 1000)" -H "X-Fill4: $(long 1000)")
for i in $(seq 1 90); do junk+=(-H "X-$i: v"); done
expect_eq "$(code "${junk[@]}" "$BASE/hls/7/master.m3u8")" 431 \
    "a full head, then 90 short headers"
expect_eq "$(code "$BASE/hls/7/master.m3u8")" 200 \
    "served after many unknown headers"
ok "oversized or too many headers answered 431; server healthy"

# A client that sends part of a request and goes away (first request of a
# connection, or the second after a complete one) costs nothing: no error
# in the log, and the next request is served.
nlog=$(wc -l <"$YL_TMPDIR/server.log")
half='GET /hls/7/master.m3u8 HTTP/1.1\r\nHost: x\r\nX-Half: ab'
full='GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
for req in "$half" "$full$half" "$full${half%%Host*}"; do
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf "$req" >&3
    sleep 0.1
    exec 3>&-
done
sleep 0.2
expect_eq "$(code "$BASE/healthz")" 200 "served after half requests"
kill -0 "$SRV_PID" 2>/dev/null || fail "server died after half requests"
errs=$(tail -n +$((nlog + 1)) "$YL_TMPDIR/server.log" | grep -E '^[^ ]+ E ' ||
    true)
[ -z "$errs" ] || fail "half requests logged errors: $errs"
ok "clients that hang up mid-headers do no harm"

# Under the default limit (8 KiB) the same 1500-byte query is fine.
stop_server
start_server --init
expect_eq "$(code "$BASE/hls/7/master.m3u8?x=$(long 1500)")" 200 \
    "1500 bytes under 8 KiB"
stop_server
ok "max_header from the config file"
