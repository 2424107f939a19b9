// Lessons kept for offline viewing (phones and PCs; docs/architecture.md
// "Offline lessons"). "下载" keeps one video rung, the chosen audio
// language and its subtitles in Cache Storage, one cache per lesson
// (yl-lesson-<id>), under the lesson's own URLs: the service worker (sw.js)
// answers every /hls/<id>/ request from that cache when it has the file, so
// hls.js plays a kept lesson with the network off exactly as it plays it
// online. The lesson's master playlist is stored reduced to what was kept
// (one rung, one audio rendition, one subtitle track), and written last: a
// cache without its master is a download that did not finish.
//
// The list of kept lessons (title, languages, size, date, the catalog item
// for the player) is in localStorage ("yl.offline"). The app shell (the
// page, its modules, styles, fonts, hls.js) goes into the "yl-shell" cache
// when the first lesson is kept; the service worker is registered only on
// devices that keep a lesson, so everyone else's pages run as before.
import * as api from './api.js';
import { load, save } from './store.js';
import { canonLang } from './langs.js';
import { fmtMB } from './dom.js';

export { fmtMB };

export const SHELL_CACHE = 'yl-shell';
export const cacheName = (id) => `yl-lesson-${id}`;
const PARALLEL = 3; // segment fetches at once

/** Can this browser keep lessons? (Cache Storage and service workers need
 * a secure context: https, or http://localhost / 127.0.0.1.) */
export function supported() {
  return typeof window !== 'undefined' && window.isSecureContext && 'caches' in window && 'serviceWorker' in navigator;
}

// ---- the list of kept lessons --------------------------------------------

export function records() {
  const r = load('offline', null);
  return r && typeof r === 'object' ? r : {};
}

export function record(id) {
  return records()[id] || null;
}

export function count() {
  return Object.keys(records()).length;
}

function putRecord(rec) {
  const all = records();
  all[rec.id] = rec;
  save('offline', all);
}

function dropRecord(id) {
  const all = records();
  delete all[id];
  save('offline', all);
}

// Downloads running in this page: id -> {pct, ac}. Listeners hear every
// change (progress, done, failed, removed) through `events`, as {id, ...}.
// (Not an EventTarget: the old WebViews of the legacy bundle cannot
// construct one, and this module loads with the player there too.)
const active = new Map();
const listeners = new Set();
export const events = {
  addEventListener: (type, f) => listeners.add(f),
  removeEventListener: (type, f) => listeners.delete(f),
};
const changed = (id, detail = {}) => {
  for (const f of [...listeners]) f({ id, ...detail });
};

export function progress(id) {
  const a = active.get(id);
  return a ? a.pct : -1;
}

export function cancel(id) {
  const a = active.get(id);
  if (a) a.ac.abort();
}

// ---- playlists --------------------------------------------------------------

/** Attributes of an HLS tag line: 'A=1,B="x,y"' -> {A: '1', B: 'x,y'}. */
export function attrs(s) {
  const out = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let m;
  while ((m = re.exec(s))) out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
  return out;
}

/** A master playlist: {head: [lines], media: [{line, a}], variants: [{line, a, uri}]}. */
export function parseMaster(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  const out = { head: [], media: [], variants: [] };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l.startsWith('#EXT-X-MEDIA:')) {
      out.media.push({ line: l, a: attrs(l.slice(13)) });
    } else if (l.startsWith('#EXT-X-STREAM-INF:')) {
      let j = i + 1;
      while (j < lines.length && (!lines[j].trim() || lines[j].trim().startsWith('#'))) j++;
      if (j < lines.length) out.variants.push({ line: l, a: attrs(l.slice(18)), uri: lines[j].trim() });
      i = j;
    } else if (l === '#EXTM3U' || /^#EXT-X-(VERSION|INDEPENDENT-SEGMENTS)/.test(l)) {
      out.head.push(l);
    }
  }
  return out;
}

const height = (v) => Number(((v.a.RESOLUTION || '').split('x')[1]) || 0);

/**
 * The video rung to keep. The rule: the highest rung no taller than 480p on
 * a phone (720p on a PC), since a phone's screen shows little more and its
 * storage is small; a lesson without such a rung keeps its lowest one. A
 * lesson with no picture keeps its audio-only variant.
 */
export function pickRung(variants, kind) {
  const video = variants.filter((v) => height(v) > 0);
  if (!video.length) return variants[0] || null;
  const max = kind === 'phone' ? 480 : 720;
  const fit = video.filter((v) => height(v) <= max).sort((a, b) => height(b) - height(a) || Number(b.a.BANDWIDTH) - Number(a.a.BANDWIDTH));
  if (fit.length) return fit[0];
  return video.sort((a, b) => height(a) - height(b))[0];
}

/** The rendition of `type` in `group` for `lang` (else the default, else
 * the first); null when the group has none. */
