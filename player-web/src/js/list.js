// The lesson browser: search (any language, server side), language and
// category filters, a grid of lesson cards with poster, duration and the
// languages named in their own scripts.
import { h, clear, fmtTime } from './dom.js';
import { t, uiLang } from './i18n.js';
import * as api from './api.js';
import { langName, canonLang } from './langs.js';
import * as dev from './device.js';
import { resumeOf, watched } from './engine.js';
import { load } from './store.js';

/** Lessons kept on this device for offline viewing (offline.js). */
const keptCount = () => Object.keys(load('offline', null) || {}).length;
const dlLink = () => h('a.dl-link', { href: '#/downloads' }, t('downloadsN', { n: keptCount() }));

// The unfiltered first page of the catalog, fetched once per page load and
// shared by the list and the player (next lesson, end-screen suggestions).
let firstPage = null;
export function lessonsOnce(opts) {
  if (!firstPage) {
    firstPage = api.lessons({}, opts).catch((err) => {
      firstPage = null;
      throw err;
    });
  }
  return firstPage;
}

/** The title to show first, and a second one in the site's language. */
export function titles(item) {
  const ts = item.titles || {};
  const ui = uiLang();
  const first = ts[ui] || (ui === 'en' ? item.title : ts.zh) || item.title || ts.zh || Object.values(ts)[0] || `#${item.id}`;
  const d = dev.device();
  const sl = d && d.lang ? canonLang(d.lang) : '';
  let second = null;
  let secondLang = null;
  if (sl && ts[sl] && ts[sl] !== first) {
    second = ts[sl];
    secondLang = sl;
  }
  return { first, second, secondLang };
}

export function langChips(item, withSubs = true) {
  const ul = h('ul.langs', { 'aria-label': t('langs') });
  for (const l of item.languages || []) ul.append(h('li.audio', { lang: l, title: l }, langName(l)));
  if (withSubs) {
    for (const l of item.subtitles || []) ul.append(h('li.sub', { lang: l, title: `${t('subs')} ${l}` }, h('span.cc', { 'aria-hidden': 'true' }, '字'), langName(l)));
  }
  return ul;
}

export class ListView {
  constructor(app, root) {
    this.app = app;
    this.state = { q: '', lang: '', category: '', page: 1 };
    this.items = [];
    this.total = 0;
    this.langs = new Set();
    this.cats = new Set();
    this.abort = null;
    this.lastOpened = null;
    this.build();
    this.mount(root); // loads the first page
  }

  build() {
    this.q = h('input.q', { type: 'search', enterkeyhint: 'search', oninput: () => this.onSearch() });
    this.langRow = h('nav.chips.lang-filter');
    this.catRow = h('nav.chips.cat-filter');
    this.grid = h('div.grid', { role: 'list' });
    this.status = h('p.status', { role: 'status' });
    this.more = h('button.more', { type: 'button', hidden: true, onclick: () => this.load(this.state.page + 1) });
    this.dlRow = h('nav.dl-nav', { hidden: true });
    this.el = h('section.list', {}, h('div.head', {}, h('div.filters', {}, this.q), this.dlRow, this.langRow, this.catRow), this.status, this.grid, this.more);
    this.relabel();
  }

  /** "已下载 (N)" above the list on a device that keeps lessons. */
  renderDlRow() {
    const n = dev.isTv() ? 0 : keptCount();
    this.dlRow.hidden = !n;
    clear(this.dlRow);
    if (n) this.dlRow.append(dlLink());
  }

  relabel() {
    this.renderDlRow();
    this.q.placeholder = t('search');
    this.q.setAttribute('aria-label', t('search'));
    this.more.textContent = t('more');
    this.renderFilters();
    if (this.items.length) this.renderItems();
  }

  mount(root) {
    root.append(this.el);
    this.renderDlRow();
    // Back from the player: focus the card that was opened (TV remote users
    // continue where they were).
    if (!this.items.length) this.load(); // the first load was cut short
    else this.renderItems(); // progress and watched marks may have changed
    const card = this.lastOpened && this.grid.querySelector(`[data-id="${this.lastOpened}"]`);
    if (card) card.focus({ preventScroll: false });
    else if (dev.isTv()) this.focusFirst();
  }

  focusFirst() {
    const c = this.grid.querySelector('.card');
    if (c) c.focus({ preventScroll: true });
  }

  ids() {
    return this.items.map((i) => i.id);
  }

