#!/usr/bin/env bash
# A dub longer than the video (here a video file whose audio is the dub) is
# trimmed to the video's end.
. "$YL_SRCDIR/tests/transcode/lib.sh"

gen_av src.mp4 5 320x240 zho
gen_av dub.mkv 9 160x120 lis
"$YUNLING" transcode -i src.mp4 --audio lis=dub.mkv --ladder 240 -o out 2>err.txt
# The default progress mode draws a bar only on a terminal: quiet here.
[ ! -s err.txt ] || { cat err.txt >&2; fail "stderr not quiet without a terminal"; }
d=$(dur out/a-lis/index.m3u8)
near "$d" "$(dur src.mp4)" 0.04 || fail "dub lasts $d s, video $(dur src.mp4) s"
jq -e '.languages == ["zh", "lis"]' out/lesson.json >/dev/null || fail "languages"
ok "long dub trimmed to $d s"
