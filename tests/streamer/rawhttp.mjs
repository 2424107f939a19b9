// rawhttp.mjs - raw-socket HTTP attacks on a running yunling server, the
// way a hostile client or a flaky village link writes bytes: pipelined
// requests in one write, every split point of a two-request stream,
// duplicate framing headers, CONNECT, upgrades, half-close, slowloris.
//
// node rawhttp.mjs CASE   (env: PORT, SITE, LID, DB_COUNT_CMD unused)
// Prints "ok - ..." lines; exits 1 with "FAIL: ..." on the first failure.
// Every socket has a deadline: nothing here can hang the test.
import net from 'node:net';

const PORT = Number(process.env.PORT);
const SITE = process.env.SITE || '';
const LID = Number(process.env.LID || 1);

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}
function ok(msg) {
  console.log(`ok - ${msg}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Parses as many whole responses as buf holds: [{status, headers, body}].
export function parseResponses(buf) {
  const out = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = buf.subarray(off, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
    if (!m) throw new Error(`bad status line: ${head[0]}`);
    const headers = {};
    for (const l of head.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number(m[1]);
    let len = Number(headers['content-length'] || 0);
    if (status === 100 || status === 204 || status === 304) len = 0;
    if (buf.length < end + 4 + len) break;
    out.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len).toString() });
    off = end + 4 + len;
  }
  return out;
}

// Opens a connection, writes the chunks (with a pause between them so each
// arrives in its own read), and collects what comes back until `want`
// responses are in, the server closes, or `ms` pass.
function exchange(chunks, { want = Infinity, ms = 5000, gap = 15, halfClose = false } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1');
    s.setNoDelay(true);
    let data = Buffer.alloc(0);
    let closed = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      let resps = [];
      try {
        resps = parseResponses(data);
      } catch (e) {
        resps = [{ status: -1, headers: {}, body: String(e) }];
      }
      s.destroy();
      resolve({ resps, closed, raw: data });
    };
    const timer = setTimeout(finish, ms);
    s.on('data', (d) => {
      data = Buffer.concat([data, d]);
      try {
        if (parseResponses(data).length >= want) finish();
      } catch {
        finish();
      }
    });
    s.on('end', () => {
      closed = true;
      finish();
    });
    s.on('error', () => {
      closed = true;
      finish();
    });
    s.on('connect', async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (i > 0 && gap > 0) await sleep(gap);
        if (!s.destroyed) s.write(chunks[i]);
      }
      if (halfClose && !s.destroyed) s.end();
    });
  });
}

async function healthy(what) {
  const r = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'], { want: 1, ms: 3000 });
  if (r.resps.length !== 1 || r.resps[0].status !== 200) fail(`server not answering after ${what}`);
}

function ev(session, seq, kind = 'start', pos = 0) {
  return {
    session, seq, site: '532901104201', lesson: LID, kind, position_s: pos,
    audio_lang: 'zh', rendition: '480p', client: 'tv',
  };
}
function viewsReq(session, { beacon = false, seq = 1 } = {}) {
  const body = beacon
    ? JSON.stringify({ token: SITE, events: [ev(session, seq)] })
    : JSON.stringify({ events: [ev(session, seq)] });
  const hdr = beacon
    ? 'Content-Type: text/plain;charset=UTF-8\r\n'
    : `Content-Type: application/json\r\nAuthorization: Bearer ${SITE}\r\n`;
  return `POST /api/v1/views HTTP/1.1\r\nHost: x\r\n${hdr}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const GET = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

function expectStatuses(r, want, what) {
  const got = r.resps.map((x) => x.status).join(',');
  if (got !== want.join(',')) fail(`${what}: statuses ${got || '(none)'}, want ${want.join(',')}`);
}

const cases = {
  // Issue 8 bug 1: the single write that hung the server for good.
  async pipeline() {
    let r = await exchange([GET + 'POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx' + GET], { want: 3 });
    expectStatuses(r, [200, 405, 200], 'GET + POST(body) + GET in one write');
    await healthy('a pipelined POST with a body');
    r = await exchange([viewsReq('pb1', { beacon: true }) + viewsReq('pb2', { beacon: true })], { want: 2 });
    expectStatuses(r, [200, 200], 'two beacons in one write');
    for (const x of r.resps) {
      if (JSON.parse(x.body).accepted !== 1) fail(`beacon answer ${x.body}`);
    }
    r = await exchange([viewsReq('pv1') + viewsReq('pv2') + GET + viewsReq('pv3')], { want: 4 });
    expectStatuses(r, [200, 200, 200, 200], 'views + views + GET + views in one write');
    r = await exchange([GET + viewsReq('pg1')], { want: 2 });
    expectStatuses(r, [200, 200], 'GET + views in one write');
    // Uploads with a small (refused) body: answered in order, not looped.
    const up = 'POST /api/v1/lessons HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5\r\n\r\nhello';
    r = await exchange([up + up + GET], { want: 3 });
    expectStatuses(r, [401, 401, 200], 'upload + upload + GET in one write');
    await healthy('pipelined uploads');
    // Many requests in one write: answered in order, by path.
    let many = '';
    for (let i = 0; i < 50; i++) many += `GET /api/v1/lessons/${i + 100000} HTTP/1.1\r\nHost: x\r\n\r\n`;
    r = await exchange([many], { want: 50 });
    if (r.resps.length !== 50) fail(`50 pipelined GETs: ${r.resps.length} answers`);
    r.resps.forEach((x, i) => {
      if (x.status !== 404 || !x.body.includes(String(i + 100000))) fail(`answer ${i} out of order: ${x.body}`);
    });
    ok('pipelined requests (with bodies, beacons, uploads, 50 GETs) answered in order');
  },

  // Issue 8 bug 2: every split point of "views batch; next request".
  async splits() {
    const prefix = `sp${Date.now() % 100000}-`;
    let n = 0;
    const stream0 = viewsReq(`${prefix}0`) + GET;
    const len = Buffer.byteLength(stream0);
    for (let i = 1; i < len; i++) {
      const buf = Buffer.from(viewsReq(`${prefix}${i}`) + GET);
      const r = await exchange([buf.subarray(0, i), buf.subarray(i)], { want: 2, gap: 3 });
      if (r.resps.length !== 2 || r.resps[0].status !== 200 || r.resps[1].status !== 200)
        fail(`split at byte ${i}: statuses ${r.resps.map((x) => `${x.status} ${x.body}`).join(' | ')}`);
      const a = JSON.parse(r.resps[0].body);
      if (a.accepted !== 1) fail(`split at byte ${i}: ${r.resps[0].body}`);
      n++;
    }
    ok(`views batch + next request split at each of ${n} points: every batch accepted`);
    console.log(`SPLITS ${n} ${prefix}`);
  },

  // RFC 9112 §6.3: conflicting framing is refused and the connection goes.
  async framing() {
    let r = await exchange(['POST /api/v1/views HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 30\r\n\r\nxGET /inner HTTP/1.1\r\nHost: x\r\n\r\n'], { ms: 3000 });
    expectStatuses(r, [400], 'two Content-Length values');
    if (!r.closed) fail('two Content-Length values: connection left open');
    r = await exchange(['POST /api/v1/views HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /inner HTTP/1.1\r\nHost: x\r\n\r\n'], { ms: 3000 });
    expectStatuses(r, [400], 'Content-Length with Transfer-Encoding');
    if (!r.closed) fail('CL + TE: connection left open');
    r = await exchange(['GARBAGE\r\n\r\n'], { ms: 3000 });
    expectStatuses(r, [400], 'a malformed request line');
    r = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'], { ms: 3000 });
    expectStatuses(r, [400], 'a header line without a colon');
    r = await exchange(['CONNECT x:1 HTTP/1.1\r\nHost: x:1\r\n\r\n'], { ms: 3000 });
    expectStatuses(r, [405], 'CONNECT');
    if (!r.closed) fail('CONNECT: connection left open');
    r = await exchange([`POST /api/v1/views HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SITE}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], { ms: 3000 });
    expectStatuses(r, [411], 'a chunked body');
    await healthy('framing attacks');
    ok('duplicate Content-Length, CL+TE, malformed lines, CONNECT: refused, connection closed');
  },

  async upgrades() {
    let r = await exchange(['GET /api/v1/lessons HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n'], { want: 1 });
    expectStatuses(r, [200], 'h2c upgrade ignored');
    r = await exchange(['GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'], { want: 1 });
    expectStatuses(r, [404], 'websocket upgrade on a wrong path');
    ok('h2c upgrade answered in HTTP/1.1; websocket upgrade on a wrong path 404');
  },

  // A client that sends its body and then FIN still gets its answer.
  async halfclose() {
    let r = await exchange([viewsReq('hc1')], { want: 1, halfClose: true });
    expectStatuses(r, [200], 'views then FIN');
    r = await exchange([GET + GET], { want: 2, halfClose: true });
    expectStatuses(r, [200, 200], 'two GETs then FIN');
    ok('half-closed clients get their answers');
    // HTTP/1.0 and "Connection: close": one answer, then the server closes
    // (and reads nothing after it as a request).
    r = await exchange(['GET /healthz HTTP/1.0\r\n\r\n'], { ms: 3000 });
    expectStatuses(r, [200], 'HTTP/1.0');
    if (!r.closed || r.resps[0].headers.connection !== 'close') fail('HTTP/1.0: connection left open');
    r = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' + GET], { ms: 3000 });
    expectStatuses(r, [200], 'Connection: close, then another request');
    if (!r.closed) fail('Connection: close: connection left open');
    ok('HTTP/1.0 and Connection: close end the connection after one answer');
  },

  // Slow clients are cut by deadlines (the config sets 2 s).
  async slow() {
    const t0 = Date.now();
    let r = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\n'], { ms: 8000 });
    if (!r.closed) fail('headers never finished: connection still open after 8 s');
    const t1 = Date.now() - t0;
    if (t1 > 6000) fail(`header deadline took ${t1} ms`);
    // A body trickled one byte a second.
    const s = net.connect(PORT, '127.0.0.1');
    let closed = false;
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    s.on('data', () => {});
    await new Promise((res) => s.on('connect', res));
    s.write(`POST /api/v1/views HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SITE}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    for (let i = 0; i < 10 && !closed; i++) {
      await sleep(1000);
      if (!s.destroyed) s.write('{');
    }
    await sleep(500);
    if (!closed) fail('a body trickled at 1 byte/s was held for 10 s');
    s.destroy();
    // An idle keep-alive connection goes after keepalive.
    r = await exchange([GET], { ms: 8000 });
    if (r.resps.length !== 1 || !r.closed) fail('idle keep-alive connection not closed');
    await healthy('slow clients');
    ok(`slowloris headers cut after ${t1} ms; trickled body cut; idle keep-alive closed`);
  },

  // Many connections at a lowered fd limit: the server refuses cleanly and
  // recovers (the shell lowered ulimit -n before starting it).
  async fds() {
    const socks = [];
    for (let i = 0; i < 120; i++) {
      const s = net.connect(PORT, '127.0.0.1');
      s.on('error', () => {});
      s.on('data', () => {});
      socks.push(s);
    }
    await sleep(1500);
    // Some of these got a 503 through the reserve descriptor or wait in
    // the backlog; let them all go and the server must answer again.
    for (const s of socks) s.destroy();
    await sleep(1000);
    await healthy('fd exhaustion');
    ok('fd exhaustion: the server recovers once clients leave');
  },
};

const name = process.argv[2];
if (!cases[name]) fail(`unknown case ${name}`);
await cases[name]();
