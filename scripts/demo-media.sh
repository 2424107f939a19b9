#!/usr/bin/env bash
# scripts/demo-media.sh OUTDIR [SECONDS] - generate the demo lesson's media
# with the ffmpeg CLI: a 1280x720 picture with Mandarin, Tibetan, Lisu and
# Dulong audio tracks (tones of different pitch, so a switch is audible) and
# subtitles in Chinese, Tibetan and Lisu script.
set -euo pipefail
out=${1:?usage: demo-media.sh OUTDIR [SECONDS]}
dur=${2:-60}
mkdir -p "$out"

# The source: video + Mandarin (tagged zho) and Tibetan (tagged bod) audio.
if [ ! -s "$out/lesson.mp4" ]; then
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=$dur" \
        -f lavfi -i "sine=frequency=440:beep_factor=2:sample_rate=48000:duration=$dur" \
        -f lavfi -i "sine=frequency=554:beep_factor=3:sample_rate=48000:duration=$dur" \
        -map 0:v -map 1:a -map 2:a \
        -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 50 \
        -c:a aac -b:a 128k -ac 2 \
        -metadata:s:a:0 language=zho -metadata:s:a:1 language=bod \
        "$out/lesson.tmp.mp4"
    mv "$out/lesson.tmp.mp4" "$out/lesson.mp4"
fi
# Dubs delivered as separate files, as a dubbing studio would.
[ -s "$out/dub-lis.m4a" ] || ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "sine=frequency=659:beep_factor=4:sample_rate=44100:duration=$dur" \
    -c:a aac -b:a 96k "$out/dub-lis.m4a"
[ -s "$out/dub-duu.wav" ] || ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "sine=frequency=784:sample_rate=22050:duration=$dur" \
    "$out/dub-duu.wav"

# Subtitles: one cue every 5 seconds.
srt() { # srt FILE TEXT...  (texts are repeated over the lesson)
    local f=$1
    shift
    local texts=("$@") i=0 t=0
    : >"$f.tmp"
    while [ $((t + 5)) -le "$dur" ]; do
        local e=$((t + 4))
        printf '%d\n00:%02d:%02d,000 --> 00:%02d:%02d,500\n%s\n\n' \
            $((i + 1)) $((t / 60)) $((t % 60)) $((e / 60)) $((e % 60)) \
            "${texts[$((i % ${#texts[@]}))]}" >>"$f.tmp"
        i=$((i + 1))
        t=$((t + 5))
    done
    mv "$f.tmp" "$f"
}
srt "$out/subs-zh.srt" "第一课：森林防火" "进山不带火种" "发现火情，拨打 12119" "保护森林，人人有责"
srt "$out/subs-bo.srt" "སློབ་ཚན་དང་པོ།" "བཀྲ་ཤིས་བདེ་ལེགས།" "ནགས་ཚལ་སྲུང་སྐྱོབ།" "ཐུགས་རྗེ་ཆེ།"
srt "$out/subs-lis.srt" "ꓡꓲ-ꓢꓴ" "ꓐ ꓑ ꓒ ꓓ ꓔ ꓕ ꓖ ꓗ" "ꓘ ꓙ ꓚ ꓛ ꓜ ꓝ ꓞ ꓟ" "ꓠ ꓡ ꓢ ꓣ ꓤ ꓥ ꓦ ꓧ"
echo "$out"
