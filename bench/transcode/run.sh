#!/usr/bin/env bash
# bench/transcode/run.sh - time `yunling transcode` against the ffmpeg CLI
# producing the same ladder with the same x264 settings, in the same run:
#   yunling   yunling transcode (decode once, rungs in parallel threads)
#   ffmpeg-1  one ffmpeg process, one input, 4 HLS outputs (split + scale)
#   ffmpeg-N  one ffmpeg process per rung, all at once (each decodes)
# Each is measured with /usr/bin/time -v (wall, user+sys CPU, peak RSS).
#
# usage: bench/transcode/run.sh [SECONDS] [WORKDIR]
#   SECONDS  length of the generated 1280x720 lesson (default 600)
#   WORKDIR  where media and outputs go (default /tmp/yl-bench-transcode)
# env: YUNLING (binary; default build/app/yunling), RUNS="yunling ffmpeg-1
#   ffmpeg-N" (subset/order), YL_BENCH_ARGS (extra yunling options).
# Not a test: it takes minutes (about 3 x the lesson length / 1.5 on 2
# cores). Results go to stdout as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
work=${2:-/tmp/yl-bench-transcode}
yunling=${YUNLING:-$PWD/build/app/yunling}
runs=${RUNS:-"yunling ffmpeg-1 ffmpeg-N"}
mkdir -p "$work"
src=$work/lesson-${secs}s.mp4

# The same settings as transcode/tc_vout.c + tc_ladder.c: x264 veryfast,
# High profile, CBR-ish VBV (maxrate 1.07x, bufsize 1.5x), IDR forced every
# 4 s and nowhere else (no scene cuts, keyint 200 = 2 segments at 25 fps),
# AAC 128 kb/s stereo 48 kHz, fMP4 HLS segments of 4 s.
rungs=("1280 720 2500" "854 480 1200" "640 360 700" "426 240 300")
x264() { # KBPS
    local b=$1
    echo "-c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p" \
        "-b:v ${b}k -maxrate $(((b * 107 + 50) / 100))k -bufsize $((b * 3 / 2))k" \
        "-g 200 -keyint_min 200 -sc_threshold 0 -forced-idr 1" \
        "-force_key_frames expr:gte(t,n_forced*4)"
}
hls() { # DIR
    echo "-f hls -hls_time 4 -hls_playlist_type vod -hls_list_size 0" \
        "-hls_flags independent_segments -hls_segment_type fmp4" \
        "-hls_fmp4_init_filename init.mp4 -hls_segment_filename $1/seg_%05d.m4s" \
        "$1/index.m3u8"
}
aac="-c:a aac -b:a 128k -ac 2 -ar 48000"

if [ ! -s "$src" ]; then
    echo "generating a ${secs} s 1280x720 lesson: $src" >&2
    # A talking-head-like mix: moving test pattern with noise, a tone.
    ffmpeg -nostdin -v error -y -f lavfi \
        -i "testsrc2=size=1280x720:rate=25,noise=alls=8:allf=t" \
        -f lavfi -i "sine=frequency=220:sample_rate=48000" -t "$secs" \
        -c:v libx264 -preset veryfast -b:v 4000k -pix_fmt yuv420p \
        -c:a aac -b:a 128k -ac 2 -metadata:s:a:0 language=zho \
        -movflags +faststart "$src"
fi

timed() { # NAME CMD... : /usr/bin/time -v into $work/NAME.time
    local name=$1
    shift
    /usr/bin/time -v -o "$work/$name.time" "$@"
}
field() { # FILE PATTERN
    sed -n "s/^[[:space:]]*$2: //p" "$1" | head -1
}
wall_s() { # "h:mm:ss" or "m:ss.xx" -> seconds
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}

