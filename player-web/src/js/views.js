// Viewing events (docs/api.md, POST /api/v1/views): start, a beat every 15 s of *playing*
// time, end on close. Events go through a queue kept in localStorage, so a
// dropped link loses nothing: they are sent in order when the link is back,
// and each (session, seq) is removed from the queue only after the server
// answered 2xx, so none is sent twice by one device (the server dedupes a
// resend after a lost answer).
//
// The site token goes in the Authorization header. The last send, as the
// page closes, goes by navigator.sendBeacon, which the browser delivers
// after the page is gone; a beacon cannot set headers, so it carries the
// token in its body ({"token", "events"}, which the server accepts for this
// reason). Its answer is never seen, so the events it carried stay queued
// and go again at the next page load: the server counts them as duplicates,
// and an event is never lost to a beacon that did not arrive (the link
// down as the TV is switched off). Without sendBeacon, fetch(keepalive).
// Both are limited to 64 KB in flight: at most KEEPALIVE_MAX events.
//
// Nothing here touches the DOM: storage, fetch, clocks and timers are passed
// in, so tests/web/views_unit.mjs runs this module under node.

export const BATCH_MAX = 500; // server limit per POST (413 above it)
const KEEPALIVE_MAX = 100; // ~250 bytes each: stays under keepalive's 64 KB
const QUEUE_MAX = 5000; // oldest events are dropped beyond this
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 60000;

/** A random session id (crypto.randomUUID needs a secure context; TVs on a
 * village LAN are served over plain http, so build a v4 UUID by hand). */
