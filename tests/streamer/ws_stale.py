#!/usr/bin/env python3
"""A wall that falls behind, for t_ws.sh (standard library only: it sets a
small receive buffer, which Node's ws cannot).

ws_stale.py PORT ADMIN REGION SITE
  Subscribes to REGION's notices as a wall, then reads nothing while it
  sends notices to SITE (titles of 200 characters, so each "notices"
  frame is ~6 KB) until the server drops one of its frames for room
  (yunling_ws_dropped_total). Then it reads again: within 10 s the server
  must send the snapshots again (yunling_ws_resyncs_total), and the last
  "notices" frame must be a whole snapshot that has the newest notice. Pings
  the server every second while it does not read (the keepalive would
  hang up on a silent client). Exit 0 when all holds."""
import base64
import json
import os
import re
import socket
import struct
import sys
import time
import urllib.request


def fail(msg):
    print(f'FAIL: {msg}')
    sys.exit(1)


def frame(text):
    """A masked client text frame."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack('!BB', 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack('!BBH', 0x81, 0x80 | 126, n)
    else:
        head = struct.pack('!BBQ', 0x81, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class Reader:
    def __init__(self, s, buf):
        self.s, self.buf = s, buf

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, deadline - time.time()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return False
            if not d:
                fail('the server closed the connection')
            self.buf += d
        return True

    def next(self, deadline):
        """The next text frame as JSON (pings answered), or None."""
        while True:
            if not self._need(2, deadline):
                return None
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7f, 2
            if n == 126:
                if not self._need(4, deadline):
                    return None
                n, off = struct.unpack('!H', self.buf[2:4])[0], 4
            elif n == 127:
                if not self._need(10, deadline):
                    return None
                n, off = struct.unpack('!Q', self.buf[2:10])[0], 10
            if not self._need(off + n, deadline):
                return None
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            op = b0 & 0x0f
            if op == 9:  # ping: pong with the same payload
                mask = os.urandom(4)
                self.s.sendall(struct.pack('!BB', 0x8a, 0x80 | len(payload)) +
                               mask + bytes(b ^ mask[i % 4]
                                            for i, b in enumerate(payload)))
            elif op == 8:
                fail(f'closed by the server: {payload[2:].decode(errors="replace")}')
            elif op == 1:
                return json.loads(payload)


def metric(port, name):
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics').read().decode()
    m = re.search(rf'^{name} (\d+)$', text, re.M)
    return int(m.group(1)) if m else fail(f'no {name} in /metrics')


def notice(port, admin, site, i):
    body = json.dumps({'title': f'{i:05d}' + '积' * 195, 'body': '落后的大屏',
                       'targets': [site]}).encode()
    req = urllib.request.Request(
        f'http://127.0.0.1:{port}/api/v1/notices', data=body, method='POST',
        headers={'authorization': f'Bearer {admin}',
                 'content-type': 'application/json'})
    return json.loads(urllib.request.urlopen(req).read())['id']


def main():
    port, admin, region, site = sys.argv[1:5]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f'GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
               'Upgrade: websocket\r\nConnection: Upgrade\r\n'
               f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n'
               'Sec-WebSocket-Protocol: yunling.v1\r\n\r\n').encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            fail('no handshake')
        buf += d
    head, _, buf = buf.partition(b'\r\n\r\n')
    if b' 101 ' not in head.split(b'\r\n')[0]:
        fail(f'handshake: {head[:80]!r}')
    r = Reader(s, buf)
    s.sendall(frame(json.dumps({'type': 'hello', 'token': admin,
                                'client': 'wall', 'device': 'stale'})))
    s.sendall(frame(json.dumps({'type': 'subscribe', 'topics': ['notices'],
                                'region': region})))
    got = set()
    while got != {'welcome', 'subscribed', 'notices'}:
        m = r.next(time.time() + 10)
        if m is None:
            fail(f'no welcome, subscribed and snapshot (got {sorted(got)})')
        got.add(m['type'])
    print('ok - subscribed to the notices of', region)

    d0, r0 = metric(port, 'yunling_ws_dropped_total'), \
        metric(port, 'yunling_ws_resyncs_total')
    last, sent, ping = None, 0, time.time()
    while metric(port, 'yunling_ws_dropped_total') == d0:
        if sent >= 1500:
            fail(f'nothing dropped after {sent} notices')
        for _ in range(10):
            last = notice(port, admin, site, sent)
            sent += 1
        if time.time() - ping >= 1:
            s.sendall(frame('{"type":"ping"}'))
            ping = time.time()
    # Two more, so that the newest one's frame surely finds no room.
    for _ in range(2):
        last = notice(port, admin, site, sent)
        sent += 1
    print(f'ok - a frame dropped for room after {sent} notices; the last is {last}')

    # Reading again: the queue drains, the server sends the snapshots
    # again (yunling_ws_resyncs_total), and the last frame of the notices
    # topic is then a whole snapshot that has the newest notice.
    end, last_frame, r1 = time.time() + 10, None, r0
    while r1 <= r0:
        if time.time() > end:
            fail(f'yunling_ws_resyncs_total did not move within 10 s ({r0})')
        while True:
            m = r.next(time.time() + 0.2)
            if m is None:
                break
            if m['type'] == 'notices':
                last_frame = m
        r1 = metric(port, 'yunling_ws_resyncs_total')
    while True:  # until the channel is quiet
        m = r.next(time.time() + 1)
        if m is None:
            break
        if m['type'] == 'notices':
            last_frame = m
    print(f'ok - reading again: yunling_ws_resyncs_total {r0} -> {r1}')
    if last_frame is None or not last_frame.get('snapshot') or \
            not any(n.get('id') == last for n in last_frame['notices']):
        fail(f'the last notices frame is not a snapshot with {last}: {last_frame}')
    print(f'ok - the last notices frame is a whole snapshot with notice {last}')
    s.close()


main()