declare -A WALL CPU RSS
run_yunling() {
    rm -rf "$work/out-yunling"
    timed yunling "$yunling" transcode -i "$src" --progress none \
        ${YL_BENCH_ARGS:-} -o "$work/out-yunling"
    WALL[yunling]=$(field "$work/yunling.time" "Elapsed (wall clock) time (h:mm:ss or m:ss)" | wall_s)
    CPU[yunling]=$(awk -v u="$(field "$work/yunling.time" "User time (seconds)")" \
        -v s="$(field "$work/yunling.time" "System time (seconds)")" 'BEGIN{print u+s}')
    RSS[yunling]=$(field "$work/yunling.time" "Maximum resident set size (kbytes)")
}
run_ffmpeg1() {
    local o=$work/out-ffmpeg-1 args=() i
    rm -rf "$o"
    for i in 0 1 2 3; do mkdir -p "$o/v$i"; done
    mkdir -p "$o/a-zh"
    args+=(-filter_complex "[0:v]split=4[s0][s1][s2][s3];[s1]scale=854:480[v1];[s2]scale=640:360[v2];[s3]scale=426:240[v3]")
    args+=(-map "[s0]" $(x264 2500) $(hls "$o/v0"))
    for i in 1 2 3; do
        set -- ${rungs[$i]}
        args+=(-map "[v$i]" $(x264 "$3") $(hls "$o/v$i"))
    done
    args+=(-map 0:a $aac $(hls "$o/a-zh"))
    echo "ffmpeg-1: ffmpeg -i $src ${args[*]}" >"$work/ffmpeg-1.cmd"
    timed ffmpeg-1 ffmpeg -nostdin -v error -y -i "$src" "${args[@]}"
    WALL[ffmpeg-1]=$(field "$work/ffmpeg-1.time" "Elapsed (wall clock) time (h:mm:ss or m:ss)" | wall_s)
    CPU[ffmpeg-1]=$(awk -v u="$(field "$work/ffmpeg-1.time" "User time (seconds)")" \
        -v s="$(field "$work/ffmpeg-1.time" "System time (seconds)")" 'BEGIN{print u+s}')
    RSS[ffmpeg-1]=$(field "$work/ffmpeg-1.time" "Maximum resident set size (kbytes)")
}
run_ffmpegN() {
    local o=$work/out-ffmpeg-N i t0 t1 pids=() cpu=0 rss=0
    rm -rf "$o"
    : >"$work/ffmpeg-N.cmd"
    t0=$(date +%s.%N)
    for i in 0 1 2 3; do
        set -- ${rungs[$i]}
        mkdir -p "$o/v$i"
        local a=(-map 0:v -vf "scale=$1:$2" $(x264 "$3") $(hls "$o/v$i"))
        if [ "$i" -eq 0 ]; then
            mkdir -p "$o/a-zh"
            a=(-map 0:v $(x264 "$3") $(hls "$o/v$i") -map 0:a $aac $(hls "$o/a-zh"))
        fi
        echo "ffmpeg -i $src ${a[*]} &" >>"$work/ffmpeg-N.cmd"
        timed "ffmpeg-N.$i" ffmpeg -nostdin -v error -y -i "$src" "${a[@]}" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    t1=$(date +%s.%N)
    for i in 0 1 2 3; do
        f=$work/ffmpeg-N.$i.time
        cpu=$(awk -v c="$cpu" -v u="$(field "$f" "User time (seconds)")" \
            -v s="$(field "$f" "System time (seconds)")" 'BEGIN{print c+u+s}')
        rss=$((rss + $(field "$f" "Maximum resident set size (kbytes)")))
    done
    WALL[ffmpeg-N]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
    CPU[ffmpeg-N]=$cpu
    RSS[ffmpeg-N]=$rss
}

echo "# transcode bench: ${secs} s 1280x720 25 fps lesson, $(nproc) cores, $(date -u +%FT%TZ)"
for r in $runs; do
    echo "load before $r: $(cut -d' ' -f1-3 /proc/loadavg)"
    case $r in
    yunling) run_yunling ;;
    ffmpeg-1) run_ffmpeg1 ;;
    ffmpeg-N) run_ffmpegN ;;
    *) echo "unknown run $r" >&2; exit 64 ;;
    esac
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | wall / ffmpeg-1 | user+sys CPU s | CPU / ffmpeg-1 | peak RSS MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for r in $runs; do
    ref_w=${WALL[ffmpeg-1]:-0}
    ref_c=${CPU[ffmpeg-1]:-0}
    awk -v n="$r" -v w="${WALL[$r]}" -v c="${CPU[$r]}" -v m="${RSS[$r]}" \
        -v rw="$ref_w" -v rc="$ref_c" 'BEGIN {
        printf "| %s | %.1f | %s | %.1f | %s | %.0f |\n", n, w,
            (rw > 0 ? sprintf("%.2f", w / rw) : "-"), c,
            (rc > 0 ? sprintf("%.2f", c / rc) : "-"), m / 1024 }'
done
echo
echo "commands: $work/*.cmd; (ffmpeg-N RSS is the sum of its 4 processes)"
