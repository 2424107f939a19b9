// bench/live/latency.mjs - the measuring half of bench/live/latency.sh
// (which starts yunling with an SRT meeting and an nginx, then this).
//
// 1. One ffmpeg encodes the source in real time (-re; lavfi, 720p25, a dark
//    testsrc2 with a full-screen white flash for 3 frames every 2 s whose
//    number is drawn in 8 blocks, plus a tone; x264 ultrafast zerolatency, a
//    keyframe a second) as MPEG-TS on its standard output.
// 2. This process reads that output, notes when the first TS packet of
//    each flash's video PES arrives (Date.now(); the flash's "sent" time),
//    and copies the bytes, unchanged, to:
//      - ffmpeg -c copy -> srt://  yunling's meeting (its SRT listener);
//      - ref_relay.mjs             the reference websocket relay;
//      - ffmpeg -c copy -f hls -hls_time 1 into the nginx root (reference).
// 3. Headless Chromium opens latency.html once per case; the page reports
//    every flash it presents (its number, its display time). Latency =
//    display time - sent time, per flash.
//
// Environment (set by latency.sh): YL (yunling base URL), MEETING, SRT_PORT,
// NGINX (base URL of the reference HLS), HLS_DIR (its directory), WORK,
// FLASHES (per case, default 20), CASES (default: all, by name).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const SRC = path.resolve(import.meta.dirname, '../..');
const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set (run bench/live/latency.sh)`);
  return v;
};
const YL = env('YL');
const MEETING = env('MEETING');
const SRT_PORT = env('SRT_PORT');
const NGINX = env('NGINX');
const HLS_DIR = env('HLS_DIR');
const WORK = env('WORK');
const FLASHES = Number(env('FLASHES', '20'));
process.env.YL_TMPDIR = WORK; // the fixture's Chromium profile goes there
const { browser, closeBrowser } = await import(path.join(SRC, 'tests/web/lib/fixture.mjs'));

const FPS = 25;
const PERIOD = 2 * FPS; // frames between flashes
const t0 = Date.now();
const log = (m) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}\n`);
const children = [];
function child(cmd, args, name) {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', fs.openSync(path.join(WORK, `${name}.err`), 'a')] });
  p.on('exit', (code, sig) => { if (!stopping) log(`${name} exited (${code ?? sig})`); });
  p.stdin.on('error', () => {}); // a consumer gone: the bench says so at the end
  children.push(p);
  return p;
}
let stopping = false;
function stopAll() {
  stopping = true;
  for (const p of children) p.kill('SIGTERM');
}
process.on('exit', stopAll);

// ---- the source -----------------------------------------------------------
const bits = [0, 1, 2, 3, 4, 5, 6, 7].map((b) => `drawbox=x=${b}*iw/8:y=ih*3/4:w=iw/8:h=ih/4:color=black:t=fill:enable='lt(mod(n\\,${PERIOD})\\,3)*mod(floor(n/${PERIOD * 2 ** b})\\,2)'`);
const vsrc = [`testsrc2=size=1280x720:rate=${FPS}`, 'lutyuv=y=val/4',
  `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(n\\,${PERIOD})\\,3)'`, ...bits].join(',');
// MUXDELAY (env, seconds): ffmpeg's -muxdelay for both of its MPEG-TS
// muxers (the source's and the SRT push's). Unset: ffmpeg's default, 0.7,
// under which it gathers up to 0.35 s of AAC into one PES, written after
// the pictures of the same time; 0 writes each audio frame at once (what
// docs/operations.md recommends to encoders for a meeting).
const MUX = process.env.MUXDELAY !== undefined ? ['-muxdelay', process.env.MUXDELAY] : [];
const SOURCE_ARGS = ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', vsrc,
  '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-profile:v', 'high',
  '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0',
  '-c:a', 'aac', '-b:a', '128k', ...MUX, '-flush_packets', '1', '-f', 'mpegts', '-mpegts_flags', '+pat_pmt_at_frames', 'pipe:1'];
fs.writeFileSync(path.join(WORK, 'source.cmd'), `ffmpeg ${SOURCE_ARGS.map((a) => (/[^\w\-.:/=]/.test(a) ? `"${a}"` : a)).join(' ')} | ...\n`);

