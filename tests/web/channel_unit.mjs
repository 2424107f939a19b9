// Unit tests of player-web/src/js/channel.js under node (no browser): the
// reconnect back-off (1 s doubling to 60 s, ±30 % jitter, reset after a
// stable minute, never after 4401/4403), the hello, a silent link given up,
// notices de-duplicated with their receipts, withdrawal, read over REST
// when the channel is down, and viewing events over the channel with the
// HTTP fallback. Fake WebSocket, clock, timers, storage and fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const src = process.env.YL_SRCDIR || path.resolve(import.meta.dirname, '../..');
const { Channel, Notices, backoffMs, viewsFetch, channelUrl, PROTOCOL } = await import(
  pathToFileURL(path.join(src, 'player-web/src/js/channel.js')).href);

function fakeTimers() {
  let now = 1_000_000;
  let next = 1;
  const timers = new Map();
  return {
    now: () => now,
    setTimer: (f, ms) => { const id = next++; timers.set(id, { f, at: now + ms }); return id; },
    clearTimer: (id) => timers.delete(id),
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let best = null;
        for (const [id, t] of timers) if (t.at <= end && (!best || t.at < best[1].at)) best = [id, t];
        if (!best) break;
        timers.delete(best[0]);
        now = best[1].at;
        best[1].f();
      }
      now = end;
    },
    pending: () => timers.size,
  };
}

function memStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), m };
}

// A websocket whose server side the test plays.
function fakeWs() {
  const all = [];
  class WS {
    constructor(url, proto) {
      this.url = url;
      this.proto = proto;
      this.sent = [];
      this.readyState = 0;
      all.push(this);
    }
    send(s) { this.sent.push(JSON.parse(s)); }
    close(code) { this.readyState = 3; this.closedBy = code; }
    accept() { this.readyState = 1; this.onopen && this.onopen(); }
    push(o) { this.onmessage && this.onmessage({ data: JSON.stringify(o) }); }
    welcome(ping = 25) { this.accept(); this.push({ type: 'welcome', role: 'site', scope: '532901104201', server_ms: 1, ping_s: ping }); }
    drop(code, reason = '') { this.readyState = 3; this.onclose && this.onclose({ code, reason }); }
    acks() { return this.sent.filter((m) => m.type === 'ack').map((m) => `${m.notice}:${m.state}`); }
  }
  return { WS, all, last: () => all[all.length - 1] };
}

const DEV = { site: '532901104201', token: 'tok-1', name: '喜洲村委会' };

function mkChannel(opts = {}) {
  const t = fakeTimers();
  const ws = fakeWs();
  const states = [];
  const ch = new Channel({
    url: 'ws://x/ws', auth: () => DEV, client: () => 'tv', device: 'dev-1', since: () => 7,
    WebSocketImpl: ws.WS, setTimer: t.setTimer, clearTimer: t.clearTimer, now: t.now,
    random: () => 0.5, onState: (s, i) => states.push([s, i]), ...opts,
  });
  return { t, ws, ch, states };
}

