// admin.js - the admin console (/admin/): sign-in with a name and password
// (a session cookie, HttpOnly; the CSRF token the sign-in answers goes back
// as X-CSRF-Token on every POST and DELETE), lessons (upload with dubs and
// subtitles, upload progress, then the transcode job's progress pushed on
// the channel's `jobs` topic), and notices (compose, region tree, PDF,
// send, delivered/read pushed on the `notices` topic, per child region,
// withdraw). Plain ES module; no framework.
import { knownLangs, langName, langGloss, canonLang } from '../js/langs.js';

const $ = (id) => document.getElementById(id);
const S = { user: null, csrf: '', ws: null, wsRetry: 1, lessons: new Map(), jobs: new Map(), notices: new Map(), picked: new Set(), report: 0 };

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
}

// ---- API ----

async function api(method, path, body) {
  const headers = {};
  if (method !== 'GET' && method !== 'HEAD' && S.csrf) headers['x-csrf-token'] = S.csrf;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body); }
  const r = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  let j = null;
  try { j = await r.json(); } catch { /* no body */ }
  if (r.status === 401 && S.user && path !== '/api/v1/session') signedOut('登录已过期，请重新登录');
  if (!r.ok) {
    const e = new Error((j && j.error && j.error.message) || `HTTP ${r.status}`);
    e.status = r.status;
    e.code = j && j.error && j.error.code;
    e.retryAfter = r.headers.get('retry-after');
    throw e;
  }
  return j;
}

// ---- sign-in ----

function showSignin(msg) {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('si-err').textContent = msg || '';
  $('si-name').focus();
}

function signedOut(msg) {
  S.user = null;
  S.csrf = '';
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  showSignin(msg);
}

async function signedIn(s) {
  S.user = s.user;
  S.csrf = s.csrf;
  $('signin').hidden = true;
  $('app').hidden = false;
  const lvl = { 2: '省', 4: '州/市', 6: '县/区', 9: '乡镇', 12: '村' }[s.user.scope.length] || '';
  $('who').textContent = `${s.user.name}（${s.user.role === 'admin' ? '管理员' : '查看'}，${lvl} ${s.user.scope}）`;
  $('who').dataset.scope = s.user.scope;
  connect();
  loadLessons();
  loadTree();
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('si-go').disabled = true;
  $('si-err').textContent = '';
  try {
    const s = await api('POST', '/api/v1/session', { name: $('si-name').value.trim(), password: $('si-pw').value });
    $('si-pw').value = '';
    await signedIn(s);
  } catch (e) {
    $('si-err').textContent = e.status === 401 ? '用户名或密码错误'
      : e.status === 429 ? `失败次数过多，请 ${Math.ceil((e.retryAfter || 60) / 60)} 分钟后再试`
      : e.code === 'user_disabled' ? '该用户已停用' : `登录失败：${e.message}`;
  } finally {
    $('si-go').disabled = false;
  }
});

$('signout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } catch { /* signed out anyway */ }
  signedOut('已退出');
});

for (const b of document.querySelectorAll('.tab')) {
  b.addEventListener('click', () => {
    for (const t of document.querySelectorAll('.tab')) t.classList.toggle('on', t === b);
    $('tab-lessons').hidden = b.dataset.tab !== 'lessons';
    $('tab-notices').hidden = b.dataset.tab !== 'notices';
    $('tab-stats').hidden = b.dataset.tab !== 'stats';
    $('tab-stations').hidden = b.dataset.tab !== 'stations';
    $('tab-meetings').hidden = b.dataset.tab !== 'meetings';
    if (b.dataset.tab === 'stations') loadPresence(S.sbRegion);
    if (b.dataset.tab === 'meetings') loadMeetings();
    if (b.dataset.tab === 'stats' && !S.ranking) loadRanking();
  });
}

// ---- the channel: jobs and notices pushed live ----

function connect() {
  if (!S.user) return;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, 'yunling.v1');
  S.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', client: 'pc', device: 'admin-console' }));
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'welcome') {
      S.wsRetry = 1;
      $('live').classList.add('on');
      const topics = S.user.role === 'admin' ? ['notices', 'jobs', 'presence'] : ['notices', 'presence'];
      ws.send(JSON.stringify({ type: 'subscribe', topics, region: S.user.scope }));
    } else if (m.type === 'jobs') {
      for (const j of m.jobs || []) S.jobs.set(j.id, { ...S.jobs.get(j.id), ...j });
      renderLessons();
      if ((m.jobs || []).some((j) => j.state === 'done' || j.state === 'failed')) loadLessons();
    } else if (m.type === 'presence') {
      if (m.snapshot) S.online = {};
      Object.assign(S.online, m.children || {});
      S.onlineTotal = m.online;
      presencePushed();
    } else if (m.type === 'notices') {
      for (const n of m.notices || []) S.notices.set(n.id, { ...S.notices.get(n.id), ...n });
      renderNotices();
      if (S.report && (m.notices || []).some((n) => n.id === S.report)) showReport(S.report, S.reportRegion);
    }
  };
  ws.onclose = (ev) => {
    $('live').classList.remove('on');
    if (S.ws !== ws || !S.user) return;
    if (ev.code === 4401) { signedOut('登录已过期，请重新登录'); return; }
    S.wsRetry = Math.min(S.wsRetry * 2, 30);
    setTimeout(connect, S.wsRetry * 1000 * (0.7 + Math.random() * 0.6));
  };
}