  onSearch() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => {
      this.state.q = this.q.value.trim();
      this.load(1);
    }, 300);
  }

  setFilter(k, v) {
    this.state[k] = v;
    this.renderFilters();
    this.load(1);
  }

  renderFilters() {
    const chip = (k, v, label, lang) => h('button.chip', {
      type: 'button', lang, 'aria-pressed': String(this.state[k] === v), onclick: () => this.setFilter(k, v),
    }, label);
    clear(this.langRow).append(chip('lang', '', t('allLangs')),
      ...[...this.langs].map((l) => chip('lang', l, langName(l), l)));
    this.langRow.hidden = this.langs.size < 2;
    clear(this.catRow).append(chip('category', '', t('allCats')), ...[...this.cats].map((c) => chip('category', c, c)));
    this.catRow.hidden = this.cats.size < 1;
  }

  async load(page = 1) {
    if (this.abort) this.abort.abort();
    const ac = new AbortController();
    this.abort = ac;
    this.state.page = page;
    if (page === 1) this.status.textContent = t('loading');
    let res;
    const plain = page === 1 && !this.state.q && !this.state.lang && !this.state.category;
    try {
      res = plain ? await lessonsOnce() : await api.lessons(this.state, { signal: ac.signal });
      if (ac.signal.aborted) return;
    } catch (err) {
      if (err.name === 'AbortError' || ac.signal.aborted) return;
      const retry = h('button.retry', { type: 'button', onclick: () => this.load(page) }, t('retry'));
      // No network on a device that keeps lessons: say so, and where they are.
      if (!navigator.onLine && keptCount() && !dev.isTv()) clear(this.status).append(h('span.dl-offline', {}, t('dlOffline')), ' ', dlLink(), ' ', retry);
      else clear(this.status).append(t('serverDown'), ' ', retry);
      // A remote needs something focused to press.
      const a = document.activeElement;
      if (dev.isTv() && (!a || a === document.body || !a.isConnected)) retry.focus();
      return;
    }
    const items = res.items || [];
    this.items = page === 1 ? items : this.items.concat(items);
    this.total = res.total ?? this.items.length;
    // Filters offer what the unfiltered catalog has.
    if (!this.state.q && !this.state.lang && !this.state.category) {
      for (const it of items) {
        for (const l of [...(it.languages || []), ...(it.subtitles || [])]) if (l !== 'und') this.langs.add(l);
        if (it.category) this.cats.add(it.category);
      }
      this.renderFilters();
    }
    this.status.textContent = this.items.length ? '' : (this.state.q || this.state.lang || this.state.category ? t('noResults') : t('empty'));
    this.renderItems();
    this.more.hidden = this.items.length >= this.total || !items.length;
    if (dev.isTv() && page === 1 && (!document.activeElement || document.activeElement === document.body)) this.focusFirst();
  }

  renderItems() {
    const focusedId = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.id;
    clear(this.grid);
    for (const it of this.items) this.grid.append(this.card(it));
    if (focusedId) {
      const c = this.grid.querySelector(`[data-id="${focusedId}"]`);
      if (c) c.focus({ preventScroll: true });
    }
  }

  card(it) {
    const { first, second, secondLang } = titles(it);
    const poster = api.thumbUrl(it);
    const r = resumeOf(it.id);
    const pct = r && r.dur ? Math.min(100, Math.round((100 * r.pos) / r.dur)) : 0;
    const done = watched(it.id);
    const c = it.course;
    // No picture, or one that fails (an audio-only lesson's poster may be
    // missing): a title card, never a broken-image icon.
    const thumb = h('div.thumb', {},
      h('span.tcard', { 'aria-hidden': 'true' }, first),
      poster ? h('img', { src: poster, alt: '', loading: 'lazy', decoding: 'async', onerror: (e) => e.target.remove() }) : null,
      done ? h('span.watched', {}, t('watched')) : null,
      pct > 0 && !done ? h('span.progress', { style: `--p:${pct}%`, title: t('progress', { p: pct }) }) : null,
      h('span.dur', {}, fmtTime(it.duration_s)));
    return h('a.card', { href: `#/lesson/${it.id}`, 'data-id': String(it.id), role: 'listitem', onclick: () => { this.lastOpened = it.id; } },
      thumb,
      h('div.meta', {},
        h('h3.title', {}, first),
        second ? h('p.alt', { lang: secondLang }, second) : null,
        c && c.title ? h('p.course', {}, t('courseOf', { title: c.title, i: c.index, n: c.count })) : null,
        langChips(it)));
  }

  onKey() {
    return false;
  }

  close() {
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.el.remove();
  }
}
