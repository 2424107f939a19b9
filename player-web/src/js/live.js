// The live page of a meeting (#/live/<id>), with the meeting's audio
// languages as buttons, the site's language first. Where Media Source
// Extensions exist it plays the sub-second websocket stream
// (/ws/live/<id>, MPEG-TS) in mpegts.js and shows its latency; elsewhere,
// or when that fails, the live HLS in hls.js (or the browser's own HLS).
// A TV comes here by itself when a meeting sent to its station starts
// (main.js, on the channel's "meeting" message).
import { h, clear } from './dom.js';
import { t } from './i18n.js';
import * as dev from './device.js';
import { langName, pickLang } from './langs.js';
import * as eng from './engine.js';
import { BeatClock, ViewSession } from './views.js';

// Attendance (issue 13): the page reports start/beat/end of kind live for
// the meeting through the device's view queue (views.js, the same queue,
// retries and beacon as lessons). One session per device and meeting, kept
// in localStorage, so a reload or a return to the meeting continues it and
// the server counts one device. Events go only for a meeting the server
// says is live and sent to this station (GET /api/v1/meetings/{id} of the
// meeting shown: not meetings/current, which names only the latest when
// two run at once for the station): a batch is all or nothing, and an
// event it refuses would take queued lesson events with it.
const SESSION_KEY = (id) => `yl.live.${id}`;

const WS_RUNG = '360p'; // the weakest links first; 2.5 Mbit/s 720p is too much

/** mpegts.js's settings on the websocket path (bench/live/latency.sh
 * measures the picture's latency with exactly these). */
export const WS_PLAYER_CONFIG = Object.freeze({
  enableWorker: false,
  enableStashBuffer: false,
  // Behind by more than 1.5 s: jump to 0.3 s from the newest picture;
  // by more than 1 s: play a little faster back to 0.5 s.
  liveBufferLatencyChasing: true,
  liveBufferLatencyMaxLatency: 1.5,
  liveBufferLatencyMinRemain: 0.3,
  liveSync: true,
  liveSyncMaxLatency: 1.0,
  liveSyncTargetLatency: 0.5,
  liveSyncPlaybackRate: 1.2,
});

/** hls.js's settings for live HLS (bench/live/latency.sh measures them).
 * Start two 1-second segments behind the newest listed one, not three:
 * about a second less (the 4 s target). A weak link pays for it
 * once: a stall raises hls.js's target by a second
 * (liveSyncOnStallIncrease; one target duration at most in all, i.e.
 * three segments again), and the stall itself has already put the
 * picture further back; there is no faster playback to catch up
 * (maxLiveSyncPlaybackRate stays 1), so margin won on a flaky link is
 * kept. Past 8 s behind, hls.js jumps to the live edge. Figures:
 * docs/performance.md. */
export const HLS_LIVE_CONFIG = Object.freeze({
  liveSyncDurationCount: 2,
  liveSyncOnStallIncrease: 1,
  liveMaxLatencyDurationCount: 8,
});

let mpegtsLoading = null;
/** Load vendor/mpegts.js once (about 275 KB), on the live page only. */
function loadMpegts() {
  if (window.mpegts) return Promise.resolve(window.mpegts);
  if (!mpegtsLoading) {
    mpegtsLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'vendor/mpegts.js';
      s.onload = () => (window.mpegts ? resolve(window.mpegts) : reject(new Error('mpegts.js')));
      s.onerror = () => {
        mpegtsLoading = null;
        s.remove();
        reject(new Error('vendor/mpegts.js'));
      };
      document.head.append(s);
    });
  }
  return mpegtsLoading;
}

/** mpegts.js's websocket loader, but text frames (the server's clock
 * frames, asked for with clock=1) go to onClock instead of failing the
 * stream as mpegts.js's own loader does. */