// ---- lessons ----

async function loadLessons() {
  try {
    const r = await api('GET', '/api/v1/lessons?state=all&per_page=100');
    S.lessons = new Map(r.items.map((l) => [l.id, l]));
    renderLessons();
  } catch (e) {
    $('up-err').textContent = `课程列表：${e.message}`;
  }
}

const STATE = { queued: '排队中', running: '转码中', done: '已完成', failed: '失败', cancelled: '已取消', ready: '已发布', pending: '处理中', deleted: '已删除' };

function renderLessons() {
  const tb = $('lessons').tBodies[0];
  tb.replaceChildren();
  const jobsByLesson = new Map();
  for (const j of S.jobs.values()) if (!jobsByLesson.has(j.lesson) || jobsByLesson.get(j.lesson).id < j.id) jobsByLesson.set(j.lesson, j);
  const ids = new Set([...S.lessons.keys(), ...jobsByLesson.keys()]);
  for (const id of [...ids].sort((a, b) => b - a)) {
    const l = S.lessons.get(id) || { id, title: S.titles && S.titles.get(id) || '', languages: [], subtitles: [] };
    if (l.state === 'deleted') continue;
    const j = jobsByLesson.get(id);
    let st;
    if (j && j.state !== 'done') {
      st = el('td', { class: `state-${j.state}`, 'data-job': j.id, 'data-state': j.state },
        STATE[j.state] || j.state,
        j.state === 'running' || j.state === 'queued' ? el('progress', { max: 1, value: j.progress || 0 }) : null,
        j.state === 'failed' && j.error ? el('div', { class: 'jerr' }, typeof j.error === 'string' ? j.error : JSON.stringify(j.error)) : null,
        j.state === 'failed' && S.user.role === 'admin' ? el('button', { class: 'retry', onclick: () => retryJob(j) }, '重试') : null);
    } else {
      st = el('td', { class: `state-${l.state === 'ready' || (j && j.state === 'done') ? 'done' : l.state}`, 'data-state': j ? j.state : l.state }, STATE[l.state] || (j && STATE[j.state]) || l.state || '');
    }
    const langs = [...(l.languages || []).map((t) => `🔊${langName(t)}`), ...(l.subtitles || []).map((t) => `💬${langName(t)}`)].join(' ');
    tb.append(el('tr', { 'data-lesson': id },
      el('td', {}, String(id)), el('td', {}, l.title || ''), el('td', {}, langs), st,
      el('td', {}, S.user.role === 'admin' ? [el('button', { class: 'edit', onclick: (e) => editLesson(e.target.closest('tr'), l) }, '编辑'), ' ',
        el('button', { onclick: () => delLesson(id, l.title) }, '删除')] : null)));
  }
}

// Inline edit of the Mandarin title and the category (POST /api/v1/lessons/ID).
function editLesson(tr, l) {
  const title = el('input', { class: 'ed-title', value: (l.titles && l.titles.zh) || l.title || '' });
  const cat = el('input', { class: 'ed-cat', value: l.category || '', placeholder: '分类', list: 'cats' });
  const save = el('button', { class: 'ed-save' }, '保存');
  tr.cells[1].replaceChildren(title, cat, save);
  save.addEventListener('click', async () => {
    try {
      const out = await api('POST', `/api/v1/lessons/${l.id}`, { titles: { zh: title.value.trim() }, category: cat.value.trim() || null });
      S.lessons.set(l.id, { ...l, ...out });
      renderLessons();
    } catch (e) {
      $('up-err').textContent = `保存失败：${e.message}`;
    }
  });
  title.focus();
}

async function retryJob(j) {
  try {
    await api('POST', `/api/v1/jobs/${j.id}/retry`);
    S.jobs.set(j.id, { ...j, state: 'queued', progress: 0, error: null });
    renderLessons();
  } catch (e) {
    $('up-err').textContent = `重试失败：${e.message}`;
  }
}

