// The player: hls.js where Media Source Extensions exist, the browser's own
// HLS elsewhere (Safari, many TVs). Audio-language, subtitle and quality
// menus; "只听声音" (audio only) plays the chosen language's audio
// rendition alone; subtitles are drawn by us (fonts, size, TV legibility).
// Viewing events: start, a beat per 15 s of playing time, end (views.js).
import { h, clear, fmtTime } from './dom.js';
import { t, uiLang } from './i18n.js';
import * as api from './api.js';
import * as dev from './device.js';
import { load, save } from './store.js';
import { langName, langGloss, pickLang, canonLang } from './langs.js';
import { titles, langChips } from './list.js';
import { BeatClock, ViewSession } from './views.js';
import { icon } from './icons.js';

const hasMSE = () => !!(window.MediaSource || window.ManagedMediaSource || window.WebKitMediaSource);

let hlsLoading = null;
/** Load vendor/hls.min.js once (about 540 KB, so not on the first page). */
function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  if (!hlsLoading) {
    hlsLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'vendor/hls.min.js';
      s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error('hls.js did not load')));
      s.onerror = () => {
        hlsLoading = null;
        s.remove();
        reject(new Error('vendor/hls.min.js: cannot load'));
      };
      document.head.append(s);
    });
  }
  return hlsLoading;
}