export function clockLoader(mpegts, onClock) {
  const { BaseLoader, LoaderStatus, LoaderErrors } = mpegts;
  return class ClockLoader extends BaseLoader {
    constructor() {
      super('yl-ws-loader');
      this._needStash = true;
      this._ws = null;
      this._aborted = false;
      this._received = 0;
    }

    static isSupported() {
      return typeof WebSocket !== 'undefined';
    }

    destroy() {
      if (this._ws) this.abort();
      super.destroy();
    }

    open(src) {
      const ws = new WebSocket(src.url);
      this._ws = ws;
      ws.binaryType = 'arraybuffer';
      this._status = LoaderStatus.kConnecting;
      ws.onopen = () => { this._status = LoaderStatus.kBuffering; };
      ws.onmessage = (e) => {
        if (typeof e.data === 'string') {
          try {
            const m = JSON.parse(e.data);
            if (m.type === 'clock') onClock(m);
          } catch (err) { /* not ours */ }
          return;
        }
        const start = this._received;
        this._received += e.data.byteLength;
        if (this._onDataArrival) this._onDataArrival(e.data, start, this._received);
      };
      ws.onclose = (e) => {
        if (this._aborted) return;
        this._status = LoaderStatus.kComplete;
        if (e.code !== 1000 && this._onError) {
          this._status = LoaderStatus.kError;
          this._onError(LoaderErrors.CONNECTING_TIMEOUT, { code: e.code, msg: e.reason || 'websocket closed' });
        } else if (this._onComplete) {
          this._onComplete(0, this._received - 1);
        }
      };
      ws.onerror = () => {
        this._status = LoaderStatus.kError;
        if (this._onError) this._onError(LoaderErrors.EXCEPTION, { code: -1, msg: 'websocket error' });
      };
    }

    abort() {
      const ws = this._ws;
      if (ws && ws.readyState <= 1) {
        this._aborted = true;
        ws.close();
      }
      this._ws = null;
      this._status = LoaderStatus.kComplete;
    }
  };
}

/** Latency on the websocket path, in seconds: how old the newest picture
 * was when it arrived (the clock frame's ingest time against this
 * device's clock; lastClock = {ingest, at}, both ms) plus what the player
 * holds ahead of the picture shown now. */
export function wsLatency(lastClock, video) {
  const b = video.buffered;
  const ahead = b.length ? Math.max(0, b.end(b.length - 1) - video.currentTime) : 0;
  return Math.max(0, (lastClock.at - lastClock.ingest) / 1000) + ahead;
}

/** The audio languages of a meeting, from its live master playlist (a 404
 * until the pipeline's first segments: null then). */