async function delLesson(id, title) {
  if (!confirm(`删除课程 ${id}《${title || ''}》？村里将无法再观看。`)) return;
  try {
    await api('DELETE', `/api/v1/lessons/${id}`);
    S.lessons.delete(id);
    for (const [k, j] of S.jobs) if (j.lesson === id) S.jobs.delete(k);
    renderLessons();
  } catch (e) {
    $('up-err').textContent = `删除失败：${e.message}`;
  }
}

// Upload: the first video is the source; audio files are dubs, .srt/.vtt
// subtitles; each extra file gets a language picked from the list (native
// name first, the Chinese gloss after).
const files = [];
const SUB_RE = /\.(srt|vtt)$/i;
const AUDIO_RE = /\.(m4a|aac|mp3|wav|flac|ogg|opus)$/i;

function langSelect(value) {
  const s = el('select', { class: 'lang' });
  for (const t of knownLangs()) {
    if (t === 'cmn') continue;
    const name = langName(t), gloss = langGloss(t, 'zh');
    s.append(el('option', { value: t, selected: t === value }, name === gloss ? name : `${name}（${gloss}）`));
  }
  return s;
}

function guessLang(name) {
  const m = name.toLowerCase().match(/[-_.]([a-z]{2,3})\.[a-z0-9]+$/);
  const c = m ? canonLang(m[1]) : '';
  return knownLangs().includes(c) ? c : 'zh';
}

function addFiles(list) {
  for (const f of list) {
    const kind = SUB_RE.test(f.name) ? 'subs' : AUDIO_RE.test(f.name) ? 'audio' : files.some((x) => x.kind === 'source') ? 'audio' : 'source';
    // Subtitles may also be burned into a 480p rung for TVs that cannot
    // show them (upload field burn_subs; docs/api.md).
    const burn = kind === 'subs' ? el('input', { type: 'checkbox', class: 'burn' }) : null;
    files.push({ file: f, kind, sel: kind === 'source' ? null : langSelect(guessLang(f.name)), burn });
  }
  renderFiles();
}

function renderFiles() {
  const tb = $('up-list').tBodies[0];
  tb.replaceChildren();
  files.forEach((x, i) => {
    tb.append(el('tr', {},
      el('td', {}, x.kind === 'source' ? '视频' : x.kind === 'audio' ? '配音' : '字幕'),
      el('td', {}, x.file.name),
      el('td', {}, x.sel || '', x.burn ? el('label', { class: 'burn', title: '另做一路 480p 画面，字幕画在画面里，给显示不了字幕的电视用' }, x.burn, '烧录进画面（电视用）') : ''),
      el('td', {}, el('button', { type: 'button', onclick: () => { files.splice(i, 1); renderFiles(); } }, '移除'))));
  });
}

const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles(e.dataTransfer.files); });
$('up-files').addEventListener('change', (e) => { addFiles(e.target.files); e.target.value = ''; });

$('up-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const err = $('up-err');
  err.textContent = '';
  const src = files.find((x) => x.kind === 'source');
  if (!src) { err.textContent = '请先选择视频文件'; return; }
  const fd = new FormData();
  fd.append('title.zh', $('up-title').value.trim());
  if ($('up-cat').value.trim()) fd.append('category', $('up-cat').value.trim());
  fd.append('source', src.file, src.file.name);
  for (const x of files) if (x !== src) fd.append(`${x.kind}.${x.sel.value}`, x.file, x.file.name);
  for (const x of files) if (x.burn && x.burn.checked) fd.append('burn_subs', x.sel.value);
  // XMLHttpRequest: fetch has no upload progress.
  const xhr = new XMLHttpRequest();
  const prog = $('up-prog');
  prog.hidden = false;
  prog.value = 0;
  $('up-go').disabled = true;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) prog.value = e.loaded / e.total; };
  xhr.onloadend = () => {
    $('up-go').disabled = false;
    let j = null;
    try { j = JSON.parse(xhr.responseText); } catch { /* none */ }
    if (xhr.status === 202 && j) {
      prog.value = 1;
      err.textContent = '';
      S.titles = S.titles || new Map();
      S.titles.set(j.lesson, $('up-title').value.trim());
      S.jobs.set(j.job, { id: j.job, lesson: j.lesson, state: 'queued', progress: 0 });
      files.length = 0;
      renderFiles();
      $('up-form').reset();
      loadLessons();
    } else {
      err.textContent = `上传失败：${(j && j.error && j.error.message) || `HTTP ${xhr.status}`}`;
      if (xhr.status === 401) signedOut('登录已过期，请重新登录');
    }
  };
  xhr.open('POST', '/api/v1/lessons');
  xhr.setRequestHeader('x-csrf-token', S.csrf);
  xhr.send(fd);
});

// ---- notices ----

