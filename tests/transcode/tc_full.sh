#!/usr/bin/env bash
# A 720p lesson with three source audio tracks (zho, tib, untagged + its
# --audio-lang), a shorter dub and Tibetan/Lisu subtitles becomes the full
# default ladder; checked with ffprobe, ffmpeg, grep and jq.
. "$YL_SRCDIR/tests/transcode/lib.sh"

gen_av src.mp4 6 1280x720 zho tib -
gen_audio dub.wav 5 22050 2
# Tibetan SRT with a UTF-8 BOM and CRLF line ends; Lisu (Fraser) SRT.
printf '\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:03,500\r\nབཀྲ་ཤིས་བདེ་ལེགས། སློབ་ཚན་དང་པོ།\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,000\r\nཐུགས་རྗེ་ཆེ།\r\n' >bo.srt
printf '1\n00:00:00,500 --> 00:00:02,000\nꓡꓲ-ꓢꓴ ꓟꓲ ꓬꓲ\n\n2\n00:00:02,500 --> 00:00:07,000\nꓐꓳ ꓟꓲ ꓘꓳ & <ꓡꓲ>\n' >lis.srt

"$YUNLING" transcode -i src.mp4 --audio-lang 2=lis --audio duu=dub.wav \
    --subs bo=bo.srt --subs lis=lis.srt --segment-seconds 2 \
    --progress json -o out >progress.txt
ok "transcode exit 0"
no_output_tmp=$(ls -a | grep -c '^\.out\.tmp-' || true)
[ "$no_output_tmp" -eq 0 ] || fail "temporary directory left behind"
tail -1 progress.txt | jq -e '.event == "done" and (.duration_s - 6 | fabs) < 0.05 and (.out | endswith("/out"))' >/dev/null ||
    fail "last progress line is not the done event: $(tail -1 progress.txt)"
jq -e -s 'map(select(.event == "progress")) | length > 0 and all(.progress >= 0 and .progress <= 1 and .speed >= 0 and .eta_s >= 0 and .duration_s > 5)' progress.txt >/dev/null ||
    fail "progress lines malformed"
ok "progress JSON lines"

src_dur=$(dur src.mp4)
frame=0.04
# Video rungs: codec, size, duration within one frame, keyframes, alignment.
sizes=("1280x720" "854x480" "640x360" "426x240")
ref=""
for i in 0 1 2 3; do
    d=out/v$i
    info=$(probe1 "$d/index.m3u8" v:0 codec_name,profile,width,height,pix_fmt)
    [ "$info" = "h264,High,${sizes[$i]/x/,},yuv420p" ] || fail "$d: $info"
    vd=$(dur "$d/index.m3u8")
    near "$vd" "$src_dur" "$frame" || fail "$d lasts $vd s, source $src_dur s"
    grep -q '^#EXT-X-MAP:URI="init.mp4"' "$d/index.m3u8" || fail "$d: no init"
    check_video_rung "$d"
    starts=$(seg_starts "$d" | tr '\n' ' ')
    extinf=$(grep '^#EXTINF' "$d/index.m3u8" | tr '\n' ' ')
    if [ -z "$ref" ]; then
        ref="$starts|$extinf"
    else
        [ "$starts|$extinf" = "$ref" ] ||
            fail "$d segment boundaries differ from v0: $starts|$extinf vs $ref"
    fi
done
n_seg=$(grep -c '^#EXTINF' out/v0/index.m3u8)
[ "$n_seg" -eq 3 ] || fail "expected 3 segments of 2 s, got $n_seg"
ok "4 rungs, h264 High, keyframe first in every segment, boundaries aligned: $ref"

# Audio renditions: AAC, all as long as the video (the dub was padded).
for a in zh bo lis duu; do
    d=out/a-$a
    [ -f "$d/index.m3u8" ] || fail "no $d"
    c=$(probe1 "$d/index.m3u8" a:0 codec_name)
    [ "$c" = "aac" ] || fail "$d codec $c"
    ad=$(dur "$d/index.m3u8")
    near "$ad" "$src_dur" "$frame" || fail "$d lasts $ad s, video $src_dur s"
done
ok "4 AAC renditions as long as the video"

# The whole package plays end to end through the master playlist.
ffmpeg -nostdin -v error -i out/master.m3u8 -map 0 -f null - 2>ff.txt ||
    { cat ff.txt >&2; fail "ffmpeg cannot read master.m3u8"; }
[ ! -s ff.txt ] || { cat ff.txt >&2; fail "ffmpeg reported errors"; }
ok "ffmpeg reads master.m3u8 end to end"

