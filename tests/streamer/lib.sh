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
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill -KILL "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ] && [ -f "$YL_TMPDIR/server.log" ]; then
        echo "--- server log (tail) ---" >&2
        tail -n 40 "$YL_TMPDIR/server.log" >&2
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
