#!/usr/bin/env bash
# bench/transcode/run.sh - time `yunling transcode` against the ffmpeg CLI
# producing the same outputs with the same x264 settings, in the same run:
#   yunling   yunling transcode (decode once, rungs in parallel threads;
#             audio that is already AAC-LC as a rendition would be passes
#             through, as the bench's dubs and source track do)
#   yunling-reenc  the same with --audio-copy never: every audio rendition
#             re-encoded, the same work as ffmpeg-1
#   ffmpeg-1  one ffmpeg process, all inputs, 4 video HLS outputs (split +
#             scale), one AAC HLS output per language (re-encoded), one
#             WebVTT file per subtitle file
#   ffmpeg-1c ffmpeg-1 with -c:a copy: the audio passed through, the same
#             work as yunling
#   ffmpeg-N  one ffmpeg process per rung, all at once (each decodes; the
#             first also encodes the audio renditions and the subtitles)
# Each is measured with /usr/bin/time -v (wall, user+sys CPU, peak RSS).
#
# usage: bench/transcode/run.sh [LESSONS] [WORKDIR]
#   LESSONS  comma- or space-separated lessons, each SECONDS or SECONDSxN:
#            a generated 1280x720 25 fps lesson of SECONDS with one audio
#            track (zh); xN: N audio languages (the source's zh track and
#            N-1 dubs given with --audio: bo, lis, duu, wbm, ii, tdd, kac)
#            and N subtitle files (--subs, SRT, the same languages).
#            Default "60x4,600": the short lesson with four languages and
#            four subtitle files, and the 10-minute one-language lesson.
#   WORKDIR  where media and outputs go (default /tmp/yl-bench-transcode)
# env: YUNLING (binary; default build/app/yunling), RUNS="yunling ffmpeg-1
#   ffmpeg-N" (subset/order of yunling, yunling-reenc, ffmpeg-1, ffmpeg-1c,
#   ffmpeg-N; ratios are against ffmpeg-1), ROUNDS (default 1: each lesson is run ROUNDS
#   times, alternating RUNS within each round), YL_BENCH_ARGS (extra
#   yunling options).
# Not a test: it takes minutes (about 3 x the lesson length / 1.5 on 2
# cores). Results go to stdout as markdown tables: every round with the
# 1-minute load before each run, then each lesson's totals over its rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
lessons=${1:-"60x4,600"}
work=${2:-/tmp/yl-bench-transcode}
yunling=${YUNLING:-$PWD/build/app/yunling}
runs=${RUNS:-"yunling ffmpeg-1 ffmpeg-N"}
rounds=${ROUNDS:-1}
mkdir -p "$work"
langs_all=(zh bo lis duu wbm ii tdd kac)

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

