// yunling player-web: the lesson browser and player for village TVs, phones
// and PCs. One page; the hash is the route: #/ the list, #/lesson/ID the
// player. Plain ES modules, no framework.
import { h, clear } from './dom.js';
import { t, uiLang, setUiLang } from './i18n.js';
import * as dev from './device.js';
import { ViewQueue } from './views.js';
import { isBackKey, focusables, move } from './nav.js';
import { ListView } from './list.js';
import { ApiError } from './api.js';
import { startInbox } from './inbox.js';
import { load } from './store.js';

const params = new URLSearchParams(location.search);
const app = {
  view: null,
  // Test knob: ?beat=SECONDS shortens the 15 s beat interval.
  beatMs: Math.max(1000, Number(params.get('beat')) * 1000 || 15000),
  // Test knob: ?engine=native plays with the browser's own HLS, not hls.js.
  engine: params.get('engine'),
  // Test knob: ?live=hls plays a meeting's live HLS, not its websocket.
  liveEngine: params.get('live'),
  choice: { audio: null, subs: null, burn: null }, // menu choices of this page (player.js)
  queue: null,
  toast,
  go,
  overlay: null, // the open menu or dialog: arrow keys stay inside it
};
window.yl = app; // for tests and for debugging on a TV

// Remembered switches from the URL (player-web/README.md).
if (params.has('tv')) dev.setTv(params.get('tv') !== '0');
if (params.has('lang')) setUiLang(params.get('lang'));
setUiLang(uiLang());
document.documentElement.classList.toggle('tv', dev.isTv());
document.body.classList.add(`client-${dev.clientKind()}`);

app.queue = new ViewQueue({
  storage: window.localStorage,
  fetchFn: (...a) => fetch(...a),
  auth: () => dev.device(),
  onChange: (n) => showQueued(n),
  // 401/403: the events stay queued; the station learns why.
  onAuth: (ok) => {
    dev.markBad(!ok);
    renderShell();
    if (!ok) toast(t('notRegistered'), 8000);
  },
  log: (m) => console.info(m),
});
window.addEventListener('online', () => app.queue.online());
// Leaving the page: end the playing session and send what is queued by
// navigator.sendBeacon (the token in the body), else fetch(keepalive).
window.addEventListener('pagehide', () => {
  if (app.view && app.view.close) app.view.close({ unloading: true });
  const send = navigator.sendBeacon ? (url, body) => navigator.sendBeacon(url, body) : null;
  if (!app.queue.beacon(send)) app.queue.flush({ keepalive: true });
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') app.queue.flush({ keepalive: true });
});

// ---- shell -----------------------------------------------------------------

const siteEl = h('span.site');
const queuedEl = h('span.queued', { hidden: true });
const uiBtn = h('button.ui-switch', { type: 'button', onclick: () => switchUi() });
const setupBtn = h('button.setup-btn', { type: 'button', onclick: () => openSetup() });
const header = h('header.top', {},
  h('a.brand', { href: '#/' }, h('span.logo', { 'aria-hidden': 'true' }, '云'), h('span.brand-name')),
  siteEl, queuedEl,
  h('div.tools', {}, uiBtn, setupBtn));
const main = h('main#view');
const toastEl = h('div.toast', { role: 'status', 'aria-live': 'polite' });
document.body.append(header, main, toastEl);

function renderShell() {
  document.title = t('app');
  header.querySelector('.brand-name').textContent = t('app');
  uiBtn.textContent = t('uiSwitch');
  setupBtn.textContent = `⚙ ${t('setup')}`;
  const d = dev.device();
  siteEl.textContent = d ? (d.bad ? `${d.name} · ${t('notRegistered')}` : d.name) : t('notSetUp');
  siteEl.classList.toggle('unset', !d);
  siteEl.classList.toggle('bad', !!(d && d.bad));
  showQueued(app.queue.length);
}

