// The monitoring wall (/wall/): a map of the region coloured by the share
// of stations online or watching now, live figures, the latest notice's
// read rates, a ticker of session starts and the composite ranking of the
// child regions. Set up once per screen like a TV:
//   /wall/?setup=TOKEN[&region=CODE]
// with a viewer (or admin) token; the token is kept in localStorage and
// taken out of the address bar. The region defaults to the token's scope.
//
// Live figures come from the websocket channel (subscribe to presence,
// stats and notices: a snapshot, then deltas at most once per ws_push_ms);
// the page draws at most once a second whatever arrives; today's watch
// hours come with the stats. The ranking is an HTTP read made when the
// region or the period changes and, at most every few minutes, when deltas
// say viewing goes on (no timer polls the server). After a server restart the channel
// reconnects with back-off (channel.js) and the new subscription's
// snapshot restores everything.
import { echarts } from './echarts.js';
import { Channel, PROTOCOL } from '../js/channel.js';
import { langGloss } from '../js/langs.js';
import { Figures, composite, levelOf, cstDay, pct, decodeGeo, shortName } from './model.js';

const KEY = 'yl.wall';
const DRAW_MS = 1000; // at most one redraw a second
const RANK_MS = 300000; // the ranking: at most every 5 minutes
const RATES_MS = 5000; // the notice's per-region report
const PERIODS = [[1, '今日'], [7, '近7天'], [30, '近30天']];
const ROWS = 20; // ranking rows that fit the screen
const STOPS = [[0, [27, 38, 68]], [0.34, [31, 111, 139]], [0.67, [61, 220, 151]], [1, [255, 207, 63]]];
const MIX = ['#ffcf3f', '#3ddc97', '#4fc3f7', '#ff8a65', '#ba68c8', '#f06292', '#aed581', '#90a4ae'];

