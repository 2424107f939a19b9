#!/usr/bin/env python3
"""ts_first_video.py FILE: prints "idr" when the first PES that starts in
the MPEG-TS FILE on the H.264 PID (from the PMT) begins an IDR access
unit (an SPS or IDR NAL unit, types 7 and 5, in its first packet), else
what it found. For t_live_ws.sh: a viewer starts at a keyframe."""
import re
import sys

d = open(sys.argv[1], 'rb').read()
pmt_pid = video = None
for i in range(0, len(d) - 187, 188):
    p = d[i:i + 188]
    if p[0] != 0x47:
        print('no sync at', i)
        sys.exit(0)
    pid = (p[1] & 0x1f) << 8 | p[2]
    pusi = p[1] & 0x40
    af = p[3] & 0x20
    pay = 4 + (1 + p[4] if af else 0)
    if not pusi:
        continue
    sec = p[pay + 1 + p[pay]:]
    if pid == 0:
        pmt_pid = (sec[10] & 0x1f) << 8 | sec[11]
    elif pid == pmt_pid and video is None:
        info = (sec[10] & 0x0f) << 8 | sec[11]
        j = 12 + info
        while j + 5 <= len(sec):
            if sec[j] == 0x1b:  # H.264
                video = (sec[j + 1] & 0x1f) << 8 | sec[j + 2]
                break
            j += 5 + ((sec[j + 3] & 0x0f) << 8 | sec[j + 4])
    elif pid == video:
        es = p[pay + 9 + p[pay + 8]:]
        types = [es[m.end()] & 0x1f for m in re.finditer(b'\x00\x00\x01', es)
                 if m.end() < len(es)]
        print('idr' if 5 in types or 7 in types else 'not idr: %s' % types)
        sys.exit(0)
print('no video (pmt pid %s, video pid %s)' % (pmt_pid, video))
