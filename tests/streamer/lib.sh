# lib.sh - helpers for the streamer's integration tests (sourced).
# Each test runs the real `yunling serve` on 127.0.0.1 port 0 with a data
# directory under $YL_TMPDIR and talks to it with real clients.
set -euo pipefail
: "${YUNLING:?YUNLING must name the yunling binary}"
: "${YL_TMPDIR:?YL_TMPDIR must be a scratch directory}"

DATA=$YL_TMPDIR/data
SRV_PID=
PORT=
BASE=
NGX=() # edge() nginx processes

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() { echo "ok - $*"; }

expect_eq() { # got want what
    [ "$1" == "$2" ] || fail "$3: got '$1', want '$2'"
}
expect_match() { # got regex what
    [[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
}

# HTTP status of a request (curl args).
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# One response header's value (lower-case name), from a curl -D dump file.
hval() { # file name
    grep -i "^$2:" "$1" | head -1 | cut -d: -f2- | sed 's/^ *//' | tr -d '\r'
}

_on_exit() {
    local rc=$?
    cleanup_edges
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill -KILL "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ] && [ -f "$YL_TMPDIR/server.log" ]; then
        echo "--- server log (tail) ---" >&2
        tail -n 40 "$YL_TMPDIR/server.log" >&2
    fi
    if [ $rc -ne 0 ]; then
        # The transcoder's own messages (a failed attempt says "see
        # jobs/N.log"); progress lines left out.
        for f in "$DATA"/jobs/*.log; do
            [ -f "$f" ] || continue
            echo "--- $f (tail, no progress lines) ---" >&2
            grep -v '^{"event":"progress"' "$f" | tail -n 40 >&2
        done
    fi
    exit $rc
}
trap _on_exit EXIT

# start_server [serve args...]: starts the server, sets SRV_PID/PORT/BASE.
start_server() {
    mkdir -p "$DATA"
    : >"$YL_TMPDIR/server.out"
    "$YUNLING" serve --listen 127.0.0.1:0 --data "$DATA" "$@" \
        >"$YL_TMPDIR/server.out" 2>>"$YL_TMPDIR/server.log" &
    SRV_PID=$!
    local i
    for i in $(seq 1 200); do
        if grep -q '^listening on ' "$YL_TMPDIR/server.out"; then
            break
        fi
        kill -0 "$SRV_PID" 2>/dev/null || fail "server exited at start"
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
        "$YL_TMPDIR/server.out")
    [ -n "$PORT" ] || fail "server printed no 'listening on' line"
    BASE=http://127.0.0.1:$PORT
}

# start_server_env VAR=value... [-- ARGS...]: start_server ARGS with the
# server alone under env VAR=value... (start_server runs "$YUNLING serve",
# so a wrapper script takes its place for this one start).
start_server_env() {
    local w=$YL_TMPDIR/yunling-env.sh saved=$YUNLING vars=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    [ $# -eq 0 ] || shift
    {
        echo '#!/bin/sh'
        printf 'exec env'
        printf ' %q' "${vars[@]}" "$saved"
        echo ' "$@"'
    } >"$w"
    chmod +x "$w"
    YUNLING=$w
    start_server "$@"
    YUNLING=$saved
}

# faketime_env RCFILE: FT_ENV=(the environment that runs the server under
# libfaketime, Debian package faketime, its wall clock offset by what
# RCFILE holds: "+0", "-1d", "+3h"), for start_server_env. Only
# CLOCK_REALTIME moves, as in a real step. FT_ENV=() and the reason in
# FT_WHY where it cannot: not installed, or a ThreadSanitizer build (both
# intercept the clock calls).
faketime_env() {
    local lib libs
    FT_ENV=()
    FT_WHY=
    lib=$(compgen -G '/usr/lib/*/faketime/libfaketimeMT.so.1' | head -1 || true)
    if [ -z "$lib" ]; then
        FT_WHY="libfaketime is not installed (Debian package faketime)"
        return 0
    fi
    libs=$(ldd "$YUNLING" 2>/dev/null || true)
    if [[ $libs == *libtsan* ]]; then
        FT_WHY="a ThreadSanitizer build"
        return 0
    fi
    FT_ENV=(LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE="$1"
        FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1)
    # ASan wants its runtime first in the library list; libfaketime only
    # wraps clock calls, which ASan does not intercept.
    if [[ $libs == *libasan* ]]; then
        FT_ENV+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
    fi
}

# token_cache_conf: writes a config file that sets the test-only key
# test_token_cache_ms to 300 (5000 by default), so a test sees a revoked
# token refused within a poll (wait_code) instead of sleeping 5 s:
#   start_server --config "$(token_cache_conf)"
token_cache_conf() {
    printf '[server]\ntest_token_cache_ms = 300\n' >"$YL_TMPDIR/tokcache.ini"
    echo "$YL_TMPDIR/tokcache.ini"
}

# ws_hold token TOKEN | ws_hold session SID: a channel welcomed with that
# credential, held open in the background (tests/streamer/ws_hold.mjs);
# returns once it is welcomed. ws_held WHAT REGEX MAX_S then waits for the
# server to close it: the close ("CODE REASON") must match REGEX, within
# MAX_S seconds of the welcome.
ws_hold() {
    # A new file each time: the background node creates it, maybe after
    # the first look below (an old file's "welcome" would answer it).
    WS_HOLD_OUT=$(mktemp "$YL_TMPDIR/hold.XXXXXX")
    node "$(dirname "${BASH_SOURCE[0]}")/ws_hold.mjs" "$PORT" "$1" "$2" \
        >"$WS_HOLD_OUT" 2>&1 &
    WS_HOLD=$!
    for _ in $(seq 150); do
        grep -q '^welcome' "$WS_HOLD_OUT" && return 0
        kill -0 "$WS_HOLD" 2>/dev/null || break
        sleep 0.1
    done
    fail "ws_hold $1: not welcomed: $(cat "$WS_HOLD_OUT")"
}
ws_held() {
    local s
    wait "$WS_HOLD" || fail "$1: $(cat "$WS_HOLD_OUT")"
    expect_match "$(sed -n 's/^closed //p' "$WS_HOLD_OUT")" "$2" "$1"
    s=$(sed -n 's/^after \([0-9.]*\) s$/\1/p' "$WS_HOLD_OUT")
    awk -v s="$s" -v m="$3" 'BEGIN { exit !(s != "" && s <= m) }' ||
        fail "$1: closed after ${s:-?} s, more than $3 s"
    ok "$1 (after $s s)"
}

# wait_code WANT SECONDS curl-args...: polls the request until its status
# is WANT; fails with the last status after SECONDS.
wait_code() {
    local want=$1 t=$2 got= i
    shift 2
    for i in $(seq 1 $((t * 20))); do
        got=$(code "$@")
        [ "$got" == "$want" ] && return 0
        sleep 0.05
    done
    fail "status $got after $t s, want $want: curl $*"
}

# stop_server: SIGTERM, expects a clean exit 0.
stop_server() {
    local rc=0
    kill -TERM "$SRV_PID"
    wait "$SRV_PID" || rc=$?
    SRV_PID=
    expect_eq "$rc" 0 "server exit status after SIGTERM"
}

# make_hls DIR: a 6 s fMP4 HLS lesson (320x240 + AAC, 2 s segments) made
# with the ffmpeg CLI, with a master playlist, poster and lesson.json.
make_hls() {
    local d=$1
    mkdir -p "$d/v0"
    (cd "$d/v0" && ffmpeg -nostdin -v error \
        -f lavfi -i testsrc2=size=320x240:rate=25 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 6 \
        -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p \
        -c:a aac -b:a 64k -f hls -hls_time 2 -hls_playlist_type vod \
        -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
        -hls_segment_filename 'seg_%05d.m4s' index.m3u8)
    cat >"$d/master.m3u8" <<'M3U'
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=600000,AVERAGE-BANDWIDTH=500000,RESOLUTION=320x240,FRAME-RATE=25.000,CODECS="avc1.64000d,mp4a.40.2"
v0/index.m3u8
M3U
    ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x240 -frames:v 1 \
        "$d/poster.jpg"
    echo '{"version":1,"duration_s":6.0}' >"$d/lesson.json"
}

# raw_http REQUEST: sends REQUEST (printf format, \r\n spelled out) on a new
# connection and prints whatever comes back within 5 s (nothing when the
# server closes the connection without answering).
raw_http() {
    local out
    out=$(
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 0
        printf "$1" >&3 2>/dev/null || true
        timeout 5 cat <&3 2>/dev/null || true
    )
    printf '%s' "$out"
}

# setup_catalog: imports Yunnan into $DATA and creates tokens:
#   ADMIN (province 53), DALI (admin of prefecture 5329), SITE (site token
#   of 喜洲村委会 532901104201), CHUX_SITE (site 532301103201, Chuxiong),
#   EXPIRED (an admin token whose expiry is in the past).
# Under ctest the import is done once per run by the fixture "catalog"
# (tests/fixtures/catalog.sh): a data dir without a catalog yet gets a copy
# of it. Run alone (no YL_FIXTURES), or over an existing catalog, it imports.
setup_catalog() {
    mkdir -p "$DATA"
    local fx=${YL_FIXTURES:-}/catalog
    if [ -n "${YL_FIXTURES:-}" ] && [ ! -e "$DATA/yunling.db" ]; then
        [ -f "$fx/tokens.env" ] ||
            fail "YL_FIXTURES is set but $fx/tokens.env is missing (fixture_catalog)"
        cp -a "$fx/tokens/." "$DATA/"
        # shellcheck disable=SC1091
        . "$fx/tokens.env"
        return 0
    fi
    "$YUNLING" sites import --data "$DATA" >/dev/null 2>>"$YL_TMPDIR/cli.log"
    ADMIN=$("$YUNLING" token create --role admin --scope 53 --data "$DATA" \
        2>>"$YL_TMPDIR/cli.log")
    DALI=$("$YUNLING" token create --role admin --scope 5329 --data "$DATA" \
        2>>"$YL_TMPDIR/cli.log")
    SITE=$("$YUNLING" token create --role site --scope 532901104201 \
        --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
    CHUX_SITE=$("$YUNLING" token create --role site --scope 532301103201 \
        --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
    EXPIRED=$("$YUNLING" token create --role admin --scope 53 --ttl 1 \
        --name expired --data "$DATA" 2>>"$YL_TMPDIR/cli.log")
    sqlite3 "$DATA/yunling.db" \
        "UPDATE tokens SET expires_ms = 1000 WHERE name = 'expired'"
}

# db "SQL": one query on the server's database (WAL: works while it runs).
db() { sqlite3 -cmd '.timeout 5000' "$DATA/yunling.db" "$1"; }

# make_src FILE [seconds] [size]: a small H.264/AAC MP4 for uploads.
make_src() {
    ffmpeg -nostdin -v error -y -f lavfi \
        -i "testsrc2=size=${3:-320x240}:rate=25" \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t "${2:-3}" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac \
        -shortest "$1"
}

# wait_job ID STATE [timeout s]: polls GET /api/v1/jobs/ID (admin token)
# until its state is STATE; fails on timeout or on another final state.
wait_job() {
    local id=$1 want=$2 t=${3:-90} i st
    for i in $(seq 1 $((t * 5))); do
        st=$(curl -s -H "Authorization: Bearer $ADMIN" \
            "$BASE/api/v1/jobs/$id" | jq -r .state)
        [ "$st" == "$want" ] && return 0
        if [ "$st" == done ] || [ "$st" == failed ]; then
            fail "job $id ended $st, want $want: $(curl -s -H \
                "Authorization: Bearer $ADMIN" "$BASE/api/v1/jobs/$id")"
        fi
        sleep 0.2
    done
    fail "job $id not $want after $t s (state $st)"
}

# api METHOD PATH [curl args...]: JSON body to $YL_TMPDIR/resp.json, prints
# the status.
api() {
    local m=$1 p=$2
    shift 2
    curl -s -X "$m" -o "$YL_TMPDIR/resp.json" -w '%{http_code}' "$@" \
        "$BASE$p"
}
resp() { jq -r "$1" "$YL_TMPDIR/resp.json"; }

# ---- the edge tier (deploy/nginx/edge.conf on stock nginx) ----
cleanup_edges() {
    local p
    for p in "${NGX[@]}"; do kill -QUIT "$p" 2>/dev/null || true; done
    NGX=()
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# free_udp_port: a UDP port free on loopback now (an SRT listener's).
free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# edge NAME: an nginx from deploy/nginx/edge.conf (unchanged but for the
# origin's address, the port and the cache path) in its own prefix, in
# front of the server started by start_server; its port in EPORT. Stopped
# when the script exits.
edge() {
    local d=$YL_TMPDIR/$1 port
    port=$(free_port)
    mkdir -p "$d/cache" "$d/logs"
    sed -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$PORT;|" \
        -e "s|listen 80;|listen 127.0.0.1:$port;|" \
        -e "s|/var/cache/nginx/yunling|$d/cache|" \
        "$YL_SRCDIR/deploy/nginx/edge.conf" >"$d/edge.conf"
    cat >"$d/nginx.conf" <<NGX
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    include /etc/nginx/mime.types;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    include $d/edge.conf;
}
NGX
    nginx -t -q -p "$d" -c "$d/nginx.conf" || fail "$1: nginx -t"
    nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' \
        >"$d/logs/out.log" 2>&1 &
    NGX+=($!)
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
        sleep 0.05
    done
    EPORT=$port
}
