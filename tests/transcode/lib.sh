#!/usr/bin/env bash
# tests/transcode/lib.sh - helpers for the transcode integration tests:
# media generated with the ffmpeg CLI, output checked with ffprobe, ffmpeg
# and jq (tools independent of yunling). Sourced by each tc_*.sh.
set -euo pipefail

: "${YUNLING:?YUNLING must name the yunling binary}"
: "${YL_TMPDIR:?YL_TMPDIR must name a fresh directory}"
cd "$YL_TMPDIR"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ok() {
    echo "ok: $*"
}

# gen_av OUT SECONDS WxH [AUDIO_TAG...]: testsrc2 video at 25 fps (x264,
# moov first) plus one sine audio track per tag ("-" = untagged).
gen_av() {
    local out=$1 secs=$2 size=$3
    shift 3
    local args=(-f lavfi -i "testsrc2=size=$size:rate=25")
    local maps=(-map 0:v) meta=() i=1 f=220
    for tag in "$@"; do
        args+=(-f lavfi -i "sine=frequency=$f:sample_rate=48000")
        maps+=(-map "$i:a")
        if [ "$tag" != "-" ]; then
            meta+=("-metadata:s:a:$((i - 1))" "language=$tag")
        fi
        i=$((i + 1))
        f=$((f + 110))
    done
    ffmpeg -nostdin -v error -y "${args[@]}" "${maps[@]}" "${meta[@]}" \
        -t "$secs" -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
        -c:a aac -b:a 64k -movflags +faststart "$out"
}

# gen_audio OUT SECONDS [RATE] [CHANNELS]: a sine tone file (codec from the
# extension).
gen_audio() {
    local out=$1 secs=$2 rate=${3:-48000} ch=${4:-1}
    ffmpeg -nostdin -v error -y -f lavfi \
        -i "sine=frequency=330:sample_rate=$rate" -t "$secs" -ac "$ch" "$out"
}

# dur FILE: container duration in seconds (ffprobe).
dur() {
    ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"
}

# near A B TOL: |A - B| <= TOL
near() {
    awk -v a="$1" -v b="$2" -v t="$3" \
        'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# no_output OUTDIR: neither OUTDIR nor a temporary directory beside it.
no_output() {
    local out=$1 parent base
    parent=$(dirname "$out")
    base=$(basename "$out")
    [ ! -e "$out" ] || fail "$out was left behind"
    if ls -a "$parent" 2>/dev/null | grep -q "^\.$base\.tmp-"; then
        fail "a temporary directory .$base.tmp-* was left in $parent"
    fi
}

# expect_fail CODE REGEX OUTDIR -- ARGS...: runs yunling transcode ARGS,
# which must exit CODE with a one-line error matching REGEX (grep -E) on
# stderr and leave no output.
expect_fail() {
    local code=$1 re=$2 out=$3 rc=0
    shift 4
    "$YUNLING" transcode "$@" >stdout.txt 2>stderr.txt || rc=$?
    cat stderr.txt >&2
    [ "$rc" -eq "$code" ] || fail "exit code $rc, expected $code"
    grep -E -- "^yunling transcode: .*$re" stderr.txt >/dev/null ||
        fail "stderr does not say /$re/"
    [ "$(grep -c '^yunling transcode: ' stderr.txt)" -eq 1 ] ||
        fail "expected exactly one error line"
    no_output "$out"
    ok "exit $code, \"$(grep '^yunling transcode: ' stderr.txt)\""
}

# seg_first_key DIR SEG: prints "key pts" of the first frame of a segment.
seg_first_key() {
    local dir=$1 seg=$2 tmp
    tmp=$(mktemp --suffix=.mp4 -p "$YL_TMPDIR")
    if [ -f "$dir/init.mp4" ]; then
        cat "$dir/init.mp4" "$dir/$seg" >"$tmp"
    else
        cat "$dir/$seg" >"$tmp"
    fi
    ffprobe -v error -select_streams v:0 -show_entries frame=key_frame \
        -read_intervals '%+#1' -of default=nw=1:nk=1 "$tmp" | head -1
    rm -f "$tmp"
}

# check_video_rung DIR: every segment starts with a keyframe; prints the
# EXTINF list (for the alignment comparison across rungs).
check_video_rung() {
    local dir=$1 seg n=0
    for seg in $(grep -v '^#' "$dir/index.m3u8"); do
        [ "$(seg_first_key "$dir" "$seg")" = "1" ] ||
            fail "$dir/$seg does not start with a keyframe"
        n=$((n + 1))
    done
    [ "$n" -gt 1 ] || fail "$dir has $n segments, expected several"
}

# seg_starts DIR: start time of every segment, from ffprobe of each
# segment in turn (init + segment for fMP4).
seg_starts() {
    local dir=$1 seg tmp
    tmp=$(mktemp --suffix=.mp4 -p "$YL_TMPDIR")
    for seg in $(grep -v '^#' "$dir/index.m3u8"); do
        if [ -f "$dir/init.mp4" ]; then
            cat "$dir/init.mp4" "$dir/$seg" >"$tmp"
        else
            cat "$dir/$seg" >"$tmp"
        fi
        ffprobe -v error -select_streams v:0 -show_entries packet=pts_time \
            -of default=nw=1:nk=1 "$tmp" | sort -g | head -1
    done
    rm -f "$tmp"
}

# attr LINE NAME: value of an attribute in an m3u8 tag line.
attr() {
    echo "$1" | grep -oE "(^|[:,])$2=(\"[^\"]*\"|[^,]*)" | head -1 |
        sed -E "s/^[:,]?$2=//; s/^\"//; s/\"$//"
}

# probe1 FILE SELECT ENTRIES: first non-empty ffprobe csv line (HLS inputs
# list the stream under a program too).
probe1() {
    ffprobe -v error -select_streams "$2" -show_entries "stream=$3" \
        -of csv=p=0 "$1" | grep -v '^$' | head -1
}
