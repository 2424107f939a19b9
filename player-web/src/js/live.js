// The live page of a meeting (#/live/<id>): its live HLS in hls.js (or the
// browser's own HLS), with the meeting's audio languages as buttons, the
// site's language first. A TV comes here by itself when a meeting sent to
// its station starts (main.js, on the channel's "meeting" message).
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
// says is live for this station (GET /api/v1/meetings/current): a batch is
// all or nothing, and an event it refuses would take queued lesson events
// with it.
const SESSION_KEY = (id) => `yl.live.${id}`;

export class LiveView {
  constructor(app, root, id, title) {
    this.app = app;
    this.id = id;
    this.hls = null;
    this.closed = false;
    this.video = h('video.live-video', { autoplay: true, playsInline: true, controls: true });
    this.langs = h('div.live-langs', { role: 'group' });
    this.title = h('h2.live-title', {}, h('span.live-badge', { text: t('liveBadge') }), ' ', title || '');
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
   * is live for this station (a station device only). */
  async attend() {
    const d = dev.device();
    if (!d) return;
    let cur = null;
    try {
      const res = await fetch('api/v1/meetings/current', { headers: { Authorization: `Bearer ${d.token}`, Accept: 'application/json' } });
      if (res.ok) cur = (await res.json()).meeting;
    } catch {
      return; /* offline: no attendance to report from here */
    }
    if (this.closed || !cur || cur.id !== this.id) return;
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(SESSION_KEY(this.id)) || 'null');
    } catch {
      saved = null;
    }
    const opts = { queue: this.app.queue, site: d.site, meeting: this.id, client: dev.clientKind() };
    if (saved && typeof saved.id === 'string' && Number.isInteger(saved.seq)) Object.assign(opts, { id: saved.id, seq: saved.seq });
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
      localStorage.setItem(SESSION_KEY(this.id), JSON.stringify({ id: s.id, seq: s.seq }));
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
    const cfg = { liveSyncDurationCount: 3, liveMaxLatencyDurationCount: 8 };
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
    const cur = this.hls && this.hls.audioTracks[this.hls.audioTrack];
    for (const b of this.langs.children) b.setAttribute('aria-pressed', String(!!cur && b.dataset.lang === cur.lang));
  }

  /** The language playing now (tests): its BCP-47 tag, or null. */
  audioLang() {
    const cur = this.hls && this.hls.audioTracks[this.hls.audioTrack];
    return cur ? cur.lang : null;
  }

  close() {
    this.closed = true;
    this.clock.stop();
    if (this.session && this.session.started) this.event('end');
    this.session = null;
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
    this.video.load();
  }
}
