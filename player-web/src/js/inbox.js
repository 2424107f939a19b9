// The station's inbox (通知): notices pushed by the province, county or
// township over the websocket channel (channel.js). A button with the
// unread count in the header opens it; a banner says when one arrives
// (while a lesson plays too) without taking the focus from the player.
//
// TV: everything with the remote's arrows, OK and Back: the list of notices,
// OK opens one in a big-type reading view (↑/↓ scroll a long one), Back
// returns to the list, Back again closes the inbox and gives the focus back
// to where it was. The menu key (ContextMenu; Info on webOS/Tizen/HbbTV, and
// I on a keyboard) opens the inbox from anywhere, the banner's 查看 button
// too. Phone and PC: the same panel, by touch or mouse.
//
// Opening a notice marks it read: "read" goes over the channel (or by
// POST /api/v1/notices/{id}/read without it). Text is set with textContent
// only: a notice's body is plain text with paragraphs, never HTML.
import { h, clear } from './dom.js';
import { uiLang } from './i18n.js';
import * as dev from './device.js';
import * as api from './api.js';
import { isBackKey } from './nav.js';
import { Notices, channelUrl, viewsFetch } from './channel.js';

const S = {
  zh: {
    inbox: '通知',
    unread: '{n} 条未读',
    noneUnread: '没有未读通知',
    empty: '还没有通知',
    close: '关闭',
    backToList: '返回列表',
    open: '查看',
    newOne: '新通知：{title}',
    newMany: '{n} 条新通知',
    hintTv: '按“菜单”键查看',
    hintPc: '按 I 键查看',
    from: '来自 {name}',
    refused: '本站未注册：站点令牌无效或已过期，收不到通知。请重新设置本站。',
    refusedShort: '本站未注册',
    offline: '暂时连不上服务器，{s} 秒后重试…',
    connecting: '正在连接…',
    withdrawn: '这条通知已被撤回',
    attachments: '附件',
    attFailed: '附件打不开（{why}）',
    notSetUp: '设置本站后，这里会收到上级发来的通知。',
  },
  en: {
    inbox: 'Notices',
    unread: '{n} unread',
    noneUnread: 'No unread notices',
    empty: 'No notices yet',
    close: 'Close',
    backToList: 'Back to the list',
    open: 'Open',
    newOne: 'New notice: {title}',
    newMany: '{n} new notices',
    hintTv: 'Press Menu to read',
    hintPc: 'Press I to read',
    from: 'From {name}',
    refused: 'Station not registered: the site token is invalid or expired, so no notices arrive. Set up the station again.',
    refusedShort: 'Not registered',
    offline: 'Cannot reach the server; retrying in {s} s…',
    connecting: 'Connecting…',
    withdrawn: 'This notice was withdrawn',
    attachments: 'Attachments',
    attFailed: 'Cannot open the attachment ({why})',
    notSetUp: 'Once the station is set up, notices from above arrive here.',
  },
};