m=out/master.m3u8
head -1 $m | grep -q '^#EXTM3U' || fail "no #EXTM3U"
grep -q '^#EXT-X-INDEPENDENT-SEGMENTS' $m || fail "no INDEPENDENT-SEGMENTS"
check_media() { # LANG NAME DEFAULT
    local line
    line=$(grep "^#EXT-X-MEDIA:TYPE=AUDIO" $m | grep "LANGUAGE=\"$1\"") ||
        fail "no audio rendition $1"
    [ "$(attr "$line" NAME)" = "$2" ] || fail "$1: NAME $(attr "$line" NAME)"
    [ "$(attr "$line" DEFAULT)" = "$3" ] || fail "$1: DEFAULT"
    [ "$(attr "$line" AUTOSELECT)" = "YES" ] || fail "$1: AUTOSELECT"
    [ "$(attr "$line" URI)" = "a-$1/index.m3u8" ] || fail "$1: URI"
}
check_media zh "中文" YES
check_media bo "བོད་སྐད" NO
check_media lis "ꓡꓲ-ꓢꓴ" NO
grep "^#EXT-X-MEDIA:TYPE=AUDIO" $m | grep -q 'LANGUAGE="duu"' || fail "no duu"
[ "$(grep -c 'TYPE=AUDIO.*DEFAULT=YES' $m)" -eq 1 ] || fail "one default audio"
for s in bo lis; do
    line=$(grep "^#EXT-X-MEDIA:TYPE=SUBTITLES" $m | grep "LANGUAGE=\"$s\"") ||
        fail "no subtitles $s"
    [ "$(attr "$line" URI)" = "s-$s/index.m3u8" ] || fail "subs $s URI"
    grep -q '^WEBVTT' out/s-$s/subs.vtt || fail "s-$s/subs.vtt not WebVTT"
done
grep -q 'བཀྲ་ཤིས་བདེ་ལེགས།' out/s-bo/subs.vtt || fail "Tibetan cue text lost"
grep -q 'ꓡꓲ-ꓢꓴ ꓟꓲ ꓬꓲ' out/s-lis/subs.vtt || fail "Lisu cue text lost"
grep -q '&amp; &lt;ꓡꓲ&gt;' out/s-lis/subs.vtt || fail "cue text not escaped"
ok "EXT-X-MEDIA audio zh/bo/lis/duu and subtitles bo/lis"

# Variants: attributes, and AVERAGE-BANDWIDTH against the bytes written.
i=0
while read -r line; do
    uri=$(grep -A1 -F "$line" $m | tail -1)
    bw=$(attr "$line" BANDWIDTH)
    avg=$(attr "$line" AVERAGE-BANDWIDTH)
    [ -n "$bw" ] && [ -n "$avg" ] && [ "$bw" -ge "$avg" ] ||
        fail "$uri: BANDWIDTH $bw < AVERAGE-BANDWIDTH $avg"
    case $uri in
    v*)
        [ "$(attr "$line" RESOLUTION)" = "${sizes[$i]}" ] || fail "$uri RESOLUTION"
        [ "$(attr "$line" FRAME-RATE)" = "25.000" ] || fail "$uri FRAME-RATE"
        attr "$line" CODECS | grep -qE '^avc1\.64[0-9a-f]{4},mp4a\.40\.2$' ||
            fail "$uri CODECS $(attr "$line" CODECS)"
        [ "$(attr "$line" AUDIO)" = "aud" ] || fail "$uri AUDIO group"
        [ "$(attr "$line" SUBTITLES)" = "subs" ] || fail "$uri SUBTITLES group"
        dir=out/${uri%/index.m3u8}
        bytes=$(cat "$dir"/init.mp4 "$dir"/seg_*.m4s | wc -c)
        vavg=$(awk -v b="$bytes" -v d="$src_dur" 'BEGIN{printf "%d", b*8/d}')
        # Measured video bit rate plus at most the largest audio rendition.
        [ "$avg" -ge "$vavg" ] && [ "$avg" -le $((vavg + 200000)) ] ||
            fail "$uri AVERAGE-BANDWIDTH $avg, video alone measures $vavg"
        i=$((i + 1))
        ;;
    a-*)
        [ "$(attr "$line" CODECS)" = "mp4a.40.2" ] || fail "audio-only CODECS"
        ;;
    esac
done < <(grep '^#EXT-X-STREAM-INF' $m)
[ "$i" -eq 4 ] || fail "expected 4 video variants, saw $i"
grep -A1 '^#EXT-X-STREAM-INF' $m | grep -q '^a-zh/index.m3u8' ||
    fail "no audio-only variant"
ok "STREAM-INF BANDWIDTH/AVERAGE-BANDWIDTH/RESOLUTION/FRAME-RATE/CODECS"

# lesson.json for the catalog.
jq -e '.version == 1 and (.duration_s - 6 | fabs) < 0.05
    and .poster == "poster.jpg" and .thumb == "thumb.jpg"
    and (.video | length) == 4 and .video[0].width == 1280
    and .video[0].height == 720 and .video[0].fps == 25
    and (.video[0].codecs | startswith("avc1.64"))
    and .video[0].bandwidth >= .video[0].average_bandwidth
    and .video[3].playlist == "v3/index.m3u8"
    and .languages == ["zh", "bo", "lis", "duu"]
    and .audio[0].default == true and .audio[1].default == false
    and .audio[1].name == "བོད་སྐད" and .audio[2].playlist == "a-lis/index.m3u8"
    and .subtitle_languages == ["bo", "lis"]
    and .subtitles[1].playlist == "s-lis/index.m3u8"' out/lesson.json >/dev/null ||
    { cat out/lesson.json >&2; fail "lesson.json"; }
ok "lesson.json"

p=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 out/poster.jpg)
[ "$p" = "mjpeg,1280,720" ] || fail "poster.jpg: $p"
p=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 out/thumb.jpg)
[ "$p" = "mjpeg,320,180" ] || fail "thumb.jpg: $p"
[ "$(stat -c %s out/thumb.jpg)" -lt "$(stat -c %s out/poster.jpg)" ] ||
    fail "thumb.jpg is not smaller than poster.jpg"
ok "poster.jpg, thumb.jpg"
