// "已下载" (#/downloads): the lessons kept on this device for offline
// viewing (offline.js), with title, languages, size and date; play and
// delete. With the network off this is what the app can show: the page says
// so and offers nothing else.
import { h, clear, fmtTime } from './dom.js';
import { t, uiLang } from './i18n.js';
import * as api from './api.js';
import { langName } from './langs.js';
import { titles } from './list.js';
import * as off from './offline.js';

export class DownloadsView {
  constructor(app, root) {
    this.app = app;
    this.notice = h('p.dl-offline', { role: 'status' });
    this.rows = h('div.dl-rows', { role: 'list' });
    this.el = h('section.downloads', {},
      h('div.dl-head', {}, h('h2', { text: t('downloads') }), h('a.dl-all', { href: '#/' }, t('allLessons'))),
      this.notice, this.rows);
    this.onChange = () => this.render();
    off.events.addEventListener('change', this.onChange);
    window.addEventListener('online', this.onChange);
    window.addEventListener('offline', this.onChange);
    root.append(this.el);
    this.render();
    off.sweep().catch(() => {});
  }

  render() {
    this.notice.hidden = navigator.onLine;
    this.notice.textContent = navigator.onLine ? '' : t('dlOffline');
    const recs = Object.values(off.records()).sort((a, b) => b.ts - a.ts);
    const focused = document.activeElement && this.rows.contains(document.activeElement);
    clear(this.rows);
    if (!recs.length) {
      this.rows.append(h('p.status.dl-none', {}, t('dlNone')));
      return;
    }
    const date = (ts) => new Date(ts).toLocaleDateString(uiLang() === 'en' ? 'en' : 'zh-CN');
    for (const r of recs) {
      const it = r.item || { id: r.id };
      const thumb = api.thumbUrl(it);
      const langs = [h('span.audio', { lang: r.audio }, langName(r.audio))];
      if (r.subs) langs.push(' · ', h('span.sub', { lang: r.subs }, h('span.cc', { 'aria-hidden': 'true' }, '字'), langName(r.subs)));
      this.rows.append(h('div.dl-row', { role: 'listitem', 'data-id': String(r.id) },
        h('div.thumb', {},
          h('span.tcard', { 'aria-hidden': 'true' }, titles(it).first),
          thumb ? h('img', { src: thumb, alt: '', decoding: 'async', onerror: (e) => e.target.remove() }) : null,
          h('span.dur', {}, fmtTime(it.duration_s))),
        h('div.meta', {},
          h('h3.title', {}, titles(it).first),
          h('p.dl-langs', {}, ...langs),
          h('p.dl-size', {}, `${r.rung} · ${off.fmtMB(r.bytes)} · ${t('dlOn', { date: date(r.ts) })}`)),
        h('div.dl-actions', {},
          h('a.dl-play.primary', { href: `#/lesson/${r.id}` }, t('play')),
          h('button.dl-delete', { type: 'button', onclick: () => off.remove(r.id) }, t('dlDelete')))));
    }
    if (focused) {
      const first = this.rows.querySelector('a, button');
      if (first) first.focus({ preventScroll: true });
    }
  }

  relabel() {
    this.el.querySelector('h2').textContent = t('downloads');
    this.el.querySelector('.dl-all').textContent = t('allLessons');
    this.render();
  }

  onKey() {
    return false;
  }

  close() {
    off.events.removeEventListener('change', this.onChange);
    window.removeEventListener('online', this.onChange);
    window.removeEventListener('offline', this.onChange);
    this.el.remove();
  }
}
