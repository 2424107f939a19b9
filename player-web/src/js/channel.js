// The websocket channel of a set-up station (GET /ws, subprotocol
// yunling.v1, one JSON object per text frame; docs: streamer/str_ws.c) and
// the station's notices (通知) that arrive on it.
//
// One socket per page. The first frame is a hello with the site token
// (browsers cannot set headers on a websocket) and `since`, the highest
// notice id this device has seen; the server then replays, in order, every
// notice for the site above `since` that the site has not acknowledged, and
// pushes new ones. Each notice is acknowledged "delivered" on receipt and
// "read" when a person opened it; the inbox de-duplicates by id (a replay
// after a lost ack brings one again).
//
// Reconnecting: jittered exponential back-off, 1 s doubling to 60 s, each
// delay ±30 % (so 16,000 stations that lost the server at the same moment do
// not come back at the same moment), reset once a connection has stayed up
// for a minute. Never after 4401/4403: the token is bad, expired or not a
// station's, and trying again changes nothing until the device is set up
// again.
//
// Nothing here touches the DOM (inbox.js draws): the WebSocket class,
// storage, fetch, clocks, timers and randomness are passed in, so
// tests/web/channel_unit.mjs runs this module under node.
import { newSessionId } from './views.js';

export const PROTOCOL = 'yunling.v1';
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 60000;
export const JITTER = 0.3;
export const STABLE_MS = 60000; // up this long: the next back-off starts at 1 s
const WELCOME_MS = 15000; // open but no welcome: give up and retry
const VIEWS_TIMEOUT_MS = 20000;
const VIEWS_MAX_BYTES = 60000; // larger batches go by HTTP (ws_max_message)
const KEEP_ITEMS = 100; // notices kept on the device, newest first
const KEEP_GONE = 200; // withdrawn ids remembered (a late replay stays out)
const SYNC_PAGE = 200; // the server's page of GET /api/v1/notices
const SYNC_PAGES_MAX = 20;

/** Close codes after which the channel does not reconnect by itself. */
export const REFUSED = new Set([4401, 4403]);

/** The n-th reconnect delay (n = 0 first): min(1 s * 2^n, 60 s), then ±30 %. */
export function backoffMs(n, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(n, 20));
  return Math.round(base * (1 + (random() * 2 - 1) * JITTER));
}

