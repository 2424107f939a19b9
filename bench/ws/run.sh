#!/usr/bin/env bash
# bench/ws/run.sh - the websocket fan-out benchmark (issue 10), figures to
# stdout as two JSON lines and a summary:
#  yunling: N connections (default 16,147: every one of Yunnan's 14,888
#  villages with its own site token, 1,259 of them with a second device)
#  say hello and are welcomed; then NOTICES notices to province 53 (sent
#  through POST /api/v1/notices, stored before they are pushed; each
#  client acknowledges "delivered"); latency from the server's sent_ms to
#  receipt, lost frames, server RSS per idle connection, the time until
#  every site's delivery is recorded, and a reconnect storm (every client
#  reconnects at once); and an HTTP probe (GET /api/v1/sites/5329 every
#  10 ms) while idle and while the notices go out.
#  reference: the same clients against a minimal node `ws` broadcast server
#  (bench/ws/ref_server.mjs) in the same run.
# The clients run in another process: the machine allows 20,000 open files
# per process. CLIENT=c (the default): bench/ws/wsclients.c, one epoll
# thread with raw framing; CLIENT=node: clients.mjs's two worker threads
# of node `ws` clients (slower: they add their own queueing to the
# latencies). The same clients drive yunling and the reference.
# Environment: N (16147), NOTICES (10), WORK (scratch dir, removed),
# LOOPS ("poll", the default loop; "poll libuv": a run on each), CLIENT (c),
# SRV_NOFILE (20000: the server's ulimit -n), SRV_CONF (more [server]
# lines for yunling's config, e.g. 'ws_pace = 0\n'), NOREF (1: yunling
# only, no reference run: for A/B runs of two builds back to back),
# CLIENT_ARGS (more clients.mjs arguments, e.g. --noack), PRIOR (0: how
# many notices to province 53, every station's receipt delivered, the
# catalog already holds: a season of notices; written with sqlite3 before
# the server starts, so the same for any build's schema).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-16147}
NOTICES=${NOTICES:-10}
WORK=${WORK:-$(mktemp -d /tmp/yl-bench-ws.XXXXXX)}
B=$src/build-bench
Y=$B/app/yunling
SRV=
REF=