function renderNotices() {
  const tb = $('notices').tBodies[0];
  tb.replaceChildren();
  for (const n of [...S.notices.values()].sort((a, b) => b.id - a.id)) {
    if (n.withdrawn) continue;
    const pct = (a) => (n.targeted ? `${a}/${n.targeted}` : String(a));
    tb.append(el('tr', { 'data-notice': n.id },
      el('td', {}, String(n.id)),
      el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); showReport(n.id); } }, n.title || `通知 ${n.id}`)),
      el('td', { class: 'delivered' }, pct(n.delivered || 0)),
      el('td', { class: 'read' }, pct(n.read || 0)),
      el('td', {}, S.user.role === 'admin' ? el('button', { onclick: () => withdraw(n.id) }, '撤回') : null)));
  }
}

// The parent of a division code ('' at or above the user's scope).
function parentCode(code) {
  const p = code.slice(0, { 12: 9, 9: 6, 6: 4, 4: 2 }[code.length] || 0);
  return p.length > S.user.scope.length ? p : '';
}

// The report of notice id within region (default: the user's scope); a
// row opens its own region's report, down to the villages, so an office
// sees exactly which villages have not read it.
async function showReport(id, region) {
  if (id !== S.report) S.reportRegion = '';
  if (region !== undefined) S.reportRegion = region;
  S.report = id;
  const at = S.reportRegion || S.user.scope;
  const box = $('report');
  try {
    const r = await api('GET', `/api/v1/notices/${id}?region=${at}`);
    const unread = (r.children || []).filter((c) => c.targeted > 0 && c.read < c.targeted);
    const villages = at.length >= 9;
    box.replaceChildren(
      el('h3', {}, `《${r.title}》 ${at === S.user.scope ? '' : `${at} `}各下级${villages ? '村' : '区域'}送达 / 已读`),
      at !== S.user.scope ? el('button', { id: 'report-up', onclick: () => showReport(id, parentCode(at)) }, '返回上级') : null,
      el('table', { id: 'report-table' }, el('thead', {}, el('tr', {}, el('th', {}, '区域'), el('th', {}, '目标'), el('th', {}, '送达'), el('th', {}, '已读'))),
        el('tbody', {}, (r.children || []).filter((c) => c.targeted > 0).map((c) => el('tr', { 'data-code': c.code },
          el('td', {}, villages ? c.name : el('a', { href: '#', onclick: (e) => { e.preventDefault(); showReport(id, c.code); } }, c.name)), el('td', {}, String(c.targeted)), el('td', {}, String(c.delivered)), el('td', { class: c.read < c.targeted ? 'unread' : '' }, String(c.read)))))),
      el('p', { id: 'unread' }, unread.length ? `${villages ? '未读的村' : '未读完的区域'}：${unread.map((c) => c.name).join('、')}` : '全部已读'));
    box.hidden = false;
  } catch (e) {
    box.replaceChildren(el('p', { class: 'err' }, e.message));
    box.hidden = false;
  }
}

async function withdraw(id) {
  if (!confirm(`撤回通知 ${id}？`)) return;
  try {
    await api('DELETE', `/api/v1/notices/${id}`);
    const n = S.notices.get(id);
    if (n) n.withdrawn = true;
    renderNotices();
  } catch (e) {
    $('nt-err').textContent = `撤回失败：${e.message}`;
  }
}

// The region tree: children fetched when a node opens; ticking a node
// targets it with everything below it.
async function loadTree() {
  const root = $('tree');
  root.replaceChildren();
  try {
    const s = await api('GET', `/api/v1/sites/${S.user.scope}`);
    const ul = el('ul');
    ul.append(treeNode(s));
    root.append(ul);
  } catch (e) {
    root.append(el('p', { class: 'err' }, e.message));
  }
}

function treeNode(s) {
  const li = el('li', { 'data-code': s.code });
  const box = el('input', { type: 'checkbox', value: s.code });
  box.addEventListener('change', () => {
    if (box.checked) S.picked.add(s.code); else S.picked.delete(s.code);
    for (const c of li.querySelectorAll(':scope > ul input')) { c.disabled = box.checked; if (box.checked) { c.checked = false; S.picked.delete(c.value); } }
    $('nt-count').textContent = S.picked.size ? `已选 ${S.picked.size} 个区域` : '未选择';
  });
  const leaf = s.level === 'village' || s.children === 0;
  const tw = el('span', { class: 'tw' }, leaf ? '' : '▸');
  let open = false, loaded = false, sub = null;
  tw.addEventListener('click', async () => {
    if (leaf) return;
    open = !open;
    tw.textContent = open ? '▾' : '▸';
    if (!loaded) {
      loaded = true;
      sub = el('ul');
      li.append(sub);
      const r = await api('GET', `/api/v1/sites?parent=${s.code}`);
      for (const c of r.items) sub.append(treeNode(c));
      if (box.checked) for (const c of sub.querySelectorAll('input')) c.disabled = true;
    }
    sub.hidden = !open;
  });
  const cnt = el('span', { class: 'cnt' }, leaf ? '' : `（${s.stations} 个站点）`);
  li.append(tw, el('label', {}, box, ` ${s.name}`), cnt);
  return li;
}