# Generates the lesson's media (once per WORKDIR): sets src, and dubs[] /
# subs[] as LANG=FILE for N > 1.
make_media() { # SECS N
    local secs=$1 n=$2 k lang f t
    src=$work/lesson-${secs}s.mp4
    dubs=()
    subs=()
    if [ ! -s "$src" ] && [ "$secs" -gt 60 ]; then
        # Longer lessons repeat the 60 s one (stream copy: seconds instead
        # of minutes of encoding on a busy machine; x264 sees the same
        # noisy picture either way).
        make_media 60 1
        src=$work/lesson-${secs}s.mp4
        echo "making a ${secs} s lesson from the 60 s one: $src" >&2
        for ((k = 0; k * 60 < secs; k++)); do echo "file 'lesson-60s.mp4'"; done \
            >"$work/concat-${secs}s.txt"
        ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$work/concat-${secs}s.txt" \
            -t "$secs" -c copy -movflags +faststart "$src.tmp.mp4"
        mv "$src.tmp.mp4" "$src"
    fi
    if [ ! -s "$src" ]; then
        echo "generating a ${secs} s 1280x720 lesson: $src" >&2
        # A talking-head-like mix: moving test pattern with noise, a tone.
        ffmpeg -nostdin -v error -y -f lavfi \
            -i "testsrc2=size=1280x720:rate=25,noise=alls=8:allf=t" \
            -f lavfi -i "sine=frequency=220:sample_rate=48000" -t "$secs" \
            -c:v libx264 -preset veryfast -b:v 4000k -pix_fmt yuv420p \
            -c:a aac -b:a 128k -ac 2 -metadata:s:a:0 language=zho \
            -movflags +faststart "$src.tmp.mp4"
        mv "$src.tmp.mp4" "$src"
    fi
    [ "$n" -gt 1 ] || return 0
    for ((k = 0; k < n; k++)); do
        lang=${langs_all[$k]}
        if [ "$k" -gt 0 ]; then
            # A dub as an upload brings it: stereo AAC in .m4a, 48 kHz.
            f=$work/dub-$lang-${secs}s.m4a
            if [ ! -s "$f" ]; then
                ffmpeg -nostdin -v error -y -f lavfi \
                    -i "sine=frequency=$((220 + 110 * k)):sample_rate=48000" \
                    -t "$secs" -c:a aac -b:a 128k -ac 2 "$f.tmp.m4a"
                mv "$f.tmp.m4a" "$f"
            fi
            dubs+=("$lang=$f")
        fi
        # A cue every 3 s, 2.5 s long, in the language's own script.
        f=$work/subs-$lang-${secs}s.srt
        if [ ! -s "$f" ]; then
            awk -v secs="$secs" -v lang="$lang" 'function ts(ms) {
                return sprintf("%02d:%02d:%02d,%03d", ms / 3600000,
                    (ms / 60000) % 60, (ms / 1000) % 60, ms % 1000) }
            BEGIN {
                text["zh"] = "第一课：村里的新政策"; text["bo"] = "བཀྲ་ཤིས་བདེ་ལེགས། སློབ་ཚན་དང་པོ།"
                text["lis"] = "ꓡꓲ-ꓢꓴ ꓟꓲ ꓬꓲ"; t = (lang in text) ? text[lang] : "Lesson " lang
                for (i = 0; i * 3000 + 2500 <= secs * 1000; i++)
                    printf "%d\n%s --> %s\n%s %d\n\n", i + 1, ts(i * 3000),
                        ts(i * 3000 + 2500), t, i + 1 }' >"$f"
        fi
        subs+=("$lang=$f")
    done
}

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
record() { # RUN TIMEFILE
    WALL[$1]=$(field "$2" "Elapsed (wall clock) time (h:mm:ss or m:ss)" | wall_s)
    CPU[$1]=$(awk -v u="$(field "$2" "User time (seconds)")" \
        -v s="$(field "$2" "System time (seconds)")" 'BEGIN{print u+s}')
    RSS[$1]=$(field "$2" "Maximum resident set size (kbytes)")
}