// "<c.yellow>x</c>" -> "x": cue markup is not ours to trust or style.
const cueText = (c) => (c.text || '').replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export class PlayerView {
  constructor(app, root, id, listIds) {
    this.app = app;
    this.id = id;
    this.listIds = listIds;
    this.item = null;
    this.hls = null;
    this.audioLang = null;
    this.subLang = null; // null: off
    this.audioOnly = !!load('audioOnly', false);
    this.level = -1; // -1: auto
    this.session = null;
    this.closed = false;
    this.errors = [];
    this.recoveries = 0;
    this.hideTimer = null;
    this.upnextTimer = null;
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
    this.audioBadge = h('div.audio-badge');
    this.bigPlay = btn('bigplay', () => this.togglePlay(), { hidden: true });
    this.stage = h('div.stage', { onclick: (e) => { if (e.target === this.video || e.target === this.cues) this.onStageTap(); } },
      this.video, this.audioBadge, this.cues, this.busy, this.bigPlay, this.msg, this.upnext);

    this.seek = h('input.seek', {
      type: 'range', min: '0', max: '0', step: '0.1', value: '0', 'aria-label': 'seek',
      oninput: () => { this.video.currentTime = Number(this.seek.value); },
      onpointerdown: () => { this.seekDragging = true; },
      onpointerup: () => { this.seekDragging = false; },
      onpointercancel: () => { this.seekDragging = false; },
    });
    this.time = h('span.time', {}, '0:00 / 0:00');
    this.b = {
      back: btn('back', () => this.onBack()),
      play: btn('play', () => this.togglePlay()),
      rew: btn('rew', () => this.skip(-10)),
      fwd: btn('fwd', () => this.skip(10)),
      audio: btn('menu-btn.audio', () => this.openMenu('audio'), { 'data-menu': 'audio' }),
      subs: btn('menu-btn.subs', () => this.openMenu('subs'), { 'data-menu': 'subs' }),
      quality: btn('menu-btn.quality', () => this.openMenu('quality'), { 'data-menu': 'quality' }),
      next: btn('next', () => this.playNext(false)),
      mute: btn('mute', () => { this.video.muted = !this.video.muted; this.relabel(); }),
      fs: btn('fs', () => this.toggleFullscreen()),
    };
    const b = this.b;
    this.controls = h('div.controls', {},
      h('div.seekrow', {}, this.seek, this.time),
      h('div.bar', {}, b.back, b.play, b.rew, b.fwd, b.next, h('span.spacer'), b.audio, b.subs, b.quality, b.mute, b.fs));
    this.info = h('div.info');
    this.el = h('section.player', {}, this.stage, this.controls, this.info);
    if (dev.isTv()) b.fs.hidden = true;

    const v = this.video;
    for (const ev of ['play', 'playing', 'pause', 'waiting', 'seeking', 'seeked', 'ended', 'stalled', 'canplay', 'emptied']) {
      v.addEventListener(ev, () => this.onMediaState(ev));
    }
    v.addEventListener('timeupdate', () => this.onTime());
    v.addEventListener('durationchange', () => this.onTime());
    v.addEventListener('volumechange', () => this.relabel());
    v.addEventListener('error', () => this.onVideoError());
    v.textTracks.addEventListener('addtrack', (e) => {
      e.track.addEventListener('cuechange', () => this.renderCues());
      this.syncTextTracks();
    });
    for (const ev of ['mousemove', 'touchstart', 'keydown']) this.el.addEventListener(ev, () => this.poke(), { passive: true });
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
    // Menu buttons show the current choice in its own script.
    const menuLbl = (el, title, value, lang) => {
      el.setAttribute('aria-label', `${title}: ${value}`);
      el.title = title;
      clear(el).append(h('span.k', {}, title), h('span.v', { lang }, value));
    };
    menuLbl(b.audio, t('audio'), this.audioLang ? langName(this.audioLang) : '—', this.audioLang || undefined);
    menuLbl(b.subs, t('subs'), this.subLang ? langName(this.subLang) : t('subsOff'), this.subLang || undefined);
    menuLbl(b.quality, t('quality'), this.qualityLabel());
    b.subs.disabled = !(this.item && (this.item.subtitles || []).length) || (this.audioOnly && this.engine !== 'hls.js');
    // The browser's own HLS without an audioTracks API (Chromium's) cannot
    // switch languages while showing the picture; audio only still can.
    b.audio.disabled = this.engine === 'native' && !this.video.audioTracks && !this.audioOnly;
    clear(this.bigPlay).append(icon('play'));
    this.audioBadge.textContent = `${t('audioOnly')} · ${this.audioLang ? langName(this.audioLang) : ''}`;
    this.audioBadge.lang = this.audioLang || '';
    this.stage.classList.toggle('audio-only', this.audioOnly);
    this.bigPlay.setAttribute('aria-label', t('play'));
    this.renderInfo();
  }

  renderInfo() {
    if (!this.item) return;
    const { first, second, secondLang } = titles(this.item);
    const kids = [h('h1.title', {}, first)];
    if (second) kids.push(h('p.alt', { lang: secondLang }, second));
    kids.push(langChips(this.item));
    if (dev.clientKind() === 'pc') kids.push(h('p.help', {}, t('help')));
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
    if (this.audioOnly) return 'audio';
    if (this.hls) {
      const lv = this.hls.levels[this.hls.currentLevel];
      if (lv && lv.height) return `${lv.height}p`;
    }
    if (this.video.videoHeight) return `${this.video.videoHeight}p`;
    return 'auto';
  }

  showMsg(text) {
    this.msg.hidden = !text;
    this.msg.textContent = text || '';
  }

  // ---- start ---------------------------------------------------------------

  async start() {
    try {
      this.item = await api.lesson(this.id);
    } catch (err) {
      this.showMsg(err.status === 404 ? t('notFound') : t('serverDown'));
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
    // The list's thumb (cached already) until the picture moves; the full
    // poster only where it stays on screen: audio only.
    this.video.poster = this.audioOnly ? api.posterUrl(it) : api.thumbUrl(it);
    this.relabel();
    this.master = api.hlsUrl(it);
    this.b.play.focus({ preventScroll: true });
    this.busy.hidden = false;
    if (hasMSE() && this.app.engine !== 'native') {
      try {
        await loadHls();
      } catch (err) {
        this.showMsg(t('playError', { why: err.message }));
        return;
      }
      if (this.closed) return;
      if (window.Hls.isSupported()) {
        this.engine = 'hls.js';
        this.attachHls(this.audioOnly ? this.audioMaster(this.audioLang) : this.master, -1);
        return;
      }
    }
    if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.engine = 'native';
      this.video.src = this.audioOnly ? this.audioUrl(this.audioLang) : this.master;
      this.video.addEventListener('loadedmetadata', () => this.nativeTracks(), { once: true });
      this.autoplay();
      return;
    }
    this.showMsg(t('codec', { why: 'no HLS / MSE' }));
  }

  /** An audio rendition's playlist: a-<lang>/index.m3u8 (docs/transcode.md). */
  audioUrl(lang) {
    return new URL(`a-${lang}/index.m3u8`, this.master).href;
  }

  /** Audio only with hls.js: a master playlist of our own (a blob: URL)
   * with the audio rendition as its one variant and the lesson's subtitle
   * renditions, so subtitles still show while only the sound is fetched.
   * (hls.js drops the lesson master's audio-only variant when it has video
   * variants, and a media playlist alone carries no subtitles.) */
  audioMaster(lang) {
    const abs = (p) => new URL(p, this.master).href;
    const q = (v) => String(v).replace(/"/g, '');
    const subs = this.item.subtitles || [];
    let m = '#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n';
    for (const l of subs) {
      m += `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="${q(l)}",NAME="${q(langName(l))}",AUTOSELECT=YES,URI="${abs(`s-${q(l)}/index.m3u8`)}"\n`;
    }
    m += `#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2"${subs.length ? ',SUBTITLES="subs"' : ''}\n${abs(`a-${q(lang)}/index.m3u8`)}\n`;
    if (this.blobUrl) URL.revokeObjectURL(this.blobUrl);
    this.blobUrl = URL.createObjectURL(new Blob([m], { type: 'application/vnd.apple.mpegurl' }));
    return this.blobUrl;
  }

  attachHls(src, startPosition) {
    const Hls = window.Hls;
    if (this.hls) this.hls.destroy();
    const cfg = {
      startPosition,
      capLevelToPlayerSize: true,
      backBufferLength: 30,
      renderTextTracksNatively: true,
    };
    if (this.audioLang) cfg.audioPreference = { lang: this.audioLang };
    if (this.subLang) cfg.subtitlePreference = { lang: this.subLang };
    const hls = new Hls(cfg);
    this.hls = hls;
    hls.subtitleDisplay = false; // tracks stay 'hidden'; renderCues draws them
    const E = Hls.Events;
    hls.on(E.MANIFEST_PARSED, () => {
      this.applyAudio();
      this.applySubs();
      if (this.level >= 0 && !this.audioOnly) hls.currentLevel = this.level;
      this.relabel();
      this.autoplay();
    });
    hls.on(E.AUDIO_TRACK_SWITCHED, () => this.relabel());
    hls.on(E.SUBTITLE_TRACK_SWITCH, () => { this.syncTextTracks(); this.relabel(); });
    hls.on(E.LEVEL_SWITCHED, () => { this.relabel(); this.checkSlow(); });
    hls.on(E.FRAG_LOADED, () => {
      if (this.netDown) {
        this.netDown = false;
        this.showMsg('');
      }
    });
    hls.on(E.ERROR, (_, d) => this.onHlsError(d));
    hls.attachMedia(this.video);
    hls.loadSource(src);
  }

  autoplay() {
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
    this.applySubs();
    this.relabel();
  }

  setQuality(v) {
    const wasAudio = this.audioOnly;
    if (v === 'audio') {
      this.audioOnly = true;
      save('audioOnly', true);
      if (!wasAudio) this.reload();
    } else {
      this.audioOnly = false;
      save('audioOnly', false);
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
    const src = this.audioOnly ? this.audioUrl(this.audioLang) : this.master;
    this.stage.classList.toggle('audio-only', this.audioOnly);
    if (this.audioOnly) this.video.poster = api.posterUrl(this.item);
    if (this.engine === 'hls.js') {
      this.attachHls(this.audioOnly ? this.audioMaster(this.audioLang) : this.master, pos);
    } else if (this.engine === 'native') {
      this.video.src = src;
      this.video.addEventListener('loadedmetadata', () => { this.video.currentTime = pos; this.nativeTracks(); }, { once: true });
    }
    if (wasPlaying) this.autoplay();
  }

  // ---- menus ---------------------------------------------------------------

  openMenu(kind) {
    const opts = [];
    if (kind === 'audio') {
      const langs = this.hls && !this.audioOnly && this.hls.audioTracks.length ? this.hls.audioTracks.map((tr) => tr.lang) : this.item.languages || [];
      for (const l of langs) opts.push({ value: l, label: langName(l), gloss: langGloss(l, uiLang()), lang: l, on: canonLang(l) === canonLang(this.audioLang) });
    } else if (kind === 'subs') {
      opts.push({ value: '', label: t('subsOff'), on: !this.subLang });
      for (const l of this.item.subtitles || []) opts.push({ value: l, label: langName(l), gloss: langGloss(l, uiLang()), lang: l, on: canonLang(l) === canonLang(this.subLang) });
    } else {
      opts.push({ value: '-1', label: t('auto'), on: !this.audioOnly && this.level < 0 });
      const lv = (this.hls && !this.audioOnly ? this.hls.levels : []).map((l, i) => ({ l, i })).filter((x) => x.l.height).sort((a, b) => b.l.height - a.l.height);
      for (const { l, i } of lv) opts.push({ value: String(i), label: `${l.height}p`, gloss: `${Math.round(l.bitrate / 1000)} kbit/s`, on: !this.audioOnly && this.level === i });
      opts.push({ value: 'audio', label: t('audioOnly'), on: this.audioOnly });
    }
    const title = { audio: t('audio'), subs: t('subs'), quality: t('quality') }[kind];
    const menu = h('div.menu', { role: 'menu', 'aria-label': title, 'data-kind': kind },
      h('h2', {}, title),
      opts.map((o) => h('button.opt', {
        type: 'button', role: 'menuitemradio', 'aria-checked': String(!!o.on), 'data-value': o.value,
        onclick: () => {
          this.app.closeOverlay();
          if (kind === 'audio') this.setAudio(o.value);
          else if (kind === 'subs') this.setSubs(o.value || null);
          else this.setQuality(o.value);
        },
      }, h('span.name', { lang: o.lang }, o.label), o.gloss && o.gloss !== o.label ? h('span.gloss', {}, o.gloss) : null)));
    this.app.openOverlay(h('div.menu-backdrop', { onclick: (e) => { if (e.target === e.currentTarget) this.app.closeOverlay(); } }, menu));
    (menu.querySelector('[aria-checked="true"]') || menu.querySelector('.opt')).focus();
  }

  // ---- playback state and viewing events ------------------------------------

  onMediaState(ev) {
    const v = this.video;
    if (ev === 'playing' || ev === 'canplay') this.busy.hidden = true;
    if (ev === 'waiting') this.busy.hidden = false;
    if (ev === 'play' || ev === 'playing') this.bigPlay.hidden = true;
    const playing = !v.paused && !v.ended && !v.seeking && v.readyState >= 3;
    if (playing && !this.session) this.startSession();
    this.clock.setPlaying(playing);
    if (ev === 'ended') this.onEnded();
    if (ev === 'play' || ev === 'pause' || ev === 'ended') this.relabel();
    this.poke();
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

  onTime() {
    const v = this.video;
    const d = Number.isFinite(v.duration) ? v.duration : (this.item && this.item.duration_s) || 0;
    if (!this.seekDragging) {
      this.seek.max = String(d);
      this.seek.value = String(v.currentTime || 0);
    }
    this.seek.style.setProperty('--pct', d ? `${(100 * (v.currentTime || 0)) / d}%` : '0%');
    this.time.textContent = `${fmtTime(v.currentTime)} / ${fmtTime(d)}`;
    this.renderCues();
  }

  onEnded() {
    this.endSession();
    this.app.queue.flush();
    if (dev.isTv()) this.upNext();
    else this.b.next.focus({ preventScroll: true });
  }

  async nextId() {
    let ids = this.listIds;
    if (!ids) {
      try {
        ids = ((await api.lessons({})).items || []).map((i) => i.id);
      } catch {
        ids = [];
      }
    }
    const i = ids.indexOf(this.id);
    return i >= 0 && i + 1 < ids.length ? ids[i + 1] : null;
  }

  /** TV: the next lesson plays on its own after a short countdown. */
  async upNext() {
    const next = await this.nextId();
    if (!next || this.closed) return;
    let n = 5;
    const label = h('p', {}, t('nextIn', { n }));
    const go = h('button.primary', { type: 'button', onclick: () => this.playNext(true, next) }, t('next'));
    const cancel = h('button', { type: 'button', onclick: () => this.cancelUpNext() }, t('cancel'));
    clear(this.upnext).append(label, h('div.row', {}, go, cancel));
    this.upnext.hidden = false;
    go.focus();
    this.upnextTimer = setInterval(() => {
      n -= 1;
      label.textContent = t('nextIn', { n });
      if (n <= 0) this.playNext(true, next);
    }, 1000);
  }

  cancelUpNext() {
    clearInterval(this.upnextTimer);
    this.upnextTimer = null;
    this.upnext.hidden = true;
    this.b.play.focus();
  }

  async playNext(auto, id) {
    clearInterval(this.upnextTimer);
    const next = id || (await this.nextId());
    if (!next) {
      this.app.toast(t('noResults'));
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
    const d = Number.isFinite(v.duration) ? v.duration : Infinity;
    v.currentTime = Math.max(0, Math.min(d - 0.5, (v.currentTime || 0) + s));
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (this.el.requestFullscreen) this.el.requestFullscreen().catch(() => {});
  }

  onStageTap() {
    // Touch: the first tap shows the controls, a second one toggles play.
    if (this.el.classList.contains('idle')) this.poke();
    else this.togglePlay();
  }

  /** Show the controls; hide them again after a while of playing. */
  poke() {
    this.el.classList.remove('idle');
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => {
      if (!this.video.paused && !this.app.overlay && !this.seekDragging) this.el.classList.add('idle');
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

  /** Keys. TV: arrows move the focus (main.js) except on the seek bar.
   * PC: Space, arrows, F, M, L, C, N. Returns true when consumed. */
  onKey(e) {
    const v = this.video;
    const k = e.key;
    const a = document.activeElement;
    if (k === 'MediaPlayPause' || k === 'MediaPlay' || k === 'MediaPause') { this.togglePlay(); return true; }
    if (k === 'MediaFastForward') { this.skip(10); return true; }
    if (k === 'MediaRewind') { this.skip(-10); return true; }
    if (k === 'MediaTrackNext') { this.playNext(false); return true; }
    if (dev.isTv()) {
      if (a === this.seek && (k === 'ArrowLeft' || k === 'ArrowRight')) {
        this.skip(k === 'ArrowLeft' ? -10 : 10);
        return true;
      }
      // The first key on hidden controls only shows them.
      if (this.el.classList.contains('idle') && k.startsWith('Arrow')) {
        this.poke();
        return true;
      }
      return false;
    }
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

  onBack() {
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
    this.errors.push(`${d.type}/${d.details}${d.fatal ? ' (fatal)' : ''}`);
    const Hls = window.Hls;
    if (d.details === Hls.ErrorDetails.MANIFEST_INCOMPATIBLE_CODECS_ERROR || d.details === Hls.ErrorDetails.BUFFER_ADD_CODEC_ERROR ||
        d.details === Hls.ErrorDetails.BUFFER_INCOMPATIBLE_CODECS_ERROR) {
      this.showMsg(t('codec', { why: `${d.details}${d.mimeType ? ` ${d.mimeType}` : ''}` }));
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
      this.showMsg(t('playError', { why: d.details }));
    }
  }

  retryNetwork() {
    if (!this.netDown || !this.hls) return;
    clearTimeout(this.netTimer);
    this.hls.startLoad(this.video.currentTime || -1);
    this.netTimer = setTimeout(() => this.retryNetwork(), 5000);
  }

  onVideoError() {
    const e = this.video.error;
    if (!e || this.engine === 'hls.js') return;
    this.errors.push(`video ${e.code} ${e.message || ''}`);
    this.showMsg(e.code === 4 ? t('codec', { why: e.message || 'MEDIA_ERR_SRC_NOT_SUPPORTED' }) : t('playError', { why: e.message || e.code }));
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
  close({ unloading = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    this.endSession();
    if (!unloading) this.app.queue.flush();
    clearTimeout(this.hideTimer);
    clearTimeout(this.netTimer);
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
