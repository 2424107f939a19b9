#!/usr/bin/env bash
# bench/live/avsync.sh - lip sync through a live meeting's SRT ingest: a
# source with a white flash and a 1 kHz beep at the same instants every
# 2 s (x264 zerolatency + AAC, MPEG-TS over SRT in real time) into a
# meeting; 12 s of its live HLS (720p + the first audio) are captured and
# each flash's onset (signalstats YAVG) is paired with the nearest beep
# onset (silencedetect). Prints the offsets, audio minus video, in ms
# (negative: the sound comes before the picture). Not a test.
# usage: YUNLING=build-bench/app/yunling bench/live/avsync.sh
# env: WORK (scratch, default /tmp/yl-bench-avsync), MUXDELAY (the sender's
# ffmpeg -muxdelay, seconds; default ffmpeg's 0.7).
set -euo pipefail
cd "$(dirname "$0")/../.."
Y=${YUNLING:-$PWD/build/app/yunling}
W=${WORK:-/tmp/yl-bench-avsync}
rm -rf "$W"; mkdir -p "$W/data"
"$Y" sites import --data "$W/data" >/dev/null 2>&1
A=$("$Y" token create --role admin --scope 53 --data "$W/data" 2>/dev/null)
"$Y" serve --listen 127.0.0.1:0 --data "$W/data" >"$W/out" 2>"$W/log" &
S=$!
trap 'kill $S $F 2>/dev/null; wait 2>/dev/null' EXIT
F=
for _ in $(seq 100); do grep -q '^listening on' "$W/out" && break; sleep 0.1; done
P=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$W/out")
B=http://127.0.0.1:$P
SP=$((20000 + RANDOM % 20000))
id=$(curl -s -H "Authorization: Bearer $A" -H 'content-type: application/json' \
  -d "{\"title\":\"同步\",\"targets\":[\"53\"],\"source\":\"srt://:$SP?mode=listener\"}" $B/api/v1/meetings | jq -r .id)
curl -s -o /dev/null -XPOST -H "Authorization: Bearer $A" $B/api/v1/meetings/$id/start
sleep 1
ffmpeg -nostdin -v error -re -f lavfi -i "color=c=black:s=1280x720:r=25,drawbox=x=0:y=0:w=1280:h=720:c=white:t=fill:enable='lt(mod(t\,2)\,0.08)'" \
  -f lavfi -i "aevalsrc='if(lt(mod(t\,2)\,0.08)\,0.8*sin(2*PI*1000*t)\,0)':s=48000" -t 40 \
  -c:v libx264 -preset veryfast -tune zerolatency -g 25 -pix_fmt yuv420p -b:v 2500k \
  -c:a aac -b:a 128k ${MUXDELAY:+-muxdelay $MUXDELAY} -f mpegts "srt://127.0.0.1:$SP?mode=caller" &
F=$!
sleep 18
ffmpeg -nostdin -v error -i "$B/live/$id/master.m3u8" -map 0:v:0 -map 0:a:0 -t 12 -c copy -y "$W/cap.ts"
python3 - "$W/cap.ts" <<'PY'
import subprocess, sys, re
f = sys.argv[1]
out = subprocess.run(['ffprobe','-v','error','-f','lavfi','-i',f'movie={f},signalstats','-show_entries','frame=pts_time:frame_tags=lavfi.signalstats.YAVG','-of','csv=p=0'],capture_output=True,text=True).stdout
fl=[]; prev=0
for line in out.split('\n'):
    p=line.split(',')
    if len(p)<2: continue
    t,y=float(p[0]),float(p[1])
    if y>128 and prev<=128: fl.append(t)
    prev=y
err = subprocess.run(['ffmpeg','-nostdin','-copyts','-i',f,'-map','0:a:0','-af','silencedetect=n=-30dB:d=0.03','-f','null','-'],capture_output=True,text=True).stderr
be=[float(x) for x in re.findall(r'silence_end: ([\d.]+)',err)]
offs=[]
for t in fl:
    c=min(be,key=lambda b:abs(b-t)) if be else None
    if c is not None and abs(c-t)<0.9: offs.append(round((c-t)*1000))
print('flashes',len(fl),'beeps',len(be),'offsets ms (audio - video):',offs)
PY
