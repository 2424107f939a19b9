#!/usr/bin/env python3
"""ts_check.py FILE: what a viewer's MPEG-TS holds, as one JSON line, for
t_live_ws.sh (a mux that was stopped and started again must give its new
viewer a clean stream):
  packets         whole 188-byte packets read
  cc_errors       continuity counter jumps on any PID after its first packet
                  (a duplicate, the same counter once, is allowed)
  video_back      video PES whose PTS is not above the previous one
  video_step_max  the largest step between consecutive video PTS, seconds
  audio_early     how far the earliest audio PES is before the first video
                  PES, seconds (0 if none is; stale audio shows here)
  video_s         last video PTS minus the first, seconds"""
import json
import sys

d = open(sys.argv[1], 'rb').read()
pmt_pid = video = None
audio = set()
cc = {}
dup = set()
r = {'packets': 0, 'cc_errors': 0, 'video_back': 0, 'video_step_max': 0.0,
     'audio_early': 0.0, 'video_s': 0.0}
v_first = v_last = None
a_min = None


def pts_of(p, pay):
    if p[pay:pay + 3] != b'\x00\x00\x01' or not p[pay + 7] & 0x80:
        return None
    b = p[pay + 9:pay + 14]
    return (((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 |
            b[3] << 7 | b[4] >> 1) / 90000.0


for i in range(0, len(d) - 187, 188):
    p = d[i:i + 188]
    if p[0] != 0x47:
        print(json.dumps({'error': 'no sync at %d' % i}))
        sys.exit(0)
    r['packets'] += 1
    pid = (p[1] & 0x1f) << 8 | p[2]
    pusi = p[1] & 0x40
    afc = (p[3] >> 4) & 3
    pay = 4 + (1 + p[4] if afc & 2 else 0)
    disc = afc & 2 and p[4] > 0 and p[5] & 0x80
    if afc & 1 and pid != 0x1fff:
        c = p[3] & 0x0f
        if pid in cc and not disc:
            if c == cc[pid] and pid not in dup:
                dup.add(pid)
            elif c != (cc[pid] + 1) % 16:
                r['cc_errors'] += 1
            else:
                dup.discard(pid)
        cc[pid] = c
    if not pusi or pay >= 188:
        continue
    if pid == 0:
        sec = p[pay + 1 + p[pay]:]
        pmt_pid = (sec[10] & 0x1f) << 8 | sec[11]
    elif pid == pmt_pid:
        sec = p[pay + 1 + p[pay]:]
        info = (sec[10] & 0x0f) << 8 | sec[11]
        j = 12 + info
        end = 3 + ((sec[1] & 0x0f) << 8 | sec[2]) - 4
        while j + 5 <= min(end, len(sec)):
            epid = (sec[j + 1] & 0x1f) << 8 | sec[j + 2]
            if sec[j] == 0x1b:
                video = epid
            elif sec[j] in (0x0f, 0x11):
                audio.add(epid)
            j += 5 + ((sec[j + 3] & 0x0f) << 8 | sec[j + 4])
    elif pid == video:
        t = pts_of(p, pay)
        if t is None:
            continue
        if v_first is None:
            v_first = t
        elif t <= v_last:
            r['video_back'] += 1
        else:
            r['video_step_max'] = max(r['video_step_max'], t - v_last)
        v_last = t
    elif pid in audio:
        t = pts_of(p, pay)
        if t is not None and (a_min is None or t < a_min):
            a_min = t
if v_first is not None:
    r['video_s'] = round(v_last - v_first, 3)
    if a_min is not None and a_min < v_first:
        r['audio_early'] = round(v_first - a_min, 3)
r['video_step_max'] = round(r['video_step_max'], 3)
print(json.dumps(r))