async function meetingLangs(id) {
  const r = await fetch(`live/${id}/master.m3u8`, { cache: 'no-store' });
  if (!r.ok) return null;
  const text = await r.text();
  const langs = [];
  for (const m of text.matchAll(/#EXT-X-MEDIA:[^\n]*LANGUAGE="([^"]+)"/g)) {
    if (!langs.includes(m[1])) langs.push(m[1]);
  }
  return langs;
}

export class LiveView {
  constructor(app, root, id, title) {
    this.app = app;
    this.id = id;
    this.hls = null;
    this.ts = null; // the mpegts.js player on the websocket path
    this.mode = null; // 'ws' or 'hls', once playing starts
    this.wsLangs = [];
    this.wsLang = null;
    this.switching = false;
    this.lastClock = null; // the last clock frame and when it came
    this.latency = null; // seconds, on the websocket path
    this.closed = false;
    this.video = h('video.live-video', { autoplay: true, playsInline: true, controls: !dev.isTv() }); // TV: the remote, not native controls
    this.langs = h('div.live-langs', { role: 'group' });
    this.latencyEl = h('span.live-latency', { 'aria-live': 'off' });
    this.title = h('h2.live-title', {}, h('span.live-badge', { text: t('liveBadge') }), ' ', title || '', this.latencyEl);
    this.head = h('form.live-head', { hidden: true, onsubmit: (e) => { e.preventDefault(); this.saveHeadcount(); } },
      h('label', { for: 'live-head-n', text: t('headcount') }),
      h('input', { id: 'live-head-n', type: 'number', min: '0', max: '10000', step: '1', inputmode: 'numeric' }),
      h('button', { type: 'submit', text: t('headcountSave') }));
    this.el = h('section.live', {}, this.title, this.video, this.langs, this.head);
    this.session = null;
    this.clock = new BeatClock({ intervalMs: app.beatMs || 15000, onBeat: () => this.event('beat') });
    for (const ev of ['playing', 'pause', 'waiting', 'ended', 'emptied']) this.video.addEventListener(ev, () => this.onMedia());
    clear(root);
    root.append(this.el);
    this.start();
    this.attend();
  }

  /** Starts the attendance session once the server confirms the meeting
   * shown is live and sent to this station (a station device only: its
   * site token sees the meeting's totals over its own station). */
  async attend() {
    const d = dev.device();
    if (!d) return;
    let cur = null;
    try {
      const res = await fetch(`api/v1/meetings/${encodeURIComponent(this.id)}`, { headers: { Authorization: `Bearer ${d.token}`, Accept: 'application/json' } });
      if (res.ok) cur = await res.json();
    } catch {
      return; /* offline: no attendance to report from here */
    }
    if (this.closed || !cur || cur.id !== this.id || cur.state !== 'live') return;
    if (!cur.attendance || !(cur.attendance.targeted > 0)) return; /* not sent here */
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(SESSION_KEY(this.id)) || 'null');
    } catch {
      saved = null;
    }
    const opts = { queue: this.app.queue, site: d.site, meeting: this.id, client: dev.clientKind() };
    // A session is its station's: a device set up for another station
    // since starts a new one (the server refuses a session changing site).
    if (saved && typeof saved.id === 'string' && Number.isInteger(saved.seq) && saved.site === d.site) Object.assign(opts, { id: saved.id, seq: saved.seq });
    this.session = new ViewSession(opts);
    this.head.hidden = false;
    this.onMedia();
  }

  /** Playing time counts (BeatClock); the first playing frame starts. */
  onMedia() {
    const v = this.video;
    const playing = !v.paused && !v.ended && v.readyState > 2;
    if (playing && this.session && !this.session.started) this.event('start');
    this.clock.setPlaying(playing && !!this.session);
  }

  event(kind) {
    const s = this.session;
    if (!s || !s.event(kind, { position_s: this.video.currentTime || 0, audio_lang: this.audioLang() || 'und', rendition: 'live' })) return;
    try {
      localStorage.setItem(SESSION_KEY(this.id), JSON.stringify({ id: s.id, seq: s.seq, site: dev.device() && dev.device().site }));
    } catch {
      /* storage full: a reload counts as another device */
    }
    this.app.queue.flush();
  }

  /** POST /api/v1/meetings/{id}/headcount for this station. */
  async saveHeadcount() {
    const d = dev.device();
    const input = this.head.querySelector('input');
    const n = Number(input.value);
    if (!d || input.value === '' || !Number.isInteger(n) || n < 0 || n > 10000) {
      this.app.toast(t('headcountBad'));
      return;
    }
    let res;
    try {
      res = await fetch(`api/v1/meetings/${this.id}/headcount`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${d.token}` },
        body: JSON.stringify({ site: d.site, count: n }),
      });
    } catch (err) {
      this.app.toast(t('headcountFailed', { why: err.message }));
      return;
    }
    if (res.ok) {
      this.app.toast(t('headcountSaved', { n }));
      return;
    }
    let why = String(res.status);
    try {
      why = (await res.json()).error.message || why;
    } catch {
      /* not JSON */
    }
    this.app.toast(t('headcountFailed', { why }));
  }

  async start() {
    if (eng.hasMSE() && this.app.liveEngine !== 'hls' && this.app.engine !== 'native') {
      try {
        await this.startWs();
        return;
      } catch (err) {
        if (this.closed) return;
        this.stopWs();
      }
    }
    this.startHls();
  }

  // ---- the websocket path (mpegts.js) -------------------------------------

  async startWs() {
    const mpegts = await loadMpegts();
    if (!mpegts.getFeatureList().mseLivePlayback) throw new Error('no MSE live playback');
    // The playlists (and the websocket) come a few seconds after the start.
    let langs = null;
    for (let i = 0; i < 40 && !this.closed; i++) {
      langs = await meetingLangs(this.id);
      if (langs && langs.length) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (this.closed) return;
    if (!langs || !langs.length) throw new Error('the meeting has no playlist');
    this.wsLangs = langs;
    this.mode = 'ws';
    this.playWs(pickLang(langs, dev.langPrefs()) || langs[0]);
    this.drawLangs();
    this.latencyTimer = setInterval(() => this.showLatency(), 1000);
  }

  /** (Re)connects the websocket in language lang: switching a language is
   * a new connection (one mux per rung and language on the server). */
  playWs(lang) {
    const mpegts = window.mpegts;
    this.stopWs();
    this.wsLang = lang;
    this.switching = true;
    this.lastClock = null;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/ws/live/${this.id}?rung=${WS_RUNG}&audio=${encodeURIComponent(lang)}&clock=1`;
    const p = mpegts.createPlayer({ type: 'mpegts', isLive: true, url }, {
      ...WS_PLAYER_CONFIG,
      customLoader: clockLoader(mpegts, (m) => { this.lastClock = { ingest: m.ingest_ms, at: Date.now() }; }),
    });
    this.ts = p;
    p.on(mpegts.Events.ERROR, () => {
      if (this.closed || this.ts !== p) return;
      // The websocket failed (the server refused it, the link dropped):
      // live HLS instead, which rides out a flaky link better.
      this.stopWs();
      this.mode = 'hls';
      this.startHls();
    });
    const onPlaying = () => {
      this.switching = false;
      this.video.removeEventListener('playing', onPlaying);
    };
    this.video.addEventListener('playing', onPlaying);
    p.attachMediaElement(this.video);
    p.load();
    const pr = p.play();
    if (pr && pr.catch) pr.catch(() => { /* autoplay refused: the controls are there */ });
    this.markLang();
  }

  stopWs() {
    if (!this.ts) return;
    const p = this.ts;
    this.ts = null;
    try {
      p.pause();
      p.unload();
      p.detachMediaElement();
      p.destroy();
    } catch (err) { /* already gone */ }
  }

  /** Shows wsLatency() once a second on the websocket path. */
  showLatency() {
    if (this.mode !== 'ws' || !this.lastClock) {
      this.latency = null;
      this.latencyEl.textContent = '';
      return;
    }
    const l = wsLatency(this.lastClock, this.video);
    this.latency = l;
    this.latencyEl.textContent = t('liveLatency', { s: l.toFixed(1) });
  }

  // ---- live HLS (hls.js, or the browser's own) ----------------------------

  async startHls() {
    this.mode = 'hls';
    clearInterval(this.latencyTimer);
    this.latencyEl.textContent = '';
    const src = `live/${this.id}/master.m3u8`;
    let engine;
    try {
      engine = await eng.pickEngine(this.video, this.app.engine);
    } catch (err) {
      engine = null;
    }
    if (this.closed) return;
    if (engine === 'native') {
      this.video.src = src;
      return;
    }
    if (engine !== 'hls.js') {
      this.app.toast(t('noHls'));
      return;
    }
    const Hls = window.Hls;
    const cfg = { ...HLS_LIVE_CONFIG };
    // The station's language first (hls.js picks it from EXT-X-MEDIA).
    const pref = dev.langPrefs()[0];
    if (pref) cfg.audioPreference = { lang: pref };
    const hls = new Hls(cfg);
    this.hls = hls;
    let parsed = false;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      parsed = true;
      this.drawLangs();
    });
    hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => this.drawLangs());
    hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, () => this.markLang());
    hls.on(Hls.Events.ERROR, (_, d) => {
      if (!d.fatal) return;
      // The playlists appear a few seconds after the start (a 404 until
      // then, which hls.js does not retry): ask again.
      if (!parsed) setTimeout(() => !this.closed && hls.loadSource(src), 1500);
      else if (d.type === Hls.ErrorTypes.NETWORK_ERROR) setTimeout(() => !this.closed && hls.startLoad(), 2000);
      else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    });
    hls.loadSource(src);
    hls.attachMedia(this.video);
    this.video.play().catch(() => { /* autoplay refused: the controls are there */ });
  }

  /** One button per audio rendition (hls.js chose the station's
   * language through audioPreference), the preferred one first. */
  drawLangs() {
    if (this.mode === 'ws') {
      const want = pickLang(this.wsLangs, dev.langPrefs());
      const langs = [...this.wsLangs].sort((x, y) => (y === want) - (x === want));
      clear(this.langs);
      for (const l of langs) {
        this.langs.append(h('button.live-lang', { 'data-lang': l, onclick: () => { if (l !== this.wsLang) this.playWs(l); } },
          langName(l) || l));
      }
      this.markLang();
      return;
    }
    const tracks = (this.hls.audioTracks || []).map((a, i) => ({ a, i }));
    const want = pickLang(tracks.map((x) => x.a.lang), dev.langPrefs());
    tracks.sort((x, y) => (y.a.lang === want) - (x.a.lang === want));
    clear(this.langs);
    for (const { a, i } of tracks) {
      this.langs.append(h('button.live-lang', { 'data-lang': a.lang, onclick: () => { this.hls.audioTrack = i; } },
        langName(a.lang) || a.name || a.lang));
    }
    this.markLang();
  }

  markLang() {
    if (this.mode === 'ws') {
      for (const b of this.langs.children) b.setAttribute('aria-pressed', String(b.dataset.lang === this.wsLang));
      return;
    }
    const cur = this.hls && this.hls.audioTracks[this.hls.audioTrack];
    for (const b of this.langs.children) b.setAttribute('aria-pressed', String(!!cur && b.dataset.lang === cur.lang));
  }

  /** The language playing now (tests): its BCP-47 tag, or null. */
  audioLang() {
    if (this.mode === 'ws') return this.switching ? null : this.wsLang;
    const cur = this.hls && this.hls.audioTracks[this.hls.audioTrack];
    return cur ? cur.lang : null;
  }

  close() {
    this.closed = true;
    this.clock.stop();
    if (this.session && this.session.started) this.event('end');
    this.session = null;
    clearInterval(this.latencyTimer);
    this.stopWs();
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
    this.video.load();
  }
}