const sent = new Map(); // flash number -> wall ms its PES reached us
const pacing = []; // arrival - (first arrival + n / FPS), ms, per video frame
let p0 = null;
let w0 = null;
let rest = Buffer.alloc(0);
function parseTs(buf, now) {
  for (let o = 0; o + 188 <= buf.length; o += 188) {
    if (buf[o] !== 0x47) continue;
    if (!(buf[o + 1] & 0x40)) continue; // not the start of a PES
    const afc = (buf[o + 3] >> 4) & 3;
    if (!(afc & 1)) continue;
    let p = o + 4 + (afc & 2 ? 1 + buf[o + 4] : 0);
    if (buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 1 || buf[p + 3] !== 0xe0) continue; // video only
    if (!(buf[p + 7] & 0x80)) continue;
    p += 9;
    const pts = (buf[p] & 0x0e) * 2 ** 29 + buf[p + 1] * 2 ** 22 + (buf[p + 2] & 0xfe) * 2 ** 14 + buf[p + 3] * 2 ** 7 + (buf[p + 4] >> 1);
    if (p0 === null) {
      p0 = pts;
      w0 = now;
    }
    const n = Math.round((pts - p0) / (90000 / FPS));
    pacing.push(now - (w0 + (n * 1000) / FPS));
    if (n % PERIOD === 0) sent.set(n / PERIOD, now);
  }
}

/** Offset of the PAT before the first video keyframe in buf (188-byte
 * aligned; ffmpeg writes PAT and PMT before every frame with
 * pat_pmt_at_frames, and flags a keyframe's first packet random access),
 * or -1. */
function keyframeAt(buf) {
  let pat = -1;
  for (let o = 0; o + 188 <= buf.length; o += 188) {
    const pid = ((buf[o + 1] & 0x1f) << 8) | buf[o + 2];
    if (pid === 0) pat = o;
    const afc = (buf[o + 3] >> 4) & 3;
    const rai = afc & 2 && buf[o + 4] > 0 && buf[o + 5] & 0x40;
    if (rai && buf[o + 1] & 0x40 && pid !== 0) {
      const p = o + 5 + buf[o + 4];
      if (buf[p] === 0 && buf[p + 1] === 0 && buf[p + 2] === 1 && buf[p + 3] === 0xe0) return pat >= 0 ? pat : o;
    }
  }
  return -1;
}

// ---- the consumers --------------------------------------------------------
// The SRT push is started again when it ends: yunling's listener drops a
// caller that went quiet (a source starved of CPU on a busy machine) and
// waits for the next one.
// Its ffmpeg reads from a keyframe on (see the data handler) and probes
// as little as it can: what it holds while probing it sends in one burst,
// and yunling's ingest, which times the feed from its first packet, would
// keep that as delay for the whole connection (a camera's encoder has no
// such backlog).
const SRT_ARGS = ['-nostdin', '-v', 'error', '-probesize', '65536', '-analyzeduration', '200000', '-fpsprobesize', '0',
  '-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy',
  ...MUX, '-f', 'mpegts', '-flush_packets', '1', `srt://127.0.0.1:${SRT_PORT}?mode=caller&pkt_size=1316`];
let srtPush = null;
let srtPushes = 0;
let srtFromKey = true; // a new push starts at the next keyframe
function pushSrt() {
  srtPushes++;
  srtFromKey = true;
  srtPush = child('ffmpeg', SRT_ARGS, 'srt-push');
  srtPush.on('exit', () => { if (!stopping) setTimeout(pushSrt, 200); });
}
pushSrt();
const hlsRef = child('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy',
  '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments+independent_segments+temp_file',
  '-hls_segment_filename', path.join(HLS_DIR, 'seg_%05d.ts'), path.join(HLS_DIR, 'index.m3u8')], 'hls-ref');
const relay = child('node', [path.join(SRC, 'bench/live/ref_relay.mjs')], 'relay');
const relayPort = await new Promise((resolve, reject) => {
  readline.createInterface({ input: relay.stdout }).on('line', (l) => {
    const m = /^listening (\d+)$/.exec(l);
    if (m) resolve(Number(m[1]));
  });
  relay.on('exit', () => reject(new Error('ref_relay.mjs exited')));
});

