// The playback engine, apart from the player's view: which engine plays
// (hls.js where Media Source Extensions exist, the browser's own HLS
// elsewhere), how hls.js is configured for weak links, the audio-only
// master playlist, and the bandwidth remembered between starts. No DOM of
// the player's own here; player.js draws and handles keys.
import { load, save } from './store.js';

export const hasMSE = () => !!(window.MediaSource || window.ManagedMediaSource || window.WebKitMediaSource);

let hlsLoading = null;
/** Load vendor/hls.min.js once (about 540 KB, so not on the first page). */
export function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  if (!hlsLoading) {
    hlsLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'vendor/hls.min.js';
      s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error('hls.js')));
      s.onerror = () => {
        hlsLoading = null;
        s.remove();
        reject(new Error('vendor/hls.min.js'));
      };
      document.head.append(s);
    });
  }
  return hlsLoading;
}

/** 'hls.js', 'native' or null (this browser plays no HLS). */
export async function pickEngine(video, want) {
  if (hasMSE() && want !== 'native') {
    try {
      const Hls = await loadHls();
      if (Hls.isSupported()) return 'hls.js';
    } catch (err) {
      if (!video.canPlayType('application/vnd.apple.mpegurl')) throw err;
    }
  }
  return video.canPlayType('application/vnd.apple.mpegurl') ? 'native' : null;
}

// ---- bandwidth memory ------------------------------------------------------

// The last bandwidth hls.js measured here (bit/s), kept per device: a
// village link is much the same from one lesson to the next, so the next
// start need not guess high (hls.js's default guess is 500 kbit/s, which
// picks a rung a 400 kbit/s link cannot carry).
export function savedBandwidth() {
  const b = load('bw', null);
  return b && Number.isFinite(b.bps) && b.bps > 0 ? b.bps : 0;
}

export function saveBandwidth(bps) {
  if (Number.isFinite(bps) && bps > 0) save('bw', { bps: Math.round(bps), ts: Date.now() });
}

/** hls.js settings for slow, metered links (README "Weak links"). */
export function hlsConfig({ startPosition, audioLang, subLang }) {
  const bw = savedBandwidth();
  const cfg = {
    startPosition,
    capLevelToPlayerSize: true,
    renderTextTracksNatively: true,
    // The forward buffer: 20 s is plenty to ride out a short stall, and a
    // viewer who stops early has not paid for three minutes of 720p.
    maxBufferLength: 20,
    maxMaxBufferLength: 40,
    maxBufferSize: 8 * 1000 * 1000,
    backBufferLength: 30,
    // Without a measurement start at the lowest rung (startLevel is set to
    // it once the manifest is parsed); with one, from what it allows.
    abrEwmaDefaultEstimate: bw ? bw * 0.85 : 150000,
    testBandwidth: !bw,
    // A slow first segment must not be given up on and fetched again.
    fragLoadPolicy: {
      default: {
        maxTimeToFirstByteMs: 10000,
        maxLoadTimeMs: 120000,
        timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 6, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
      },
    },
  };
  if (audioLang) cfg.audioPreference = { lang: audioLang };
  if (subLang) cfg.subtitlePreference = { lang: subLang };
  return cfg;
}

/** The index of the cheapest video rung of hls.levels, or -1. */
export function lowestLevel(levels) {
  let best = -1;
  levels.forEach((l, i) => {
    if (best < 0 || l.bitrate < levels[best].bitrate) best = i;
  });
  return best;
}

/** The level hls.js should start with: the cheapest until a bandwidth has
 * been measured, then the best one the saved measurement carries. */
export function startLevel(levels) {
  const low = lowestLevel(levels);
  const bw = savedBandwidth();
  if (!bw || low < 0) return low;
  let best = low;
  levels.forEach((l, i) => {
    if (l.bitrate <= bw * 0.7 && l.bitrate > levels[best].bitrate) best = i;
  });
  return best;
}