function showQueued(n) {
  queuedEl.hidden = !n;
  queuedEl.textContent = n ? t('queued', { n }) : '';
}

let toastTimer = null;
function toast(msg, ms = 4000) {
  toastEl.textContent = msg;
  toastEl.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toastEl.classList.remove('show'), ms);
}

function switchUi() {
  setUiLang(uiLang() === 'zh' ? 'en' : 'zh');
  renderShell();
  if (app.view && app.view.relabel) app.view.relabel();
}

// ---- device setup ------------------------------------------------------------

async function applySetupParam() {
  const s = params.get('setup');
  if (s === null) return;
  // Take the token out of the address bar (and history) at once.
  params.delete('setup');
  const qs = params.toString();
  history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}${location.hash}`);
  const p = dev.parseSetup(s);
  if (!p) {
    toast(t('setupBad', { why: t('setupFormat') }), 8000);
    return;
  }
  await doSetup(p.site, p.token);
}

/** Check the token with the server, then remember the station. Returns
 * '' when saved, else the reason (also shown in a toast). */
async function doSetup(site, token) {
  try {
    const d = await dev.setup(site, token, t);
    toast(t('setupSaved', { name: d.name }));
    renderShell();
    app.queue.online(); // events kept while the token was refused go now
    return '';
  } catch (err) {
    const why = err instanceof dev.SetupError ? err.message : err instanceof ApiError && err.status === 0 ? t('serverDown') : t('playError', { why: err.message });
    toast(t('setupBad', { why }), 8000);
    return why;
  }
}

function openSetup() {
  const d = dev.device();
  const code = h('input.code', { type: 'text', inputmode: 'numeric', autocomplete: 'off', value: d ? d.site : '', placeholder: '532901104201' });
  const tok = h('input.token', { type: 'password', autocomplete: 'off', value: d ? d.token : '' });
  const tvBox = h('input', { type: 'checkbox', checked: dev.isTv() });
  const err = h('p.error', { role: 'alert', hidden: true });
  const dlg = h('div.dialog', { role: 'dialog', 'aria-modal': 'true', 'aria-label': t('setup') },
    h('h2', { text: t('setup') }),
    h('label', {}, h('span', { text: t('siteCode') }), code),
    h('label', {}, h('span', { text: t('token') }), tok),
    h('label.check', {}, tvBox, h('span', { text: t('tvMode') })),
    h('p.hint', { text: t('setupLink') }),
    err,
    h('div.row', {},
      h('button.primary', { type: 'button', onclick: async () => {
        dev.setTv(tvBox.checked);
        document.documentElement.classList.toggle('tv', dev.isTv());
        if (!code.value.trim()) {
          closeOverlay();
          return;
        }
        const why = await doSetup(code.value.trim(), tok.value.trim());
        err.hidden = !why;
        err.textContent = why ? t('setupBad', { why }) : '';
        if (!why) closeOverlay();
      } }, t('save')),
      h('button', { type: 'button', onclick: () => { dev.clearSetup(); renderShell(); closeOverlay(); } }, t('clear')),
      h('button', { type: 'button', onclick: () => closeOverlay() }, t('close'))));
  openOverlay(h('div.backdrop', {}, dlg));
  code.focus();
}

// An overlay (dialog or menu) keeps arrow-key focus inside it; Back closes it
// and gives the focus back to where it was.
function openOverlay(el, { onClose } = {}) {
  closeOverlay();
  const back = document.activeElement;
  document.body.append(el);
  main.inert = true;
  header.inert = true;
  app.overlay = { el, back, onClose };
}

function closeOverlay() {
  const o = app.overlay;
  if (!o) return;
  app.overlay = null;
  o.el.remove();
  main.inert = false;
  header.inert = false;
  if (o.onClose) o.onClose();
  if (o.back && o.back.isConnected) o.back.focus({ preventScroll: true });
}
app.openOverlay = openOverlay;
app.closeOverlay = closeOverlay;

// ---- keys ------------------------------------------------------------------

function editable(el) {
  return el && (el.isContentEditable || (el.tagName === 'INPUT' && !['checkbox', 'radio', 'range', 'button'].includes(el.type)) || el.tagName === 'TEXTAREA');
}

document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  const a = document.activeElement;
  if (isBackKey(e) && !(e.key === 'Backspace' && editable(a))) {
    if (app.overlay) {
      e.preventDefault();
      closeOverlay();
      return;
    }
    if (app.view && app.view.onBack && app.view.onBack()) {
      e.preventDefault();
      return;
    }
  }
  if (!app.overlay && app.view && app.view.onKey && app.view.onKey(e)) {
    e.preventDefault();
    return;
  }
  if (!(e.key in { ArrowLeft: 1, ArrowRight: 1, ArrowUp: 1, ArrowDown: 1 })) {
    // Enter on a focusable non-button (a card's tabindex element) clicks it.
    if (e.key === 'Enter' && a && a.getAttribute('tabindex') === '0' && a.tagName !== 'BUTTON' && a.tagName !== 'A') {
      e.preventDefault();
      a.click();
    }
    return;
  }
  // Arrow keys: spatial navigation on TVs and inside menus and dialogs
  // everywhere. Text fields keep left/right while the caret can move.
  if (!dev.isTv() && !app.overlay) return;
  if (editable(a) && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
    const atStart = a.selectionStart === 0 && a.selectionEnd === 0;
    const atEnd = a.selectionStart === a.value.length;
    if ((e.key === 'ArrowLeft' && !atStart) || (e.key === 'ArrowRight' && !atEnd)) return;
  }
  const scope = app.overlay ? app.overlay.el : document;
  const cands = focusables(scope);
  e.preventDefault();
  if (!a || a === document.body || !cands.includes(a)) {
    if (cands[0]) cands[0].focus();
    return;
  }
  move(e.key, a, cands);
});

// ---- routing ---------------------------------------------------------------

let listView = null;
let routeGen = 0;

// The player's module is fetched when a lesson first opens, not with the list.
let playerMod = null;
const loadPlayer = () => (playerMod ||= import('./player.js'));

let liveMod = null;
// The live page's stylesheet comes with its module (not in app.css: the
// first load of the list stays small); the view waits for both.
function loadCss(href) {
  return new Promise((resolve) => {
    const l = h('link', { rel: 'stylesheet', href });
    l.addEventListener('load', resolve, { once: true });
    l.addEventListener('error', resolve, { once: true }); // unstyled, not stuck
    document.head.append(l);
  });
}
const loadLive = () => (liveMod ||= Promise.all([import('./live.js'), loadCss('live.css')]).then(([m]) => m));

let dlMod = null;
const loadDownloads = () => (dlMod ||= import('./downloads.js'));

async function route() {
  closeOverlay();
  const m = /^#\/lesson\/(\d+)/.exec(location.hash);
  const lm = /^#\/live\/(\d+)/.exec(location.hash);
  const dl = /^#\/downloads/.test(location.hash);
  if (app.view && app.view.close) app.view.close();
  clear(main);
  document.body.classList.toggle('playing', !!(m || lm));
  if (dl) {
    app.view = null;
    const gen = ++routeGen;
    let mod;
    try {
      mod = await loadDownloads();
    } catch (err) {
      dlMod = null;
      toast(t('serverDown'));
      return;
    }
    if (gen !== routeGen) return;
    app.view = new mod.DownloadsView(app, main);
  } else if (lm) {
    app.view = null;
    const gen = ++routeGen;
    let mod;
    try {
      mod = await loadLive();
    } catch (err) {
      liveMod = null;
      toast(t('serverDown'));
      return;
    }
    if (gen !== routeGen) return;
    const id = Number(lm[1]);
    app.view = new mod.LiveView(app, main, id, app.live && app.live.id === id ? app.live.title : '');
  } else if (m) {
    const id = Number(m[1]);
    app.view = null;
    const gen = ++routeGen;
    let mod;
    try {
      mod = await loadPlayer();
    } catch (err) {
      playerMod = null;
      toast(t('serverDown'));
      return;
    }
    if (gen !== routeGen) return; // the route changed meanwhile
    app.view = new mod.PlayerView(app, main, id, listView ? listView.ids() : null);
  } else {
    routeGen++;
    if (!listView) listView = new ListView(app, main);
    else listView.mount(main);
    app.view = listView;
  }
}

/** Navigate: go('#/lesson/7'). replace=true for autoplay (Back = the list). */
function go(hash, replace = false) {
  if (replace) {
    history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
    route();
  } else {
    location.hash = hash;
  }
}

window.addEventListener('hashchange', route);

// ---- live meetings ---------------------------------------------------------

/**
 * A meeting sent to this station started or ended (the channel's "meeting"
 * message, or the current meeting asked for at start). A TV goes to it by
 * itself and back to where it was when it ends; a phone or PC shows a
 * banner to tap.
 */
app.live = null; // {id, title} of the live meeting, or null
app.onMeeting = (m) => {
  const here = `#/live/${m.id}`;
  if (m.state === 'live') {
    if (app.live && app.live.id === m.id) return;
    app.live = { id: m.id, title: String(m.title || '') };
    if (dev.isTv()) {
      if (location.hash !== here) app.liveReturn = location.hash || '#/';
      go(here);
    } else {
      showLiveBanner(app.live);
    }
    return;
  }
  if (app.live && app.live.id === m.id) app.live = null;
  hideLiveBanner();
  if (location.hash === here) {
    toast(t('liveEnded'));
    const back = app.liveReturn || '#/';
    app.liveReturn = null;
    if (dev.isTv()) go(back, true);
  }
};