/** ws://host/path/ws for a page at http://host/path/ (wss for https). */
export function channelUrl(base) {
  const u = new URL('ws', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  return u.href;
}

// HTTP statuses for the error codes of a views batch (docs/api.md), so the
// ViewQueue treats a refusal over the channel as it treats one over HTTP.
const VIEW_STATUS = {
  invalid: 400, malformed_json: 400, not_found: 400, forbidden: 403, unauthorized: 401,
  too_large: 413, batch_too_large: 413, body_too_large: 413,
};

/**
 * The socket. Options:
 *   url, auth() → {token} | null, client() → tv|pc|phone, device (stable id),
 *   since() → highest notice id seen, onFrame(msg) for notice,
 *   notice_withdrawn and welcome, onState(state, info) with state
 *   off | connecting | open | retry | refused,
 *   WebSocketImpl, setTimer, clearTimer, now, random, log.
 */
export class Channel {
  constructor(o) {
    this.url = o.url;
    this.auth = o.auth;
    this.client = o.client || (() => 'pc');
    this.device = o.device || '';
    this.since = o.since || (() => 0);
    this.onFrame = o.onFrame || (() => {});
    this.onState = o.onState || (() => {});
    this.WS = o.WebSocketImpl || globalThis.WebSocket;
    this.setTimer = o.setTimer || ((f, ms) => setTimeout(f, ms));
    this.clearTimer = o.clearTimer || ((id) => clearTimeout(id));
    this.now = o.now || (() => Date.now());
    this.random = o.random || Math.random;
    this.log = o.log || (() => {});
    this.ws = null;
    this.state = 'off';
    this.info = {};
    this.attempts = 0; // failed connections since the last stable one
    this.connects = 0; // sockets opened (tests, debugging)
    this.welcomed = false;
    this.token = null;
    this.pingMs = 25000;
    this.lastRx = 0;
    this.timers = {};
    this.views = []; // pending views batches, answered in order
    this.trail = [];
  }

  get open() {
    return this.state === 'open';
  }

  timer(name, f, ms) {
    this.untimer(name);
    this.timers[name] = this.setTimer(() => {
      delete this.timers[name];
      f();
    }, ms);
  }

  untimer(name) {
    if (this.timers[name] !== undefined) this.clearTimer(this.timers[name]);
    delete this.timers[name];
  }

  setState(state, info = {}) {
    this.state = state;
    this.info = info;
    // The last states with their close codes and delays (tests, debugging).
    this.trail.push({ state, ...info, at: this.now() });
    if (this.trail.length > 50) this.trail.shift();
    this.onState(state, info);
  }

  /** Connect now (a new setup: the back-off starts over). */
  start() {
    this.attempts = 0;
    this.connect();
  }

  /** Close and stay closed (the page goes away, the device was cleared). */
  stop() {
    this.drop();
    for (const k of Object.keys(this.timers)) this.untimer(k);
    this.setState('off');
  }

  connect() {
    this.drop();
    this.untimer('retry');
    const a = this.auth();
    if (!a || !a.token) {
      this.setState('off');
      return;
    }
    this.token = a.token;
    let ws;
    try {
      ws = new this.WS(this.url, PROTOCOL);
    } catch (err) {
      this.log(`channel: ${err && err.message}`);
      this.retry(0, 'no socket');
      return;
    }
    this.connects++;
    this.ws = ws;
    this.welcomed = false;
    this.setState('connecting');
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastRx = this.now();
      ws.send(JSON.stringify({ type: 'hello', token: a.token, since: this.since(), client: this.client(), device: this.device }));
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastRx = this.now();
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return; // not ours to judge; the server sends JSON
      }
      if (m && typeof m === 'object') this.frame(m);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.closed(ev.code, ev.reason || '');
    };
    ws.onerror = () => {}; // a close follows
    this.timer('welcome', () => {
      if (this.ws === ws && !this.welcomed) this.abandon('no welcome');
    }, WELCOME_MS);
  }

  frame(m) {
    switch (m.type) {
      case 'welcome':
        this.welcomed = true;
        this.untimer('welcome');
        this.pingMs = Math.max(5, Number(m.ping_s) || 25) * 1000;
        this.timer('stable', () => { this.attempts = 0; }, STABLE_MS);
        this.keepalive();
        this.setState('open', { role: m.role, scope: m.scope });
        this.onFrame(m);
        return;
      case 'pong':
        return;
      case 'views_ack': {
        const p = this.views.shift();
        if (p) p.done({ ok: true, status: 200, body: { accepted: m.accepted, duplicates: m.duplicates } });
        return;
      }
      case 'error':
        if (m.for === 'views') {
          const p = this.views.shift();
          if (p) p.done({ ok: false, status: VIEW_STATUS[m.code] || 503, body: m });
          return;
        }
        this.log(`channel: server says ${m.code}: ${m.message}`);
        return;
      default:
        this.onFrame(m);
    }
  }

  // The server pings at the websocket level and drops a silent peer; the
  // browser answers those pings itself but may not notice a dead link for
  // many minutes. So: an application ping after ping_s of silence, and a
  // link silent for 2 x ping_s + 10 s is given up and reconnected.
  keepalive() {
    this.timer('ping', () => {
      if (!this.open) return;
      const quiet = this.now() - this.lastRx;
      if (quiet > 2 * this.pingMs + 10000) {
        this.abandon('silent link');
        return;
      }
      if (quiet >= this.pingMs) this.send({ type: 'ping' });
      this.keepalive();
    }, Math.min(this.pingMs, 10000));
  }

  /** Forget the current socket without waiting for its close handshake. */
  drop() {
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    this.untimer('welcome');
    this.untimer('ping');
    this.untimer('stable');
    for (const p of this.views.splice(0)) p.fail(new Error('channel closed'));
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        /* already closing */
      }
    }
  }

  abandon(why) {
    this.log(`channel: ${why}; reconnecting`);
    this.drop();
    this.retry(0, why);
  }

  closed(code, reason) {
    this.ws = null; // the socket is gone: drop() must not close it again
    this.drop();
    if (REFUSED.has(code)) {
      this.log(`channel: refused ${code} ${reason}; not reconnecting`);
      this.setState('refused', { code, reason });
      return;
    }
    this.retry(code, reason);
  }

  retry(code, reason) {
    const ms = backoffMs(this.attempts++, this.random);
    this.setState('retry', { code, reason, ms });
    this.timer('retry', () => this.connect(), ms);
  }

  /** The browser says the link is back: try within 0-2 s rather than at
   * the end of a long back-off (spread, so a village LAN coming back does
   * not bring all its devices at once). */
  online() {
    if (this.state !== 'retry') return;
    const ms = Math.round(this.random() * 2000);
    if (ms < (this.info.ms || Infinity)) this.timer('retry', () => this.connect(), ms);
  }

  /** Send a frame if the channel is open; false otherwise. */
  send(obj) {
    if (!this.open || !this.ws || this.ws.readyState !== 1) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  /** Viewing events over the channel: resolves {ok, status, body} like an
   * HTTP answer; rejects when the channel is not open, closes meanwhile, or
   * no answer came in time (the caller retries; the server dedupes). */
  sendViews(events) {
    return new Promise((resolve, reject) => {
      let t = null;
      const p = {
        done: (r) => { this.clearTimer(t); resolve(r); },
        fail: (e) => { this.clearTimer(t); reject(e); },
      };
      if (!this.send({ type: 'views', events })) {
        reject(new Error('channel not open'));
        return;
      }
      this.views.push(p);
      t = this.setTimer(() => {
        const i = this.views.indexOf(p);
        if (i < 0) return;
        // An unanswered batch: later answers can no longer be matched to
        // their batches, so start a new connection.
        this.abandon('views unanswered');
        reject(new Error('views: no answer'));
      }, VIEWS_TIMEOUT_MS);
    });
  }
}