/** Audio only with hls.js: a master playlist of our own (a blob: URL)
 * with the audio rendition as its one variant and the lesson's subtitle
 * renditions, so subtitles still show while only the sound is fetched.
 * (hls.js drops the lesson master's audio-only variant when it has video
 * variants, and a media playlist alone carries no subtitles.) */
export function audioMasterText(master, lang, subs, nameOf) {
  const abs = (p) => new URL(p, master).href;
  const q = (v) => String(v).replace(/"/g, '');
  let m = '#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n';
  for (const l of subs) {
    m += `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="${q(l)}",NAME="${q(nameOf(l))}",AUTOSELECT=YES,URI="${abs(`s-${q(l)}/index.m3u8`)}"\n`;
  }
  m += `#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2"${subs.length ? ',SUBTITLES="subs"' : ''}\n${abs(`a-${q(lang)}/index.m3u8`)}\n`;
  return m;
}

/** An audio rendition's playlist: a-<lang>/index.m3u8 (docs/transcode.md). */
export function audioUrl(master, lang) {
  return new URL(`a-${lang}/index.m3u8`, master).href;
}

// ---- seek preview thumbnails -------------------------------------------------

/** Parse a WebVTT thumbnails track (cues "sprite.jpg#xywh=x,y,w,h", paths
 * relative to the track) into [{start, end, url, x, y, w, h}]. */
export function parseThumbsVtt(text, base) {
  const out = [];
  const ts = (s) => {
    const p = s.trim().split(':').map(Number);
    return p.length === 3 ? p[0] * 3600 + p[1] * 60 + p[2] : p[0] * 60 + p[1];
  };
  const blocks = text.replace(/\r/g, '').split(/\n\n+/);
  for (const b of blocks) {
    const lines = b.split('\n').filter(Boolean);
    const i = lines.findIndex((l) => l.includes('-->'));
    if (i < 0 || !lines[i + 1]) continue;
    const [a, z] = lines[i].split('-->');
    const ref = lines[i + 1].trim();
    const m = /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(ref);
    const url = new URL(ref.replace(/#.*$/, ''), base).href;
    const start = ts(a);
    const end = ts(z.trim().split(/\s+/)[0]);
    if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
    out.push(m ? { start, end, url, x: +m[1], y: +m[2], w: +m[3], h: +m[4] } : { start, end, url, x: 0, y: 0, w: 0, h: 0 });
  }
  return out;
}

// ---- resume positions --------------------------------------------------------

// Where each lesson was left on this device: {id: {pos, dur, ts}}. On a
// station's TV this is the station's (the device is the station's).
const RESUME_MAX = 200;

export function resumeAll() {
  const r = load('resume', null);
  return r && typeof r === 'object' ? r : {};
}

export function resumeOf(id) {
  return resumeAll()[id] || null;
}

export function saveResume(id, pos, dur) {
  if (!Number.isFinite(pos) || !Number.isFinite(dur) || dur <= 0) return;
  const all = resumeAll();
  all[id] = { pos: Math.round(pos), dur: Math.round(dur), ts: Date.now() };
  const ids = Object.keys(all);
  if (ids.length > RESUME_MAX) {
    ids.sort((a, b) => all[a].ts - all[b].ts);
    for (const k of ids.slice(0, ids.length - RESUME_MAX)) delete all[k];
  }
  save('resume', all);
}

// The end of a lesson, for resuming and watched marks: its last 15 s, or
// last tenth when it is shorter than 150 s.
const tail = (dur) => Math.min(15, dur * 0.1);

/** A position worth resuming from: past the first 10 s, before the end. */
export function resumePoint(id) {
  const r = resumeOf(id);
  return r && r.pos > 10 && r.pos < r.dur - tail(r.dur) ? r.pos : 0;
}

/** Finished on this device (to its end, as tail() counts it). */
export function watched(id) {
  const r = resumeOf(id);
  return !!r && r.dur > 0 && r.pos >= r.dur - tail(r.dur);
}
