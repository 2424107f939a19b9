// Unit tests of player-web/src/js/views.js under node (no browser): the
// offline queue (order, no resend of acknowledged events, retry, 413 split,
// dropped 4xx, kept 401/403, parse only on change) and the beat clock (15 s of *playing* time; paused time does
// not count). Fake clock, timers, storage and fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const src = process.env.YL_SRCDIR || path.resolve(import.meta.dirname, '../..');
const { ViewQueue, BeatClock, ViewSession, newSessionId, BATCH_MAX } = await import(
  pathToFileURL(path.join(src, 'player-web/src/js/views.js')).href);

function fakeTimers() {
  let now = 0;
  let next = 1;
  const timers = new Map();
  return {
    now: () => now,
    setTimer: (f, ms) => { const id = next++; timers.set(id, { f, at: now + ms }); return id; },
    clearTimer: (id) => timers.delete(id),
    // Advance the clock, firing due timers in time order.
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
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

// A fake server: dedupes on (session, seq) like the real one; can be offline.
function fakeServer() {
  const s = { offline: false, status: 200, got: [], dup: 0, requests: 0, bodies: [] };
  s.fetch = async (url, opt) => {
    s.requests++;
    if (s.offline) throw new TypeError('Failed to fetch');
    const { events } = JSON.parse(opt.body);
    s.bodies.push({ events, headers: opt.headers, keepalive: opt.keepalive });
    if (s.status !== 200) return { ok: false, status: s.status, text: async () => '{"error":{}}' };
    if (events.length > s.limit) return { ok: false, status: 413, text: async () => '' };
    for (const e of events) {
      if (s.got.some((g) => g.session === e.session && g.seq === e.seq)) s.dup++;
      else s.got.push(e);
    }
    return { ok: true, status: 200, json: async () => ({}) };
  };
  s.limit = BATCH_MAX;
  return s;
}

const settle = () => new Promise((r) => setImmediate(r));

test('session ids are v4 UUIDs and differ', () => {
  const a = newSessionId();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, newSessionId());
});

test('events carry the contract fields, seq counts up, nothing before start or after end', () => {
  const st = memStorage();
  const q = new ViewQueue({ storage: st, fetchFn: fakeServer().fetch, auth: () => null });
  const s = new ViewSession({ queue: q, site: '532901104201', lesson: 7, client: 'tv', now: () => 1764100000000 });
  assert.equal(s.event('beat', {}), null, 'a beat before start is not sent');
  const e = s.event('start', { position_s: 1.234, audio_lang: 'lis', rendition: '480p' });
  assert.deepEqual(Object.keys(e).sort(), ['audio_lang', 'client', 'kind', 'lesson', 'position_s', 'rendition', 'seq', 'session', 'site', 'ts']);
  assert.equal(e.position_s, 1.2);
  assert.equal(e.seq, 1);
  assert.equal(s.event('beat', {}).seq, 2);
  assert.equal(s.event('end', {}).seq, 3);
  assert.equal(s.event('beat', {}), null, 'nothing after end');
  assert.equal(q.length, 3);
});

test('kind live: a meeting instead of a lesson, and a resumed session continues its seq', () => {
  const q = new ViewQueue({ storage: memStorage(), fetchFn: fakeServer().fetch, auth: () => null });
  const s = new ViewSession({ queue: q, site: '532901104201', meeting: 9, client: 'tv', id: 'd3b0', seq: 4 });
  const e = s.event('start', { position_s: 0 });
  assert.equal(e.meeting, 9);
  assert.equal('lesson' in e, false, 'no lesson key: the server takes exactly one');
  assert.equal(e.session, 'd3b0');
  assert.equal(e.seq, 5, 'after the stored seq');
});

test('queue: sent in order with the bearer token, removed only when acknowledged', async () => {
  const st = memStorage();
  const srv = fakeServer();
  const tm = fakeTimers();
  const q = new ViewQueue({ storage: st, fetchFn: srv.fetch, auth: () => ({ token: 'T0K' }), setTimer: tm.setTimer, clearTimer: tm.clearTimer });
  const s = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'pc' });
  s.event('start', {});
  await q.flush();
  assert.equal(srv.got.length, 1);
  assert.equal(srv.bodies[0].headers.Authorization, 'Bearer T0K');
  assert.equal(q.length, 0);

  srv.offline = true;
  for (let i = 0; i < 5; i++) {
    s.event('beat', { position_s: i });
    await q.flush();
  }
  assert.equal(q.length, 5, 'offline: all beats wait in storage');
  assert.equal(tm.pending(), 1, 'one retry is scheduled');
  // A new ViewQueue on the same storage (page reload) sees the same queue.
  assert.equal(new ViewQueue({ storage: st, fetchFn: srv.fetch, auth: () => null }).length, 5);

  srv.offline = false;
  await q.online();
  assert.equal(q.length, 0);
  assert.deepEqual(srv.got.map((e) => e.seq), [1, 2, 3, 4, 5, 6], 'in order');
  assert.equal(srv.dup, 0, 'none twice');
  tm.advance(120000);
  await settle();
  assert.equal(srv.dup, 0, 'a late retry sends nothing again');
});