cleanup() {
    [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
    [ -n "$REF" ] && kill -TERM "$REF" 2>/dev/null && wait "$REF" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$WORK" # KEEP=1: logs kept
}
trap cleanup EXIT
ulimit -n 20000

cmake -S "$src" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target yunling yl_wsclients >/dev/null 2>&1
CLIENT=${CLIENT:-c}
CARGS=()
[ "$CLIENT" = c ] && CARGS=(--client c --cbin "$B/bench/ws/yl_wsclients")

D=$WORK/data
mkdir -p "$D"
"$Y" sites import --data "$D" >/dev/null 2>&1
t0=$(date +%s.%N)
"$Y" token create --role site --scope 53 --each-site --data "$D" \
    >"$WORK/sites.tsv" 2>/dev/null
t1=$(date +%s.%N)
ADMIN=$("$Y" token create --role admin --scope 53 --data "$D" 2>/dev/null)
PRIOR=${PRIOR:-0}
if [ "$PRIOR" -gt 0 ]; then
    p0=$(date +%s.%N)
    for _ in $(seq "$PRIOR"); do
        echo "BEGIN;
        INSERT INTO notices(title, body, targets, from_id, n_sites, sent_ms)
            SELECT 'earlier', 'b', '[\"53\"]', 53, count(*), 1
            FROM sites WHERE level >= 4;
        INSERT INTO notice_sites(site_id, notice_id, delivered_ms)
            SELECT id, last_insert_rowid(), 2 FROM sites WHERE level >= 4;
        COMMIT;"
    done | sqlite3 "$D/yunling.db"
    echo "prior notices: $PRIOR in the catalog ($(echo "$(date +%s.%N) - $p0" | bc) s to write)"
fi
echo "clients: $CLIENT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "provisioning: $(wc -l <"$WORK/sites.tsv") village tokens in" \
    "$(echo "$t1 - $t0" | bc) s"

# ---- yunling, on each event loop (config event_loop) ----
run_yunling() {
    local loop=$1 DL=$WORK/data-$1
    cp -a "$D" "$DL" # the same catalog (PRIOR's notices only) for each run
    # SRV_CONF: more [server] lines (e.g. 'ws_pace = 0\n')
    printf '[server]\nevent_loop = %s\n%b' "$loop" "${SRV_CONF:-}" >"$WORK/$loop.ini"
    # SRV_NOFILE: the server's descriptor limit (a storm of N clients
    # needs up to 2 N at once if closes and accepts overlap).
    bash -c 'ulimit -n "$0" && exec "$@"' "${SRV_NOFILE:-20000}" \
        "$Y" serve --listen 127.0.0.1:0 --data "$DL" --config "$WORK/$loop.ini" \
        >"$WORK/serve.out" 2>"$WORK/serve-$loop.log" &
    SRV=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$WORK/serve.out" && break
        sleep 0.1
    done
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/serve.out")
    cat >"$WORK/send.sh" <<SEND
    curl -s -H 'Authorization: Bearer $ADMIN' -H 'content-type: application/json' \
      -d '{"title":"关于秋季森林防火的通知","body":"各村党群服务站：请于本周五前完成秋季森林防火检查。","targets":["53"]}' \
      http://127.0.0.1:$PORT/api/v1/notices
SEND
    node "$src/bench/ws/clients.mjs" --url "ws://127.0.0.1:$PORT/ws" \
        --tokens "$WORK/sites.tsv" --n "$N" --notices "$NOTICES" \
        --send "bash $WORK/send.sh" --pid "$SRV" "${CARGS[@]}" ${CLIENT_ARGS:-} \
        --probe "http://127.0.0.1:$PORT/api/v1/sites/5329" >"$WORK/yl-$loop.json"
    cat "$WORK/yl-$loop.json"
    # Every connected site's delivery recorded: receipts per notice, and the
    # time from sent_ms to the last receipt taken.
    sleep 1
    sqlite3 "$DL/yunling.db" "SELECT 'delivered recorded: notice ' || n.id || ': ' ||
        count(ns.delivered_ms) || ' of ' || n.n_sites || ' sites, last ' ||
        (max(ns.delivered_ms) - n.sent_ms) || ' ms after sent_ms'
        FROM notices n JOIN notice_sites ns ON ns.notice_id = n.id
        WHERE n.sent_ms > 1 GROUP BY n.id ORDER BY n.id" # not PRIOR's
    curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^yunling_(ws|notices)_' || true
    # Storing before the push: how long after sent_ms each notice was queued.
    grep -oE 'notice=.*(queued|written).*' "$WORK/serve-$loop.log" || true
    kill -TERM "$SRV"
    wait "$SRV" || true
    SRV=
}
LOOPS=${LOOPS:-poll}
for loop in $LOOPS; do
    echo "== yunling, event_loop = $loop"
    run_yunling "$loop"
done

[ -n "${NOREF:-}" ] && exit 0

# ---- the reference ----
node "$src/bench/ws/ref_server.mjs" 0 >"$WORK/ref.out" 2>&1 &
REF=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$WORK/ref.out" && break
    sleep 0.1
done
RPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/ref.out")
node "$src/bench/ws/clients.mjs" --url "ws://127.0.0.1:$RPORT/" \
    --tokens "$WORK/sites.tsv" --n "$N" --notices "$NOTICES" \
    --send "curl -s -XPOST http://127.0.0.1:$RPORT/notice" --pid "$REF" "${CARGS[@]}" \
    --ref >"$WORK/ref.json"
cat "$WORK/ref.json"
kill -TERM "$REF"
wait "$REF" 2>/dev/null || true
REF=

for loop in $LOOPS; do
    echo "== ratios, event_loop = $loop"
    node -e '
const y = require(process.argv[1]), r = require(process.argv[2]);
const f = (k) => `${k}: yunling ${y[k]} / node ws ${r[k]} = ${(y[k] / r[k]).toFixed(2)}`;
console.log(f("p50_ms")); console.log(f("p99_ms")); console.log(f("max_ms"));
console.log(f("rss_per_conn_kb")); console.log(f("connect_s")); console.log(f("storm_s"));
console.log(`lost: yunling ${y.lost}, node ws ${r.lost}`);
const p = y.http_probe_during_notices;
if (p) console.log(`HTTP probe during notices: p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms`);
' "$WORK/yl-$loop.json" "$WORK/ref.json"
done