const $ = (id) => document.getElementById(id);
const api = new URL('../api/v1/', location.href);

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function get(path, token) {
  let res;
  try {
    res = await fetch(new URL(path, api), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    throw new HttpError(0, 'network', err.message);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = (body && body.error) || {};
    throw new HttpError(res.status, e.code || String(res.status), e.message || res.statusText);
  }
  return body;
}

/** Share (0..1) to a colour between the stops, on a square-root scale:
 * one village watching in a county of 150 stations must show from
 * across the room (the legend marks 25% at its middle). */
export function colour(x) {
  const v = Math.sqrt(Math.max(0, Math.min(1, Number(x) || 0)));
  let i = 1;
  while (i < STOPS.length - 1 && v > STOPS[i][0]) i++;
  const [a, ca] = STOPS[i - 1];
  const [b, cb] = STOPS[i];
  const t = (v - a) / (b - a);
  const c = ca.map((q, k) => Math.round(q + (cb[k] - q) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

const hhmm = (ms) => new Date(ms).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit', hour12: false });
const num = (n) => Number(n || 0).toLocaleString('zh-CN');

class Wall {
  constructor(conf, who) {
    this.token = conf.token;
    this.scope = who.scope;
    this.role = who.role;
    this.region = conf.region || who.scope;
    this.fig = new Figures();
    this.info = null; // the region's site record
    this.kids = []; // child regions [{code, name, stations}]
    this.sub = new Map(); // grandchild code -> {code, name, stations} (province wall)
    this.names = new Map(); // code -> name, for tooltips
    this.geo = null; // the county shapes (geo/53.json)
    this.mode = ''; // 'map' | 'treemap'
    this.notice = null; // the newest notice {id, title, targeted, delivered, read}
    this.rates = new Map(); // child code -> read share of the notice
    this.rateRows = [];
    this.ranking = [];
    this.period = Number(conf.period) || 7;
    this.titles = new Map(); // lesson id -> title
    this.last = { draw: 0, rank: 0, rates: 0 };
    this.trail = { rank: null, rates: null }; // pending reads (due())
    this.drawTimer = null;
    this.seenStart = 0;
    this.gen = 0; // region changes: a late answer for an old region is dropped
    this.draws = 0;
    this.chart = echarts.init($('chart'), null, { renderer: 'canvas' });
    this.chart.on('click', (p) => this.clicked(p));
    window.addEventListener('resize', () => this.chart.resize());
    let device = localStorage.getItem(`${KEY}.device`);
    if (!device) {
      device = `wall-${Math.random().toString(36).slice(2, 10)}`;
      localStorage.setItem(`${KEY}.device`, device);
    }
    const ws = new URL('../ws', location.href);
    ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
    this.channel = new Channel({
      url: ws.href,
      auth: () => ({ token: this.token }),
      client: () => 'wall',
      device,
      onFrame: (m) => this.frame(m),
      onState: (s, info) => this.state(s, info),
    });
    this.periods();
    setInterval(() => { $('clock').textContent = new Date().toLocaleTimeString('zh-CN', { hour12: false }); }, 1000);
  }

  async start() {
    const geo = get(new URL('geo/53.json', location.href).href).catch(() => null);
    await this.enter(this.region, geo);
    this.channel.start();
  }

  /** Show region code: its children, map or treemap, ranking. */
  async enter(code, geoPromise) {
    const gen = ++this.gen;
    this.region = code;
    this.save();
    const [info, list] = await Promise.all([get(`sites/${code}`, this.token), get(`sites?parent=${code}`, this.token)]);
    if (geoPromise) this.geo = decodeGeo(await geoPromise);
    if (gen !== this.gen) return;
    this.info = info;
    this.kids = list.items;
    this.sub.clear();
    this.names.clear();
    for (const k of this.kids) this.names.set(k.code, k.name);
    // A province's wall colours its counties (the children's children).
    this.depth = levelOf(code) === 'province' && this.geo ? 2 : 1;
    if (this.depth === 2) {
      const subs = await Promise.all(this.kids.map((k) => get(`sites?parent=${k.code}`, this.token).catch(() => ({ items: [] }))));
      if (gen !== this.gen) return;
      for (const s of subs) for (const it of s.items) {
        this.sub.set(it.code, it);
        this.names.set(it.code, it.name);
      }
    }
    this.fig = new Figures();
    this.notice = null;
    this.rates.clear();
    this.rateRows = [];
    this.crumbs();
    $('title').textContent = `${info.name} 监控大屏`;
    $('rank-title').textContent = `${{ province: '州市', prefecture: '县市区', county: '乡镇' }[info.level] || '下级'}综合排名`;
    await this.shapes();
    this.subscribe();
    this.loadRanking(true);
    this.draw();
  }

  save() {
    localStorage.setItem(KEY, JSON.stringify({ token: this.token, region: this.region, period: this.period }));
  }

  /** The regions drawn: shapes for the map, or the treemap's boxes. */
  async shapes() {
    const regions = this.depth === 2 ? [...this.sub.values()] : this.kids;
    const feats = this.geo ? this.geo.features.filter((f) => regions.some((r) => r.code === f.id)) : [];
    this.drawn = regions;
    this.chart.clear();
    // Canvas text does not make the browser fetch a web font's slices:
    // load those of the names first (the machine may have no CJK font).
    await document.fonts.load('16px "YL CJK"', regions.map((r) => r.name).join('')).catch(() => {});
    if (feats.length > 0) {
      this.mode = 'map';
      const name = `r${this.region}`;
      echarts.registerMap(name, {
        type: 'FeatureCollection',
        features: feats.map((f) => ({ ...f, properties: { name: f.id } })),
      });
      this.missing = regions.filter((r) => !feats.some((f) => f.id === r.code));
      const labels = feats.length <= 20;
      this.chart.setOption({
        tooltip: { trigger: 'item', formatter: (p) => this.tip(p.name), textStyle: { fontSize: 20 } },
        series: [{
          id: 'm', type: 'map', map: name, roam: false, selectedMode: false, layoutCenter: ['50%', '50%'], layoutSize: '96%',
          itemStyle: { borderColor: '#0b1020', borderWidth: 1 },
          emphasis: { itemStyle: { areaColor: '#ffffff' }, label: { show: labels, color: '#0b1020' } },
          label: { show: labels, color: '#e8ecf6', fontSize: 16, fontFamily: 'YL CJK, sans-serif', formatter: (p) => this.names.get(p.name) || p.name },
          data: this.mapData(),
        }],
      });
      $('hint').textContent = this.missing.length ? `无地图形状：${this.missing.map((r) => r.name).join('、')}` : (this.depth === 2 ? '点击地图进入州市' : '');
    } else {
      this.mode = 'treemap';
      this.missing = regions;
      this.chart.setOption({
        tooltip: { formatter: (p) => this.tip(p.data && p.data.code), textStyle: { fontSize: 20 } },
        series: [{
          id: 'm', type: 'treemap', roam: false, nodeClick: false, breadcrumb: { show: false }, width: '96%', height: '94%',
          label: { show: true, fontSize: 18, fontFamily: 'YL CJK, sans-serif', color: '#0b1020', formatter: (p) => p.name },
          itemStyle: { borderColor: '#0b1020', borderWidth: 2, gapWidth: 2 },
          data: this.treeData(),
        }],
      });
      $('hint').textContent = '无地图形状：按站点数分块显示';
    }
  }

  stationsOf(code) {
    const r = this.sub.get(code) || this.kids.find((k) => k.code === code);
    return r ? r.stations : 0;
  }

  mapData() {
    return this.drawn.map((r) => ({ name: r.code, value: this.fig.share(r.code, r.stations), itemStyle: { areaColor: colour(this.fig.share(r.code, r.stations)) } }));
  }

  treeData() {
    return this.drawn.map((r) => ({ name: r.name, code: r.code, value: Math.max(1, r.stations), itemStyle: { color: colour(this.fig.share(r.code, r.stations)) } }));
  }

  tip(code) {
    if (!code) return '';
    const st = this.stationsOf(code);
    return `${this.names.get(code) || code}<br>在线 ${this.fig.presence.get(code) || 0} · 收看 ${this.fig.watching.get(code) || 0} / ${st} 站<br>占比 ${pct(this.fig.share(code, st))}`;
  }

  clicked(p) {
    const code = this.mode === 'map' ? p.name : p.data && p.data.code;
    if (!code) return;
    // A county on the province's map opens its prefecture.
    const next = this.depth === 2 ? code.slice(0, 4) : code;
    if (levelOf(next) === 'village') return;
    this.enter(next).catch((e) => this.trouble(e));
  }

  crumbs() {
    const el = $('crumbs');
    el.replaceChildren();
    const chain = [];
    for (let c = this.region; c.length >= this.scope.length; c = c.slice(0, { 12: 9, 9: 6, 6: 4, 4: 2 }[c.length] || 0)) {
      chain.unshift(c);
      if (c.length <= 2) break;
    }
    for (const c of chain) {
      if (c === this.region) {
        el.append(h('span', 'here', this.info ? this.info.name : c));
      } else {
        const b = h('button', null, c === this.scope && c.length === 2 ? '返回全省' : `返回上级`);
        b.addEventListener('click', () => this.enter(c).catch((e) => this.trouble(e)));
        el.append(b);
      }
    }
  }

  periods() {
    const el = $('periods');
    for (const [d, label] of PERIODS) {
      const b = h('button', d === this.period ? 'on' : '', label);
      b.dataset.days = String(d);
      b.addEventListener('click', () => {
        this.period = d;
        for (const x of el.children) x.classList.toggle('on', x === b);
        this.save();
        this.loadRanking(true);
      });
      el.append(b);
    }
  }

  subscribe() {
    if (!this.channel.open) return;
    this.channel.send({ type: 'subscribe', topics: ['presence', 'stats', 'notices'], region: this.region, depth: this.depth });
  }

  state(s, info) {
    $('dot').classList.toggle('on', s === 'open');
    $('state').textContent = { open: '实时', connecting: '连接中…', retry: '重新连接中…', refused: '令牌已失效', off: '未连接' }[s] || s;
    if (s === 'open') this.subscribe();
    if (s === 'refused') fail(`大屏令牌已失效（${info.code}）：${info.reason || '令牌无效、已撤销或已过期'}`, '请向管理员索取新的大屏令牌，再打开 /wall/?setup=令牌');
  }

  frame(m) {
    if (m.region && m.region !== this.region) return; // an old subscription's
    switch (m.type) {
      case 'presence':
        this.fig.applyPresence(m);
        break;
      case 'stats':
        this.fig.applyStats(m);
        if (!m.snapshot) this.loadRanking(false);
        break;
      case 'notices':
        this.notices(m);
        break;
      default:
        return;
    }
    this.schedule();
  }

  notices(m) {
    const list = Array.isArray(m.notices) ? m.notices : [];
    if (m.snapshot) {
      this.notice = list[0] ? { ...list[0] } : null;
      this.loadRates(true);
      return;
    }
    const d = this.notice && list.find((n) => n.id === this.notice.id);
    if (d) {
      Object.assign(this.notice, { targeted: d.targeted, delivered: d.delivered, read: d.read });
      this.loadRates(false);
    }
  }

  schedule() {
    if (this.drawTimer !== null) return;
    const wait = Math.max(0, this.last.draw + DRAW_MS - Date.now());
    this.drawTimer = setTimeout(() => {
      this.drawTimer = null;
      this.draw();
    }, wait);
  }

  draw() {
    this.last.draw = Date.now();
    this.draws++;
    const f = this.fig;
    const st = this.info ? this.info.stations : 0;
    $('k-online').textContent = num(f.online);
    $('k-online-s').textContent = `共 ${num(st)} 站 ${pct(st ? f.online / st : 0)}`;
    $('k-watch').textContent = num(f.sessions);
    $('k-watch-s').textContent = `${num(f.sites)} 个站点`;
    $('k-hours').textContent = this.fig.hours === null ? '–' : this.fig.hours.toFixed(1);
    this.drawMeeting();
    if (this.drawn && this.chart.getOption()) {
      this.chart.setOption({ series: [{ id: 'm', data: this.mode === 'map' ? this.mapData() : this.treeData() }] });
    }
    this.drawLessons();
    this.drawTicker();
    this.drawNotice();
  }

  /** The live meeting's attendance in the region (stats topic, pushed):
   * attended / targeted stations and the share; hidden when none runs. */
  drawMeeting() {
    const m = this.fig.meeting;
    $('k-meet').hidden = !m;
    document.querySelector('.kpis').classList.toggle('has-meeting', !!m);
    if (!m) return;
    $('k-meet-v').textContent = `${num(m.attended)}/${num(m.targeted)}`;
    $('k-meet-s').textContent = `${pct(m.share || 0)} 《${m.title || ''}》`;
  }

  title(id) {
    if (this.titles.has(id)) return this.titles.get(id);
    if (this.titles.size > 500) this.titles.clear();
    this.titles.set(id, `课程 ${id}`);
    get(`lessons/${id}`).then((l) => {
      this.titles.set(id, l.title || (l.titles && l.titles.zh) || `课程 ${id}`);
      this.schedule();
    }).catch(() => {});
    return this.titles.get(id);
  }

  drawLessons() {
    const ol = $('lessons');
    const rows = this.fig.lessons.slice(0, 5).map((l) => {
      const li = h('li');
      li.append(h('span', 't', `《${this.title(l.lesson)}》`), h('span', 'n', `${l.sessions} 场`));
      const mix = h('div', 'mix');
      Object.entries(l.langs || {}).sort((a, b) => b[1] - a[1]).forEach(([tag, n], i) => {
        const s = h('span', null, `${langGloss(tag, 'zh')} ${n}`);
        s.style.flex = String(n);
        s.style.background = MIX[i % MIX.length];
        s.dataset.lang = tag;
        mix.append(s);
      });
      li.append(mix);
      return li;
    });
    if (rows.length === 0) rows.push(h('li', 'empty', '此刻无人收看'));
    ol.replaceChildren(...rows);
  }

  drawTicker() {
    const ul = $('ticker');
    const items = this.fig.starts.slice(0, 6).map((s) => {
      const li = h('li', s.at_ms > this.seenStart ? 'new' : '');
      li.append(h('time', null, hhmm(s.at_ms)), `${s.place} 开始收看《${this.title(s.lesson)}》`);
      return li;
    });
    if (this.fig.starts[0]) this.seenStart = Math.max(this.seenStart, this.fig.starts[0].at_ms);
    if (items.length === 0) items.push(h('li', 'empty', '等待收看动态…'));
    ul.replaceChildren(...items);
  }

  drawNotice() {
    const n = this.notice;
    $('ntitle').textContent = n ? `《${n.title || ''}》` : '';
    $('ntotal').textContent = n ? `送达 ${num(n.delivered)} / ${num(n.targeted)}（${pct(n.targeted ? n.delivered / n.targeted : 0)}） · 已读 ${num(n.read)}（${pct(n.targeted ? n.read / n.targeted : 0)}）` : '近期没有通知';
    const rows = this.rateRows.slice(0, 16).map((c) => {
      const li = h('li');
      const b = h('span', 'b');
      const del = h('i');
      const rd = h('b');
      del.style.width = pct(c.targeted ? c.delivered / c.targeted : 0);
      rd.style.width = pct(c.targeted ? c.read / c.targeted : 0);
      b.append(del, rd);
      li.append(h('span', 'nm', shortName(c.name)), b, h('span', 'p', pct(c.targeted ? c.read / c.targeted : 0)));
      li.dataset.code = c.code;
      return li;
    });
    $('nrates').replaceChildren(...rows);
  }

  /** Throttle of the HTTP reads that deltas trigger: true to read now;
   * else false, and one read is made when the window ends (the last
   * change is never left unread). */
  due(what, ms, force, again) {
    const wait = this.last[what] + ms - Date.now();
    if (force || wait <= 0) {
      clearTimeout(this.trail[what]);
      this.trail[what] = null;
      this.last[what] = Date.now();
      return true;
    }
    if (!this.trail[what]) {
      this.trail[what] = setTimeout(() => {
        this.trail[what] = null;
        again();
      }, wait);
    }
    return false;
  }

  async loadRates(force) {
    const n = this.notice;
    if (!n || !this.due('rates', RATES_MS, force, () => this.loadRates(true))) return;
    const gen = this.gen;
    try {
      const r = await get(`notices/${n.id}?region=${this.region}`, this.token);
      if (gen !== this.gen) return;
      this.rateRows = r.children || [];
      this.rates.clear();
      for (const c of this.rateRows) this.rates.set(c.code, c.targeted ? c.read / c.targeted : 0);
      this.drawRanking();
      this.schedule();
    } catch {
      /* the next delta tries again */
    }
  }

  async loadRanking(force) {
    if (!this.due('rank', RANK_MS, force, () => this.loadRanking(true))) return;
    const gen = this.gen;
    const now = Date.now();
    try {
      const r = await get(`stats/ranking?region=${this.region}&from=${cstDay(now, this.period - 1)}&to=${cstDay(now)}`, this.token);
      if (gen !== this.gen) return;
      this.ranking = r.items;
      this.drawRanking();
    } catch (e) {
      $('rank').tBodies[0].replaceChildren(h('tr', null, ''));
      $('rank').tBodies[0].firstChild.append(h('td', 'empty', `排名暂不可用：${e.message}`));
    }
  }

  drawRanking() {
    let rows = composite(this.ranking, this.notice ? this.rates : null);
    if (rows.length > ROWS) rows = [...rows.slice(0, ROWS - 3), ...rows.slice(-3)];
    // The lowest value of each column in red, unless all are the same.
    const low = {};
    for (const k of ['watch_hours_per_site', 'active_share', 'completion_rate', 'read']) {
      const v = rows.filter((r) => r[k] !== null && r[k] !== undefined).map((r) => Number(r[k]) || 0);
      low[k] = v.length > 1 && Math.min(...v) < Math.max(...v) ? Math.min(...v) : null;
    }
    $('rank').tBodies[0].replaceChildren(...rows.map((r) => {
      const tr = h('tr', r.worst ? 'worst' : '');
      tr.dataset.code = r.code;
      const cell = (k, text) => {
        const td = h('td', low[k] !== null && r[k] !== null && r[k] !== undefined && (Number(r[k]) || 0) === low[k] ? 'low' : '', text);
        tr.append(td);
      };
      const name = h('td', null, shortName(r.name));
      name.title = r.name;
      tr.append(h('td', null, String(r.rank)), name);
      cell('watch_hours_per_site', (Number(r.watch_hours_per_site) || 0).toFixed(2));
      cell('active_share', pct(r.active_share));
      cell('completion_rate', pct(r.completion_rate));
      cell('read', r.read === null ? '–' : pct(r.read));
      return tr;
    }));
  }

  trouble(e) {
    $('state').textContent = `出错：${e.message}`;
    window.yl.lastStack = e.stack;
  }

  /** Tests: the map's regions and the colour each is drawn with. */
  colours() {
    const s = this.chart.getModel() && this.chart.getModel().getSeriesByIndex(0);
    if (!s) return { mode: this.mode, regions: [] }; // between two regions
    const d = s.getData();
    const out = [];
    for (let i = 0; i < d.count(); i++) {
      const m = d.getItemModel(i);
      const fill = m.get(['itemStyle', this.mode === 'map' ? 'areaColor' : 'color']);
      out.push({ code: this.mode === 'map' ? d.getName(i) : (d.getRawDataItem(i) || {}).code, fill: fill || null });
    }
    // A treemap's data also holds its root, which is no region.
    return { mode: this.mode, regions: out.filter((r) => r.code) };
  }
}

function fail(text, how = '') {
  $('wall').hidden = true;
  $('msg').hidden = false;
  $('msg-text').textContent = text;
  $('msg-how').textContent = how;
  window.yl.error = text;
}

async function main() {
  window.yl = { protocol: PROTOCOL };
  const q = new URLSearchParams(location.search);
  let conf = null;
  try {
    conf = JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    conf = null;
  }
  const setup = q.get('setup');
  if (setup !== null) {
    let who;
    try {
      who = await get('whoami', setup.trim());
    } catch (e) {
      if (e.status === 401) {
        fail('设置失败：大屏令牌无效、已撤销或已过期。', `服务器说：${e.message}。请向管理员索取新的大屏（viewer）令牌，再打开 /wall/?setup=令牌`);
      } else {
        fail(`设置失败：无法向服务器核对令牌（${e.message}）。`, '请检查网络后刷新本页');
      }
      return;
    }
    if (who.role !== 'viewer' && who.role !== 'admin') {
      fail('设置失败：这是站点令牌，不能用于监控大屏。', '大屏需要 viewer 或管理员令牌：yunling token create --role viewer --scope 地区代码');
      return;
    }
    conf = { token: setup.trim(), region: q.get('region') || null, period: conf && conf.period };
    localStorage.setItem(KEY, JSON.stringify(conf));
    history.replaceState(null, '', location.pathname); // the token leaves the address bar
  } else if (conf && q.get('region')) {
    conf.region = q.get('region');
  }
  if (!conf || !conf.token) {
    fail('本屏尚未设置。', '请用大屏令牌打开 /wall/?setup=令牌（可加 &region=地区代码）');
    return;
  }
  let who;
  for (let wait = 2000; ; wait = Math.min(wait * 2, 60000)) {
    try {
      who = await get('whoami', conf.token);
      break;
    } catch (e) {
      if (e.status === 401) {
        fail('大屏令牌已失效：无效、已撤销或已过期。', `服务器说：${e.message}。请向管理员索取新的大屏令牌，再打开 /wall/?setup=令牌`);
        return;
      }
      $('state').textContent = '无法连接服务器，稍后重试…';
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  if (conf.region && !conf.region.startsWith(who.scope)) conf.region = null; // outside the token's region
  $('wall').hidden = false; // before the chart measures its box
  const wall = new Wall(conf, who);
  window.yl.wall = wall;
  try {
    await wall.start();
  } catch (e) {
    if (e.status === 404) fail(`没有地区 ${wall.region}。`, '请用 &region= 指定本令牌范围内的地区代码');
    else wall.trouble(e);
  }
}

main();
