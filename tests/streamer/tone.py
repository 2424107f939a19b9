#!/usr/bin/env python3
"""Which tone an audio file carries, for t_meeting_audio.sh (standard
library only).

tone.py FILE FREQ...
  Decodes the first audio stream of FILE with ffmpeg (mono, 8 kHz) and
  prints the candidate FREQ (Hz) with the most energy (Goertzel), or
  "silence" when the signal's RMS is below 1% of full scale, or "mixed"
  when no candidate holds 80% of the candidates' energy; then the RMS and
  each candidate's share, for the log."""
import math
import struct
import subprocess
import sys

RATE = 8000


def goertzel(x, f):
    k = 2 * math.cos(2 * math.pi * f / RATE)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


def main():
    path, freqs = sys.argv[1], [float(f) for f in sys.argv[2:]]
    raw = subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-i', path,
                          '-map', '0:a:0', '-ac', '1', '-ar', str(RATE),
                          '-f', 's16le', '-'],
                         stdout=subprocess.PIPE, check=True,
                         timeout=30).stdout
    x = [v / 32768.0 for v in struct.unpack('<%dh' % (len(raw) // 2), raw)]
    if not x:
        print('silence rms=0 (no samples)')
        return
    rms = math.sqrt(sum(v * v for v in x) / len(x))
    p = [goertzel(x, f) for f in freqs]
    tot = sum(p) or 1.0
    share = ' '.join('%g:%.2f' % (f, q / tot) for f, q in zip(freqs, p))
    best = max(range(len(freqs)), key=lambda i: p[i])
    if rms < 0.01:
        print('silence rms=%.4f %s' % (rms, share))
    elif p[best] / tot < 0.8:
        print('mixed rms=%.4f %s' % (rms, share))
    else:
        print('%g rms=%.4f %s' % (freqs[best], rms, share))


if __name__ == '__main__':
    main()