// The source is the camera: it must run in real time whatever else the
// machine does, or yunling's ingest sees it stall and burst (and holds the
// bursts back to their timestamps). Ahead of the neighbours' builds, then,
// when allowed (root); nice says so on stderr and runs it anyway if not.
const source = child('nice', ['-n', '-10', 'ffmpeg', ...SOURCE_ARGS], 'source');
source.stdin.end();
source.stdout.on('data', (chunk) => {
  const now = Date.now();
  const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
  const n = buf.length - (buf.length % 188);
  const ts = buf.subarray(0, n);
  rest = Buffer.from(buf.subarray(n));
  parseTs(ts, now);
  for (const c of [hlsRef, relay]) if (c.exitCode === null) c.stdin.write(ts);
  if (srtPush.exitCode === null) {
    const at = srtFromKey ? keyframeAt(ts) : 0;
    if (at >= 0) {
      srtFromKey = false;
      srtPush.stdin.write(ts.subarray(at));
    }
  }
});

// ---- the page's server: player-web/dist at /, this folder at /bench/ -----
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
const web = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const [root, rel] = u.pathname.startsWith('/bench/') ? [path.join(SRC, 'bench/live'), u.pathname.slice(7)] : [path.join(SRC, 'player-web/dist'), u.pathname.slice(1)];
  const f = path.join(root, path.normalize(rel));
  if (!f.startsWith(root) || !fs.existsSync(f) || !fs.statSync(f).isFile()) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[path.extname(f)] || 'application/octet-stream', 'cache-control': 'no-store' });
  fs.createReadStream(f).pipe(res);
});
await new Promise((r) => web.listen(0, '127.0.0.1', r));
const PAGE = `http://127.0.0.1:${web.address().port}/bench/latency.html`;

// ---- the cases ------------------------------------------------------------
const wsBase = YL.replace(/^http/, 'ws');
const CASES = [
  { name: 'yunling-ws', kind: 'ws', src: `${wsBase}/ws/live/${MEETING}?rung=360p&clock=1`, what: 'yunling /ws/live (360p) in mpegts.js, live.js settings' },
  { name: 'ref-ws', kind: 'ws', src: `ws://127.0.0.1:${relayPort}/`, what: 'reference: ffmpeg (720p) -> node ws relay -> mpegts.js, live.js settings' },
  { name: 'yunling-hls', kind: 'hls', cfg: 'player', src: `${YL}/live/${MEETING}/master.m3u8`, what: 'yunling live HLS in hls.js, live.js settings' },
  { name: 'ref-hls', kind: 'hls', cfg: 'player', src: `${NGINX}/index.m3u8`, what: 'reference: ffmpeg -f hls -hls_time 1 behind nginx, hls.js, live.js settings' },
  { name: 'yunling-hls-3', kind: 'hls', cfg: 'three', src: `${YL}/live/${MEETING}/master.m3u8`, what: 'yunling live HLS, hls.js three segments behind (live.js before issue 13)' },
  { name: 'ref-hls-3', kind: 'hls', cfg: 'three', src: `${NGINX}/index.m3u8`, what: 'reference HLS (nginx), three segments behind' },
  { name: 'yunling-hls-ll', kind: 'hls', cfg: 'll', src: `${YL}/live/${MEETING}/master.m3u8`, what: 'yunling live HLS, hls.js low-latency settings' },
  { name: 'ref-hls-ll', kind: 'hls', cfg: 'll', src: `${NGINX}/index.m3u8`, what: 'reference HLS (nginx), hls.js low-latency settings' },
];
const want = (process.env.CASES || '').split(/[\s,]+/).filter(Boolean);
const cases = want.length ? CASES.filter((c) => want.includes(c.name)) : CASES;

// Wait for the source to run and the reference HLS to have segments.
for (let i = 0; i < 200 && !(sent.size >= 2 && fs.existsSync(path.join(HLS_DIR, 'index.m3u8'))); i++) await sleep(100);
if (sent.size < 2) throw new Error(`the source does not run: ${fs.readFileSync(path.join(WORK, 'source.err'), 'utf8')}`);

