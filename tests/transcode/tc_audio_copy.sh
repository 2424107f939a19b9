#!/usr/bin/env bash
# Audio pass-through (--audio-copy auto, the default): a track that is
# already AAC-LC as the rendition would be (MP4/M4A, 44.1/48 kHz, mono or
# stereo, <= 64/128 kb/s) keeps its packets, lined up on the lesson's
# timeline exactly as the re-encoded rendition would be; anything else, and
# --audio-copy never, is re-encoded; damaged packets become silence.
. "$YL_SRCDIR/tests/transcode/lib.sh"

# A 6 s lesson whose sound clicks at 1.0 s, and a 5 s stereo dub whose
# tone starts with a click at 2.0 s (both AAC-LC 128k, 48 kHz).
click='if(between(t\,CLICK\,CLICK+0.01)\,0.8\,0.2*sin(2*PI*440*t))'
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -f lavfi -i "aevalsrc=${click//CLICK/1}|${click//CLICK/1}:s=48000:d=6" \
    -t 6 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k \
    src.mp4
ffmpeg -nostdin -v error -y \
    -f lavfi -i "aevalsrc=${click//CLICK/2}|${click//CLICK/2}:s=48000:d=5" \
    -c:a aac -b:a 128k dub.m4a

# onset FILE: the first sample (48 kHz mono) louder than the tone.
onset() {
    ffmpeg -nostdin -v error -i "$1" -ac 1 -ar 48000 -f s16le - |
        od -An -v -td2 -w2 | awk 'found { next } { v = $1 < 0 ? -$1 : $1 }
            v > 16000 { at = NR - 1; found = 1 }
            END { print found ? at : -1 }'
}
# hashes FILE: one md5 per audio packet, as stored.
hashes() {
    ffmpeg -nostdin -v error -i "$1" -map 0:a -c copy -f framemd5 - |
        awk -F, '!/^#/ { gsub(/ /, "", $6); print $6 }'
}

YL_LOG=debug "$YUNLING" transcode -i src.mp4 --audio bo=dub.m4a --ladder 240 \
    --progress none -o copy 2>copy.log
grep -q 'src.mp4: audio passed through' copy.log ||
    fail "the source's AAC-LC track was re-encoded: $(grep 'src.mp4: audio' copy.log)"
grep -q 'dub.m4a: audio passed through' copy.log ||
    fail "the dub was re-encoded: $(grep 'dub.m4a: audio' copy.log)"
"$YUNLING" transcode -i src.mp4 --audio bo=dub.m4a --ladder 240 \
    --audio-copy never --progress none -o reenc

# The dub's packets, bit for bit, then silence to the lesson's end.
hashes dub.m4a >dub.md5
hashes copy/a-bo/index.m3u8 >copy.md5
n=$(wc -l <dub.md5)
head -n "$n" copy.md5 | cmp -s - dub.md5 ||
    fail "the dub's packets were not kept as they are"
hashes reenc/a-bo/index.m3u8 >reenc.md5
[ "$(wc -l <copy.md5)" -eq "$(wc -l <reenc.md5)" ] ||
    fail "copied and re-encoded renditions differ in packet count"
head -n "$n" reenc.md5 | cmp -s - dub.md5 &&
    fail "--audio-copy never kept the dub's packets"

# within A B TOL: |A - B| <= TOL (samples)
within() { [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]; }

# Where the sound is: the same sample with and without pass-through.
for r in a-und a-bo; do
    c=$(onset "copy/$r/index.m3u8")
    e=$(onset "reenc/$r/index.m3u8")
    [ "$c" -ge 0 ] || fail "$r: no click in the copied rendition"
    within "$c" "$e" 2 || fail "$r: click at sample $c copied, $e re-encoded"
done
want=$((48000 + 1024))    # 1.0 s, after the AAC priming left in by ffmpeg
[ "$(onset copy/a-und/index.m3u8)" -le $((want + 48)) ] ||
    fail "source click at $(onset copy/a-und/index.m3u8), expected ~$want"