test('queue: retry with backoff after a 503, then delivery', async () => {
  const srv = fakeServer();
  const tm = fakeTimers();
  const q = new ViewQueue({ storage: memStorage(), fetchFn: srv.fetch, auth: () => ({ token: 't' }), setTimer: tm.setTimer, clearTimer: tm.clearTimer });
  const s = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'pc' });
  srv.status = 503;
  s.event('start', {});
  await q.flush();
  assert.equal(q.length, 1);
  srv.status = 200;
  tm.advance(2000);
  await settle();
  await q.flush();
  assert.equal(q.length, 0);
  assert.equal(srv.got.length, 1);
});

test('queue: 413 halves the batch; a permanent 4xx drops the batch', async () => {
  const srv = fakeServer();
  srv.limit = 3;
  const q = new ViewQueue({ storage: memStorage(), fetchFn: srv.fetch, auth: () => ({ token: 't' }) });
  const s = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'pc' });
  s.event('start', {});
  for (let i = 0; i < 9; i++) s.event('beat', {});
  await q.flush();
  assert.equal(srv.got.length, 10);
  assert.deepEqual(srv.got.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  srv.status = 400;
  s.event('beat', {});
  await q.flush();
  assert.equal(q.length, 0, 'a refused batch (bad event) does not block the queue');
});

test('queue: 401/403 (token refused) keeps every event, reports it, and sends them once the token is good', async () => {
  for (const status of [401, 403]) {
    const srv = fakeServer();
    const tm = fakeTimers();
    const auth = [];
    const q = new ViewQueue({ storage: memStorage(), fetchFn: srv.fetch, auth: () => ({ token: 't' }), setTimer: tm.setTimer, clearTimer: tm.clearTimer, onAuth: (ok, st) => auth.push([ok, st]) });
    const s = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'tv' });
    s.event('start', {});
    s.event('beat', {});
    srv.status = status;
    await q.flush();
    assert.equal(q.length, 2, `${status}: the events stay queued`);
    assert.deepEqual(auth, [[false, status]], `${status}: the refusal is reported`);
    assert.equal(tm.pending(), 1, `${status}: a retry is scheduled`);
    const n = srv.requests;
    s.event('end', {});
    await q.flush();
    assert.equal(srv.requests, n, `${status}: a new event waits for the retry, no request per event`);
    srv.status = 200;
    tm.advance(60000);
    await settle();
    await settle();
    assert.equal(q.length, 0, `${status}: sent once the server takes them`);
    assert.deepEqual(srv.got.map((e) => e.seq), [1, 2, 3]);
    assert.deepEqual(auth.at(-1), [true, undefined], `${status}: recovery is reported`);
  }
});