$('nt-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('nt-err');
  err.textContent = '';
  err.classList.remove('ok');
  if (!S.picked.size) { err.textContent = '请至少选择一个发送对象'; return; }
  $('nt-go').disabled = true;
  try {
    const body = { title: $('nt-title').value.trim(), body: $('nt-body').value, targets: [...S.picked] };
    const f = $('nt-file').files[0];
    if (f) {
      const fd = new FormData();
      fd.append('file', f, f.name);
      const a = await api('POST', '/api/v1/attachments', fd);
      body.attachments = [a.id];
    }
    const r = await api('POST', '/api/v1/notices', body);
    S.notices.set(r.id, { ...S.notices.get(r.id), id: r.id, title: body.title, targeted: r.targets, sent_ms: r.sent_ms });
    renderNotices();
    err.textContent = `已发送到 ${r.targets} 个站点`;
    err.classList.add('ok');
    $('nt-form').reset();
    S.picked.clear();
    loadTree();
    $('nt-count').textContent = '未选择';
    showReport(r.id);
  } catch (e) {
    err.textContent = `发送失败：${e.message}`;
  } finally {
    $('nt-go').disabled = false;
  }
});

// ---- stations: the site tree with who is online now, last seen and the
// default language; provisioning and revocation ----

// The region shown: its children with ?state=1 (online now, last seen).
// At the token's scope the online counts follow the channel's presence
// pushes; deeper down a push re-reads the list (at most every 5 s).
async function loadPresence(code, keepMsg = false) {
  const err = $('sb-err');
  const region = code || S.sbRegion || S.user.scope;
  if (!keepMsg) err.textContent = '';
  try {
    const [here, list] = await Promise.all([
      api('GET', `/api/v1/sites/${region}?state=1`),
      api('GET', `/api/v1/sites?parent=${region}&state=1`)]);
    S.sbRegion = region;
    S.sbHere = here;
    S.children = list.items;
    S.sbRead = Date.now();
  } catch (e) {
    err.textContent = `读取失败：${e.message}`;
    if (!S.children) S.children = [];
  }
  if (!$('pv-region').value && S.user.scope.length >= 6) $('pv-region').value = S.user.scope;
  return renderPresence();
}

function seenText(c) {
  if (!('last_seen_ms' in c)) return '';
  if (c.online > 0) return '在线';
  if (!c.last_seen_ms) return '从未上线';
  const d = new Date(c.last_seen_ms);
  const days = Math.floor((Date.now() - c.last_seen_ms) / 86400000);
  const p2 = (n) => String(n).padStart(2, '0');
  const t = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
  return days >= 1 ? `${t}（${days} 天前）` : t;
}

function siteLangSelect(site) {
  const sel = langSelect(site.own_lang ? canonLang(site.own_lang) : '');
  sel.className = 'sb-lang';
  sel.setAttribute('aria-label', `${site.name} 的默认语言`);
  sel.prepend(el('option', { value: '' }, site.own_lang || !site.lang ? '（继承上级）' : `（继承：${langName(site.lang)}）`));
  sel.value = site.own_lang ? canonLang(site.own_lang) : '';
  sel.addEventListener('change', () => setLang(site, sel));
  return sel;
}

async function setLang(site, sel) {
  const err = $('sb-err');
  err.classList.remove('ok');
  try {
    const r = await api('POST', `/api/v1/sites/${site.code}/lang`, { lang: sel.value || null });
    err.textContent = `${r.name} 的默认语言：${r.own_lang ? langName(r.own_lang) : (r.lang ? `继承 ${langName(r.lang)}` : '未设置')}`;
    err.classList.add('ok');
    loadPresence(S.sbRegion, true);
  } catch (e) {
    err.textContent = `设置失败：${e.message}`;
  }
}

