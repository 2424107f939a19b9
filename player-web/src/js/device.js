// This device: which station (site) it belongs to, TV mode, client kind.
// A station device is set up once with /?setup=<site-code>.<site-token>
// (player-web/README.md) or by hand in the setup dialog; both are remembered in
// localStorage. TV mode: /?tv=1 (remembered; /?tv=0 turns it off).
import { load, save } from './store.js';
import * as api from './api.js';

let dev = load('device', null); // {site, token, name, lang}

export function device() {
  return dev;
}

/** Parse "<site-code>.<token>"; the code is digits, the token the rest. */
export function parseSetup(s) {
  const m = /^\s*(\d{2,12})\.(\S+)\s*$/.exec(s || '');
  return m ? { site: m[1], token: m[2] } : null;
}

/** A setup the server refused, with a message for the screen. */
export class SetupError extends Error {}

/** Remember the device's site once the server says the token is this
 * site's (GET /api/v1/whoami): a wrong token is refused here, not found
 * out later when every viewing event comes back 401. Fetches the site's
 * name and language. Throws SetupError (message in the UI language) or
 * ApiError (server unreachable). */
export async function setup(site, token, msg) {
  site = String(site);
  let who;
  try {
    who = await api.whoami(token);
  } catch (err) {
    if (err.status === 401 || err.status === 403) throw new SetupError(msg('tokenBad'));
    throw err;
  }
  if (who.role === 'viewer') throw new SetupError(msg('tokenViewer'));
  if (who.role === 'site' && who.scope !== site) {
    throw new SetupError(msg('tokenOther', { name: (who.site && who.site.name) || who.scope }));
  }
  if (who.role !== 'site' && !site.startsWith(who.scope)) throw new SetupError(msg('tokenScope', { code: site }));
  let s;
  try {
    s = await api.site(site);
  } catch (err) {
    if (err.status === 404 || err.status === 400) throw new SetupError(msg('siteUnknown', { code: site }));
    throw err;
  }
  dev = { site, token, name: s.name || site, lang: s.lang || '', bad: false };
  save('device', dev);
  return dev;
}

/** The server refused the token (401 to the viewing events): remembered so
 * the header says so until the device is set up again. */
export function markBad(bad) {
  if (!dev || !!dev.bad === bad) return;
  dev = { ...dev, bad };
  save('device', dev);
}

export function clearSetup() {
  dev = null;
  save('device', null);
}

/** Refresh the site's name and language (they may change on the server). */
export async function refresh() {
  if (!dev) return;
  try {
    const s = await api.site(dev.site);
    dev = { ...dev, name: s.name || dev.name, lang: s.lang || '' };
    save('device', dev);
  } catch {
    /* offline: keep what we know */
  }
}

let tv = !!load('tv', false);

export function isTv() {
  return tv;
}

export function setTv(on) {
  tv = !!on;
  save('tv', tv);
}

/** Client kind of viewing events: tv | phone | pc. */
export function clientKind() {
  if (tv) return 'tv';
  const coarse = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
  return coarse || Math.min(screen.width, screen.height) < 600 ? 'phone' : 'pc';
}

/** Preferred languages: the site's, then the browser's. */
export function langPrefs() {
  const p = [];
  if (dev && dev.lang) p.push(dev.lang);
  for (const l of navigator.languages || [navigator.language]) if (l) p.push(l);
  return p;
}