/**
 * The ViewQueue's fetch, sending over the channel while it is open and the
 * batch is small, else by HTTP as before. The queue sends one batch at a
 * time and reads only ok, status, json() and text(), so an answer over the
 * channel looks like an HTTP one: a refusal drops the batch, a lost
 * connection retries it. Page close (keepalive) always goes by HTTP.
 */
export function viewsFetch(channel, httpFetch) {
  return (url, init = {}) => {
    const body = typeof init.body === 'string' ? init.body : '';
    const auth = init.headers && init.headers.Authorization;
    if (init.keepalive || !channel.open || body.length > VIEWS_MAX_BYTES || auth !== `Bearer ${channel.token}`) {
      return httpFetch(url, init);
    }
    let events;
    try {
      ({ events } = JSON.parse(body));
    } catch {
      return httpFetch(url, init);
    }
    return channel.sendViews(events).then((r) => ({
      ok: r.ok,
      status: r.status,
      via: 'ws',
      json: async () => r.body,
      text: async () => JSON.stringify(r.body),
    }));
  };
}

// ---- notices ----------------------------------------------------------------

const validNotice = (n) => n && Number.isInteger(n.id) && n.id > 0 && typeof n.title === 'string';

/**
 * The notices kept on this device (localStorage `yl.inbox`): newest first,
 * at most KEEP_ITEMS, for one site (another setup starts empty). Each item:
 * {id, title, body, from, sent_ms, attachments, read, readSent, acked}.
 * `since` is the highest id seen, kept even when old items are dropped.
 */
export class NoticeStore {
  constructor(storage, key = 'yl.inbox') {
    this.storage = storage;
    this.key = key;
    this.site = null;
    this.items = [];
    this.since = 0;
    this.gone = [];
  }

  load(site) {
    let v = null;
    try {
      v = JSON.parse(this.storage.getItem(this.key) || 'null');
    } catch {
      v = null;
    }
    if (!v || v.site !== site || !Array.isArray(v.items)) v = { site, items: [], since: 0, gone: [] };
    this.site = site;
    this.items = v.items.filter(validNotice);
    this.since = Number(v.since) || 0;
    this.gone = Array.isArray(v.gone) ? v.gone : [];
  }

  save() {
    const v = { site: this.site, since: this.since, items: this.items, gone: this.gone };
    try {
      this.storage.setItem(this.key, JSON.stringify(v));
    } catch {
      // Full: keep the newest half.
      try {
        this.storage.setItem(this.key, JSON.stringify({ ...v, items: this.items.slice(0, KEEP_ITEMS >> 1) }));
      } catch {
        /* not remembered */
      }
    }
  }

  get(id) {
    return this.items.find((x) => x.id === id) || null;
  }

  get unread() {
    return this.items.filter((x) => !x.read).length;
  }