for r in a-und a-bo; do
    near "$(dur "copy/$r/index.m3u8")" "$(dur copy/v0/index.m3u8)" 0.05 ||
        fail "$r lasts $(dur "copy/$r/index.m3u8") s, video $(dur copy/v0/index.m3u8) s"
    # The last packet is cut where the re-encoded rendition ends.
    near "$(dur "copy/$r/index.m3u8")" "$(dur "reenc/$r/index.m3u8")" 0.002 ||
        fail "$r lasts $(dur "copy/$r/index.m3u8") s, re-encoded $(dur "reenc/$r/index.m3u8") s"
    [ "$(probe1 "copy/$r/index.m3u8" a:0 codec_name,profile,sample_rate,channels)" = \
        "aac,LC,48000,2" ] || fail "$r: $(probe1 "copy/$r/index.m3u8" a:0 codec_name,profile,sample_rate,channels)"
    err=$(ffmpeg -nostdin -v error -i "copy/$r/index.m3u8" -f null - 2>&1)
    [ -z "$err" ] || fail "$r does not decode cleanly: $err"
done

# A dub starting 1.5 s late on the source's clock, one with a 1 s hole in
# its timestamps before the click and one whose timestamps step back
# 0.25 s: lined up by whole AAC frames, so within half a frame (512
# samples, 10.7 ms) of where the re-encoded rendition puts the sound.
ffmpeg -nostdin -v error -y -i dub.m4a -c copy -output_ts_offset 1.5 late.m4a
ffmpeg -nostdin -v error -y -i dub.m4a -c copy \
    -bsf:a "setts=ts=if(gte(PTS\,48000)\,PTS+48000\,PTS)" gap.m4a
ffmpeg -nostdin -v error -y -i dub.m4a -c copy \
    -bsf:a "setts=ts=if(gte(PTS\,72000)\,PTS-12000\,PTS)" back.m4a
for d in late gap back; do
    clock=own
    [ $d = late ] && clock=source
    for m in auto never; do
        YL_LOG=debug "$YUNLING" transcode -i src.mp4 --audio bo=$d.m4a \
            --dub-clock $clock --audio-copy $m --ladder 240 --thumbs 0 \
            --progress none -o $d-$m 2>$d-$m.log
    done
    grep -q "$d.m4a: audio passed through" $d-auto.log ||
        fail "$d.m4a was not passed through"
    c=$(onset $d-auto/a-bo/index.m3u8)
    e=$(onset $d-never/a-bo/index.m3u8)
    within "$c" "$e" 512 || fail "$d dub: click at sample $c copied, $e re-encoded"
done
within "$(onset late-never/a-bo/index.m3u8)" $((2 * 48000 + 72000 + 1024)) 48 ||
    fail "late dub re-encoded: click at sample $(onset late-never/a-bo/index.m3u8)"
within "$(onset gap-never/a-bo/index.m3u8)" $((3 * 48000 + 1024)) 48 ||
    fail "gap dub re-encoded: click at sample $(onset gap-never/a-bo/index.m3u8)"
grep -q 'back.m4a: AAC passed through: .* [1-9][0-9]* dropped' back-auto.log ||
    fail "the stepped-back dub dropped no packet: $(grep 'AAC passed' back-auto.log)"

# A 5 s dub on a 50-minute lesson (1 fps, 64x64): 140,000 frames of
# silence, written as they go (a queue that could not grow failed with
# "out of memory").
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=64x64:rate=1" \
    -t 3000 -c:v libx264 -preset ultrafast -pix_fmt yuv420p long.mp4
"$YUNLING" transcode -i long.mp4 --audio bo=dub.m4a --ladder 64 --thumbs 0 \
    --progress none -o long
near "$(dur long/a-bo/index.m3u8)" 3000 0.05 ||
    fail "long lesson: the dub's rendition lasts $(dur long/a-bo/index.m3u8) s"