function pickMedia(media, type, group, lang) {
  const all = media.filter((m) => m.a.TYPE === type && (!group || m.a['GROUP-ID'] === group));
  if (!all.length) return null;
  const want = canonLang(lang);
  return all.find((m) => want && canonLang(m.a.LANGUAGE) === want) || (type === 'AUDIO' ? all.find((m) => m.a.DEFAULT === 'YES') || all[0] : null);
}

/** What to keep of a master playlist: {variant, audio, subs, text} where
 * text is the reduced master (that rung, that audio, those subtitles). */
export function plan(masterText, { kind, audio, subs }) {
  const m = parseMaster(masterText);
  const variant = pickRung(m.variants, kind);
  if (!variant) throw new Error('master.m3u8: no variant');
  const au = variant.a.AUDIO ? pickMedia(m.media, 'AUDIO', variant.a.AUDIO, audio) : null;
  const su = variant.a.SUBTITLES && subs ? pickMedia(m.media, 'SUBTITLES', variant.a.SUBTITLES, subs) : null;
  let vline = variant.line;
  if (!su) vline = vline.replace(/,SUBTITLES="[^"]*"/, '');
  const setDefault = (l) => l.replace(/DEFAULT=NO/, 'DEFAULT=YES').replace(/AUTOSELECT=NO/, 'AUTOSELECT=YES');
  const lines = [...(m.head.length ? m.head : ['#EXTM3U'])];
  if (au) lines.push(setDefault(au.line));
  if (su) lines.push(setDefault(su.line));
  lines.push(vline, variant.uri, '');
  return { variant, audio: au, subs: su, text: lines.join('\n') };
}

/** A media playlist's files (init and segments, in order) and duration. */
export function mediaFiles(text) {
  const files = [];
  let dur = 0;
  for (const raw of text.replace(/\r/g, '').split('\n')) {
    const l = raw.trim();
    if (!l) continue;
    if (l.startsWith('#EXT-X-MAP:')) {
      const u = attrs(l.slice(11)).URI;
      if (u && !files.includes(u)) files.push(u);
    } else if (l.startsWith('#EXTINF:')) {
      dur += parseFloat(l.slice(8)) || 0;
    } else if (!l.startsWith('#')) {
      files.push(l);
    }
  }
  return { files, dur };
}

/** Bytes a kept lesson needs, from its variant's AVERAGE-BANDWIDTH (which
 * counts its video and its largest audio rendition, docs/transcode.md) or
 * BANDWIDTH, over the duration, plus 5% for playlists and subtitles. */
export function estimateBytes(variant, durS) {
  const bw = Number(variant.a['AVERAGE-BANDWIDTH'] || variant.a.BANDWIDTH || 0);
  return Math.ceil((bw * durS) / 8 * 1.05) + 64 * 1024;
}


/** Not enough room: {need, free} in bytes. */
export class NoRoomError extends Error {
  constructor(need, free) {
    super(`no room: need ${need}, free ${free}`);
    this.name = 'NoRoomError';
    this.need = need;
    this.free = free;
  }
}

async function freeBytes() {
  try {
    const e = await navigator.storage.estimate();
    return Math.max(0, (e.quota || 0) - (e.usage || 0));
  } catch {
    return Infinity; // no estimate: QuotaExceededError will tell
  }
}

// ---- service worker and app shell -------------------------------------------

/** Register sw.js (scope: the page's directory, "/" on the server). */
export async function registerWorker() {
  if (!('serviceWorker' in navigator)) return null;
  const reg = await navigator.serviceWorker.register('sw.js', { scope: './' });
  return reg;
}

/** The page's own files (everything the page has loaded from its origin,
 * outside the API, HLS, live and websocket paths) into the shell cache,
 * so the app starts with the network off. */
async function keepShell() {
  const base = new URL('./', document.baseURI);
  const urls = new Set([base.href]);
  for (const e of performance.getEntriesByType('resource')) {
    const u = new URL(e.name);
    if (u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) continue;
    const rel = u.pathname.slice(base.pathname.length);
    if (/^(api|hls|live|ws|wall|admin)(\/|$)/.test(rel) || u.protocol === 'blob:') continue;
    urls.add(`${u.origin}${u.pathname}`);
  }
  for (const p of ['js/player.js', 'js/offline.js', 'js/downloads.js', 'js/engine.js', 'vendor/hls.min.js', 'app.css', 'fonts/fonts.css', 'icon.svg']) {
    urls.add(new URL(p, base).href);
  }
  const cache = await caches.open(SHELL_CACHE);
  await Promise.all([...urls].map(async (u) => {
    try {
      const res = await fetch(u, { cache: 'no-cache' });
      if (res.ok) await cache.put(u, res);
    } catch {
      /* a file that cannot be fetched now is fetched when it is needed */
    }
  }));
}

/** Remove caches of downloads that never finished (the page was closed
 * halfway): a lesson cache with no record; and records whose lesson is
 * no longer whole (the browser evicted it, or its data was cleared): a
 * record with no master in its cache. */