export function newSessionId(cryptoObj = globalThis.crypto) {
  const b = new Uint8Array(16);
  cryptoObj.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const key = (e) => `${e.session}/${e.seq}`;

export class ViewQueue {
  /**
   * storage: a Storage (localStorage) or any {getItem, setItem}.
   * auth(): {token} of the device, or null when it is not set up.
   * onChange(n): called with the queue length after each change.
   */
  /**
   * onAuth(ok): false when the server refused the token (401/403): the
   * events stay queued and are sent again later (the station may be
   * registered or its token fixed meanwhile); true when a send succeeded.
   */
  constructor({ storage, fetchFn, auth, endpoint = 'api/v1/views', setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (id) => clearTimeout(id), onChange = () => {}, onAuth = () => {}, log = () => {} }) {
    this.storage = storage;
    this.fetchFn = fetchFn;
    this.auth = auth;
    this.endpoint = endpoint;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.onChange = onChange;
    this.onAuth = onAuth;
    this.log = log;
    this.rawCache = undefined;
    this.qCache = [];
    this.refused = 0; // events the server refused for the token (last answer)
    this.inflight = null;
    this.retryMs = RETRY_MIN_MS;
    this.timer = null;
    this.sent = 0; // events acknowledged by the server (this page's lifetime)
    this.duplicates = 0; // of them, how many the server had already
  }

  // The queue is re-read from storage before every change, because another
  // tab of the same device may have changed it; it is parsed again only
  // when the stored text differs from what this object last read or wrote
  // (a beat every 15 s need not parse 5,000 queued events).
  read() {
    let raw;
    try {
      raw = this.storage.getItem('yl.views.q') || '[]';
    } catch {
      return [];
    }
    if (raw !== this.rawCache) {
      let v;
      try {
        v = JSON.parse(raw);
      } catch {
        v = [];
      }
      this.qCache = Array.isArray(v) ? v : [];
      this.rawCache = raw;
    }
    return this.qCache.slice();
  }

  write(q) {
    let raw = JSON.stringify(q);
    try {
      this.storage.setItem('yl.views.q', raw);
    } catch {
      // Storage full: keep the newest half rather than nothing.
      q = q.slice(q.length >> 1);
      raw = JSON.stringify(q);
      try {
        this.storage.setItem('yl.views.q', raw);
      } catch {
        raw = null; /* nothing more to do */
      }
    }
    this.rawCache = raw;
    this.qCache = raw === null ? [] : q.slice();
    this.onChange(q.length);
  }

  get length() {
    return this.read().length;
  }

  push(ev) {
    const q = this.read();
    q.push(ev);
    this.write(q.length > QUEUE_MAX ? q.slice(q.length - QUEUE_MAX) : q);
  }

  remove(batch) {
    const done = new Set(batch.map(key));
    this.write(this.read().filter((e) => !done.has(key(e))));
  }

  /** Send what is queued, oldest first, one request at a time. Resolves when
   * the queue is empty or a send failed (a retry is then scheduled). */
  flush({ keepalive = false } = {}) {
    // The token was refused and a retry is due: new events wait for it (or
    // for online() / a new setup) instead of each drawing another 401.
    if (this.refused && this.timer && !keepalive) return Promise.resolve();
    if (this.inflight) {
      if (!keepalive) return this.inflight;
      // On page close do not wait for the running request: send the rest
      // with keepalive now (the server dedupes any overlap).
    }
    const p = this.run(keepalive).finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    if (!keepalive) this.inflight = p;
    return p;
  }

  async run(keepalive) {
    let max = keepalive ? KEEPALIVE_MAX : BATCH_MAX;
    for (;;) {
      const a = this.auth();
      const q = this.read();
      if (!a || !q.length) return;
      const batch = q.slice(0, max);
      let res;
      try {
        res = await this.fetchFn(this.endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${a.token}` },
          body: JSON.stringify({ events: batch }),
          keepalive,
        });
      } catch (err) {
        this.log(`views: send failed (${err && err.message}); ${q.length} queued`);
        this.retryLater();
        return;
      }
      if (res.ok) {
        // Read the answer ({accepted, duplicates}): an unread body keeps the
        // connection from being reused and the request from finishing.
        try {
          const r = await res.json();
          this.duplicates += (r && r.duplicates) || 0;
        } catch {
          /* the events are committed all the same */
        }
        this.remove(batch);
        this.sent += batch.length;
        this.retryMs = RETRY_MIN_MS;
        if (this.refused) {
          this.refused = 0;
          this.onAuth(true);
        }
        if (keepalive) return;
        continue;
      }
      if (res.status === 413 && max > 1) {
        max = Math.max(1, max >> 1);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        // The token is wrong, expired or not this site's: the events are
        // good, the device's setup is not. Keep them all (nothing is lost
        // while the station is registered or its token fixed), say so, and
        // try again at the slowest pace.
        this.refused = q.length;
        this.log(`views: token refused (${res.status}); ${q.length} events kept`);
        this.onAuth(false, res.status);
        this.retryMs = RETRY_MAX_MS;
        this.retryLater();
        return;
      }
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        // The server will never take these (a bad event): drop them, or
        // the queue would be stuck behind them for ever.
        let why = '';
        try {
          why = (await res.text()).slice(0, 200);
        } catch {
          /* no body */
        }
        this.log(`views: server refused ${batch.length} events (${res.status} ${why}); dropped`);
        this.remove(batch);
        continue;
      }
      this.log(`views: server answered ${res.status}; ${q.length} queued`);
      this.retryLater();
      return;
    }
  }

  /** The page is closing: hand the oldest queued events to sendBeacon
   * (send(url, body) → bool). Returns the number handed over; 0 when the
   * device is not set up, nothing is queued, or the browser refused (then
   * the caller falls back to flush({keepalive: true})). */
  beacon(send) {
    const a = this.auth();
    const q = this.read();
    if (!a || !q.length || typeof send !== 'function') return 0;
    const batch = q.slice(0, KEEPALIVE_MAX);
    let ok = false;
    try {
      ok = send(this.endpoint, JSON.stringify({ token: a.token, events: batch }));
    } catch (err) {
      this.log(`views: sendBeacon failed (${err && err.message})`);
    }
    return ok ? batch.length : 0;
  }

  retryLater() {
    if (this.timer) return;
    const ms = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }

  /** The link is back (window 'online'): send now, not at the next retry. */
  online() {
    if (this.timer) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.retryMs = RETRY_MIN_MS;
    return this.flush();
  }
}

/**
 * Accumulates playing time and calls onBeat() every intervalMs of it.
 * setPlaying(true/false) is called on every change of the media state;
 * paused, buffering and seeking time does not count.
 */
export class BeatClock {
  constructor({ intervalMs = 15000, onBeat, now = () => Date.now(), setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (id) => clearTimeout(id) }) {
    this.intervalMs = intervalMs;
    this.onBeat = onBeat;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.acc = 0; // playing ms since the last beat
    this.since = null; // when the current playing stretch began
    this.timer = null;
    this.total = 0; // playing ms in all
  }

  get playing() {
    return this.since !== null;
  }

  /** Playing ms in all, the running stretch included. */
  played() {
    return this.total + (this.since === null ? 0 : this.now() - this.since);
  }

  /** Playing ms since the last beat. */
  pending() {
    return this.acc + (this.since === null ? 0 : this.now() - this.since);
  }

  setPlaying(on) {
    if (on === this.playing) return;
    if (on) {
      this.since = this.now();
      this.arm();
    } else {
      const d = this.now() - this.since;
      this.acc += d;
      this.total += d;
      this.since = null;
      this.disarm();
    }
  }

  arm() {
    this.disarm();
    const left = Math.max(0, this.intervalMs - this.acc);
    this.timer = this.setTimer(() => this.fire(), left);
  }

  disarm() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  fire() {
    this.timer = null;
    if (this.since === null) return;
    const t = this.now();
    const d = t - this.since;
    this.acc += d;
    this.total += d;
    this.since = t;
    // Timers can fire a little early; anything within 50 ms is a beat.
    if (this.acc >= this.intervalMs - 50) {
      this.acc = Math.max(0, this.acc - this.intervalMs);
      // A throttled background timer may fire late: one beat, not several
      // (the server credits the time since the previous event anyway).
      if (this.acc > this.intervalMs) this.acc = 0;
      this.onBeat();
    }
    this.arm();
  }

  stop() {
    this.setPlaying(false);
    this.disarm();
  }
}

/** One viewing session: one lesson played once on this page, start..end;
 * or (kind live, attendance) one device's watching of a live meeting: then
 * `meeting` is given instead of `lesson`, and a session kept across page
 * loads resumes with its id and last seq (the server takes a start on a
 * known session as one more event). */
export class ViewSession {
  constructor({ queue, site, lesson, meeting, client, now = () => Date.now(), id = newSessionId(), seq = 0 }) {
    this.queue = queue;
    this.site = site;
    this.lesson = lesson;
    this.meeting = meeting;
    this.client = client;
    this.now = now;
    this.id = id;
    this.seq = seq;
    this.started = false;
    this.ended = false;
  }

  /** Queue one event; state() gives {position_s, audio_lang, rendition}. */
  event(kind, st) {
    if (this.ended) return null;
    if (kind === 'start') this.started = true;
    if (kind !== 'start' && !this.started) return null;
    if (kind === 'end') this.ended = true;
    const ev = {
      session: this.id,
      seq: ++this.seq,
      site: this.site,
      lesson: this.lesson,
      kind,
      position_s: Math.round((st.position_s || 0) * 10) / 10,
      audio_lang: st.audio_lang || 'und',
      rendition: st.rendition || 'auto',
      client: this.client,
      ts: this.now(),
    };
    if (this.meeting) {
      delete ev.lesson;
      ev.meeting = this.meeting;
    }
    this.queue.push(ev);
    return ev;
  }
}