test('backoff: 1 s doubling to 60 s, ±30 % jitter', () => {
  const mid = [0, 1, 2, 3, 4, 5, 6, 7, 12].map((n) => backoffMs(n, () => 0.5));
  assert.deepEqual(mid, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(backoffMs(0, () => 0), 700);
  assert.equal(backoffMs(0, () => 0.999999), 1300);
  assert.equal(backoffMs(10, () => 0), 42000);
  assert.equal(backoffMs(10, () => 0.999999), 78000);
  // Real randomness stays inside the band and spreads.
  const xs = Array.from({ length: 2000 }, () => backoffMs(3));
  assert.ok(xs.every((x) => x >= 5600 && x <= 10400), 'within 8 s ± 30 %');
  assert.ok(new Set(xs).size > 500, 'jittered, not a few fixed values');
});

test('channelUrl: ws:// beside the page, wss:// under https', () => {
  assert.equal(channelUrl('http://10.0.0.2:8080/?tv=1#/lesson/3'), 'ws://10.0.0.2:8080/ws');
  assert.equal(channelUrl('https://edge.example/yunling/'), 'wss://edge.example/yunling/ws');
});

test('hello carries token, since, client and device; welcome opens', () => {
  const { ws, ch } = mkChannel();
  ch.start();
  const s = ws.last();
  assert.equal(s.url, 'ws://x/ws');
  assert.equal(s.proto, PROTOCOL);
  s.accept();
  assert.deepEqual(s.sent[0], { type: 'hello', token: 'tok-1', since: 7, client: 'tv', device: 'dev-1' });
  assert.equal(ch.state, 'connecting');
  s.push({ type: 'welcome', role: 'site', scope: '532901104201', server_ms: 1, ping_s: 25 });
  assert.equal(ch.state, 'open');
  assert.equal(ch.send({ type: 'ping' }), true);
});

test('reconnect: delays double while connections fail, reset after a stable minute', () => {
  const { t, ws, ch, states } = mkChannel();
  ch.start();
  const delays = [];
  for (let i = 0; i < 8; i++) {
    ws.last().drop(1006);
    const [st, info] = states[states.length - 1];
    assert.equal(st, 'retry');
    delays.push(info.ms);
    const n = ws.all.length;
    t.advance(info.ms - 1);
    assert.equal(ws.all.length, n, 'not before the delay');
    t.advance(1);
    assert.equal(ws.all.length, n + 1, 'a new socket when the delay is over');
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  // Welcomed but dropped within the minute: the back-off goes on.
  ws.last().welcome();
  t.advance(30000);
  ws.last().drop(1001, 'server restarting');
  assert.equal(states[states.length - 1][1].ms, 60000);
  t.advance(60000);
  // Up for a minute: the next drop starts again at 1 s.
  ws.last().welcome();
  t.advance(61000);
  ws.last().drop(4429, 'too slow: reconnect and replay');
  assert.equal(states[states.length - 1][0], 'retry');
  assert.equal(states[states.length - 1][1].ms, 1000);
});

test('4401 and 4403: refused, never reconnected; a new setup starts again', () => {
  for (const code of [4401, 4403]) {
    const { t, ws, ch } = mkChannel();
    ch.start();
    ws.last().accept();
    ws.last().drop(code, 'token expired');
    assert.equal(ch.state, 'refused');
    assert.equal(ch.info.code, code);
    t.advance(3600_000);
    assert.equal(ws.all.length, 1, `no reconnect after ${code}`);
    assert.equal(t.pending(), 0, 'no timer left');
    ch.online();
    t.advance(10000);
    assert.equal(ws.all.length, 1, 'not on "online" either');
    ch.start();
    assert.equal(ws.all.length, 2, 'start() (a new setup) connects');
  }
});

test('a silent link is given up and reconnected; pings keep a quiet one alive', () => {
  const { t, ws, ch } = mkChannel();
  ch.start();
  ws.last().welcome(5);
  t.advance(6000);
  assert.ok(ws.last().sent.some((m) => m.type === 'ping'), 'an application ping after ping_s of silence');
  ws.last().push({ type: 'pong' });
  t.advance(14000);
  assert.equal(ws.all.length, 1, 'a pong keeps it');
  t.advance(30000); // nothing at all for > 2 x 5 s + 10 s
  assert.equal(ws.all[0].closedBy, 1000, 'the silent socket is closed');
  assert.ok(ws.all.length >= 2, 'and a new one opened');
  // Open but never welcomed: given up after 15 s.
  const n = ws.all.length;
  ws.last().accept();
  t.advance(15000);
  assert.ok(ws.all.length > n || ch.state === 'retry', 'no welcome: retried');
});

function mkNotices(opts = {}) {
  const t = fakeTimers();
  const ws = fakeWs();
  const storage = memStorage();
  const rest = { items: [], reads: [], gets: 0, offline: false };
  const fetchFn = async (url, init = {}) => {
    if (rest.offline) throw new TypeError('Failed to fetch');
    if (init.method === 'POST') {
      rest.reads.push(url);
      return { ok: true, status: 200, json: async () => ({}) };
    }
    rest.gets++;
    const since = Number(new URL(url, 'http://x/').searchParams.get('since')) || 0;
    return { ok: true, status: 200, json: async () => ({ items: rest.items.filter((n) => n.id > since) }) };
  };
  const arrived = [];
  const n = new Notices({
    storage, fetchFn, auth: () => opts.dev || DEV, client: () => 'tv', url: 'ws://x/ws', WebSocketImpl: ws.WS,
    setTimer: t.setTimer, clearTimer: t.clearTimer, now: t.now, random: () => 0.5,
    onArrive: (items) => arrived.push(...items.map((x) => x.id)), crypto: globalThis.crypto,
  });
  return { t, ws, storage, rest, n, arrived };
}

const notice = (id, title = `通知${id}`) => ({ type: 'notice', id, title, body: `正文${id}`, attachments: [], from: '53', sent_ms: 1764900000000 + id });
const tick = () => new Promise((r) => setImmediate(r));

test('notices: de-duplicated by id, acknowledged on receipt, since remembered', async () => {
  const { ws, n, arrived, storage } = mkNotices();
  n.refresh();
  await tick();
  const s = ws.last();
  s.welcome();
  s.push(notice(5));
  s.push(notice(5)); // a replay after a lost ack
  s.push(notice(6));
  assert.deepEqual(n.store.items.map((x) => x.id), [6, 5]);
  assert.deepEqual(arrived, [5, 6], 'one arrival per notice');
  assert.deepEqual(s.acks(), ['5:delivered', '5:delivered', '6:delivered'], 'every receipt is acknowledged');
  assert.equal(n.store.unread, 2);
  assert.equal(n.store.since, 6);
  // The next hello says since 6, also from a new page (storage).
  s.drop(1006);
  const n2 = mkNotices();
  n2.storage.setItem('yl.inbox', storage.getItem('yl.inbox'));
  n2.n.refresh();
  n2.ws.last().accept();
  assert.equal(n2.ws.last().sent[0].since, 6);
  assert.equal(n2.n.store.items.length, 2);
});

test('notices: withdrawn ones disappear and stay out of a late replay', async () => {
  const { ws, n } = mkNotices();
  n.refresh();
  await tick();
  const s = ws.last();
  s.welcome();
  s.push(notice(8));
  s.push(notice(9));
  s.push({ type: 'notice_withdrawn', id: 8 });
  assert.deepEqual(n.store.items.map((x) => x.id), [9]);
  s.push(notice(8));
  assert.deepEqual(n.store.items.map((x) => x.id), [9], 'a replay of a withdrawn notice is not shown');
  assert.equal(n.store.unread, 1);
});

test('read: over the channel when open, by REST when not, again at the next welcome if lost', async () => {
  const { t, ws, n, rest } = mkNotices();
  n.refresh();
  await tick();
  let s = ws.last();
  s.welcome();
  s.push(notice(3));
  s.push(notice(4));
  n.markRead(3);
  assert.ok(s.acks().includes('3:read'), 'read over the channel');
  assert.equal(n.store.unread, 1);
  s.drop(1006);
  n.markRead(4);
  await tick();
  assert.deepEqual(rest.reads, ['api/v1/notices/4/read'], 'read by REST while the channel is down');
  // A read that reached neither (offline): sent at the next welcome.
  s.push(notice(99)); // ignored: that socket is gone
  t.advance(1000);
  s = ws.last();
  s.welcome();
  s.push(notice(10));
  s.drop(1006);
  rest.offline = true;
  n.markRead(10);
  await tick();
  t.advance(2000);
  s = ws.last();
  s.welcome();
  assert.ok(s.acks().includes('10:read'), `the lost read goes at the next welcome (${s.acks()})`);
});

test('sync: notices another device received, reads elsewhere, withdrawals missed offline', async () => {
  const { t, ws, n, rest, arrived } = mkNotices();
  rest.items = [
    { id: 1, title: 'a', body: '', from: '53', sent_ms: 1, delivered_ms: 5, read_ms: 6 },
    { id: 2, title: 'b', body: '', from: '53', sent_ms: 2, delivered_ms: 5, read_ms: null },
    { id: 3, title: 'c', body: '', from: '53', sent_ms: 3, delivered_ms: null, read_ms: null, withdrawn_ms: 9 },
  ];
  n.refresh();
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(rest.gets, 0, 'no REST before the channel answered: the hello says what this device saw');
  let s = ws.last();
  s.welcome();
  assert.equal(s.sent[0].since, 0);
  t.advance(0);
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(n.store.items.map((x) => [x.id, x.read]), [[2, false], [1, true]]);
  assert.deepEqual(arrived, [2], 'only the unread one is announced');
  assert.equal(n.store.since, 2);
  assert.deepEqual(s.acks(), [], 'delivered elsewhere already: no ack needed');
  // After a reconnect: since 2, and a sync again within 10 s.
  s.drop(1001);
  t.advance(1000);
  s = ws.last();
  s.welcome();
  assert.equal(s.sent[0].since, 2);
  t.advance(10000);
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(rest.gets, 2);
});

test('sync by REST when the channel cannot connect (a proxy without websockets)', async () => {
  const { t, ws, n, rest } = mkNotices();
  rest.items = [{ id: 4, title: 'd', body: '', from: '53', sent_ms: 4, delivered_ms: null, read_ms: null }];
  n.refresh();
  ws.last().drop(1006);
  t.advance(0);
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(n.store.items.map((x) => x.id), [4]);
  ws.last().drop(1006);
  t.advance(1000);
  ws.last().drop(1006);
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(rest.gets, 1, 'once per page, not at every failed attempt');
});

test('views over the channel while open; HTTP when closed, for page close and big batches', async () => {
  const { ws, ch } = mkChannel();
  const http = [];
  const httpFetch = async (url, init) => { http.push(init.keepalive ? 'keepalive' : 'http'); return { ok: true, status: 200, json: async () => ({ accepted: 1, duplicates: 0 }) }; };
  const f = viewsFetch(ch, httpFetch);
  const init = (events, extra = {}) => ({ method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok-1' }, body: JSON.stringify({ events }), ...extra });
  await f('api/v1/views', init([{ seq: 1 }]));
  assert.deepEqual(http, ['http'], 'channel not started: HTTP');
  ch.start();
  const s = ws.last();
  s.welcome();
  let p = f('api/v1/views', init([{ seq: 2 }]));
  assert.deepEqual(s.sent.at(-1), { type: 'views', events: [{ seq: 2 }] });
  s.push({ type: 'views_ack', accepted: 1, duplicates: 0 });
  let r = await p;
  assert.equal(r.ok, true);
  assert.equal(r.via, 'ws');
  assert.deepEqual(await r.json(), { accepted: 1, duplicates: 0 });
  p = f('api/v1/views', init([{ seq: 3 }]));
  s.push({ type: 'error', for: 'views', code: 'forbidden', message: 'another site' });
  r = await p;
  assert.equal(r.status, 403, 'a refusal looks like HTTP 403 (the queue drops the batch)');
  // Page close (keepalive) and batches over 60 KB go by HTTP even now.
  await f('api/v1/views', init([{ seq: 5 }], { keepalive: true }));
  await f('api/v1/views', init(Array.from({ length: 400 }, (_, i) => ({ seq: 6 + i, pad: 'x'.repeat(200) }))));
  assert.deepEqual(http, ['http', 'keepalive', 'http']);
  assert.equal(s.sent.filter((m) => m.type === 'views').length, 2, 'only the two small batches went over the channel');
  p = f('api/v1/views', init([{ seq: 4 }]));
  s.drop(1006);
  await assert.rejects(p, /closed/, 'a lost connection rejects (the queue retries)');
  assert.equal(http.length, 3);
});
