// The player's view: the picture, the controls and their keys, menus,
// subtitles drawn by us (fonts, size, TV legibility), resume, next lesson
// and the end of a course. The engine (hls.js or the browser's own HLS, its
// weak-link settings, the audio-only master) is engine.js.
// Viewing events: start, a beat per 15 s of playing time, end (views.js).
import { h, clear, fmtTime, fmtMB } from './dom.js';
import { t, uiLang } from './i18n.js';
import * as api from './api.js';
import * as dev from './device.js';
import { load, save } from './store.js';
import { langName, langGloss, pickLang, canonLang } from './langs.js';
import { titles, langChips, lessonsOnce } from './list.js';
import { BeatClock, ViewSession } from './views.js';
import { icon } from './icons.js';
import { focusables, move } from './nav.js';
import * as eng from './engine.js';

// offline.js ("下载", lessons kept for offline viewing) loads when the
// viewer presses 下载 or 删除 (or it runs already): it is not part of what a
// village waits for before the first frame. Kept lessons are read from
// localStorage ("yl.offline") without it.
const offlineOk = () => window.isSecureContext && 'caches' in window && 'serviceWorker' in navigator;
const keptRecord = (id) => (load('offline', null) || {})[id] || null;
let offLoading = null;
const loadOffline = () => (offLoading ||= import('./offline.js').catch((err) => {
  offLoading = null;
  throw err;
}));

export const SPEEDS = [0.75, 1, 1.25, 1.5];
// Colour keys of a TV remote: the key values of the W3C UI Events "Key"
// list, and the keyCodes TV browsers (HbbTV, webOS, Tizen) send.
const COLOUR_KEYS = { ColorF0Red: 'audio', ColorF1Green: 'subs', ColorF2Yellow: 'quality', ColorF3Blue: 'aonly' };
const COLOUR_CODES = { 403: 'audio', 404: 'subs', 405: 'quality', 406: 'aonly' };
export function colourAction(e) {
  return COLOUR_KEYS[e.key] || COLOUR_CODES[e.keyCode] || null;
}
const MEDIA_KEYS = new Set(['MediaPlayPause', 'MediaPlay', 'MediaPause', 'MediaFastForward', 'MediaRewind', 'MediaTrackNext']);
const STALL_LONG_MS = 6000; // a stall this long at the lowest rung: audio only
const STALLS_MAX = 3; // or this many stalls at the lowest rung within a minute

