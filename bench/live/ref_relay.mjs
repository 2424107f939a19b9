// bench/live/ref_relay.mjs - the reference of bench/live/latency.sh's
// websocket case: the MPEG-TS ffmpeg writes (on this process's standard
// input) relayed untouched to every websocket client, the way a minimal
// low-latency server would do it. Nothing is parsed, buffered or
// re-timed; the only work is cutting the byte stream at 188-byte packet
// boundaries, so that a client joining mid-stream starts on a packet.
//
// usage: node bench/live/ref_relay.mjs < stream.ts
// Prints "listening PORT" (a free loopback port) once it accepts clients.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const TS = 188;
const server = http.createServer((req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
let rest = Buffer.alloc(0);

process.stdin.on('data', (chunk) => {
  const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
  const n = buf.length - (buf.length % TS);
  rest = Buffer.from(buf.subarray(n));
  if (n === 0) return;
  const out = buf.subarray(0, n);
  for (const c of wss.clients) {
    // A client too slow to keep up is dropped rather than queued for.
    if (c.bufferedAmount > 8 << 20) c.terminate();
    else if (c.readyState === 1) c.send(out, { binary: true });
  }
});
process.stdin.on('end', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
