#!/usr/bin/env bash
# --burn-subs: a Tibetan cue (1.0-2.0 s) drawn into a 480p rung.
# - the burned rung has its own master (master-burn-bo.m3u8: one variant,
#   the audio group, no subtitle group, no audio-only variant), is absent
#   from master.m3u8, listed in lesson.json, and its segments align with
#   the clean 480p rung's;
# - its pictures equal the clean rung's outside the cue (whole picture) and
#   inside it above the subtitle area, and differ in the bottom area inside
#   the cue;
# - the cue is readable: the burned area matches a reference drawn by the
#   ffmpeg CLI's subtitles filter with the same fonts and style, far better
#   than it matches the tofu boxes drawn without a Tibetan font;
# - --burn-subs for a language without --subs: usage error (64), no output.
. "$YL_SRCDIR/tests/transcode/lib.sh"
fonts=$YL_BINDIR/burn-fonts
[ -d "$fonts" ] || fail "$fonts missing (the build gathers the fonts)"

ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=854x480:rate=25" \
    -f lavfi -i "sine=frequency=220:sample_rate=48000" -t 6 \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac \
    -metadata:s:a:0 language=zho src.mp4
printf '1\n00:00:01,000 --> 00:00:02,000\nབོད་ཡིག་གི་ཡི་གེ།\n\n2\n00:00:04,000 --> 00:00:05,000\nབཀྲ་ཤིས་བདེ་ལེགས།\n' >cues.srt

expect_fail 64 '--burn-subs zh: no --subs zh=FILE given' out -- \
    -i src.mp4 --subs bo=cues.srt --burn-subs zh -o out
expect_fail 64 '"b@d" is not a well-formed' out -- \
    -i src.mp4 --subs bo=cues.srt --burn-subs b@d -o out

"$YUNLING" transcode -i src.mp4 --subs bo=cues.srt --burn-subs bo \
    --ladder 480,240 --segment-seconds 2 --progress none -o out

# Playlists and metadata.
! grep -q 'vb-bo' out/master.m3u8 || fail "master.m3u8 lists the burned rung"
m=out/master-burn-bo.m3u8
[ -f "$m" ] || fail "no $m"
[ "$(grep -c '^#EXT-X-STREAM-INF' "$m")" -eq 1 ] || fail "$m: not one variant"
grep -A1 '^#EXT-X-STREAM-INF' "$m" | tail -1 | grep -qx 'vb-bo/index.m3u8' ||
    fail "$m: variant is not vb-bo"
line=$(grep '^#EXT-X-STREAM-INF' "$m")
[ "$(attr "$line" RESOLUTION)" = "854x480" ] || fail "burned rung not 854x480"
[ "$(attr "$line" AUDIO)" = "aud" ] || fail "burned variant without audio"
! grep -q 'TYPE=SUBTITLES' "$m" || fail "$m has a subtitle group"
grep -q 'TYPE=AUDIO.*URI="a-zh/index.m3u8"' "$m" || fail "$m: no audio"
[ "$(jq -r '.burned[0].lang, .burned[0].master, .burned[0].height' \
    out/lesson.json | tr '\n' ' ')" = "bo master-burn-bo.m3u8 480 " ] ||
    fail "lesson.json burned: $(jq -c .burned out/lesson.json)"
[ ! -e out/vb-bo/burn.ass ] || fail "the ASS script was published"
ok "own master, not in master.m3u8, in lesson.json"

check_video_rung out/vb-bo
[ "$(seg_starts out/v0)" = "$(seg_starts out/vb-bo)" ] ||
    fail "segments of v0 and vb-bo do not start at the same times"
ok "segments aligned with the clean 480p rung"