let liveBanner = null;
function showLiveBanner(live) {
  hideLiveBanner();
  liveBanner = h('div.live-banner', { role: 'status' },
    h('span', { text: t('liveNow', { title: live.title }) }), ' ',
    h('a.live-watch', { href: `#/live/${live.id}`, onclick: () => hideLiveBanner() }, t('liveWatch')));
  document.body.append(liveBanner);
}
function hideLiveBanner() {
  if (liveBanner) liveBanner.remove();
  liveBanner = null;
}

/** A station's device turned on during a meeting: join it too. */
async function joinCurrentMeeting() {
  const d = dev.device();
  if (!d || !d.token) return;
  try {
    const r = await fetch('api/v1/meetings/current', { headers: { Authorization: `Bearer ${d.token}` } });
    if (!r.ok) return;
    const j = await r.json();
    if (j.meeting && j.meeting.state === 'live') app.onMeeting({ ...j.meeting, state: 'live' });
  } catch (err) {
    /* offline: the channel tells us when it connects */
  }
}

/** A device that keeps lessons for offline viewing (offline.js) keeps its
 * service worker registered (and updated); the others never get one. A
 * lesson cache without a record is a download cut short: swept. */
function offlineStart() {
  if (dev.isTv() || !window.isSecureContext || !('serviceWorker' in navigator) || !('caches' in window)) return;
  const kept = load('offline', null) || {};
  if (Object.keys(kept).length) navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => {});
  caches.keys().then((ks) => {
    if (ks.some((k) => k.startsWith('yl-lesson-') && !kept[k.slice(10)])) import('./offline.js').then((m) => m.sweep());
  }).catch(() => {});
}

renderShell();
offlineStart();
startInbox(app); // notices: the channel, the inbox, the banner (inbox.js)
applySetupParam().finally(() => {
  route();
  joinCurrentMeeting();
  dev.refresh().then(renderShell);
  app.queue.flush();
});
