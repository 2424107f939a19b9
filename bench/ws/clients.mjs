// bench/ws/clients.mjs - the websocket fan-out benchmark's clients, in a
// process of their own (two worker threads): N connections that say hello
// with site tokens (some sites with two devices), receive notices,
// acknowledge them, and report latency from the server's sent_ms to
// receipt; then all reconnect at once (the storm).
//
// node clients.mjs --url ws://127.0.0.1:PORT/ws --tokens FILE --n 16147
//      --notices 10 --send CMD   (CMD: a shell command that sends one notice)
//      [--pid SERVER_PID] [--ref]   (--ref: the reference server, no acks)
//      [--client c --cbin PATH]  (the C clients, wsclients.c, in place of
//      the two node worker threads; the probe and notices stay here)
// Prints one JSON object with the figures.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { exec, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import readline from 'node:readline';
import { promisify } from 'node:util';
const execP = promisify(exec);
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../package.json'));
const WebSocket = require('ws');

function args() {
    const a = {}, v = process.argv.slice(2);
    for (let i = 0; i < v.length; i++)
        if (v[i].startsWith('--')) {
            const k = v[i].slice(2);
            a[k] = v[i + 1] && !v[i + 1].startsWith('--') ? v[++i] : true;
        }
    return a;
}

if (!isMainThread) {
    // ---- a worker: its share of the connections ----
    const { url, list, ref, lo, noack } = workerData;
    const conns = new Array(list.length);
    const lat = [];
    let welcomed = 0, want = 0, storm = false;
    const seen = new Set();

    function open(i, done) {
        const [code, tok] = list[i];
        // Source addresses 127.0.0.2..9: one address has 28k ports, and a
        // storm after 16k closes needs more (TIME_WAIT).
        const ws = new WebSocket(url, 'yunling.v1', {
            localAddress: `127.0.0.${2 + ((lo + i) % 8)}`, perMessageDeflate: false,
        });
        conns[i] = ws;
        ws.on('open', () => ws.send(JSON.stringify({
            type: 'hello', token: tok, since: 0, client: i % 2 ? 'tv' : 'phone',
            device: `d${lo + i}`,
        })));
        ws.on('message', (data) => {
            const now = Date.now();
            const m = JSON.parse(data);
            if (m.type === 'welcome') {
                welcomed++;
                done();
            } else if (m.type === 'notice') {
                lat.push(now - m.sent_ms);
                seen.add(`${m.id}`);
                if (!ref && !noack) ws.send(JSON.stringify({ type: 'ack', notice: m.id, state: 'delivered' }));
            }
        });
        ws.on('error', () => {});
        ws.on('close', () => {
            if (!storm && conns[i] === ws) parentPort.postMessage({ lost: code });
        });
        void code;
    }

    // Opens every connection with at most `par` handshakes in flight.
    function openAll(par) {
        return new Promise((resolve) => {
            let next = 0, inflight = 0, doneN = 0;
            want = list.length;
            const step = () => {
                while (inflight < par && next < list.length) {
                    inflight++;
                    open(next++, () => {
                        inflight--;
                        if (++doneN === want) resolve();
                        step();
                    });
                }
            };
            if (list.length === 0) resolve();
            step();
        });
    }

    parentPort.on('message', async (m) => {
        if (m.cmd === 'connect') {
            welcomed = 0;
            const t0 = Date.now();
            await openAll(m.par);
            parentPort.postMessage({ connected: Date.now() - t0, welcomed });
        } else if (m.cmd === 'report') {
            parentPort.postMessage({ lat, notices: seen.size });
        } else if (m.cmd === 'storm') {
            storm = true;
            for (const ws of conns) ws.terminate();
            storm = false;
            welcomed = 0;
            const t0 = Date.now();
            await openAll(1e9); // all at once
            parentPort.postMessage({ storm: Date.now() - t0, welcomed });
        } else if (m.cmd === 'quit') {
            storm = true;
            for (const ws of conns) ws.terminate();
            process.exit(0);
        }
    });
} else {
    // ---- the controller ----
    const a = args();
    const n = Number(a.n || 16147), notices = Number(a.notices || 10);
    const sites = fs.readFileSync(a.tokens, 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const list = [];
    for (let i = 0; i < n; i++) list.push(sites[i % sites.length]); // wraps: second devices
    const W = a.client === 'c' ? 0 : 2;
    const workers = [];
    if (a.client === 'c') {
        // One process of C clients (bench/ws/wsclients.c), spoken to as
        // a worker: a command line in, JSON lines out.
        const u = new URL(a.url);
        const args = ['--port', u.port, '--path', u.pathname, '--tokens', a.tokens, '--n', String(n)];
        if (a.ref) args.push('--ref');
        if (a.noack) args.push('--noack');
        const child = spawn(a.cbin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
        const w = new EventEmitter();
        readline.createInterface({ input: child.stdout }).on('line', (l) => w.emit('message', JSON.parse(l)));
        w.postMessage = (m) => child.stdin.write(m.cmd === 'connect' ? `connect ${m.par}\n` : `${m.cmd}\n`);
        workers.push(w);
    }
    for (let w = 0; w < W; w++) {
        const lo = Math.floor((n * w) / W), hi = Math.floor((n * (w + 1)) / W);
        workers.push(new Worker(fileURLToPath(import.meta.url), {
            workerData: { url: a.url, list: list.slice(lo, hi), ref: !!a.ref, lo, noack: !!a.noack },
        }));
    }
    let lost = 0;
    const ask = (cmd, extra = {}) => Promise.all(workers.map((w) => new Promise((resolve) => {
        const on = (m) => {
            if (m.lost !== undefined) { lost++; return; }
            w.off('message', on);
            resolve(m);
        };
        w.on('message', on);
        w.postMessage({ cmd, ...extra });
    })));
    const rss = () => {
        if (!a.pid) return 0;
        const s = fs.readFileSync(`/proc/${a.pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(s)[1]) * 1024;
    };
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    // The server's CPU time (user + system, all threads) in seconds: less
    // swayed by other work on the machine than the latencies are.
    const cpu = () => {
        if (!a.pid) return 0;
        const f = fs.readFileSync(`/proc/${a.pid}/stat`, 'utf8')
            .replace(/^.*\) /, '').split(' ');
        return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (ticks)
    };

    const rss0 = rss();
    const t0 = Date.now();
    const c = await ask('connect', { par: 512 });
    const connectS = (Date.now() - t0) / 1000;
    const welcomed = c.reduce((s, x) => s + x.welcomed, 0);
    await sleep(1000);
    const rss1 = rss();
    // An HTTP probe (--probe URL, e.g. a playlist) every 10 ms: how long a
    // plain request takes while idle and while notices go out.
    const probe = async (ms) => {
        const t = [], end = Date.now() + ms, errors = [];
        while (a.probe && Date.now() < end) {
            const t0 = performance.now();
            try {
                const r = await fetch(a.probe);
                await r.arrayBuffer();
                if (r.status !== 200) errors.push(`HTTP ${r.status}`);
                else t.push(performance.now() - t0);
            } catch (e) { // counted, not fatal: a reset is a figure too
                errors.push(String(e.cause?.code || e.message));
            }
            await sleep(10);
        }
        t.sort((x, y) => x - y);
        return t.length ? { n: t.length, p50_ms: +t[t.length >> 1].toFixed(2),
            p99_ms: +t[Math.floor(t.length * 0.99)].toFixed(2), max_ms: +t[t.length - 1].toFixed(2),
            errors } : null;
    };
    const cpu0 = cpu(), tc0 = Date.now();
    const idleProbe = await probe(3000);
    const cpu1 = cpu(), tc1 = Date.now();
    const sent = [];
    const busy = probe(notices * 1500 + 1000);
    for (let i = 0; i < notices; i++) {
        const out = await execP(a.send);
        sent.push(out.stdout.trim());
        await sleep(1500);
    }
    const busyProbe = await busy;
    await sleep(3000);
    const cpu2 = cpu(), tc2 = Date.now();
    // Per notice: the window's CPU less what the idle loop (with the same
    // probe) costs in as long.
    const idleRate = (cpu1 - cpu0) / ((tc1 - tc0) / 1000);
    const cpuPerNotice = (cpu2 - cpu1 - idleRate * (tc2 - tc1) / 1000) / notices;
    const reps = await ask('report');
    const lat = reps.flatMap((r) => r.lat).sort((x, y) => x - y);
    const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null;
    const s = await ask('storm');
    const stormS = Math.max(...s.map((x) => x.storm)) / 1000;
    const rewelcomed = s.reduce((t, x) => t + x.welcomed, 0);
    const res = {
        server: a.ref ? 'node ws (reference)' : 'yunling',
        connections: n, welcomed, connect_s: connectS,
        rss_before_mb: +(rss0 / 1048576).toFixed(1), rss_idle_mb: +(rss1 / 1048576).toFixed(1),
        rss_per_conn_kb: rss0 ? +(((rss1 - rss0) / n) / 1024).toFixed(2) : null,
        notices, expected: notices * n, received: lat.length, lost: notices * n - lat.length,
        closed_early: lost,
        p50_ms: q(0.5), p99_ms: q(0.99), max_ms: lat.length ? lat[lat.length - 1] : null,
        storm_s: stormS, storm_welcomed: rewelcomed,
        http_probe_idle: idleProbe, http_probe_during_notices: busyProbe,
        server_cpu_idle_pct: +(idleRate * 100).toFixed(1),
        server_cpu_ms_per_notice: +(cpuPerNotice * 1000).toFixed(0), sent,
    };
    console.log(JSON.stringify(res));
    for (const w of workers) w.postMessage({ cmd: 'quit' });
    await sleep(200);
    process.exit(0);
}