const WARM_MS = 6000; // after the first picture: the players settle
const quantile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : NaN;
};
const results = [];
const b = await browser({ viewport: { width: 640, height: 360 } });
try {
  for (const c of cases) {
    log(`${c.name}: ${c.src}`);
    const url = `${PAGE}?kind=${c.kind}&src=${encodeURIComponent(c.src)}&cfg=${c.cfg || ''}`;
    await b.page.goto(url);
    const deadline = Date.now() + 30000 + FLASHES * 2000 * 1.5;
    let st;
    for (;;) {
      await sleep(500);
      st = await b.page.evaluate(() => window.bench);
      const counted = st.started === null ? 0 : st.flashes.filter((f) => f.wall >= st.started + WARM_MS).length;
      if (counted >= FLASHES || Date.now() > deadline) break;
    }
    const warmEnd = st.started === null ? Infinity : st.started + WARM_MS;
    const lat = [];
    const reported = [];
    let unmatched = 0;
    for (const f of st.flashes.filter((x) => x.wall >= warmEnd)) {
      // The newest flash with this number (mod 256) sent before it showed.
      let k = null;
      for (const [n, w] of sent) if (n % 256 === f.id && w <= f.wall && (k === null || n > k)) k = n;
      if (k === null) {
        unmatched++;
        continue;
      }
      f.k = k;
      f.latency = f.wall - sent.get(k);
      lat.push(f.latency);
      if (f.reported !== undefined) reported.push(f.reported * 1000);
    }
    // Flashes sent while the case was counting that never showed.
    const ks = st.flashes.filter((f) => f.k !== undefined).map((f) => f.k);
    const missed = ks.length ? [...sent.keys()].filter((n) => n > Math.min(...ks) && n < Math.max(...ks) && !ks.includes(n)).length : 0;
    const fps = st.started === null ? 0 : st.frames / ((Date.now() - st.started) / 1000);
    const r = {
      name: c.name, what: c.what, seen: lat.length, missed, unmatched, stalls: st.stalls, frames: st.frames, fps,
      p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: Math.max(...lat), min: Math.min(...lat),
      reported_p50: reported.length ? quantile(reported, 0.5) : null, reported_p99: reported.length ? quantile(reported, 0.99) : null,
      errors: st.errors.slice(0, 5), display_lead_ms: quantile(st.displayLead, 0.5),
      flashes: st.flashes,
    };
    results.push(r);
    log(`${c.name}: ${r.seen} flashes, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms${r.reported_p50 != null ? `, the player says ${Math.round(r.reported_p50)} ms` : ''}${r.errors.length ? `; errors: ${r.errors.join(' | ')}` : ''}`);
    await b.page.goto('about:blank');
  }
} finally {
  await b.close().catch(() => {}); // the browser goes in any case
  await closeBrowser(); // one Chromium per process (fixture.mjs): it goes too
  stopAll();
  web.close();
}

// ---- the report -----------------------------------------------------------
const s = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-');
const byName = Object.fromEntries(results.map((r) => [r.name, r]));
const ratio = (a, b) => (byName[a] && byName[b] && byName[b].p50 > 0 ? `${(byName[a].p50 / byName[b].p50).toFixed(2)} / ${(byName[a].p99 / byName[b].p99).toFixed(2)}` : '-');
const pj = pacing.slice(FPS); // the first second: ffmpeg starting up
const srcJitter = { p50: quantile(pj, 0.5), p99: quantile(pj, 0.99), min: Math.min(...pj), max: Math.max(...pj) };
const out = [];
out.push('| case | flashes seen | missed | p50 s | p99 s | max s | player says (p50 / p99) s | stalls | frames shown/s |');
out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  out.push(`| ${r.name}: ${r.what} | ${r.seen} | ${r.missed} | ${s(r.p50)} | ${s(r.p99)} | ${s(r.max)} | ${r.reported_p50 != null ? `${s(r.reported_p50)} / ${s(r.reported_p99)}` : '-'} | ${r.stalls} | ${r.fps.toFixed(1)} |`);
}
out.push('');
out.push(`Ratios yunling / reference (p50 / p99): websocket ${ratio('yunling-ws', 'ref-ws')}, HLS ${ratio('yunling-hls', 'ref-hls')}, HLS three segments behind ${ratio('yunling-hls-3', 'ref-hls-3')}, HLS low-latency settings ${ratio('yunling-hls-ll', 'ref-hls-ll')}.`);
out.push(`The source behind real time (a frame's arrival here minus its due time counted from the first frame, ms): p50 ${srcJitter.p50}, p99 ${srcJitter.p99}, range ${srcJitter.min}..${srcJitter.max}; SRT pushes: ${srtPushes}; Chromium's expected display time was ${results.map((r) => `${r.display_lead_ms?.toFixed?.(1) ?? '-'}`).join('/')} ms after the frame callback (p50 per case).`);
fs.writeFileSync(path.join(WORK, 'latency.json'), JSON.stringify({ results, srcJitter, sent: [...sent] }, null, 1));
process.stdout.write(`${out.join('\n')}\n`);
