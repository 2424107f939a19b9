// The live page of a meeting (#/live/<id>): its live HLS in hls.js (or the
// browser's own HLS), with the meeting's audio languages as buttons, the
// site's language first. A TV comes here by itself when a meeting sent to
// its station starts (main.js, on the channel's "meeting" message).
import { h, clear } from './dom.js';
import { t } from './i18n.js';
import * as dev from './device.js';
import { langName, pickLang } from './langs.js';
import * as eng from './engine.js';

export class LiveView {
  constructor(app, root, id, title) {
    this.app = app;
    this.id = id;
    this.hls = null;
    this.closed = false;
    this.video = h('video.live-video', { autoplay: true, playsInline: true, controls: true });
    this.langs = h('div.live-langs', { role: 'group' });
    this.title = h('h2.live-title', {}, h('span.live-badge', { text: t('liveBadge') }), ' ', title || '');
    this.el = h('section.live', {}, this.title, this.video, this.langs);
    clear(root);
    root.append(this.el);
    this.start();
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
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
    this.video.load();
  }
}