function tr(key, vars) {
  let s = S[uiLang()][key] ?? S.zh[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
  return s;
}

const BANNER_MS = 15000;

/** Keys that open the inbox: the remote's menu or info key, I on a keyboard. */
function isInboxKey(e) {
  return e.key === 'ContextMenu' || e.key === 'Info' || e.keyCode === 457 || e.key === 'i' || e.key === 'I';
}

function editable(el) {
  return el && (el.isContentEditable || el.tagName === 'TEXTAREA' ||
    (el.tagName === 'INPUT' && !['checkbox', 'radio', 'range', 'button'].includes(el.type)));
}

/** Paragraphs of a plain-text body: blank lines part them; a single line
 * break stays a line break (CSS white-space: pre-line). */
export function paragraphs(body) {
  return String(body || '').replace(/\r\n?/g, '\n').split(/\n[ \t\u3000]*\n+/).map((p) => p.replace(/^\n+|\n+$/g, '')).filter((p) => p.trim());
}

function fmtWhen(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  try {
    return new Intl.DateTimeFormat(uiLang() === 'en' ? 'en-GB' : 'zh-CN', {
      year: sameYear ? undefined : 'numeric', month: uiLang() === 'en' ? 'short' : 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit',
    }).format(d);
  } catch {
    return d.toISOString().slice(0, 16).replace('T', ' ');
  }
}

export class Inbox {
  constructor(app) {
    this.app = app;
    this.panel = null; // the open inbox (an app overlay)
    this.reading = null; // the id shown in the reading view
    this.paused = null; // the video this inbox paused
    this.names = new Map(); // site code -> name, for "from"
    this.bannerTimer = null;
    this.build();
    this.notices = new Notices({
      storage: window.localStorage,
      fetchFn: (...a) => fetch(...a),
      auth: () => dev.device(),
      client: () => dev.clientKind(),
      url: channelUrl(document.baseURI),
      onChange: () => this.render(),
      onArrive: (items) => this.arrived(items),
      onMeeting: (m) => app.onMeeting && app.onMeeting(m),
      onState: (s, info) => this.state(s, info),
      log: (m) => console.info(m),
    });
    // ?views=ws: viewing events ride the channel while it is open (HTTP
    // otherwise, and always on page close). Off by default for now: the
    // browser tests of the player watch POST /api/v1/views.
    if (new URLSearchParams(location.search).get('views') === 'ws' && app.queue && typeof app.queue.fetchFn === 'function') {
      app.queue.fetchFn = viewsFetch(this.notices.channel, app.queue.fetchFn);
    }
    this.notices.refresh();
    // The setup can change on this page (the ⚙ dialog, ?setup=): look.
    this.watch = setInterval(() => this.notices.refresh(), 1000);
    window.addEventListener('online', () => this.notices.channel.online());
    window.addEventListener('pagehide', () => this.notices.stop());
    window.addEventListener('pageshow', (e) => { if (e.persisted) this.notices.refresh(); });
    window.addEventListener('keydown', (e) => this.onKey(e), true);
    new MutationObserver(() => this.relabel()).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  }

  build() {
    this.badge = h('span.ib-badge', { hidden: true, 'aria-hidden': 'true' });
    this.label = h('span.ib-label');
    this.btn = h('button.ib-btn', { type: 'button', onclick: () => this.open() }, h('span.ib-icon', { 'aria-hidden': 'true' }, '✉'), this.label, this.badge);
    this.refusedEl = h('span.ib-refused', { hidden: true });
    const tools = document.querySelector('header.top .tools');
    if (tools) tools.prepend(this.refusedEl, this.btn);
    this.bannerText = h('span.ib-banner-text');
    this.bannerHint = h('span.ib-banner-hint');
    this.bannerBtn = h('button.ib-banner-open', { type: 'button', onclick: () => this.open() });
    this.banner = h('div.ib-banner', { role: 'status', 'aria-live': 'polite' }, this.bannerText, this.bannerHint, this.bannerBtn);
    document.body.append(this.banner);
    this.relabel();
  }

  relabel() {
    this.label.textContent = tr('inbox');
    this.bannerBtn.textContent = tr('open');
    this.bannerHint.textContent = dev.isTv() ? tr('hintTv') : (dev.clientKind() === 'pc' ? tr('hintPc') : '');
    this.refusedEl.textContent = tr('refusedShort');
    this.render();
  }

  get store() {
    return this.notices.store;
  }

  // ---- state -----------------------------------------------------------------

  state(s, info) {
    this.chState = s;
    this.chInfo = info;
    const refused = s === 'refused';
    this.refusedEl.hidden = !refused;
    this.btn.classList.toggle('refused', refused);
    if (refused && !this.toldRefused) {
      this.toldRefused = true;
      if (this.app.toast) this.app.toast(tr('refused'), 10000);
    }
    if (!refused) this.toldRefused = false;
    if (this.panel) this.renderStatus();
  }

  render() {
    if (!this.notices) return; // still being built
    const n = this.store.unread;
    this.badge.hidden = !n;
    this.badge.textContent = n > 99 ? '99+' : String(n);
    this.btn.setAttribute('aria-label', n ? `${tr('inbox')}（${tr('unread', { n })}）` : tr('inbox'));
    this.btn.dataset.unread = String(n);
    if (this.banner.classList.contains('show')) this.bannerText_();
    if (this.panel) this.renderPanel();
  }

  arrived(items) {
    if (this.panel) return; // the open inbox shows them
    // While the banner shows, later arrivals add up ("3 条新通知").
    if (!this.banner.classList.contains('show')) this.shown = new Set();
    for (const it of items) this.shown.add(it.id);
    if (!this.bannerText_()) return;
    this.banner.classList.add('show');
    clearTimeout(this.bannerTimer);
    this.bannerTimer = setTimeout(() => this.hideBanner(), BANNER_MS);
  }

  /** The banner's text from its notices still unread (one may have been
   * withdrawn, or read on another device); false, and hidden, if none. */
  bannerText_() {
    const all = [...(this.shown || [])].map((id) => this.store.get(id)).filter((it) => it && !it.read);
    if (!all.length) {
      this.hideBanner();
      return false;
    }
    const last = all[all.length - 1];
    this.bannerText.textContent = all.length === 1 ? tr('newOne', { title: last.title }) : tr('newMany', { n: all.length });
    this.banner.dataset.id = String(last.id);
    return true;
  }

  hideBanner() {
    clearTimeout(this.bannerTimer);
    this.banner.classList.remove('show');
  }

  siteName(code) {
    if (!code) return '';
    if (this.names.has(code)) return this.names.get(code) || code;
    this.names.set(code, '');
    api.site(code).then((s) => {
      this.names.set(code, (s && s.name) || code);
      if (this.panel) this.renderPanel();
    }, () => this.names.set(code, code));
    return code;
  }

  // ---- keys ------------------------------------------------------------------

  // Capture phase, before main.js: the reading view takes Back (to the
  // list) and ↑/↓ (scroll); the inbox key opens the inbox.
  onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const open = this.panel && this.app.overlay && this.app.overlay.el === this.panel;
    if (open && this.reading !== null) {
      if (isBackKey(e) && !(e.key === 'Backspace' && editable(document.activeElement))) {
        this.stop(e);
        this.showList();
        return;
      }
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        const b = this.rbody;
        const down = e.key === 'ArrowDown';
        const room = down ? b.scrollHeight - b.clientHeight - b.scrollTop : b.scrollTop;
        if (room > 1) {
          this.stop(e);
          b.scrollBy({ top: (down ? 1 : -1) * Math.max(40, b.clientHeight * 0.6) });
        }
      }
      return;
    }
    if (open || this.app.overlay) return;
    if (isInboxKey(e) && !editable(document.activeElement) && dev.device()) {
      this.stop(e);
      this.open();
    }
  }

  stop(e) {
    e.preventDefault();
    e.stopPropagation();
  }

  // ---- the panel ---------------------------------------------------------------

  open() {
    if (this.panel) return;
    this.hideBanner();
    const p = this.app.player;
    const v = p && p.video;
    if (v && !v.paused && !v.ended) {
      v.pause();
      this.paused = v;
    }
    this.count = h('span.ib-count');
    this.status = h('p.ib-status', { hidden: true });
    this.list = h('ul.ib-list');
    this.closeBtn = h('button.ib-close', { type: 'button', onclick: () => this.app.closeOverlay() });
    this.backBtn = h('button.ib-back', { type: 'button', onclick: () => this.showList() });
    this.rtitle = h('h2.ib-rtitle');
    this.rmeta = h('p.ib-rmeta');
    this.rbody = h('div.ib-rbody', { tabindex: '-1' });
    this.reader = h('article.ib-reader', { hidden: true }, h('div.ib-rhead', {}, this.backBtn), this.rtitle, this.rmeta, this.rbody);
    this.listView = h('div.ib-listview', {},
      h('div.ib-head', {}, h('h2.ib-title', {}, h('span.ib-h', {}), this.count), this.closeBtn),
      this.status, this.list);
    const dlg = h('div.ib-panel', { role: 'dialog', 'aria-modal': 'true' }, this.listView, this.reader);
    this.panel = h('div.backdrop.ib-backdrop', { onclick: (e) => { if (e.target === e.currentTarget) this.app.closeOverlay(); } }, dlg);
    this.reading = null;
    this.app.openOverlay(this.panel, { onClose: () => this.closed() });
    this.renderPanel();
    this.renderStatus();
    const first = this.list.querySelector('.ib-item.unread') || this.list.querySelector('.ib-item') || this.closeBtn;
    first.focus({ preventScroll: true });
  }

  closed() {
    this.panel = null;
    this.reading = null;
    const v = this.paused;
    this.paused = null;
    if (v && v.isConnected && v.paused) v.play().catch(() => {});
  }

  renderStatus() {
    if (!this.status) return;
    let msg = '';
    if (!dev.device()) msg = tr('notSetUp');
    else if (this.chState === 'refused') msg = tr('refused');
    else if (this.chState === 'retry') msg = tr('offline', { s: Math.round((this.chInfo.ms || 0) / 1000) });
    else if (this.chState === 'connecting' && !this.store.items.length) msg = tr('connecting');
    this.status.hidden = !msg;
    this.status.textContent = msg;
    this.status.classList.toggle('bad', this.chState === 'refused');
  }

  renderPanel() {
    if (!this.panel) return;
    const s = this.store;
    this.panel.querySelector('.ib-panel').setAttribute('aria-label', tr('inbox'));
    this.panel.querySelector('.ib-h').textContent = tr('inbox');
    this.count.textContent = s.unread ? tr('unread', { n: s.unread }) : tr('noneUnread');
    this.closeBtn.textContent = tr('close');
    this.backBtn.textContent = `‹ ${tr('backToList')}`;
    const a = document.activeElement;
    const focusedId = a && a.classList && a.classList.contains('ib-item') ? a.dataset.id : null;
    clear(this.list);
    if (!s.items.length) this.list.append(h('li.ib-empty', {}, tr('empty')));
    for (const it of s.items) {
      const meta = [it.from ? tr('from', { name: this.siteName(it.from) }) : '', fmtWhen(it.sent_ms)].filter(Boolean).join(' · ');
      this.list.append(h('li', {}, h(`button.ib-item${it.read ? '' : '.unread'}`, {
        type: 'button', 'data-id': String(it.id), onclick: () => this.openItem(it.id),
      }, h('span.ib-dot', { 'aria-hidden': 'true' }),
      h('span.ib-text', {}, h('span.ib-ititle', { text: it.title }), h('span.ib-meta', { text: meta })))));
    }
    if (focusedId) {
      const el = this.list.querySelector(`[data-id="${focusedId}"]`);
      if (el) el.focus({ preventScroll: true });
      else if (this.reading === null) (this.list.querySelector('.ib-item') || this.closeBtn).focus({ preventScroll: true });
    }
    if (this.reading !== null) {
      const it = s.get(this.reading);
      if (!it) {
        // Withdrawn while it was open.
        this.showList();
        if (this.app.toast) this.app.toast(tr('withdrawn'), 5000);
      }
    }
  }

  openItem(id) {
    const it = this.store.get(id);
    if (!it) return;
    this.reading = id;
    this.rtitle.textContent = it.title;
    this.rmeta.textContent = [it.from ? tr('from', { name: this.siteName(it.from) }) : '', fmtWhen(it.sent_ms)].filter(Boolean).join(' · ');
    clear(this.rbody);
    for (const para of paragraphs(it.body)) this.rbody.append(h('p', { text: para }));
    // Attachments ({id, type, name, bytes, url}) are served only with the
    // site token in the Authorization header: fetched, then shown from a
    // blob: URL (images inline, a PDF in a new tab).
    const att = (it.attachments || []).filter((x) => x && typeof x === 'object' && typeof x.url === 'string' && /^\/?api\/v1\/attachments\/\d+$/.test(x.url));
    if (att.length) {
      this.rbody.append(h('h3.ib-att', { text: tr('attachments') }),
        h('ul.ib-atts', {}, att.map((x) => {
          const li = h('li');
          const kb = x.bytes ? ` (${Math.max(1, Math.round(x.bytes / 1024))} KB)` : '';
          const btn = h('button.ib-attbtn', { type: 'button', onclick: () => this.openAttachment(x, li, btn) }, `📎 ${x.name || tr('attachments')}${kb}`);
          li.append(btn);
          return li;
        })));
    }
    this.rbody.scrollTop = 0;
    this.listView.hidden = true;
    this.reader.hidden = false;
    this.backBtn.focus({ preventScroll: true });
    this.notices.markRead(id);
  }

  async openAttachment(x, li, btn) {
    const d = dev.device();
    if (!d) return;
    btn.disabled = true;
    try {
      const r = await fetch(x.url.replace(/^\//, ''), { headers: { Authorization: `Bearer ${d.token}` } });
      if (!r.ok) throw new Error(String(r.status));
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      if (/^image\//.test(blob.type)) {
        li.append(h('img.ib-attimg', { src: url, alt: x.name || '' }));
        btn.hidden = true;
      } else {
        btn.disabled = false;
        window.open(url, '_blank', 'noopener');
      }
    } catch (err) {
      btn.disabled = false;
      if (this.app.toast) this.app.toast(tr('attFailed', { why: err.message }), 5000);
    }
  }

  showList() {
    const id = this.reading;
    this.reading = null;
    if (!this.panel) return;
    this.reader.hidden = true;
    this.listView.hidden = false;
    const el = (id !== null && this.list.querySelector(`[data-id="${id}"]`)) || this.list.querySelector('.ib-item') || this.closeBtn;
    el.focus({ preventScroll: true });
  }
}

/** Start the inbox and the channel; main.js calls this once. */
export function startInbox(app) {
  try {
    const inbox = new Inbox(app);
    app.inbox = inbox; // tests and debugging on a TV
    return inbox;
  } catch (err) {
    // Lessons play without notices: a fault here must not stop the page.
    console.error('inbox:', err);
    return null;
  }
}