# Not passed through: too high a bit rate, a 32 kHz track, MPEG-TS.
ffmpeg -nostdin -v error -y -f lavfi -i "anoisesrc=d=5:c=pink:r=48000:a=0.3" \
    -ac 2 -c:a aac -b:a 192k hi.m4a # noise: it does use the bits
ffmpeg -nostdin -v error -y -i dub.m4a -c:a aac -ar 32000 -b:a 96k low.m4a
ffmpeg -nostdin -v error -y -i dub.m4a -c copy -f mpegts dub.ts
ffmpeg -nostdin -v error -y -i dub.m4a -ac 1 -c:a aac -b:a 64k mono.m4a
YL_LOG=debug "$YUNLING" transcode -i src.mp4 --audio lis=hi.m4a \
    --audio wa=low.m4a --audio duu=dub.ts --audio ii=mono.m4a --ladder 240 \
    --progress none -o mixed 2>mixed.log
grep -q 'hi.m4a: audio re-encoded: bit rate' mixed.log ||
    fail "a 192k dub was not re-encoded: $(grep 'hi.m4a: audio' mixed.log)"
grep -q 'low.m4a: audio re-encoded: 32000 Hz' mixed.log ||
    fail "a 32 kHz dub was not re-encoded: $(grep 'low.m4a: audio' mixed.log)"
grep -q 'dub.ts: audio passed' mixed.log && fail "an MPEG-TS dub was passed through"
grep -q 'mono.m4a: audio passed through' mixed.log ||
    fail "a mono 64k dub was re-encoded: $(grep 'mono.m4a: audio' mixed.log)"
[ "$(probe1 mixed/a-ii/index.m3u8 a:0 channels)" = 1 ] || fail "mono dub not mono"
[ "$(probe1 mixed/a-wa/index.m3u8 a:0 sample_rate)" = 48000 ] ||
    fail "32 kHz dub not resampled to 48 kHz"
for r in a-lis a-wa a-duu a-ii; do
    near "$(dur "mixed/$r/index.m3u8")" "$(dur mixed/v0/index.m3u8)" 0.05 ||
        fail "$r lasts $(dur "mixed/$r/index.m3u8") s"
done

# Damaged packets in a passed-through dub: silence in their place, the
# rendition as long and as decodable as ever.
cp dub.m4a bad.m4a
size=$(stat -c %s bad.m4a)
for at in 40 55 70; do
    head -c 48 /dev/zero | tr '\0' '\377' |
        dd of=bad.m4a bs=1 seek=$((size * at / 100)) conv=notrunc status=none
done
[ -n "$(ffmpeg -nostdin -v error -i bad.m4a -f null - 2>&1)" ] ||
    fail "bad.m4a decodes cleanly: the test would prove nothing"
YL_LOG=debug "$YUNLING" transcode -i src.mp4 --audio bo=bad.m4a --ladder 240 \
    --progress none -o bad 2>bad.log
grep -q 'bad.m4a: audio passed through' bad.log || fail "bad.m4a not passed through"
silence() { sed -n "s/.*$1: AAC passed through: .* \([0-9]*\) of silence.*/\1/p" "$2"; }
[ "$(silence bad.m4a bad.log)" -gt "$(silence dub.m4a copy.log)" ] ||
    fail "no damaged packet was replaced by silence"
[ "$(hashes bad/a-bo/index.m3u8 | wc -l)" -eq "$(wc -l <copy.md5)" ] ||
    fail "damaged dub: packet count changed"
near "$(dur bad/a-bo/index.m3u8)" "$(dur bad/v0/index.m3u8)" 0.05 ||
    fail "damaged dub lasts $(dur bad/a-bo/index.m3u8) s"
err=$(ffmpeg -nostdin -v error -i bad/a-bo/index.m3u8 -f null - 2>&1)
[ -z "$err" ] || fail "the damaged dub's rendition does not decode cleanly: $err"

expect_fail 64 'audio-copy x: expected auto or never' badopt -- \
    -i src.mp4 --audio-copy x -o badopt
ok "audio pass-through: packets kept, timing as re-encoded, fallbacks, damage"