function renderPresence() {
  if (!S.children) return;
  const atScope = S.sbRegion === S.user.scope;
  const on = atScope ? (S.online || {}) : {};
  const online = (c) => (atScope && c.code in on ? on[c.code] : c.online || 0);
  const here = S.sbHere;
  $('sb-path').textContent = here ? `${here.name}（${here.code}）` : '';
  $('sb-up').disabled = !here || here.code === S.user.scope;
  $('sb-here-lang').replaceChildren(...(here && S.user.role === 'admin' ? [siteLangSelect(here)] : []));
  let total = 0;
  const rows = S.children.map((c) => {
    const n = online(c);
    total += n;
    const leaf = c.children === 0;
    return el('tr', { 'data-code': c.code, class: 'last_seen_ms' in c && n === 0 ? 'off' : '' },
      el('td', {}, leaf ? c.name : el('a', { href: '#', onclick: (e) => { e.preventDefault(); loadPresence(c.code); } }, c.name)),
      el('td', { class: 'num' }, String(c.stations)),
      el('td', { class: n ? 'ok num' : 'num' }, String(n)),
      el('td', { class: 'seen' }, seenText({ ...c, online: n })),
      el('td', {}, S.user.role === 'admin' ? siteLangSelect(c) : (c.lang ? langName(c.lang) : '')));
  });
  $('presence').tBodies[0].replaceChildren(...rows,
    el('tr', {}, el('th', {}, '合计'), el('th', {}, ''), el('th', { id: 'online-total' }, String(atScope ? S.onlineTotal || 0 : total)), el('th', {}, ''), el('th', {}, '')));
}

// A presence push: at the scope the counts are in it; deeper, re-read.
function presencePushed() {
  if (!S.children || $('tab-stations').hidden) return;
  if (S.sbRegion === S.user.scope) { renderPresence(); return; }
  if (Date.now() - (S.sbRead || 0) > 5000) loadPresence(S.sbRegion, true);
}

$('sb-up').addEventListener('click', () => {
  const c = S.sbRegion || '';
  const p = c.slice(0, { 12: 9, 9: 6, 6: 4, 4: 2 }[c.length] || 0);
  if (p.length >= S.user.scope.length) loadPresence(p);
});
$('sb-csv').addEventListener('click', () => {
  if (!S.children || !S.sbHere) return;
  download(toCSV([['代码', '名称', '站点数', '在线', '最后在线', '默认语言'],
    ...S.children.map((c) => [c.code, c.name, c.stations, c.online || 0, seenText(c), c.lang || ''])]),
  `站点-${S.sbHere.name}.csv`);
});

$('pv-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('pv-err');
  err.textContent = '';
  err.classList.remove('ok');
  const code = $('pv-region').value.trim();
  const q = new URLSearchParams({ level: $('pv-level').value });
  if ($('pv-rotate').checked) {
    if (!confirm(`作废 ${code} 下所有站点的旧令牌并重新生成？已设置的电视需要重新设置。`)) return;
    q.set('rotate', '1');
  }
  try {
    const r = await api('POST', `/api/v1/sites/${encodeURIComponent(code)}/tokens?${q}`);
    S.provision = r;
    $('pv-list').tBodies[0].replaceChildren(...r.tokens.map((t) => el('tr', { 'data-code': t.code },
      el('td', {}, t.code), el('td', {}, t.name || ''), el('td', {}, location.origin + t.setup))));
    err.textContent = `新开通 ${r.created} 个站点；${r.kept} 个站点已有令牌（未列出）。链接只显示这一次，请打印或导出。`;
    err.classList.add('ok');
  } catch (e) {
    err.textContent = `生成失败：${e.message}`;
  }
});
$('pv-print').addEventListener('click', () => window.print());
$('pv-csv').addEventListener('click', () => {
  if (!S.provision) return;
  download(toCSV([['代码', '名称', '设置链接'], ...S.provision.tokens.map((t) => [t.code, t.name || '', location.origin + t.setup])]),
    `开通-${S.provision.region}.csv`);
});
$('rv-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('rv-err');
  err.textContent = '';
  err.classList.remove('ok');
  const code = $('rv-code').value.trim();
  if (!confirm(`吊销站点 ${code} 的令牌？该站电视将无法接收通知和上报。`)) return;
  try {
    const r = await api('DELETE', `/api/v1/sites/${encodeURIComponent(code)}/tokens`);
    err.textContent = `已吊销 ${r.revoked} 个令牌`;
    err.classList.add('ok');
  } catch (e) {
    err.textContent = `吊销失败：${e.message}`;
  }
});