# frame RUNG T OUT: the picture at T seconds as PNG.
frame() {
    ffmpeg -nostdin -v error -y -i "$1" -ss "$2" -frames:v 1 -update 1 "$3"
}
# psnr A B CROP: PSNR (dB, "inf" when equal) of an area of two pictures.
psnr() {
    local v
    v=$(ffmpeg -nostdin -hide_banner -i "$1" -i "$2" -lavfi \
        "[0]crop=$3,format=yuv420p[a];[1]crop=$3,format=yuv420p[b];[a][b]psnr" \
        -f null - 2>&1 | grep -oE 'average:[0-9.inf]+' | tail -1 | cut -d: -f2)
    echo "${v:-0}"
}
# above A B: A > B, "inf" above everything.
above() {
    [ "$1" = inf ] && return 0
    [ "$2" = inf ] && return 1
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'
}

top=854:330:0:0    # above the subtitle area
bottom=600:100:127:380 # where the bottom-centred cue is drawn
frame out/v0/index.m3u8 1.5 clean-in.png
frame out/vb-bo/index.m3u8 1.5 burn-in.png
frame out/v0/index.m3u8 3.0 clean-out.png
frame out/vb-bo/index.m3u8 3.0 burn-out.png

p_out=$(psnr clean-out.png burn-out.png 854:480:0:0)
p_top=$(psnr clean-in.png burn-in.png "$top")
p_bot=$(psnr clean-in.png burn-in.png "$bottom")
echo "PSNR clean vs burned: outside the cue $p_out dB, inside: above the" \
    "subtitle area $p_top dB, bottom area $p_bot dB"
above "$p_out" 38 || fail "outside the cue the pictures differ ($p_out dB)"
above "$p_top" 38 || fail "above the subtitles the pictures differ ($p_top dB)"
above 25 "$p_bot" || fail "inside the cue the bottom area is unchanged ($p_bot dB)"
ok "burned pictures differ exactly where and when the cue is shown"

# Reference renderings of the same picture by the ffmpeg CLI: the source
# scaled like the rung (bicubic), the cue drawn with the build's fonts and
# the documented style, and once with only a font that has no Tibetan
# (DejaVu Sans: tofu boxes). fontconfig sees that one font only, so a
# Tibetan font installed on this machine cannot stand in.
mkdir -p latin
cp "$(fc-match -f '%{file}' 'DejaVu Sans')" latin/ ||
    fail "no DejaVu Sans (fonts-dejavu-core) for the tofu rendering"
printf '<?xml version="1.0"?>\n<fontconfig><dir>%s</dir><cachedir>%s</cachedir></fontconfig>\n' \
    "$PWD/latin" "$PWD/fccache" >fonts.conf
style="FontName=Noto Serif Tibetan,FontSize=22,Outline=2,Shadow=1,MarginV=14"
draw() {
    FONTCONFIG_FILE=$PWD/fonts.conf ffmpeg -nostdin -v error -y -i src.mp4 \
        -vf "scale=854:480:flags=bicubic,subtitles=cues.srt:fontsdir=$1:force_style='$style'" \
        -ss 1.5 -frames:v 1 -update 1 "$2"
}
draw "$fonts" ref.png
draw latin tofu.png
p_tofu_clean=$(psnr tofu.png clean-in.png "$bottom")
above 25 "$p_tofu_clean" || fail "the tofu rendering drew nothing ($p_tofu_clean dB)"
p_ref=$(psnr ref.png burn-in.png "$bottom")
p_tofu=$(psnr tofu.png burn-in.png "$bottom")
p_reftofu=$(psnr ref.png tofu.png "$bottom")
echo "PSNR of the burned bottom area: vs reference $p_ref dB, vs tofu" \
    "$p_tofu dB (reference vs tofu $p_reftofu dB)"
above "$p_ref" 30 || fail "burned cue unlike the reference rendering ($p_ref dB)"
above 25 "$p_reftofu" || fail "the tofu rendering looks like the reference"
above "$p_ref" "$(awk -v t="$p_tofu" 'BEGIN { print t + 8 }')" ||
    fail "burned cue not clearly closer to the Tibetan glyphs than to tofu"
ok "Tibetan cue drawn with real glyphs, like the reference rendering"