  /** Add a notice; returns the item if it is new here, else null. */
  add(n, extra = {}) {
    if (!validNotice(n)) return null;
    this.since = Math.max(this.since, n.id);
    if (this.get(n.id) || this.gone.includes(n.id)) return null;
    const it = {
      id: n.id,
      title: n.title,
      body: typeof n.body === 'string' ? n.body : '',
      from: n.from || '',
      sent_ms: Number(n.sent_ms) || 0,
      attachments: Array.isArray(n.attachments) ? n.attachments : [],
      read: false,
      readSent: false,
      acked: false,
      ...extra,
    };
    this.items.push(it);
    this.items.sort((a, b) => b.id - a.id);
    if (this.items.length > KEEP_ITEMS) this.items.length = KEEP_ITEMS;
    return this.get(n.id);
  }

  /** Remove a withdrawn notice; true if it was here. */
  withdraw(id) {
    if (!this.gone.includes(id)) {
      this.gone.push(id);
      if (this.gone.length > KEEP_GONE) this.gone.splice(0, this.gone.length - KEEP_GONE);
    }
    const n = this.items.length;
    this.items = this.items.filter((x) => x.id !== id);
    return this.items.length !== n;
  }
}

/**
 * The station's notices: the channel, the store, receipts, and a sync with
 * GET /api/v1/notices at start and after a reconnect (what another device
 * of the station received or read meanwhile, and withdrawals missed while
 * offline: the channel replays only what the *site* has not acknowledged).
 * Options: storage, fetchFn, auth() → {site, token} | null, client(),
 * url, onChange(store), onArrive([items]), onState(state, info),
 * plus the Channel's clock, timer, random and WebSocketImpl options.
 */
export class Notices {
  constructor(o) {
    this.o = o;
    this.fetchFn = o.fetchFn;
    this.auth = o.auth;
    this.onChange = o.onChange || (() => {});
    this.onArrive = o.onArrive || (() => {});
    this.onMeeting = o.onMeeting || (() => {});
    this.log = o.log || (() => {});
    this.setTimer = o.setTimer || ((f, ms) => setTimeout(f, ms));
    this.clearTimer = o.clearTimer || ((id) => clearTimeout(id));
    this.random = o.random || Math.random;
    this.store = new NoticeStore(o.storage);
    this.key = null; // site|token the channel runs for
    this.welcomes = 0;
    this.syncTimer = null;
    let dev = null;
    try {
      dev = o.storage.getItem('yl.devid');
    } catch {
      /* no storage */
    }
    if (!dev) {
      dev = newSessionId(o.crypto);
      try {
        o.storage.setItem('yl.devid', dev);
      } catch {
        /* a new id next time */
      }
    }
    this.channel = new Channel({
      ...o,
      device: dev,
      since: () => this.store.since,
      onFrame: (m) => this.frame(m),
      onState: (s, info) => {
        if (s === 'retry') this.channelDown();
        (o.onState || (() => {}))(s, info);
      },
    });
  }

  /** (Re)start for the device's current setup; a no-op if unchanged. */
  refresh() {
    const a = this.auth();
    const key = a && a.token ? `${a.site}|${a.token}` : null;
    if (key === this.key) return;
    this.key = key;
    this.channel.stop();
    if (!a || !a.token) {
      this.store.load(null);
      this.onChange(this.store);
      return;
    }
    this.store.load(String(a.site));
    this.onChange(this.store);
    this.welcomes = 0;
    this.synced = false;
    this.channel.start();
  }

  stop() {
    this.channel.stop();
    this.key = null;
  }

  frame(m) {
    const s = this.store;
    if (m.type === 'welcome') {
      this.welcomes++;
      // Receipts that may not have reached the server (sent as a link
      // dropped, or while it was down).
      for (const it of s.items) {
        if (it.read && !it.readSent) this.sendRead(it);
        else if (!it.acked) this.ack(it, 'delivered');
      }
      s.save();
      // Catch up by REST once the channel is up (so the hello's `since`
      // is this device's own and the server replays what it missed); after
      // a reconnect spread over 0-10 s, as every station reconnects at once
      // after a server restart.
      this.syncSoon(this.welcomes > 1 ? Math.round(this.random() * 10000) : 0);
      return;
    }
    if (m.type === 'notice') {
      if (!validNotice(m)) return;
      const added = s.add(m);
      const it = added || s.get(m.id);
      if (!it) {
        // Withdrawn here already: acknowledge so it stops coming back.
        this.channel.send({ type: 'ack', notice: m.id, state: 'delivered' });
      } else if (it.read) {
        this.sendRead(it); // a replay: the server did not get the receipt
      } else {
        this.ack(it, 'delivered');
      }
      s.save();
      this.onChange(s);
      if (added) this.onArrive([added]);
      return;
    }
    if (m.type === 'meeting') {
      // A live meeting sent to this site started or ended.
      if (Number.isInteger(m.id) && m.id > 0 && (m.state === 'live' || m.state === 'ended')) this.onMeeting(m);
      return;
    }
    if (m.type === 'notice_withdrawn') {
      s.withdraw(Number(m.id));
      s.save();
      this.onChange(s);
    }
  }