export async function sweep() {
  if (!supported()) return;
  const all = records();
  for (const [id, rec] of Object.entries(all)) {
    if (active.has(Number(id)) || !rec.item) continue;
    if (!(await caches.match(api.hlsUrl(rec.item), { cacheName: cacheName(id) }))) {
      dropRecord(id);
      changed(Number(id), { removed: true });
    }
  }
  const keep = new Set(Object.keys(records()).map(cacheName));
  for (const k of await caches.keys()) {
    if (k.startsWith('yl-lesson-') && !keep.has(k) && !active.has(Number(k.slice(10)))) await caches.delete(k);
  }
}

// ---- download ------------------------------------------------------------------

const isQuota = (err) => err && (err.name === 'QuotaExceededError' || err.code === 22);

/**
 * Keep lesson `item` for offline viewing: audio `audio`, subtitles `subs`
 * (a tag or null), the rung pickRung() chooses for device kind `kind`.
 * Resolves with the record; rejects with NoRoomError (before fetching
 * anything when the estimate does not fit, or on QuotaExceededError), an
 * AbortError (cancel()), or a network error. A failed download leaves no
 * cache behind.
 */
export async function download(item, { kind, audio, subs }) {
  const id = item.id;
  if (active.has(id)) throw new Error('already downloading');
  const ac = new AbortController();
  const a = { pct: 0, ac };
  active.set(id, a);
  changed(id);
  const signal = ac.signal;
  const name = cacheName(id);
  let need = 0;
  let started = false;
  try {
    const master = api.hlsUrl(item);
    const get = async (url) => {
      const res = await fetch(url, { signal });
      if (!res.ok) throw new Error(`${new URL(url).pathname}: HTTP ${res.status}`);
      return res;
    };
    const p = plan(await (await get(master)).text(), { kind, audio, subs });
    // The media playlists, then every file they name.
    const lists = [p.variant.uri, p.audio && p.audio.a.URI, p.subs && p.subs.a.URI].filter(Boolean).map((u) => new URL(u, master).href);
    const texts = await Promise.all(lists.map(async (u) => (await get(u)).text()));
    const files = [];
    let dur = 0;
    texts.forEach((tx, i) => {
      const mf = mediaFiles(tx);
      if (i === 0) dur = mf.dur;
      for (const f of mf.files) files.push(new URL(f, lists[i]).href);
    });
    need = estimateBytes(p.variant, dur || item.duration_s || 0);
    const free = await freeBytes();
    if (need > free) throw new NoRoomError(need, free);
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    await registerWorker().catch(() => {});
    await keepShell();
    started = true;
    const cache = await caches.open(name);
    const extra = [item.thumb && api.thumbUrl(item)].filter(Boolean);
    let done = 0;
    let bytes = 0;
    const total = files.length + lists.length;
    const step = () => {
      done++;
      a.pct = Math.min(99, Math.floor((100 * done) / total));
      changed(id);
    };
    const queue = files.slice();
    const worker = async () => {
      while (queue.length) {
        if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
        const u = queue.shift();
        const res = await get(u);
        const buf = await res.arrayBuffer();
        bytes += buf.byteLength;
        await cache.put(u, new Response(buf, { headers: { 'Content-Type': res.headers.get('Content-Type') || 'application/octet-stream' } }));
        step();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    for (const u of extra) {
      try {
        const res = await get(u);
        if (res.ok) await cache.put(u, res);
      } catch (err) {
        if (isQuota(err) || signal.aborted) throw err;
      }
    }
    const m3u8 = { 'Content-Type': 'application/vnd.apple.mpegurl' };
    for (let i = 0; i < lists.length; i++) {
      await cache.put(lists[i], new Response(texts[i], { headers: m3u8 }));
      bytes += texts[i].length;
      step();
    }
    if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
    // Last: the reduced master marks the lesson as whole.
    await cache.put(master, new Response(p.text, { headers: m3u8 }));
    const rec = {
      id,
      item,
      audio: p.audio ? canonLang(p.audio.a.LANGUAGE) : audio || '',
      subs: p.subs ? canonLang(p.subs.a.LANGUAGE) : '',
      rung: height(p.variant) ? `${height(p.variant)}p` : 'audio',
      bytes,
      ts: Date.now(),
    };
    putRecord(rec);
    active.delete(id);
    changed(id, { done: rec });
    return rec;
  } catch (err) {
    // The other fetches stop too (they share the signal).
    if (!signal.aborted) ac.abort();
    active.delete(id);
    if (started || isQuota(err)) await caches.delete(name).catch(() => {});
    let e = err;
    if (isQuota(err)) e = new NoRoomError(need, await freeBytes());
    changed(id, { error: e });
    throw e;
  }
}

/** Delete a kept lesson: its cache and its record. */
export async function remove(id) {
  cancel(id);
  dropRecord(id);
  if ('caches' in window) await caches.delete(cacheName(id));
  changed(id, { removed: true });
}