declare -A WALL CPU RSS
run_yunling() { # NAME [EXTRA ARGS...]
    local name=$1 o=$work/out-$1 a=() d s
    shift
    rm -rf "$o"
    for d in "${dubs[@]}"; do a+=(--audio "$d"); done
    for s in "${subs[@]}"; do a+=(--subs "$s"); done
    a+=("$@")
    echo "yunling transcode -i $src ${a[*]} --progress none ${YL_BENCH_ARGS:-} -o $o" \
        >"$work/$name.cmd"
    timed "$name" "$yunling" transcode -i "$src" "${a[@]}" --progress none \
        ${YL_BENCH_ARGS:-} -o "$o"
    record "$name" "$work/$name.time"
}
# The ffmpeg inputs and outputs for the audio renditions and subtitles:
# sets xin[] (inputs after the source) and xout[] (their outputs into $1).
extras() { # OUTDIR
    local o=$1 k=1 d s lang
    xin=()
    xout=(-map 0:a $acodec $(hls "$o/a-zh"))
    mkdir -p "$o/a-zh"
    for d in "${dubs[@]}"; do
        lang=${d%%=*}
        mkdir -p "$o/a-$lang"
        xin+=(-i "${d#*=}")
        xout+=(-map "$k:a" $acodec $(hls "$o/a-$lang"))
        k=$((k + 1))
    done
    # libavformat's hls muxer writes no subtitle-only rendition
    # (PLATFORM.md): each SRT becomes one WebVTT file, as yunling's
    # s-LANG/subs.vtt (whose one-line playlist ffmpeg does not write).
    for s in "${subs[@]}"; do
        lang=${s%%=*}
        mkdir -p "$o/s-$lang"
        xin+=(-i "${s#*=}")
        xout+=(-map "$k:s" -c:s webvtt -f webvtt "$o/s-$lang/subs.vtt")
        k=$((k + 1))
    done
}
acodec=$aac
run_ffmpeg1() { # NAME AUDIO-CODEC-ARGS
    local name=$1 o=$work/out-$1 args=() i
    acodec=$2
    rm -rf "$o"
    for i in 0 1 2 3; do mkdir -p "$o/v$i"; done
    extras "$o"
    args+=(-filter_complex "[0:v]split=4[s0][s1][s2][s3];[s1]scale=854:480[v1];[s2]scale=640:360[v2];[s3]scale=426:240[v3]")
    args+=(-map "[s0]" $(x264 2500) $(hls "$o/v0"))
    for i in 1 2 3; do
        set -- ${rungs[$i]}
        args+=(-map "[v$i]" $(x264 "$3") $(hls "$o/v$i"))
    done
    args+=("${xout[@]}")
    echo "ffmpeg -i $src ${xin[*]} ${args[*]}" >"$work/$name.cmd"
    timed "$name" ffmpeg -nostdin -v error -y -i "$src" "${xin[@]}" "${args[@]}"
    record "$name" "$work/$name.time"
    acodec=$aac
}
run_ffmpegN() {
    local o=$work/out-ffmpeg-N i t0 t1 pids=() cpu=0 rss=0
    rm -rf "$o"
    : >"$work/ffmpeg-N.cmd"
    t0=$(date +%s.%N)
    for i in 0 1 2 3; do
        set -- ${rungs[$i]}
        mkdir -p "$o/v$i"
        local a=(-i "$src" -map 0:v -vf "scale=$1:$2" $(x264 "$3") $(hls "$o/v$i"))
        if [ "$i" -eq 0 ]; then
            extras "$o"
            a=(-i "$src" "${xin[@]}" -map 0:v $(x264 "$3") $(hls "$o/v$i") "${xout[@]}")
        fi
        echo "ffmpeg ${a[*]} &" >>"$work/ffmpeg-N.cmd"
        timed "ffmpeg-N.$i" ffmpeg -nostdin -v error -y "${a[@]}" &
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

echo "# transcode bench: lessons ${lessons//,/ } (1280x720 25 fps), ${rounds} round(s), $(nproc) cores, $(date -u +%FT%TZ)"
rows=$work/rows.txt
: >"$rows"
for lesson in ${lessons//,/ }; do
    secs=${lesson%%x*}
    n=1
    [ "$lesson" = "$secs" ] || n=${lesson#*x}
    make_media "$secs" "$n"
    for ((round = 1; round <= rounds; round++)); do
        declare -A LOAD=()
        for r in $runs; do
            LOAD[$r]=$(cut -d' ' -f1 /proc/loadavg)
            echo "$(date -u +%T) $lesson round $round: $r (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
            case $r in
            yunling) run_yunling yunling ;;
            yunling-reenc) run_yunling yunling-reenc --audio-copy never ;;
            ffmpeg-1) run_ffmpeg1 ffmpeg-1 "$aac" ;;
            ffmpeg-1c) run_ffmpeg1 ffmpeg-1c "-c:a copy" ;;
            ffmpeg-N) run_ffmpegN ;;
            *) echo "unknown run $r" >&2; exit 64 ;;
            esac
        done
        for r in $runs; do
            echo "$lesson $round $r ${LOAD[$r]} ${WALL[$r]} ${CPU[$r]} ${RSS[$r]}" \
                "${WALL[ffmpeg-1]:-0} ${CPU[ffmpeg-1]:-0}" >>"$rows"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "lessons: SECONDSxN = N audio languages (source + N-1 dubs) and N subtitle files"
echo
echo "| lesson | round | run | load (1 min) | wall s | wall / ffmpeg-1 | user+sys CPU s | CPU / ffmpeg-1 | peak RSS MB |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
awk '{ printf "| %s | %d | %s | %.1f | %.1f | %s | %.1f | %s | %.0f |\n", $1, $2,
    $3, $4, $5, ($8 > 0 ? sprintf("%.2f", $5 / $8) : "-"), $6,
    ($9 > 0 ? sprintf("%.2f", $6 / $9) : "-"), $7 / 1024 }' "$rows"
echo
echo "Totals over the rounds (sum of walls and CPUs, then the ratio):"
echo
echo "| lesson | run | rounds | wall s | wall / ffmpeg-1 | CPU s | CPU / ffmpeg-1 |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
awk '{ k = $1 " " $3; if (!(k in n)) order[++m] = k; n[k]++; w[k] += $5;
    c[k] += $6; rw[k] += $8; rc[k] += $9 }
    END { for (i = 1; i <= m; i++) { k = order[i]; split(k, p, " ");
        printf "| %s | %s | %d | %.1f | %s | %.1f | %s |\n", p[1], p[2], n[k],
            w[k], (rw[k] > 0 ? sprintf("%.2f", w[k] / rw[k]) : "-"), c[k],
            (rc[k] > 0 ? sprintf("%.2f", c[k] / rc[k]) : "-") } }' "$rows"
echo
echo "commands: $work/*.cmd (of the last lesson); ffmpeg-N RSS is the sum of its 4 processes"
