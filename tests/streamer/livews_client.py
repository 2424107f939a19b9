#!/usr/bin/env python3
"""A websocket viewer of /ws/live/<id> for t_live_ws.sh (standard library
only: the test sets a small receive buffer, which Node's ws cannot).

livews_client.py PORT PATH OUT SECONDS [--stall N] [--rcvbuf BYTES]
  Connects (no subprotocol, like mpegts.js), writes the binary frames to
  OUT, the text frames to OUT.txt (one per line) and a summary to
  OUT.json: {"status": HTTP status, "binary": bytes, "frames": n,
  "texts": n, "first_sync": bool}. --stall N: reads nothing after the
  first N seconds (a slow viewer), then drains what the kernel holds.
  Each clock frame in OUT.txt gets recv_ms, the wall clock of its arrival.
  OUT.frames: one line per binary frame, {"recv_ms", "off" (its offset in
  OUT), "len", "pat" (it starts with the PAT)}."""
import base64
import json
import os
import socket
import struct
import sys
import time


def main():
    port, path, out, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(
        sys.argv[4])
    stall = None
    rcvbuf = None
    args = sys.argv[5:]
    while args:
        if args[0] == '--stall':
            stall = float(args[1])
        elif args[0] == '--rcvbuf':
            rcvbuf = int(args[1])
        args = args[2:]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(('127.0.0.1', int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
               'Upgrade: websocket\r\nConnection: Upgrade\r\n'
               f'Sec-WebSocket-Key: {key}\r\n'
               'Sec-WebSocket-Version: 13\r\n'
               'Origin: http://127.0.0.1\r\n\r\n').encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, buf = buf.partition(b'\r\n\r\n')
    status = int(head.split(b' ')[1]) if head else 0
    summary = {'status': status, 'binary': 0, 'frames': 0, 'texts': 0,
               'first_sync': False, 'first_pat': False}
    if status != 101:
        summary['body'] = buf.decode(errors='replace')
        json.dump(summary, open(out + '.json', 'w'))
        return
    fo = open(out, 'wb')
    ft = open(out + '.txt', 'w')
    ff = open(out + '.frames', 'w')
    start = time.time()
    s.settimeout(0.5)
    stalled = False
    while time.time() - start < secs:
        if stall is not None and time.time() - start > stall:
            stalled = True
            time.sleep(0.2)
            continue
        # One frame at a time from buf.
        while True:
            if len(buf) < 2:
                break
            b1 = buf[1] & 0x7f
            off = 2
            if b1 == 126:
                if len(buf) < 4:
                    break
                b1 = struct.unpack('>H', buf[2:4])[0]
                off = 4
            elif b1 == 127:
                if len(buf) < 10:
                    break
                b1 = struct.unpack('>Q', buf[2:10])[0]
                off = 10
            if len(buf) < off + b1:
                break
            op = buf[0] & 0x0f
            payload = buf[off:off + b1]
            buf = buf[off + b1:]
            if op == 2 or (op == 0 and summary['frames'] > 0):
                if summary['frames'] == 0:
                    summary['first_sync'] = payload[:1] == b'\x47'
                    # PID 0 (the PAT) first: a keyframe chunk.
                    summary['first_pat'] = (
                        payload[:1] == b'\x47' and
                        ((payload[1] & 0x1f) << 8 | payload[2]) == 0)
                ff.write(json.dumps({
                    'recv_ms': int(time.time() * 1000),
                    'off': summary['binary'], 'len': len(payload),
                    'pat': payload[:1] == b'\x47' and
                    ((payload[1] & 0x1f) << 8 | payload[2]) == 0}) + '\n')
                summary['frames'] += 1
                summary['binary'] += len(payload)
                fo.write(payload)
            elif op == 1:
                summary['texts'] += 1
                m = json.loads(payload.decode())
                m['recv_ms'] = int(time.time() * 1000)
                ft.write(json.dumps(m) + '\n')
                ft.flush()
            elif op == 8:
                summary['closed'] = struct.unpack('>H', payload[:2])[0] \
                    if len(payload) >= 2 else 1005
                secs = 0
                break
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        buf += d
    summary['stalled'] = stalled
    fo.close()
    ff.close()
    json.dump(summary, open(out + '.json', 'w'))
    s.close()


if __name__ == '__main__':
    main()
