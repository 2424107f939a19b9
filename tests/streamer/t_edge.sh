#!/usr/bin/env bash
# The edge tier on stock nginx (deploy/nginx/edge.conf, unchanged but for
# the origin's address, the port and the cache path): one origin, two
# edges on loopback. Hundreds of clients (another process) fetch the same
# lesson through the edges at once and the origin sees about one request
# per file per edge (proxy_cache_lock); with the origin stopped both edges
# keep serving the lesson (proxy_cache_use_stale); a websocket through an
# edge receives a notice; the API passes through; a view through an edge
# is stored with the village's address (trusted_proxies).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps.sh)"

setup_catalog
L=$DATA/hls/7
make_hls "$L"
# The edges connect from 127.0.0.1: the origin believes their
# X-Forwarded-For, nobody else's.
printf '[server]\ntrusted_proxies = 127.0.0.1\n' >"$YL_TMPDIR/origin.ini"
start_server --init --config "$YL_TMPDIR/origin.ini"
edge e1
E1=$EPORT
edge e2
E2=$EPORT
ok "two edges up ($E1, $E2) in front of the origin ($PORT)"

hls_count() {
    curl -s "$BASE/metrics" |
        awk '/^yunling_http_requests_total\{route="hls"/ { s += $2 } END { print s + 0 }'
}
(cd "$L" && find . -type f ! -name lesson.json | sed 's|^\.|/hls/7|' | sort) \
    >"$YL_TMPDIR/paths"
NFILES=$(wc -l <"$YL_TMPDIR/paths")
before=$(hls_count)
out=$(node "$here/edge_load.mjs" "http://127.0.0.1:$E1,http://127.0.0.1:$E2" \
    "$YL_TMPDIR/paths" 300)
expect_match "$out" '"failed":0' "300 clients through the edges"
got=$(($(hls_count) - before))
served=$((300 * NFILES))
echo "origin saw $got HLS requests for $served responses ($NFILES files, 2 edges)"
# About one per file per edge; the 2 s playlists may be fetched again
# while the load runs.
[ "$got" -le $((2 * NFILES + 8)) ] ||
    fail "origin saw $got requests, want about $((2 * NFILES)) (one per file per edge)"
ok "proxy_cache_lock: $served responses cost the origin $got requests"

# The API and the websocket channel pass through an edge.
expect_eq "$(code "http://127.0.0.1:$E1/api/v1/sites/5329")" 200 "API through an edge"
expect_eq "$(code "http://127.0.0.1:$E1/metrics")" 404 "the origin's metrics stay private"
cat >"$YL_TMPDIR/ws_edge.mjs" <<JS
import { Client, check, api } from '$here/wslib.mjs';
const tv = new Client($E2);
await tv.hello('$SITE');
const r = await api($E1, 'POST', '/api/v1/notices', '$ADMIN',
    { title: '经边缘节点', body: '测试', targets: ['532901104201'] });
check(r.status === 201, 'a notice sent through edge 1: 201');
const n = await tv.next('notice');
check(n.id === r.json.id, 'received over a websocket through edge 2');
tv.close();
process.exit(0);
JS
node "$YL_TMPDIR/ws_edge.mjs" || fail "websocket through an edge"

# A view is for a lesson of the catalog: one uploaded through the API.
make_src "$YL_TMPDIR/src.mp4" 2
expect_eq "$(api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课)" 202 "a lesson for the views"
VL=$(resp .lesson)
wait_job "$(resp .job)" done
# A view through an edge is stored with the village's own address (the
# village at 127.0.0.5; the edge appends it to X-Forwarded-For); a client
# at 127.0.0.7 talking to the origin directly cannot forge one.
view() { # session interface port [extra header]
    curl -s -o /dev/null -w '%{http_code}' --interface "$2" \
        -H "Authorization: Bearer $SITE" -H 'Content-Type: application/json' \
        ${4:+-H "$4"} -d "{\"events\":[{\"session\":\"$1\",\"seq\":1,\"site\":\"532901104201\",\"lesson\":$VL,\"kind\":\"start\",\"position_s\":0}]}" \
        "http://127.0.0.1:$3/api/v1/views"
}
expect_eq "$(view edge-s1 127.0.0.5 "$E1" 'X-Forwarded-For: 6.6.6.6')" 200 \
    "a view through an edge"
expect_eq "$(db "SELECT addr FROM sessions WHERE skey = 'edge-s1'")" \
    127.0.0.5 "stored with the village's address, not the edge's or a forged one"
expect_eq "$(view direct-s1 127.0.0.7 "$PORT" 'X-Forwarded-For: 6.6.6.6')" \
    200 "a view straight to the origin"
expect_eq "$(db "SELECT addr FROM sessions WHERE skey = 'direct-s1'")" \
    127.0.0.7 "an untrusted peer's X-Forwarded-For is ignored"
pad=$(printf '10.0.0.1, %.0s' $(seq 60))
expect_eq "$(view edge-s2 127.0.0.5 "$E1" "X-Forwarded-For: $pad")" 200 \
    "a view through an edge with a padded X-Forwarded-For"
expect_eq "$(db "SELECT addr FROM sessions WHERE skey = 'edge-s2'")" \
    unknown "too long to read: neither the edge's address nor a guess"
ok "the client's address through the edge (trusted_proxies)"

# The origin goes away: the edges keep serving what they have, playlists
# past their 2 s lifetime included (stale).
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
sleep 3 # the playlists' max-age (2 s) runs out
out=$(node "$here/edge_load.mjs" "http://127.0.0.1:$E1,http://127.0.0.1:$E2" \
    "$YL_TMPDIR/paths" 20)
expect_match "$out" '"failed":0' "with the origin down, both edges serve the lesson"
expect_eq "$(code "http://127.0.0.1:$E1/api/v1/sites/5329")" 502 \
    "the API says the origin is down (502)"
ok "edge tier"