  ack(it, state) {
    if (this.channel.send({ type: 'ack', notice: it.id, state })) {
      if (state === 'delivered') it.acked = true;
      return true;
    }
    return false;
  }

  /** A person opened the notice: "read", over the channel or by REST. */
  markRead(id) {
    const it = this.store.get(id);
    if (!it) return;
    if (!it.read) {
      it.read = true;
      this.store.save();
      this.onChange(this.store);
    }
    if (!it.readSent) this.sendRead(it);
  }

  sendRead(it) {
    if (this.ack(it, 'read')) {
      it.readSent = true;
      it.acked = true;
      this.store.save();
      return;
    }
    const a = this.auth();
    if (!a || !this.fetchFn) return;
    this.fetchFn(`api/v1/notices/${it.id}/read`, { method: 'POST', headers: { Authorization: `Bearer ${a.token}` } })
      .then((r) => {
        if (r.ok || r.status === 404) {
          it.readSent = true;
          it.acked = true;
          this.store.save();
        }
      })
      .catch(() => { /* again at the next welcome */ });
  }

  /** The channel is down: the first time on this page, show what REST has
   * (a proxy that does not pass websockets still gets the inbox). */
  channelDown() {
    if (!this.synced) this.syncSoon(0);
  }

  syncSoon(ms) {
    if (this.syncTimer !== null) return;
    this.syncTimer = this.setTimer(() => {
      this.syncTimer = null;
      this.sync();
    }, ms);
  }

  /** GET /api/v1/notices (site token): this site's notices with receipts
   * and withdrawals, from just below the oldest one kept. */
  async sync() {
    const a = this.auth();
    if (!a || !a.token || !this.fetchFn) return false;
    this.synced = true;
    const key = `${a.site}|${a.token}`;
    const s = this.store;
    const oldest = s.items.length ? s.items[s.items.length - 1].id : 0;
    let since = s.items.length ? oldest - 1 : 0;
    const seen = new Map();
    for (let page = 0; page < SYNC_PAGES_MAX; page++) {
      let r;
      try {
        r = await this.fetchFn(`api/v1/notices?since=${since}`, { headers: { Authorization: `Bearer ${a.token}`, Accept: 'application/json' } });
      } catch {
        return false; // offline: the channel's reconnect syncs again
      }
      if (!r.ok) return false;
      let items;
      try {
        ({ items } = await r.json());
      } catch {
        return false;
      }
      if (this.key !== key) return false; // set up again meanwhile
      if (!Array.isArray(items)) return false;
      for (const n of items) {
        seen.set(n.id, n);
        since = Math.max(since, n.id);
      }
      if (items.length < SYNC_PAGE) break;
    }
    const arrived = [];
    for (const n of [...seen.values()].sort((x, y) => x.id - y.id)) {
      if (n.withdrawn_ms) {
        s.withdraw(n.id);
        continue;
      }
      let it = s.get(n.id);
      if (!it) {
        it = s.add(n, { read: !!n.read_ms, readSent: !!n.read_ms, acked: !!n.delivered_ms });
        if (it && !it.read) arrived.push(it);
      }
      if (!it) continue;
      if (n.read_ms && !it.read) it.read = true; // read on another device
      if (n.read_ms) it.readSent = true;
      else if (it.read) it.readSent = false; // the server lost it: again
      if (n.delivered_ms) it.acked = true;
      if (it.read && !it.readSent) this.sendRead(it);
      else if (!it.acked) this.ack(it, 'delivered');
    }
    s.save();
    this.syncs = (this.syncs || 0) + 1; // completed syncs (tests)
    this.onChange(s);
    if (arrived.length) this.onArrive(arrived);
    return true;
  }
}