function download(text, name) {
  const blob = new Blob([text], { type: 'text/csv;charset=utf-8' });
  const a = el('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---- statistics: the ranking of child regions, and CSV export ----

const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;
const hrs = (x) => (x || 0).toFixed(2);

async function loadRanking() {
  const err = $('st-err');
  err.textContent = '';
  const region = $('st-region').value.trim() || S.user.scope;
  const q = new URLSearchParams({ region });
  if ($('st-from').value) q.set('from', $('st-from').value);
  if ($('st-to').value) q.set('to', $('st-to').value);
  try {
    const r = await api('GET', `/api/v1/stats/ranking?${q}`);
    S.ranking = r;
    $('st-region').value = r.region.code;
    if (!$('st-from').value) $('st-from').value = r.from;
    if (!$('st-to').value) $('st-to').value = r.to;
    const tb = $('ranking').tBodies[0];
    const worst = r.items.length > 3 ? r.items.length - 3 : r.items.length;
    tb.replaceChildren(...r.items.map((it, i) => el('tr', { 'data-code': it.code, class: i >= worst && r.items.length > 3 ? 'worst' : '' },
      el('td', {}, String(it.rank)),
      el('td', {}, it.level === 'village'
        ? el('a', { href: '#', class: 'hist', onclick: (e) => { e.preventDefault(); loadHistory(it.code); } }, it.name)
        : el('a', { href: '#', onclick: (e) => { e.preventDefault(); $('st-region').value = it.code; loadRanking(); } }, it.name)),
      el('td', { class: 'num' }, String(it.sites)), el('td', { class: 'num' }, String(it.active_sites)),
      el('td', { class: 'num' }, pct(it.active_share)), el('td', { class: 'num' }, hrs(it.watch_hours)),
      el('td', { class: 'num' }, hrs(it.watch_hours_per_site)), el('td', { class: 'num' }, pct(it.completion_rate)))));
  } catch (e) {
    err.textContent = `查询失败：${e.message}`;
  }
}

// One station's viewing history (GET /api/v1/stats/sites/{code}) for the
// ranking's period: per day and per lesson.
async function loadHistory(code) {
  const err = $('hist-err');
  err.textContent = '';
  const q = new URLSearchParams();
  if ($('st-from').value) q.set('from', $('st-from').value);
  if ($('st-to').value) q.set('to', $('st-to').value);
  $('hist').hidden = false;
  try {
    const r = await api('GET', `/api/v1/stats/sites/${code}?${q}`);
    S.hist = r;
    $('hist-name').textContent = `${r.site.name}（${r.site.code}） ${r.from} 至 ${r.to}`;
    const t = r.totals;
    $('hist-totals').textContent = `观看 ${hrs(t.watch_hours)} 小时，${t.sessions} 次，完成 ${t.completions} 次（${pct(t.completion_rate)}），活跃 ${t.active_days} 天`;
    const row = (a, x) => el('tr', {}, el('td', {}, a), el('td', { class: 'num' }, hrs(x.watch_hours)),
      el('td', { class: 'num' }, String(x.sessions)), el('td', { class: 'num' }, String(x.completions)));
    $('hist-days').tBodies[0].replaceChildren(...(r.days.length ? r.days.map((d) => row(d.day, d)) : [el('tr', {}, el('td', { colspan: 4 }, '这段时间没有收看'))]));
    $('hist-lessons').tBodies[0].replaceChildren(...r.lessons.map((l) => row(l.title, l)));
    $('hist').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    err.textContent = `查询失败：${e.message}`;
  }
}

$('hist-close').addEventListener('click', () => { $('hist').hidden = true; });
$('hist-csv').addEventListener('click', () => {
  const r = S.hist;
  if (!r) return;
  download(toCSV([['日期', '课程', '观看小时', '观看次数', '完成次数'],
    ...r.days.map((d) => [d.day, '', d.watch_hours, d.sessions, d.completions]),
    ...r.lessons.map((l) => [`${r.from}~${r.to}`, l.title, l.watch_hours, l.sessions, l.completions])]),
  `收看记录-${r.site.name}-${r.from}-${r.to}.csv`);
});

// CSV for Excel: UTF-8 with a byte order mark (else Excel reads the
// Chinese names as GBK), CRLF rows, fields quoted where needed.
function toCSV(rows) {
  const q = (v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `\ufeff${rows.map((r) => r.map(q).join(',')).join('\r\n')}\r\n`;
}

function rankingCSV(r) {
  return toCSV([
    ['名次', '代码', '区域', '站点数', '活跃站点', '活跃率', '观看小时', '站均小时', '观看次数', '完成次数', '完成率'],
    ...r.items.map((it) => [it.rank, it.code, it.name, it.sites, it.active_sites, it.active_share, it.watch_hours,
      it.watch_hours_per_site, it.sessions, it.completions, it.completion_rate]),
  ]);
}

$('st-form').addEventListener('submit', (e) => { e.preventDefault(); loadRanking(); });
$('st-up').addEventListener('click', () => {
  const c = $('st-region').value.trim();
  const p = c.slice(0, { 12: 9, 9: 6, 6: 4, 4: 2 }[c.length] || 0);
  if (p.length >= S.user.scope.length) { $('st-region').value = p; loadRanking(); }
});
$('st-csv').addEventListener('click', () => {
  if (!S.ranking) return;
  download(rankingCSV(S.ranking), `排名-${S.ranking.region.name}-${S.ranking.from}-${S.ranking.to}.csv`);
});

// ---- meetings: state and attendance, per child region, CSV ----

const MSTATE = { scheduled: '未开始', live: '直播中', ended: '已结束', failed: '失败' };

async function loadMeetings() {
  const err = $('mt-err');
  err.textContent = '';
  try {
    const r = await api('GET', '/api/v1/meetings');
    $('meetings').tBodies[0].replaceChildren(...r.meetings.map((m) => {
      const a = m.attendance || {};
      return el('tr', { 'data-meeting': m.id },
        el('td', {}, String(m.id)),
        el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); showAttendance(m.id, ''); } }, m.title || `会议 ${m.id}`)),
        el('td', { class: `state ${m.state}` }, MSTATE[m.state] || m.state),
        el('td', { class: 'num' }, String(a.targeted || 0)), el('td', { class: 'num attended' }, String(a.attended || 0)),
        el('td', { class: 'num' }, pct(a.share)), el('td', { class: 'num' }, hrs((a.watched_s || 0) / 3600)),
        el('td', { class: 'num' }, a.headcount_sites ? String(a.headcount) : '–'));
    }));
    if (S.meeting) showAttendance(S.meeting, S.meetingRegion || '');
  } catch (e) {
    err.textContent = `查询失败：${e.message}`;
  }
}