test('queue: read() parses the stored queue only when it changed', async () => {
  const st = memStorage();
  const q = new ViewQueue({ storage: st, fetchFn: fakeServer().fetch, auth: () => null });
  const s = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'pc' });
  s.event('start', {});
  for (let i = 0; i < 50; i++) s.event('beat', {});
  const parse = JSON.parse;
  let parses = 0;
  JSON.parse = (...a) => { parses++; return parse(...a); };
  try {
    for (let i = 0; i < 100; i++) s.event('beat', {});
    assert.equal(q.length, 151);
    assert.equal(parses, 0, 'pushes and reads of an unchanged queue parse nothing');
    // Another tab changed the queue: read again.
    st.setItem('yl.views.q', JSON.stringify([{ session: 'x', seq: 1 }]));
    assert.equal(q.length, 1);
    assert.equal(parses, 1);
  } finally {
    JSON.parse = parse;
  }
});

test('queue: nothing is sent while the device is not set up', async () => {
  const srv = fakeServer();
  let auth = null;
  const q = new ViewQueue({ storage: memStorage(), fetchFn: srv.fetch, auth: () => auth });
  new ViewSession({ queue: q, site: '1', lesson: 1, client: 'pc' }).event('start', {});
  await q.flush();
  assert.equal(srv.requests, 0);
  auth = { token: 't' };
  await q.flush();
  assert.equal(srv.got.length, 1);
});

test('beat clock: a beat per 15 s of playing time; pauses do not count', () => {
  const tm = fakeTimers();
  const beats = [];
  const c = new BeatClock({ intervalMs: 15000, onBeat: () => beats.push(tm.now()), now: tm.now, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
  c.setPlaying(true);
  tm.advance(10000); // 10 s played
  c.setPlaying(false);
  tm.advance(60000); // paused a minute: nothing
  assert.equal(beats.length, 0);
  c.setPlaying(true);
  tm.advance(4999);
  assert.equal(beats.length, 0, 'not before 15 s of playing');
  tm.advance(1);
  assert.deepEqual(beats, [75000], 'at 15 s of playing time, wall 75 s');
  tm.advance(15000);
  assert.deepEqual(beats, [75000, 90000]);
  c.setPlaying(false);
  c.setPlaying(false);
  tm.advance(100000);
  assert.equal(beats.length, 2);
  assert.equal(c.total, 30000, "10 + 5 + 15 s played");
  c.stop();
  assert.equal(tm.pending(), 0);
});

test('beacon on page close: the token rides in the body, the events stay queued until acknowledged', async () => {
  const st = memStorage();
  const srv = fakeServer();
  const q = new ViewQueue({ storage: st, fetchFn: srv.fetch, auth: () => ({ token: 'T0K' }) });
  const s = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'tv' });
  const beacons = [];
  const send = (url, body) => { beacons.push({ url, body: JSON.parse(body) }); return true; };
  assert.equal(q.beacon(send), 0, 'nothing queued: no beacon');
  s.event('start', {});
  s.event('end', { position_s: 3 });
  assert.equal(q.beacon(send), 2);
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].url, 'api/v1/views');
  assert.equal(beacons[0].body.token, 'T0K');
  assert.deepEqual(beacons[0].body.events.map((e) => e.kind), ['start', 'end']);
  assert.equal(q.length, 2, 'a beacon is never answered: its events stay queued');
  // The next page load sends them again; the server dedupes what arrived.
  for (const e of beacons[0].body.events) srv.got.push(e);
  await q.flush();
  assert.equal(q.length, 0);
  assert.equal(srv.dup, 2, 'the resend counts as duplicates, nothing is stored twice');
  assert.equal(srv.got.length, 2);
  // Refused by the browser (quota), no sendBeacon, or not set up: 0, the
  // caller falls back to fetch(keepalive).
  const s2 = new ViewSession({ queue: q, site: '1', lesson: 1, client: 'tv' });
  s2.event('start', {});
  assert.equal(q.beacon(() => false), 0);
  assert.equal(q.beacon(null), 0);
  assert.equal(new ViewQueue({ storage: st, fetchFn: srv.fetch, auth: () => null }).beacon(send), 0);
  assert.equal(q.beacon(() => { throw new TypeError('quota'); }), 0);
  // At most KEEPALIVE_MAX (100) events in one beacon (64 KB in flight).
  for (let i = 0; i < 150; i++) s2.event('beat', { position_s: i });
  assert.equal(q.beacon(send), 100);
  assert.equal(beacons[1].body.events.length, 100);
});