// "<c.yellow>x</c>" -> "x": cue markup is not ours to trust or style.
const cueText = (c) => (c.text || '').replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export class PlayerView {
  constructor(app, root, id, listIds) {
    this.app = app;
    this.id = id;
    this.listIds = listIds;
    this.item = null;
    this.hls = null;
    this.engine = null;
    this.audioLang = null;
    this.subLang = null; // null: off
    this.audioOnly = !!load('audioOnly', false);
    this.autoAudio = false; // audio only because the lowest rung stalled
    this.audioLesson = false; // the lesson has no picture at all
    this.level = -1; // -1: auto
    this.speed = SPEEDS.includes(load('speed', 1)) ? load('speed', 1) : 1;
    this.cueStyle = { size: 'm', bg: true, ...(load('cueStyle', null) || {}) };
    this.session = null;
    this.closed = false;
    this.errors = [];
    this.recoveries = 0;
    this.hideTimer = null;
    this.upnextTimer = null;
    this.idle = false;
    this.playingNow = false;
    this.stalls = []; // times of stalls at the lowest rung
    this.firstFrameMs = 0; // ms from start() to the first frame (tests)
    this.thumbCues = null;
    this.off = null; // offline.js once loaded (useOffline)
    this.clock = new BeatClock({ intervalMs: app.beatMs, onBeat: () => this.beat() });
    app.player = this; // tests read the player's state here
    this.build();
    root.append(this.el);
    this.start();
  }

  // ---- DOM -----------------------------------------------------------------

  build() {
    const btn = (cls, onclick, extra = {}) => h(`button.${cls}`, { type: 'button', onclick, ...extra });
    this.video = h('video', { playsInline: true, preload: 'auto' });
    this.video.setAttribute('playsinline', '');
    this.cues = h('div.cues', { 'aria-live': 'off' });
    this.msg = h('div.msg', { hidden: true, role: 'alert' });
    this.busy = h('div.busy', { hidden: true });
    this.upnext = h('div.upnext', { hidden: true });
    this.endEl = h('div.endscreen', { hidden: true });
    this.notice = h('div.notice', { hidden: true, role: 'status' });
    // Audio: the poster (or a title card when there is none) over the
    // element, which plays the sound only.
    this.posterImg = h('img', { alt: '', hidden: true });
    this.cardTitle = h('h2.card-title');
    this.cardLang = h('p.card-lang');
    this.audioCard = h('div.audio-card', {}, this.posterImg, h('div.card-text', {}, this.cardTitle, this.cardLang));
    this.bigPlay = btn('bigplay', () => this.togglePlay(), { hidden: true });
    this.stage = h('div.stage', { onclick: (e) => { if (e.target === this.video || e.target === this.cues || this.audioCard.contains(e.target)) this.onStageTap(); } },
      this.video, this.audioCard, this.cues, this.busy, this.bigPlay, this.msg, this.notice, this.upnext, this.endEl);

    this.seek = h('input.seek', {
      type: 'range', min: '0', max: '0', step: '0.1', value: '0',
      oninput: () => {
        this.video.currentTime = Number(this.seek.value);
        this.showSeekTip(Number(this.seek.value));
      },
      onpointerdown: () => { this.seekDragging = true; },
      onpointerup: () => { this.seekDragging = false; this.hideSeekTip(800); },
      onpointercancel: () => { this.seekDragging = false; this.hideSeekTip(800); },
      onpointermove: (e) => this.hoverSeek(e),
      onpointerleave: () => { if (!this.seekDragging) this.hideSeekTip(0); },
    });
    this.time = h('span.time', {}, '0:00 / 0:00');
    this.tipPic = h('div.pic', { hidden: true });
    this.tipTime = h('span.t');
    this.seekTip = h('div.seektip', { hidden: true, 'aria-hidden': 'true' }, this.tipPic, this.tipTime);
    this.b = {
      back: btn('back', () => this.onBack(true)),
      fromStart: btn('from-start', () => this.playFromStart(), { hidden: true }),
      play: btn('play', () => this.togglePlay()),
      rew: btn('rew', () => this.skip(-10)),
      fwd: btn('fwd', () => this.skip(10)),
      next: btn('next', () => this.playNext(false)),
      mute: btn('mute', () => { this.video.muted = !this.video.muted; this.relabel(); }),
      fs: btn('fs', () => this.toggleFullscreen()),
      audio: btn('menu-btn.audio', () => this.openMenu('audio'), { 'data-menu': 'audio' }),
      subs: btn('menu-btn.subs', () => this.openMenu('subs'), { 'data-menu': 'subs' }),
      quality: btn('menu-btn.quality', () => this.openMenu('quality'), { 'data-menu': 'quality' }),
      aonly: btn('menu-btn.aonly', () => this.setQuality(this.audioOnly ? '-1' : 'audio'), { 'data-menu': 'aonly' }),
      speed: btn('menu-btn.speed', () => this.openMenu('speed'), { 'data-menu': 'speed' }),
    };
    const b = this.b;
    // Two rows of buttons under the seek bar on a TV: the remote moves
    // along a row with ←/→ and between rows with ↑/↓ (gridMove).
    this.transport = h('div.transport', {}, b.back, b.fromStart, b.play, b.rew, b.fwd, b.next, b.mute, b.fs);
    this.opts = h('div.opts', {}, b.audio, b.subs, b.quality, b.aonly, b.speed);
    this.controls = h('div.controls', {},
      this.seekTip,
      h('div.seekrow', {}, this.seek, this.time),
      h('div.bar', {}, this.transport, h('span.spacer'), this.opts));
    this.info = h('div.info');
    this.el = h('section.player', {}, this.stage, this.controls, this.info);
    if (dev.isTv()) b.fs.hidden = true;
    this.applyCueStyle();

    const v = this.video;
    for (const ev of ['play', 'playing', 'pause', 'waiting', 'seeking', 'seeked', 'ended', 'stalled', 'canplay', 'emptied', 'loadeddata']) {
      v.addEventListener(ev, () => this.onMediaState(ev));
    }
    v.addEventListener('timeupdate', () => this.onTime());
    v.addEventListener('durationchange', () => this.onTime());
    v.addEventListener('volumechange', () => this.relabel());
    v.addEventListener('ratechange', () => this.relabel());
    v.addEventListener('error', () => this.onVideoError());
    v.textTracks.addEventListener('addtrack', (e) => {
      e.track.addEventListener('cuechange', () => this.renderCues());
      this.syncTextTracks();
    });
    // Pointer and touch show the controls; keys are handled in onKey (on a
    // TV the first key on hidden controls only shows them).
    for (const ev of ['mousemove', 'touchstart']) this.el.addEventListener(ev, () => this.poke(), { passive: true });
    this.onOnline = () => this.retryNetwork();
    window.addEventListener('online', this.onOnline);
    this.relabel();
  }

  relabel() {
    const b = this.b;
    const lbl = (el, text, ic) => {
      el.setAttribute('aria-label', text);
      el.title = text;
      clear(el).append(icon(ic), h('span.lbl', {}, text));
    };
    lbl(b.back, t('back'), 'back');
    lbl(b.play, this.video.paused ? t('play') : t('pause'), this.video.paused ? 'play' : 'pause');
    lbl(b.rew, t('rew'), 'rew');
    lbl(b.fwd, t('fwd'), 'fwd');
    lbl(b.next, t('next'), 'next');
    lbl(b.mute, t('mute'), this.video.muted ? 'muted' : 'vol');
    b.mute.setAttribute('aria-pressed', String(this.video.muted));
    lbl(b.fs, t('fullscreen'), 'fs');
    b.fromStart.textContent = t('fromStart');
    b.fromStart.setAttribute('aria-label', t('fromStart'));
    this.seek.setAttribute('aria-label', t('seekbar'));
    // Menu buttons show the current choice in its own script.
    const menuLbl = (el, title, value, lang, key) => {
      el.setAttribute('aria-label', `${title}: ${value}`);
      el.title = title;
      clear(el).append(h('span.k', {}, key ? h('i.ck', { 'data-c': key, 'aria-hidden': 'true' }) : null, title), h('span.v', { lang }, value));
    };
    menuLbl(b.audio, t('audio'), this.audioLang ? langName(this.audioLang) : '—', this.audioLang || undefined, 'red');
    menuLbl(b.subs, t('subs'), this.burnLang ? `${t('burned')} · ${langName(this.burnLang)}` : this.subLang ? langName(this.subLang) : t('subsOff'), this.burnLang || this.subLang || undefined, 'green');
    menuLbl(b.quality, t('quality'), this.qualityLabel(), undefined, 'yellow');
    menuLbl(b.aonly, t('audioOnly'), this.audioOnly ? t('on') : t('off'), undefined, 'blue');
    b.aonly.setAttribute('aria-pressed', String(this.audioOnly));
    b.aonly.hidden = this.audioLesson;
    b.quality.hidden = this.audioLesson;
    menuLbl(b.speed, t('speed'), `${this.speed}×`);
    b.subs.disabled = !(this.item && (this.item.subtitles || []).length) || (this.audioOnly && this.engine === 'native');
    // The browser's own HLS without an audioTracks API (Chromium's) cannot
    // switch languages while showing the picture; audio only still can.
    b.audio.disabled = !(this.item && (this.item.languages || []).length > 1) || (this.engine === 'native' && !this.video.audioTracks && !this.audioOnly);
    clear(this.bigPlay).append(icon('play'));
    this.bigPlay.setAttribute('aria-label', t('play'));
    const audioView = this.audioOnly || this.audioLesson;
    this.stage.classList.toggle('audio-only', audioView);
    this.el.classList.toggle('audio-view', audioView);
    if (this.item) {
      this.cardTitle.textContent = titles(this.item).first;
      this.cardLang.textContent = `${this.audioLesson ? t('audioLesson') : t('audioOnly')} · ${this.audioLang ? langName(this.audioLang) : ''}`;
      this.cardLang.lang = this.audioLang || '';
    }
    this.renderInfo();
  }

  renderInfo() {
    if (!this.item) return;
    const { first, second, secondLang } = titles(this.item);
    const kids = [h('h1.title', {}, first)];
    if (second) kids.push(h('p.alt', { lang: secondLang }, second));
    const c = this.item.course;
    if (c && c.title) kids.push(h('p.course', {}, t('courseOf', { title: c.title, i: c.index, n: c.count })));
    kids.push(langChips(this.item));
    if (dev.clientKind() === 'pc') kids.push(h('p.help', {}, t('help')));
    if (!dev.isTv() && offlineOk()) kids.push(this.downloadBox());
    clear(this.info).append(...kids);
  }

  qualityLabel() {
    if (this.audioOnly) return t('audioOnly');
    const lv = this.hls && this.hls.levels;
    if (this.level >= 0 && lv && lv[this.level]) return `${lv[this.level].height}p`;
    const cur = this.rendition();
    return cur && cur !== 'auto' ? `${t('auto')} · ${cur}` : t('auto');
  }

  /** The rung being shown, as events name it: "720p" ... or "audio". */
  rendition() {
    if (this.audioOnly || this.audioLesson) return 'audio';
    if (this.hls) {
      const lv = this.hls.levels[this.hls.currentLevel];
      if (lv && lv.height) return `${lv.height}p`;
    }
    if (this.video.videoHeight) return `${this.video.videoHeight}p`;
    return 'auto';
  }

  /** A message over the picture; action: {label, run} adds a button, which
   * takes the focus on a TV (a remote has nothing else to press). */
  showMsg(text, action) {
    this.msg.hidden = !text;
    clear(this.msg);
    if (!text) return;
    this.msg.append(h('p', {}, text));
    if (action) {
      const b = h('button.primary', { type: 'button', onclick: action.run }, action.label);
      this.msg.append(b);
      if (dev.isTv() || document.activeElement === document.body) b.focus();
    } else if (dev.isTv() && (!document.activeElement || document.activeElement === document.body || !this.el.contains(document.activeElement))) {
      this.b.back.focus();
    }
    this.poke();
  }

  // ---- start ---------------------------------------------------------------

  async start() {
    this.t0 = performance.now();
    this.busy.hidden = false;
    // A lesson kept on this device (offline.js) plays from its cache; with
    // the network off, its catalog item comes from the kept record too.
    this.kept = keptRecord(this.id);
    let failed = null;
    try {
      this.item = await api.lesson(this.id);
    } catch (err) {
      failed = err;
      if (this.kept && !err.status) this.item = this.kept.item;
    }
    if (!this.item) {
      const err = failed || {};
      this.busy.hidden = true;
      if (err.status === 404) this.showMsg(t('notFound'), { label: t('backToList'), run: () => this.app.go('#/') });
      else this.showMsg(t('serverDown'), { label: t('retry'), run: () => { this.showMsg(''); this.start(); } });
      return;
    }
    if (this.closed) return;
    const it = this.item;
    document.title = `${titles(it).first} · ${t('app')}`;
    const prefs = dev.langPrefs();
    // A language picked in a menu holds for this page's later lessons (the
    // next one on a TV); a new page starts from the site's language again,
    // since a station's TV is shared.
    const ua = this.app.choice.audio;
    this.audioLang = pickLang(it.languages || [], ua ? [ua, ...prefs] : prefs);
    const us = this.app.choice.subs; // 'off' or a tag
    this.subLang = us === 'off' ? null : pickLang(it.subtitles || [], us ? [us, ...prefs] : prefs, false);
    if (this.kept) {
      // What was kept: its one audio language and its subtitles, the
      // picture (no probe of a link it does not use).
      this.audioLang = this.kept.audio || this.audioLang;
      this.subLang = us === 'off' ? null : this.kept.subs || null;
      this.audioOnly = false;
    }
    // The list's thumb (cached already) until the picture moves. Audio
    // views show the poster in their card, or the title alone when there
    // is none (an audio-only lesson's poster may be missing).
    this.video.poster = it.thumb ? api.thumbUrl(it) : '';
    this.loadPoster();
    this.resumeAt = eng.resumePoint(this.id);
    this.relabel();
    this.master = api.hlsUrl(it);
    // TV mode: a lesson with subtitles burned into a 480p rung (for TVs
    // without Tibetan or Lisu fonts, or without WebVTT) plays from that
    // rung's own master when chosen; the choice holds for this page.
    this.burnLang = null;
    const burned = dev.isTv() ? it.burned || [] : [];
    const ub = this.app.choice.burn;
    if (ub && ub !== 'off') this.burnLang = burned.find((l) => canonLang(l) === canonLang(ub)) || null;
    if (this.burnLang) this.subLang = null;
    const offer = !this.burnLang && ub !== 'off' && pickLang(burned, this.subLang ? [this.subLang, ...prefs] : prefs, false);
    if (offer) this.offerBurned = offer;
    this.b.play.focus({ preventScroll: true });
    this.loadThumbs();
    let engine;
    try {
      engine = await eng.pickEngine(this.video, this.app.engine);
    } catch (err) {
      this.showMsg(t('playError', { why: t('noPlayer') }));
      return;
    }
    if (this.closed) return;
    this.engine = engine;
    if (engine === 'hls.js') {
      // Weak links: a device that has never measured its link starts with
      // the sound alone (a 4 s audio segment is ~35 KB, a 240p one ~150 KB)
      // and measures the link on it; the picture follows when the link
      // carries the cheapest rung (probeDone).
      if (!this.audioOnly && !eng.savedBandwidth() && !this.kept) {
        this.probing = { bytes: 0, ms: 0, n: 0 };
        this.audioOnly = true;
        this.showNotice(t('measuring'));
        this.relabel();
      }
      this.lowestBw = this.fetchLowest();
      this.attachHls(this.audioOnly ? this.audioMaster(this.audioLang) : this.videoMaster(), this.resumeAt || -1);
      if (this.offerBurned && !this.probing) this.showBurnedOffer();
    } else if (engine === 'native') {
      this.video.src = this.audioOnly ? eng.audioUrl(this.master, this.audioLang) : this.videoMaster();
      if (this.offerBurned) this.showBurnedOffer();
      this.video.addEventListener('loadedmetadata', () => {
        if (this.resumeAt) this.video.currentTime = this.resumeAt;
        if (!this.video.videoWidth && !this.audioOnly) this.setAudioLesson(true);
        this.nativeTracks();
      }, { once: true });
      this.autoplay();
    } else {
      this.showMsg(t('codec', { why: t('noHls') }));
      return;
    }
    if (this.resumeAt) {
      this.b.fromStart.hidden = false;
      this.app.toast(t('resumed', { time: fmtTime(this.resumeAt) }), 5000);
      this.fromStartTimer = setTimeout(() => this.hideFromStart(), 15000);
    }
  }

  loadPoster() {
    const url = api.posterUrl(this.item);
    this.posterImg.hidden = true;
    if (!url) return;
    this.posterImg.onload = () => { this.posterImg.hidden = false; };
    this.posterImg.onerror = () => { this.posterImg.hidden = true; this.posterImg.removeAttribute('src'); };
    // Fetched only when an audio view shows it.
    this.posterWant = url;
    if (this.audioOnly || this.audioLesson) this.posterImg.src = url;
  }

  setAudioLesson(on) {
    this.audioLesson = on;
    if (on && this.posterWant && !this.posterImg.getAttribute('src')) this.posterImg.src = this.posterWant;
    this.relabel();
  }

  async loadThumbs() {
    const it = this.item;
    if (!it.thumbs) return;
    try {
      const url = new URL(it.thumbs, document.baseURI).href;
      const res = await fetch(url);
      if (!res.ok) return;
      this.thumbCues = eng.parseThumbsVtt(await res.text(), url);
    } catch {
      /* no previews: the time alone is shown */
    }
  }

  /** The cheapest video rung's BANDWIDTH in the master playlist (0 when
   * it has none or cannot be read). */
  async fetchLowest() {
    try {
      const text = await (await fetch(this.master)).text();
      const bws = [...text.matchAll(/#EXT-X-STREAM-INF:([^\n]*)/g)].filter((m) => /RESOLUTION=/.test(m[1]))
        .map((m) => Number((/(?:^|,)BANDWIDTH=(\d+)/.exec(m[1]) || [])[1])).filter((x) => x > 0);
      return bws.length ? Math.min(...bws) : 0;
    } catch {
      return 0;
    }
  }

  /** A loaded fragment's throughput, without the time to its first byte
   * (on a 300 ms link that latency, not the bandwidth, dominates a small
   * audio segment's load). */
  sampleBandwidth(frag) {
    const st = frag && frag.stats;
    if (!st || !st.loaded || !st.loading) return;
    const ms = Math.max(1, st.loading.end - (st.loading.first || st.loading.start));
    const bps = (st.loaded * 8 * 1000) / ms;
    this.bw = this.bw ? this.bw * 0.6 + bps * 0.4 : bps;
    if (this.probing) {
      this.probing.bytes += st.loaded;
      this.probing.ms += ms;
      this.probing.n += 1;
      if (this.probing.n >= 2 || this.probing.bytes >= 60000) this.probeDone();
    } else if (Date.now() - (this.bwSaved || 0) > 5000) {
      this.bwSaved = Date.now();
      eng.saveBandwidth(this.bw);
    }
  }

  /** The link is measured: the picture at the rung it carries, or the
   * sound alone (with a way back) when it cannot carry even the cheapest. */
  async probeDone() {
    const p = this.probing;
    this.probing = null;
    const bw = (p.bytes * 8 * 1000) / Math.max(1, p.ms);
    eng.saveBandwidth(bw);
    this.bwSaved = Date.now();
    const low = await this.lowestBw;
    if (this.closed || this.audioLesson) {
      this.showNotice('');
      return;
    }
    if (!low || bw >= low * 1.25) {
      this.audioOnly = false;
      this.showNotice('');
      this.reload();
      this.showBurnedOffer();
    } else {
      this.autoAudio = true;
      this.showNotice(t('autoAudio'), { label: t('showPicture'), run: () => this.setQuality('-1') });
      this.relabel();
    }
  }

  audioMaster(lang) {
    const m = eng.audioMasterText(this.master, lang, this.item.subtitles || [], langName);
    if (this.blobUrl) URL.revokeObjectURL(this.blobUrl);
    this.blobUrl = URL.createObjectURL(new Blob([m], { type: 'application/vnd.apple.mpegurl' }));
    return this.blobUrl;
  }

  attachHls(src, startPosition) {
    const Hls = window.Hls;
    if (this.hls) this.hls.destroy();
    const hls = new Hls(eng.hlsConfig({ startPosition, audioLang: this.audioLang, subLang: this.subLang }));
    this.hls = hls;
    hls.subtitleDisplay = false; // tracks stay 'hidden'; renderCues draws them
    const E = Hls.Events;
    hls.on(E.MANIFEST_PARSED, () => {
      const video = hls.levels.filter((l) => l.height || l.videoCodec);
      if (!this.audioOnly) this.setAudioLesson(!video.length);
      // Weak links: the rung the measured bandwidth carries, the cheapest
      // without one; none at all when it cannot carry the cheapest.
      if (!this.audioOnly && hls.levels.length > 1) {
        const bw = eng.savedBandwidth();
        const low = hls.levels[eng.lowestLevel(hls.levels)];
        if (this.level < 0 && bw && low && bw < low.bitrate * 1.25 && !this.triedVideo && !this.kept) {
          this.goAudioOnly();
          return;
        }
        hls.startLevel = this.level >= 0 ? this.level : eng.startLevel(hls.levels);
      }
      this.applyAudio();
      this.applySubs();
      if (this.level >= 0 && !this.audioOnly) hls.currentLevel = this.level;
      this.relabel();
      this.autoplay();
    });
    hls.on(E.AUDIO_TRACK_SWITCHED, () => this.relabel());
    hls.on(E.SUBTITLE_TRACK_SWITCH, () => { this.syncTextTracks(); this.relabel(); });
    hls.on(E.LEVEL_SWITCHED, () => { this.relabel(); this.checkSlow(); });
    hls.on(E.FRAG_LOADED, (_, d) => {
      if (this.netDown) {
        this.netDown = false;
        this.showMsg('');
      }
      // Measure the link (and remember it for the next start).
      if (d && d.frag && d.frag.type === 'main' && d.frag.sn !== 'initSegment') this.sampleBandwidth(d.frag);
    });
    hls.on(E.ERROR, (_, d) => this.onHlsError(d));
    hls.attachMedia(this.video);
    hls.loadSource(src);
  }

  autoplay() {
    this.video.defaultPlaybackRate = this.speed;
    this.video.playbackRate = this.speed;
    const p = this.video.play();
    if (p && p.catch) {
      p.catch((err) => {
        if (err.name === 'NotAllowedError') {
          // No user gesture yet (a link opened straight into the player).
          this.busy.hidden = true;
          this.bigPlay.hidden = false;
          this.bigPlay.focus();
        }
      });
    }
  }

  // ---- tracks --------------------------------------------------------------

  applyAudio() {
    const hls = this.hls;
    if (!hls || this.audioOnly || !this.audioLang) return;
    const i = hls.audioTracks.findIndex((tr) => canonLang(tr.lang) === canonLang(this.audioLang));
    if (i >= 0 && hls.audioTrack !== i) hls.audioTrack = i;
  }

  applySubs() {
    const hls = this.hls;
    if (hls) {
      const i = this.subLang ? hls.subtitleTracks.findIndex((tr) => canonLang(tr.lang) === canonLang(this.subLang)) : -1;
      if (hls.subtitleTrack !== i) hls.subtitleTrack = i;
      hls.subtitleDisplay = false;
    }
    this.syncTextTracks();
  }

  /** Keep the chosen language's text track 'hidden' (cues load, we draw them)
   * and every other one disabled; native rendering would double them. */
  syncTextTracks() {
    const want = this.subLang && canonLang(this.subLang);
    for (const tr of this.video.textTracks) {
      if (tr.kind !== 'subtitles' && tr.kind !== 'captions') continue;
      const mine = want && canonLang(tr.language || tr.label) === want;
      if (mine && tr.mode !== 'hidden') tr.mode = 'hidden';
      else if (!mine && tr.mode === 'showing') tr.mode = this.hls ? 'hidden' : 'disabled';
    }
    this.renderCues();
  }

  renderCues() {
    const want = this.subLang && canonLang(this.subLang);
    const lines = [];
    if (want) {
      for (const tr of this.video.textTracks) {
        if (tr.mode === 'disabled' || canonLang(tr.language || tr.label) !== want) continue;
        for (const c of tr.activeCues || []) lines.push(cueText(c));
        break;
      }
    }
    const text = lines.join('\n');
    if (text === this.cueShown) return;
    this.cueShown = text;
    clear(this.cues);
    if (text) this.cues.append(h('span.cue', { lang: this.subLang }, text));
  }

  applyCueStyle() {
    const st = this.cueStyle;
    this.cues.dataset.size = st.size;
    this.cues.classList.toggle('nobg', !st.bg);
  }

  nativeTracks() {
    // Native HLS: audio languages through video.audioTracks where it exists.
    const at = this.video.audioTracks;
    if (at && this.audioLang) {
      for (const tr of at) tr.enabled = canonLang(tr.language) === canonLang(this.audioLang);
    }
    this.syncTextTracks();
    this.relabel();
  }

  setAudio(lang) {
    this.audioLang = lang;
    this.app.choice.audio = lang;
    if (this.audioOnly) this.reload();
    else if (this.hls) this.applyAudio();
    else this.nativeTracks();
    this.relabel();
  }

  setSubs(lang) {
    this.subLang = lang;
    this.app.choice.subs = lang || 'off';
    if (this.burnLang) {
      this.setBurned(null);
      return;
    }
    this.applySubs();
    this.relabel();
  }

  /** The master to play the picture from: the burned-in rung's when one
   * is chosen (TV mode), else the lesson's (whose ladder never lists it). */
  videoMaster() {
    return this.burnLang ? api.burnedUrl(this.item, this.burnLang) : this.master;
  }

  /** TV mode: play the rung with lang's subtitles in the picture (null:
   * back to the ladder). No WebVTT on top of burned text. */
  setBurned(lang) {
    this.burnLang = lang;
    this.app.choice.burn = lang || 'off';
    this.offerBurned = null;
    this.showNotice('');
    if (lang) {
      this.subLang = null;
      this.level = -1;
      if (this.audioOnly && !this.audioLesson) {
        this.audioOnly = false;
        save('audioOnly', false);
      }
    }
    this.reload();
    this.relabel();
  }

  showBurnedOffer() {
    const lang = this.offerBurned;
    if (!lang) return;
    this.showNotice(t('burnedOffer', { lang: langName(lang) }), { label: t('burned'), run: () => this.setBurned(lang) });
  }

  setSpeed(x) {
    this.speed = SPEEDS.includes(x) ? x : 1;
    save('speed', this.speed);
    this.video.defaultPlaybackRate = this.speed;
    this.video.playbackRate = this.speed;
    this.relabel();
  }

  setCueStyle(k, v) {
    this.cueStyle = { ...this.cueStyle, [k]: v };
    save('cueStyle', this.cueStyle);
    this.applyCueStyle();
  }

  setQuality(v) {
    const wasAudio = this.audioOnly;
    if (this.audioLesson) return;
    this.autoAudio = false;
    this.probing = null;
    if (v !== 'audio') this.triedVideo = true; // the viewer asked for the picture
    this.showNotice('');
    if (v === 'audio') {
      this.audioOnly = true;
      save('audioOnly', true);
      if (!wasAudio) this.reload();
    } else {
      this.audioOnly = false;
      save('audioOnly', false);
      this.stalls = [];
      this.level = Number(v);
      if (wasAudio) this.reload();
      else if (this.hls) this.hls.currentLevel = this.level;
    }
    this.relabel();
  }

  /** Reload the source at the same position (audio-only on or off, or a new
   * language while audio-only). */
  reload() {
    const pos = this.video.currentTime || 0;
    const wasPlaying = !this.video.paused;
    if (this.audioOnly && this.posterWant && !this.posterImg.getAttribute('src')) this.posterImg.src = this.posterWant;
    this.relabel();
    if (this.engine === 'hls.js') {
      this.attachHls(this.audioOnly ? this.audioMaster(this.audioLang) : this.videoMaster(), pos);
    } else if (this.engine === 'native') {
      this.video.src = this.audioOnly ? eng.audioUrl(this.master, this.audioLang) : this.videoMaster();
      this.video.addEventListener('loadedmetadata', () => { this.video.currentTime = pos; this.nativeTracks(); }, { once: true });
    }
    if (wasPlaying) this.autoplay();
  }

  // ---- menus ---------------------------------------------------------------

  openMenu(kind) {
    if (!this.item) return;
    const opts = [];
    if (kind === 'audio') {
      const langs = this.hls && !this.audioOnly && this.hls.audioTracks.length ? this.hls.audioTracks.map((tr) => tr.lang) : this.item.languages || [];
      for (const l of langs) opts.push({ value: l, label: langName(l), gloss: langGloss(l, uiLang()), lang: l, on: canonLang(l) === canonLang(this.audioLang) });
    } else if (kind === 'subs') {
      opts.push({ value: '', label: t('subsOff'), on: !this.subLang });
      for (const l of this.item.subtitles || []) opts.push({ value: l, label: langName(l), gloss: langGloss(l, uiLang()), lang: l, on: !this.burnLang && canonLang(l) === canonLang(this.subLang) });
      // TV mode: the same subtitles drawn into the picture (a 480p rung).
      for (const l of dev.isTv() ? this.item.burned || [] : []) opts.push({ value: `burn:${l}`, label: `${t('burned')} · ${langName(l)}`, gloss: langGloss(l, uiLang()), on: canonLang(l) === canonLang(this.burnLang) });
      // Caption style for elderly viewers: size and background.
      opts.push({ head: t('cueSize') });
      for (const [v, k] of [['s', 'small'], ['m', 'medium'], ['l', 'large']]) opts.push({ value: `size:${v}`, label: t(k), on: this.cueStyle.size === v });
      opts.push({ head: t('cueBg') });
      opts.push({ value: 'bg:1', label: t('on'), on: this.cueStyle.bg });
      opts.push({ value: 'bg:0', label: t('off'), on: !this.cueStyle.bg });
    } else if (kind === 'speed') {
      for (const x of SPEEDS) opts.push({ value: String(x), label: `${x}×`, gloss: x === 1 ? t('normal') : '', on: this.speed === x });
    } else {
      opts.push({ value: '-1', label: t('auto'), on: !this.audioOnly && this.level < 0 });
      const lv = (this.hls && !this.audioOnly ? this.hls.levels : []).map((l, i) => ({ l, i })).filter((x) => x.l.height).sort((a, b) => b.l.height - a.l.height);
      for (const { l, i } of lv) opts.push({ value: String(i), label: `${l.height}p`, gloss: `${Math.round(l.bitrate / 1000)} kbit/s`, on: !this.audioOnly && this.level === i });
      opts.push({ value: 'audio', label: t('audioOnly'), on: this.audioOnly });
    }
    const title = { audio: t('audio'), subs: t('subs'), quality: t('quality'), speed: t('speed') }[kind];
    const pick = (v) => {
      this.app.closeOverlay();
      if (kind === 'audio') this.setAudio(v);
      else if (kind === 'subs') {
        if (v.startsWith('size:')) this.setCueStyle('size', v.slice(5));
        else if (v.startsWith('bg:')) this.setCueStyle('bg', v === 'bg:1');
        else if (v.startsWith('burn:')) this.setBurned(v.slice(5));
        else this.setSubs(v || null);
      } else if (kind === 'speed') this.setSpeed(Number(v));
      else this.setQuality(v);
    };
    const menu = h('div.menu', { role: 'menu', 'aria-label': title, 'data-kind': kind },
      h('h2', {}, title),
      opts.map((o) => (o.head ? h('h3', {}, o.head) : h('button.opt', {
        type: 'button', role: 'menuitemradio', 'aria-checked': String(!!o.on), 'data-value': o.value,
        onclick: () => pick(o.value),
      }, h('span.name', { lang: o.lang }, o.label), o.gloss && o.gloss !== o.label ? h('span.gloss', {}, o.gloss) : null))));
    this.app.openOverlay(h('div.menu-backdrop', { onclick: (e) => { if (e.target === e.currentTarget) this.app.closeOverlay(); } }, menu));
    (menu.querySelector('[aria-checked="true"]') || menu.querySelector('.opt')).focus();
  }

  // ---- playback state and viewing events ------------------------------------

  onMediaState(ev) {
    const v = this.video;
    if (ev === 'playing' || ev === 'canplay') this.busy.hidden = true;
    if (ev === 'waiting') this.busy.hidden = false;
    if (ev === 'play' || ev === 'playing') this.bigPlay.hidden = true;
    if ((ev === 'playing' || ev === 'loadeddata') && !this.firstFrameMs && v.readyState >= 2) this.firstFrameMs = performance.now() - this.t0;
    const playing = !v.paused && !v.ended && !v.seeking && v.readyState >= 3;
    this.playingNow = playing;
    if (playing && !this.session) this.startSession();
    this.clock.setPlaying(playing);
    if (ev === 'waiting' && !v.seeking) this.onStall();
    if (ev === 'playing') this.onStallEnd();
    if (ev === 'ended') this.onEnded();
    if (ev === 'play' || ev === 'pause' || ev === 'ended') this.relabel();
    // Not playing (paused, stalled, loading): the title and controls stay.
    if (!playing) this.poke();
    else if (!this.hideTimer) this.poke();
  }

  startSession() {
    const d = dev.device();
    if (!d) return; // not a station device: nothing to count
    this.session = new ViewSession({ queue: this.app.queue, site: d.site, lesson: this.id, client: dev.clientKind() });
    this.session.event('start', this.stateNow());
    this.app.queue.flush();
  }

  stateNow() {
    return { position_s: this.video.currentTime || 0, audio_lang: this.audioLang || 'und', rendition: this.rendition() };
  }

  beat() {
    if (!this.session) return;
    this.session.event('beat', this.stateNow());
    this.app.queue.flush();
  }

  endSession() {
    this.clock.stop();
    if (this.session && !this.session.ended) this.session.event('end', this.stateNow());
    this.session = null;
    // A fresh clock for a replay: the next session starts from zero.
    this.clock = new BeatClock({ intervalMs: this.app.beatMs, onBeat: () => this.beat() });
  }

  duration() {
    const v = this.video;
    return Number.isFinite(v.duration) && v.duration > 0 ? v.duration : (this.item && this.item.duration_s) || 0;
  }

  onTime() {
    const v = this.video;
    const d = this.duration();
    if (!this.seekDragging) {
      this.seek.max = String(d);
      this.seek.value = String(v.currentTime || 0);
    }
    this.seek.style.setProperty('--pct', d ? `${(100 * (v.currentTime || 0)) / d}%` : '0%');
    this.time.textContent = `${fmtTime(v.currentTime)} / ${fmtTime(d)}`;
    this.renderCues();
    if (this.resumeAt && !this.b.fromStart.hidden && v.currentTime > this.resumeAt + 30) this.hideFromStart();
    if (Date.now() - (this.posSaved || 0) > 5000 && v.currentTime > 0 && !v.seeking) this.savePosition();
  }

  savePosition(end = false) {
    const d = this.duration();
    if (!d || !this.item) return;
    this.posSaved = Date.now();
    eng.saveResume(this.id, end ? d : this.video.currentTime || 0, d);
  }

  hideFromStart() {
    clearTimeout(this.fromStartTimer);
    if (document.activeElement === this.b.fromStart) this.b.play.focus({ preventScroll: true });
    this.b.fromStart.hidden = true;
  }

  playFromStart() {
    this.hideFromStart();
    this.video.currentTime = 0;
    if (this.video.paused) this.autoplay();
  }

  // ---- weak links ----------------------------------------------------------

  atLowest() {
    const hls = this.hls;
    if (!hls || this.audioOnly || this.audioLesson || !hls.levels.length) return false;
    const low = eng.lowestLevel(hls.levels);
    return hls.currentLevel === low || hls.levels.length === 1;
  }

  onStall() {
    if (!this.firstFrameMs) return; // still starting
    this.stallAt = Date.now();
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => { if (this.atLowest()) this.goAudioOnly(); }, STALL_LONG_MS);
  }

  onStallEnd() {
    clearTimeout(this.stallTimer);
    if (!this.stallAt) return;
    this.stallAt = 0;
    if (!this.atLowest()) return;
    const now = Date.now();
    this.stalls = this.stalls.filter((x) => now - x < 60000);
    this.stalls.push(now);
    if (this.stalls.length >= STALLS_MAX) this.goAudioOnly();
  }

  /** Even the cheapest picture stalls: keep the sound going alone, say so,
   * and offer the picture back (the button here, the blue key, the menu). */
  goAudioOnly() {
    if (this.audioOnly || this.closed) return;
    this.audioOnly = true; // not remembered: the link may be better tomorrow
    this.autoAudio = true;
    this.stalls = [];
    this.reload();
    this.showNotice(t('autoAudio'), { label: t('showPicture'), run: () => this.setQuality('-1') });
  }

  showNotice(text, action) {
    clear(this.notice);
    this.notice.hidden = !text;
    if (!text) return;
    this.notice.append(h('span', {}, text));
    if (action) this.notice.append(h('button', { type: 'button', onclick: action.run }, action.label));
  }

  // ---- end of a lesson, next lesson, end of a course ----------------------------

  onEnded() {
    this.savePosition(true);
    this.endSession();
    this.app.queue.flush();
    this.upNext();
  }

  /** The next lesson: the course's when the API names one (null at the end
   * of a course), else the list's order for lessons of no course. */
  async nextId() {
    const it = this.item;
    // The API sends "next" for every lesson (null without a course): it
    // counts only for a lesson of a course.
    if (it && it.course) return it.next || null;
    let ids = this.listIds;
    if (!ids) {
      try {
        ids = ((await lessonsOnce()).items || []).map((i) => i.id);
      } catch {
        ids = [];
      }
    }
    const i = ids.indexOf(this.id);
    return i >= 0 && i + 1 < ids.length ? ids[i + 1] : null;
  }

  /** The next-up card (title and picture of the next lesson); on a TV it
   * plays after a 5 s countdown. Without a next lesson: the end screen. */
  async upNext() {
    const next = await this.nextId();
    if (this.closed) return;
    if (!next) {
      this.showEnd();
      return;
    }
    let item = null;
    try {
      item = await api.lesson(next);
    } catch {
      /* the card without a title */
    }
    if (this.closed) return;
    let n = 5;
    const tv = dev.isTv();
    const label = h('p.count', {}, tv ? t('nextIn', { n }) : t('upNext'));
    const go = h('button.primary', { type: 'button', onclick: () => this.playNext(true, next) }, t('playNext'));
    const cancel = h('button', { type: 'button', onclick: () => this.cancelUpNext() }, t('cancel'));
    const thumb = item && (item.thumb || item.poster) ? h('img', { alt: '', src: api.thumbUrl(item), onerror: (e) => e.target.remove() }) : null;
    clear(this.upnext).append(
      h('div.next-card', {}, h('div.next-thumb', {}, thumb), h('div', {}, label, h('h2.next-title', {}, item ? titles(item).first : `#${next}`))),
      h('div.row', {}, go, cancel));
    this.upnext.hidden = false;
    go.focus();
    this.poke();
    if (tv) {
      this.upnextTimer = setInterval(() => {
        n -= 1;
        label.textContent = t('nextIn', { n });
        if (n <= 0) this.playNext(true, next);
      }, 1000);
    }
  }

  cancelUpNext() {
    clearInterval(this.upnextTimer);
    this.upnextTimer = null;
    this.upnext.hidden = true;
    this.b.play.focus();
  }

  /** The end of a course (or of the list): what to watch next. */
  async showEnd() {
    const c = this.item && this.item.course;
    const kids = [h('h2', {}, c ? t('courseDone', { title: c.title }) : t('lessonDone'))];
    const row = h('div.row');
    row.append(h('button.primary', { type: 'button', onclick: () => { this.endEl.hidden = true; this.playFromStart(); } }, t('replay')),
      h('button', { type: 'button', onclick: () => this.app.go('#/') }, t('backToList')));
    kids.push(row);
    const more = h('div.more-lessons');
    kids.push(more);
    clear(this.endEl).append(...kids);
    this.endEl.hidden = false;
    row.firstChild.focus();
    this.poke();
    // Suggestions: lessons of the catalog not yet watched here, first lessons
    // of a course first.
    try {
      const items = ((await lessonsOnce()).items || []).filter((i) => i.id !== this.id && i.hls);
      const pickable = items.filter((i) => !eng.watched(i.id) && (!i.course || i.course.index === 1 || !c || i.course.id !== c.id));
      const list = (pickable.length ? pickable : items).slice(0, 3);
      if (!list.length || this.closed) return;
      more.append(h('h3', {}, t('watchNext')), h('div.row', {}, list.map((i) => h('button.suggest', { type: 'button', 'data-id': String(i.id), onclick: () => this.app.go(`#/lesson/${i.id}`, true) },
        i.thumb ? h('img', { alt: '', src: api.thumbUrl(i), onerror: (e) => e.target.remove() }) : null, h('span', {}, titles(i).first)))));
    } catch {
      /* offline: replay and the list remain */
    }
  }

  async playNext(auto, id) {
    clearInterval(this.upnextTimer);
    const next = id || (await this.nextId());
    if (!next) {
      if (!this.video.ended) this.app.toast(t('noNext'));
      else this.showEnd();
      return;
    }
    this.app.go(`#/lesson/${next}`, auto);
  }

  // ---- controls ------------------------------------------------------------

  togglePlay() {
    if (this.video.paused || this.video.ended) this.autoplay();
    else this.video.pause();
  }

  skip(s) {
    const v = this.video;
    const d = this.duration() || Infinity;
    v.currentTime = Math.max(0, Math.min(d - 0.5, (v.currentTime || 0) + s));
    this.showSeekTip(v.currentTime);
    this.hideSeekTip(1500);
  }

  /** Time (and picture, with a thumbnails track) over the seek bar. */
  showSeekTip(time) {
    clearTimeout(this.tipTimer);
    const d = this.duration();
    this.tipTime.textContent = fmtTime(time);
    const c = this.thumbCues && this.thumbCues.find((x) => time >= x.start && time < x.end);
    if (c && c.w) {
      this.tipPic.hidden = false;
      Object.assign(this.tipPic.style, {
        width: `${c.w}px`, height: `${c.h}px`, backgroundImage: `url("${c.url}")`, backgroundPosition: `-${c.x}px -${c.y}px`,
      });
    } else {
      this.tipPic.hidden = true;
    }
    this.seekTip.hidden = false;
    const sr = this.seek.getBoundingClientRect();
    const cr = this.controls.getBoundingClientRect();
    const w = this.seekTip.offsetWidth;
    const x = sr.left - cr.left + (d ? (time / d) * sr.width : 0) - w / 2;
    this.seekTip.style.left = `${Math.max(0, Math.min(cr.width - w, x))}px`;
  }

  hideSeekTip(ms) {
    clearTimeout(this.tipTimer);
    this.tipTimer = setTimeout(() => { this.seekTip.hidden = true; }, ms);
  }

  hoverSeek(e) {
    if (e.pointerType === 'touch' && !this.seekDragging) return;
    const r = this.seek.getBoundingClientRect();
    const d = this.duration();
    if (!d || !r.width) return;
    this.showSeekTip(Math.max(0, Math.min(d, ((e.clientX - r.left) / r.width) * d)));
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (this.el.requestFullscreen) this.el.requestFullscreen().catch(() => {});
  }

  onStageTap() {
    // Where the controls fade (TV, full screen) the first tap only shows
    // them; below the picture they never fade, so a tap plays or pauses.
    if (this.idle && (dev.isTv() || document.fullscreenElement === this.el)) this.poke();
    else this.togglePlay();
  }

  /** Show the controls; hide them again after a while, but only while the
   * lesson is really playing (never while paused, stalled or loading). */
  poke() {
    this.idle = false;
    this.el.classList.remove('idle');
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => {
      this.hideTimer = null;
      if (this.playingNow && !this.app.overlay && !this.seekDragging && this.upnext.hidden && this.endEl.hidden && this.msg.hidden) {
        this.idle = true;
        this.el.classList.add('idle');
      }
    }, 4000);
  }

  cycle(kind) {
    if (!this.item) return;
    if (kind === 'audio') {
      const ls = this.item.languages || [];
      if (ls.length < 2) return;
      const i = ls.findIndex((l) => canonLang(l) === canonLang(this.audioLang));
      this.setAudio(ls[(i + 1) % ls.length]);
      this.app.toast(`${t('audio')}: ${langName(this.audioLang)}`, 1500);
    } else {
      const ls = [null, ...(this.item.subtitles || [])];
      const i = ls.findIndex((l) => (l && canonLang(l)) === (this.subLang && canonLang(this.subLang)));
      this.setSubs(ls[(i + 1) % ls.length]);
      this.app.toast(`${t('subs')}: ${this.subLang ? langName(this.subLang) : t('subsOff')}`, 1500);
    }
  }

  /** TV: the controls as a grid: the seek bar, the transport row, the
   * options row. ←/→ move along a row (on the seek bar they seek), ↑/↓
   * between rows to the nearest button. Every visible control is reached
   * from every other, in the same way at any screen size. */
  rows() {
    const can = (el) => !el.hidden && !el.disabled && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    return [[this.seek], [...this.transport.children].filter(can), [...this.opts.children].filter(can)].filter((r) => r.length);
  }

  gridMove(k) {
    const rows = this.rows();
    const a = document.activeElement;
    const r = rows.findIndex((row) => row.includes(a));
    if (r < 0) {
      (this.b.play.hidden ? rows[0][0] : this.b.play).focus({ preventScroll: true });
      return;
    }
    const row = rows[r];
    const c = row.indexOf(a);
    if (k === 'ArrowLeft' || k === 'ArrowRight') {
      const n = c + (k === 'ArrowRight' ? 1 : -1);
      if (n >= 0 && n < row.length) row[n].focus({ preventScroll: true });
      return;
    }
    const nr = r + (k === 'ArrowDown' ? 1 : -1);
    if (nr < 0 || nr >= rows.length) return;
    const ar = a.getBoundingClientRect();
    const ax = ar.left + ar.width / 2;
    let best = rows[nr][0];
    let bd = Infinity;
    for (const el of rows[nr]) {
      const br = el.getBoundingClientRect();
      const dx = Math.abs(br.left + br.width / 2 - ax);
      if (dx < bd) {
        bd = dx;
        best = el;
      }
    }
    // From the seek bar down: back to the button the viewer came from.
    if (a === this.seek && this.lastRowFocus && rows[nr].includes(this.lastRowFocus)) best = this.lastRowFocus;
    if (a !== this.seek && best === this.seek) this.lastRowFocus = a;
    best.focus({ preventScroll: true });
  }

  /** Keys. TV: remote keys (arrows in the controls' grid, colour keys).
   * PC: Space, arrows, F, M, L, C, N. Returns true when consumed. */
  onKey(e) {
    const v = this.video;
    const k = e.key;
    const a = document.activeElement;
    const tv = dev.isTv();
    const colour = colourAction(e);
    if (MEDIA_KEYS.has(k) || colour) this.poke();
    if (k === 'MediaPlayPause' || k === 'MediaPlay' || k === 'MediaPause') { this.togglePlay(); return true; }
    if (k === 'MediaFastForward') { this.skip(10); return true; }
    if (k === 'MediaRewind') { this.skip(-10); return true; }
    if (k === 'MediaTrackNext') { this.playNext(false); return true; }
    if (colour) {
      if (colour === 'aonly') {
        if (!this.audioLesson) this.setQuality(this.audioOnly ? '-1' : 'audio');
      } else if (!this.b[colour].disabled && !this.b[colour].hidden) this.openMenu(colour);
      return true;
    }
    if (tv) {
      // The first key on hidden controls only shows them: the focused
      // button cannot be seen, so OK must not press it.
      if (this.idle) {
        this.poke();
        return true;
      }
      this.poke();
      if (!k.startsWith('Arrow')) return false;
      // Panels over the picture (next lesson, end screen, messages): move
      // among their buttons; ↓ from them goes to the controls.
      for (const panel of [this.upnext, this.endEl, this.msg, this.notice]) {
        if (!panel.hidden && panel.contains(a)) {
          if (!move(k, a, focusables(panel)) && k === 'ArrowDown') this.b.play.focus({ preventScroll: true });
          return true;
        }
      }
      if (a === this.seek && (k === 'ArrowLeft' || k === 'ArrowRight')) {
        this.skip(k === 'ArrowLeft' ? -10 : 10);
        return true;
      }
      if (k === 'ArrowUp' && (a === this.seek || !this.controls.contains(a))) {
        // Up from the top row: a panel's button, if one is showing.
        for (const panel of [this.notice, this.msg, this.endEl, this.upnext]) {
          const f = !panel.hidden && focusables(panel)[0];
          if (f) {
            f.focus({ preventScroll: true });
            return true;
          }
        }
        return true;
      }
      this.gridMove(k);
      return true;
    }
    this.poke();
    if (a && (a.tagName === 'INPUT' && a.type !== 'range')) return false;
    switch (k) {
      case ' ':
      case 'k':
        this.togglePlay();
        return true;
      case 'ArrowLeft':
        this.skip(-5);
        return true;
      case 'ArrowRight':
        this.skip(5);
        return true;
      case 'ArrowUp':
        v.volume = Math.min(1, v.volume + 0.1);
        return true;
      case 'ArrowDown':
        v.volume = Math.max(0, v.volume - 0.1);
        return true;
      case 'f':
        this.toggleFullscreen();
        return true;
      case 'm':
        v.muted = !v.muted;
        return true;
      case 'l':
        this.cycle('audio');
        return true;
      case 'c':
        this.cycle('subs');
        return true;
      case 'n':
        this.playNext(false);
        return true;
      default:
        return false;
    }
  }

  /** Back (key, or the 返回 button: fromButton). */
  onBack(fromButton = false) {
    if (!fromButton && dev.isTv() && this.idle) {
      this.poke();
      return true;
    }
    if (this.upnextTimer) {
      this.cancelUpNext();
      return true;
    }
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
      return true;
    }
    this.app.go('#/');
    return true;
  }

  // ---- errors --------------------------------------------------------------

  onHlsError(d) {
    this.errors.push(`${d.type}/${d.details}${d.fatal ? ' (fatal)' : ''}${d.response && d.response.code ? ` ${d.response.code}` : ''}`);
    const Hls = window.Hls;
    const D = Hls.ErrorDetails;
    if (d.details === D.MANIFEST_INCOMPATIBLE_CODECS_ERROR || d.details === D.BUFFER_ADD_CODEC_ERROR ||
        d.details === D.BUFFER_INCOMPATIBLE_CODECS_ERROR) {
      this.showMsg(t('codec', { why: d.mimeType || t('codecUnknown') }));
      return;
    }
    // A playlist the server does not have (404/410): the lesson is gone,
    // which no retry will change. Offline or a 5xx is "network down".
    const code = d.response && d.response.code;
    if (d.type === Hls.ErrorTypes.NETWORK_ERROR && (code === 404 || code === 410) &&
        (d.details === D.MANIFEST_LOAD_ERROR || d.details === D.LEVEL_LOAD_ERROR || d.details === D.AUDIO_TRACK_LOAD_ERROR)) {
      this.gone = true;
      this.busy.hidden = true;
      if (this.hls) this.hls.stopLoad();
      clearTimeout(this.netTimer);
      this.netDown = false;
      this.showMsg(t('notFound'), { label: t('backToList'), run: () => this.app.go('#/') });
      return;
    }
    if (!d.fatal) return;
    if (d.type === Hls.ErrorTypes.NETWORK_ERROR) {
      // Weak links: keep trying; playback goes on from the buffer meanwhile.
      this.netDown = true;
      this.showMsg(t('netRetry'));
      clearTimeout(this.netTimer);
      this.netTimer = setTimeout(() => this.retryNetwork(), 3000);
    } else if (d.type === Hls.ErrorTypes.MEDIA_ERROR && this.recoveries < 3) {
      this.recoveries += 1;
      this.hls.recoverMediaError();
    } else {
      this.showMsg(t('playError', { why: t('playFailed') }), { label: t('retry'), run: () => { this.showMsg(''); this.reload(); } });
    }
  }

  retryNetwork() {
    if (!this.netDown || !this.hls || this.gone) return;
    clearTimeout(this.netTimer);
    if (!this.hls.levels.length) this.hls.loadSource(this.hls.url);
    else this.hls.startLoad(this.video.currentTime || -1);
    this.netTimer = setTimeout(() => this.retryNetwork(), 5000);
  }

  async onVideoError() {
    const e = this.video.error;
    if (!e || this.engine === 'hls.js') return;
    this.errors.push(`video ${e.code} ${e.message || ''}`);
    // The browser's own HLS says little: ask the server whether the
    // playlist is there at all.
    try {
      const res = await fetch(this.master, { method: 'HEAD' });
      if (res.status === 404 || res.status === 410) {
        this.showMsg(t('notFound'), { label: t('backToList'), run: () => this.app.go('#/') });
        return;
      }
    } catch {
      this.showMsg(t('netRetry'));
      return;
    }
    this.showMsg(e.code === 4 ? t('codec', { why: t('codecUnknown') }) : t('playError', { why: t('playFailed') }));
  }

  checkSlow() {
    const hls = this.hls;
    if (this.slowHinted || !hls || this.audioOnly || !hls.levels.length) return;
    const lowest = Math.min(...hls.levels.map((l) => l.bitrate));
    if (hls.currentLevel >= 0 && hls.levels[hls.currentLevel].bitrate === lowest && hls.bandwidthEstimate < lowest) {
      this.slowHinted = true;
      this.app.toast(t('slow'), 6000);
    }
  }

  // ---- end -----------------------------------------------------------------

  /** unloading: the page goes away; main.js sends the queue with keepalive. */
  // ---- keeping the lesson (offline.js) ----------------------------------------

  /** "下载" on a phone or PC: keep this lesson for offline viewing; then
   * its progress and a cancel button; once kept, what was kept, where the
   * list is, and delete. */
  downloadBox() {
    if (!this.dl) {
      this.dl = h('div.download');
      this.onDl = (e) => {
        if (e.id === this.id) this.renderDownload();
      };
      if (offLoading) this.useOffline().catch(() => {}); // a download may run
    }
    this.renderDownload();
    return this.dl;
  }

  /** offline.js, loaded once, with this view listening to its changes. */
  async useOffline() {
    const m = await loadOffline();
    if (!this.off && !this.closed) {
      this.off = m;
      m.events.addEventListener('change', this.onDl);
      this.renderDownload();
    }
    return m;
  }

  renderDownload() {
    const box = this.dl;
    if (!box || !this.item) return;
    const pct = this.off ? this.off.progress(this.id) : -1;
    const rec = keptRecord(this.id);
    // Progress only moves the bar and the figure: the cancel button keeps
    // its focus.
    if (pct >= 0 && box.dataset.state === 'busy') {
      box.querySelector('progress').value = pct;
      box.querySelector('.dl-state').textContent = t('downloading', { p: pct });
      return;
    }
    // relabel() calls this often (track and level switches): rebuild only
    // on a change, so a focused button keeps its focus.
    const sig = `${pct >= 0 ? 'busy' : rec ? `kept${rec.ts}` : 'none'}|${this.dlError || ''}|${t('download')}`;
    if (box.dataset.sig === sig) return;
    box.dataset.sig = sig;
    clear(box);
    if (pct >= 0) {
      box.dataset.state = 'busy';
      box.append(h('span.dl-state', { role: 'status' }, t('downloading', { p: pct })),
        h('progress.dl-bar', { max: 100, value: pct }),
        h('button.dl-cancel', { type: 'button', onclick: () => this.off.cancel(this.id) }, t('cancel')));
    } else if (rec) {
      box.dataset.state = 'kept';
      box.append(h('span.dl-state', {}, t('keptInfo', { rung: rec.rung, size: fmtMB(rec.bytes) })),
        h('a.dl-list', { href: '#/downloads' }, t('downloads')),
        h('button.dl-delete', { type: 'button', onclick: () => this.useOffline().then((m) => m.remove(this.id)).catch(() => this.app.toast(t('serverDown'))) }, t('dlDelete')));
    } else {
      box.dataset.state = 'none';
      box.append(h('button.dl-start', { type: 'button', onclick: () => this.startDownload() }, t('download')));
    }
    if (this.dlError) box.append(h('p.dl-error', { role: 'alert' }, this.dlError));
  }

  async startDownload() {
    const it = this.item;
    this.dlError = '';
    const subs = this.subLang || pickLang(it.subtitles || [], [this.audioLang, ...dev.langPrefs()].filter(Boolean), false);
    const kind = dev.clientKind();
    try {
      const off = await this.useOffline();
      await off.download(it, { kind, audio: this.audioLang, subs });
      this.app.toast(t('dlDone'));
    } catch (err) {
      if (err.name === 'AbortError') {
        this.app.toast(t('dlCancelled'));
      } else if (err.name === 'NoRoomError') {
        const free = Number.isFinite(err.free) ? fmtMB(err.free) : '?';
        this.dlError = t(kind === 'phone' ? 'noRoom' : 'noRoomPc', { need: fmtMB(err.need), free });
        this.app.toast(this.dlError, 8000);
      } else {
        this.dlError = t('dlFailed', { why: err.message });
        this.app.toast(this.dlError, 8000);
      }
      this.renderDownload();
    }
  }

  close({ unloading = false } = {}) {
    if (this.closed) return;
    if (this.off) this.off.events.removeEventListener('change', this.onDl);
    if (!this.video.ended && this.video.currentTime > 0) this.savePosition();
    this.closed = true;
    this.endSession();
    if (!unloading) this.app.queue.flush();
    clearTimeout(this.hideTimer);
    clearTimeout(this.netTimer);
    clearTimeout(this.stallTimer);
    clearTimeout(this.fromStartTimer);
    clearTimeout(this.tipTimer);
    clearInterval(this.upnextTimer);
    window.removeEventListener('online', this.onOnline);
    if (this.hls) this.hls.destroy();
    this.hls = null;
    if (this.blobUrl) URL.revokeObjectURL(this.blobUrl);
    this.video.removeAttribute('src');
    this.video.load();
    if (this.app.player === this) this.app.player = null;
    this.el.remove();
    document.title = t('app');
  }
}