// A meeting's attendance per child region of region (default: the
// user's scope); a row opens its own region, down to the villages, where
// the stations are listed with their devices and headcount. The CSV
// comes from the server (UTF-8 with BOM, docs/api.md).
async function showAttendance(id, region) {
  S.meeting = id;
  S.meetingRegion = region;
  const at = region || S.user.scope;
  const sites = at.length >= 9;
  const box = $('attendance');
  try {
    const r = await api('GET', `/api/v1/meetings/${id}/attendance?region=${at}${sites ? '&sites=1' : ''}`);
    const csv = (more) => el('a', { class: 'button', href: `/api/v1/meetings/${id}/attendance?region=${at}${more}&format=csv`, download: `会议${id}-到会-${at}${more ? '-站点' : ''}.csv` }, more ? '导出站点明细 CSV' : '导出 CSV');
    const t = (ms) => (ms ? new Date(ms).toLocaleTimeString('zh-CN', { hour12: false }) : '–');
    const table = sites
      ? el('table', { id: 'attendance-table' }, el('thead', {}, el('tr', {}, ...['站点', '加入', '离开', '收看分钟', '设备数', '到会人数'].map((x) => el('th', {}, x)))),
        el('tbody', {}, (r.sites || []).map((c) => el('tr', { 'data-code': c.code, class: c.joined_ms ? '' : 'unread' },
          el('td', {}, c.name), el('td', {}, t(c.joined_ms)), el('td', {}, t(c.left_ms)), el('td', { class: 'num' }, String(Math.round((c.watched_s || 0) / 60))),
          el('td', { class: 'num' }, String(c.devices || 0)), el('td', { class: 'num' }, c.headcount === null ? '–' : String(c.headcount))))))
      : el('table', { id: 'attendance-table' }, el('thead', {}, el('tr', {}, ...['区域', '应到站点', '实到站点', '到会率', '收看小时', '到会人数'].map((x) => el('th', {}, x)))),
        el('tbody', {}, (r.children || []).map((c) => el('tr', { 'data-code': c.code },
          el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); showAttendance(id, c.code); } }, c.name)),
          el('td', { class: 'num' }, String(c.targeted)), el('td', { class: 'num' }, String(c.attended)), el('td', { class: 'num' }, pct(c.share)),
          el('td', { class: 'num' }, hrs(c.watched_h)), el('td', { class: 'num' }, String(c.headcount))))));
    const tot = r.totals;
    box.replaceChildren(
      el('h3', {}, `《${r.title}》 ${at === S.user.scope ? '' : `${at} `}到会 ${tot.attended}/${tot.targeted}（${pct(tot.share)}）`),
      at !== S.user.scope ? el('button', { onclick: () => showAttendance(id, parentCode(at)) }, '返回上级') : null,
      sites ? csv('&sites=1') : csv(''), sites ? null : csv('&sites=1'), table);
    box.hidden = false;
  } catch (e) {
    box.replaceChildren(el('p', { class: 'err' }, e.message));
    box.hidden = false;
  }
}

$('mt-reload').addEventListener('click', () => loadMeetings());

// ---- start: resume a session after a reload ----

api('GET', '/api/v1/session').then(signedIn, () => showSignin(''));
