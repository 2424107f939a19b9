#!/usr/bin/env bash
# Subtitle streams inside the source become WebVTT renditions like --subs
# files: SRT and ASS in Matroska, mov_text in MP4 (language from the stream
# tag), timed from the lesson start; a --subs file of the same language
# wins over the stream; a picture stream (DVD) is left out with a warning
# and the lesson is still made (tests/transcode/mkdvdsub.c makes one: the
# ffmpeg CLI cannot turn text into pictures).
. "$YL_SRCDIR/tests/transcode/lib.sh"
D=$YL_SRCDIR/tests/transcode/data

gen_av av.mp4 8 320x180 zho
# Matroska: Tibetan SRT + Lisu (ASS) streams.
cat >lis.srt <<'SRT'
1
00:00:02,000 --> 00:00:03,000
ꓡꓲ-ꓢꓴ ꓟꓲ

2
00:00:05,500 --> 00:00:07,000
ꓬꓲ & <b>ꓐ</b>
SRT
ffmpeg -nostdin -v error -y -i av.mp4 -i "$D/bo.srt" -i lis.srt \
    -map 0 -map 1 -map 2 -c:v copy -c:a copy -c:s:0 srt -c:s:1 ass \
    -metadata:s:s:0 language=bod -metadata:s:s:1 language=lis src.mkv
"$YUNLING" transcode -i src.mkv --ladder 180 -o out 2>log.txt || {
    cat log.txt >&2
    fail "transcode of src.mkv failed"
}
for s in bo lis; do
    grep -q "TYPE=SUBTITLES.*LANGUAGE=\"$s\"" out/master.m3u8 ||
        fail "no $s subtitle rendition in master.m3u8"
    [ -s "out/s-$s/subs.vtt" ] || fail "no out/s-$s/subs.vtt"
done
grep -q 'བཀྲ་ཤིས་བདེ་ལེགས།' out/s-bo/subs.vtt || fail "Tibetan cue text lost"
grep -q '^00:00:01.000 --> 00:00:03.500' out/s-bo/subs.vtt ||
    fail "Tibetan cue timing: $(grep -- '-->' out/s-bo/subs.vtt | head -1)"
grep -q '^00:00:05.500 --> 00:00:07.000' out/s-lis/subs.vtt ||
    fail "Lisu cue timing: $(grep -- '-->' out/s-lis/subs.vtt | tail -1)"
grep -q '^ꓬꓲ &amp; ꓐ$' out/s-lis/subs.vtt || fail "Lisu cue text (ASS tags) not clean"
# ffmpeg reads our WebVTT back with the same cues.
[ "$(ffprobe -v error -show_entries packet=pts_time -of csv=p=0 out/s-lis/subs.vtt | wc -l)" = 2 ] ||
    fail "out/s-lis/subs.vtt does not hold 2 cues"
ok "mkv: SRT (bo) and ASS (lis) streams became s-bo, s-lis"

# A --subs file of the same language wins; the other stream stays.
"$YUNLING" transcode -i src.mkv --ladder 180 --subs bo="$D/bo.ass" -o out2 2>log.txt
[ "$(grep -c 'TYPE=SUBTITLES' out2/master.m3u8)" = 2 ] || fail "out2: expected 2 subtitle renditions"
[ ! -e out2/s-bo-2 ] || fail "both the --subs file and the bo stream were kept"
cmp -s <(grep -v '^X-TIMESTAMP' out2/s-bo/subs.vtt) <(grep -v '^X-TIMESTAMP' out/s-bo/subs.vtt) &&
    fail "s-bo came from the stream, not the --subs file"
ok "--subs bo=FILE wins over the bo stream"

# MP4 with mov_text, starting at a non-zero timestamp (cues keep their
# place relative to the picture).
ffmpeg -nostdin -v error -y -i av.mp4 -i lis.srt -map 0 -map 1 -c:v copy \
    -c:a copy -c:s mov_text -metadata:s:s:0 language=lis \
    -output_ts_offset 10 src-tx3g.mp4
"$YUNLING" transcode -i src-tx3g.mp4 --ladder 180 -o out3 2>log.txt
grep -q '^00:00:02.000 --> 00:00:03.000' out3/s-lis/subs.vtt ||
    fail "mov_text timing: $(grep -- '-->' out3/s-lis/subs.vtt | head -1)"
ok "mp4 mov_text (lis), source starting at 10 s: cue at 2 s"

# A DVD (picture) subtitle stream: left out with a warning, lesson made.
"$YL_BINDIR/tests/transcode/yl_mkdvdsub" av.mp4 src-dvd.mkv
[ "$(ffprobe -v error -select_streams s -show_entries stream=codec_name -of csv=p=0 src-dvd.mkv)" = dvd_subtitle ] ||
    fail "yl_mkdvdsub made no dvd_subtitle stream"
"$YUNLING" transcode -i src-dvd.mkv --ladder 180 -o out4 2>log.txt
grep -q 'is pictures, not text' log.txt || fail "no warning for the DVD stream"
! grep -q 'TYPE=SUBTITLES' out4/master.m3u8 || fail "a picture stream became a rendition"
[ -s out4/v0/index.m3u8 ] || fail "no video rung"
ok "dvd_subtitle stream left out with a warning; the lesson was made"
