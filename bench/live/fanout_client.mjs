// bench/live/fanout_client.mjs URL N SECONDS - N websocket viewers of one
// /ws/live/ stream (with clock=1) in this process: counts bytes, and for
// each clock frame the age of the picture on arrival (receipt - ingest_ms,
// this machine's one clock). Prints JSON: viewers connected and still
// open at the end, bytes, MB/s, age p50/p99/max over every viewer's clock
// frames after a warm-up of 3 s.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../package.json'));
const WebSocket = require('ws');
const [url, nStr, secsStr] = process.argv.slice(2);
const N = Number(nStr);
const secs = Number(secsStr);
let open = 0, closed = 0, failed = 0, bytes = 0;
const ages = [];
let t0 = 0;
const socks = [];

function one() {
    return new Promise((resolve) => {
        const w = new WebSocket(url, { perMessageDeflate: false });
        w.on('open', () => { open++; resolve(); });
        w.on('message', (d, binary) => {
            if (binary) { bytes += d.length; return; }
            const m = JSON.parse(d.toString());
            if (m.type === 'clock' && t0 && Date.now() - t0 > 3000) ages.push(Date.now() - m.ingest_ms);
        });
        w.on('close', () => { closed++; resolve(); });
        w.on('error', () => { failed++; resolve(); });
        socks.push(w);
    });
}

for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: Math.min(50, N - i) }, one));
t0 = Date.now();
const b0 = bytes;
await new Promise((r) => setTimeout(r, secs * 1000));
const mb = (bytes - b0) / 1e6 / secs;
ages.sort((a, b) => a - b);
const q = (p) => (ages.length ? ages[Math.min(ages.length - 1, Math.floor(p * ages.length))] : null);
console.log(JSON.stringify({ viewers: N, connected: open, open_at_end: open - closed, failed,
    mb_per_s: Math.round(mb * 100) / 100, gbit_per_s: Math.round(mb * 8 / 1000 * 1000) / 1000,
    age_p50: q(0.5), age_p99: q(0.99), age_max: ages.length ? ages[ages.length - 1] : null, clock_frames: ages.length }));
for (const w of socks) w.terminate();
process.exit(0);
