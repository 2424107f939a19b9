// Units of the wall display's figures (player-web/src/wall/model.js) under
// node: snapshots and deltas of the channel's presence and stats frames,
// the share of stations, the composite ranking with its worst marked, and
// the decoding of ECharts' compressed GeoJSON (the county map built by
// player-web/build.sh when player-web/dist exists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Figures, composite, decodeGeo, cstDay, levelOf } from '../../player-web/src/wall/model.js';

const SRC = process.env.YL_SRCDIR || path.resolve(import.meta.dirname, '../..');

test('presence and stats: a snapshot, then deltas of what changed', () => {
  const f = new Figures();
  f.applyPresence({ type: 'presence', snapshot: true, online: 1, children: { 5301: 0, 5329: 1 }, grandchildren: { 532901: 1, 532922: 0 } });
  f.applyStats({ type: 'stats', snapshot: true, active_sessions: 2, active_sites: 1, items: [{ code: '5329', active_sites: 1 }],
    grandchildren: [{ code: '532901', active_sites: 1 }], lessons: [{ lesson: 7, sessions: 2, langs: { zh: 1, bo: 1 } }], starts: [] });
  assert.equal(f.online, 1);
  assert.equal(f.sessions, 2);
  assert.equal(f.share('532901', 4), 0.25);
  // A delta: only the keys that changed.
  f.applyPresence({ type: 'presence', online: 3, children: { 5329: 3 }, grandchildren: { 532901: 3 } });
  f.applyStats({ type: 'stats', active_sessions: 5 });
  assert.equal(f.online, 3);
  assert.equal(f.sessions, 5);
  assert.equal(f.sites, 1, 'unchanged keys are kept');
  assert.equal(f.lessons.length, 1, 'lessons kept when the delta has none');
  assert.equal(f.share('532901', 4), 0.75);
  assert.equal(f.share('532901', 2), 1, 'at most 1');
  assert.equal(f.share('532922', 0), 0, 'no stations: 0');
  // A new snapshot (resubscribed after a reconnect) replaces everything.
  f.applyPresence({ type: 'presence', snapshot: true, online: 0, children: { 5329: 0 } });
  assert.equal(f.presence.has('532901'), false);
  // Many deltas: the maps keep one entry per region, whatever the count.
  for (let i = 0; i < 10000; i++) f.applyPresence({ type: 'presence', online: i % 7, children: { 5329: i % 5 } });
  assert.equal(f.presence.size, 1);
  // The live meeting's attendance: kept across deltas without the key,
  // replaced when it changes, gone with null.
  assert.equal(f.meeting, null);
  f.applyStats({ type: 'stats', meeting: { id: 3, title: '部署会', targeted: 14, attended: 1, share: 1 / 14 } });
  f.applyStats({ type: 'stats', active_sessions: 6 });
  assert.equal(f.meeting.attended, 1);
  f.applyStats({ type: 'stats', meeting: { id: 3, title: '部署会', targeted: 14, attended: 2, share: 2 / 14 } });
  assert.equal(f.meeting.attended, 2);
  f.applyStats({ type: 'stats', meeting: null });
  assert.equal(f.meeting, null);
});

test('composite ranking: four measures scaled to the best, the last marked', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((c, i) => ({
    code: c, name: c, watch_hours_per_site: i, active_share: i / 10, completion_rate: i / 10,
  }));
  const rates = new Map(items.map((it, i) => [it.code, i / 6]));
  const rows = composite(items, rates);
  assert.deepEqual(rows.map((r) => r.code), ['g', 'f', 'e', 'd', 'c', 'b', 'a']);
  assert.deepEqual(rows.filter((r) => r.worst).map((r) => r.code), ['c', 'b', 'a'], 'the last three of seven');
  assert.equal(rows[0].score, 1, 'the best in everything scores 1');
  assert.equal(rows[0].read, 1);
  // No notice: three measures, read is null.
  const r2 = composite(items.slice(0, 3), null);
  assert.equal(r2[0].read, null);
  assert.deepEqual(r2.filter((r) => r.worst).map((r) => r.code), ['a']);
  assert.deepEqual(composite([], null), []);
});

test('days in China Standard Time, levels by code length', () => {
  const t = Date.UTC(2026, 11, 4, 17, 0); // 01:00 on the 5th in Beijing
  assert.equal(cstDay(t), '2026-12-05');
  assert.equal(cstDay(t, 6), '2026-11-29');
  assert.equal(levelOf('53'), 'province');
  assert.equal(levelOf('532901'), 'county');
  assert.equal(levelOf('532901104201'), 'village');
});

test('compressed GeoJSON decodes to plain coordinates, once, in a copy', () => {
  // "@@" is no move; "B@" is +1 in x (zigzag 2 -> 1), 0 in y.
  const json = { type: 'FeatureCollection', UTF8Encoding: true, features: [
    { type: 'Feature', id: '530102', properties: { name: 'x' }, geometry: { type: 'Polygon', coordinates: ['@@B@'], encodeOffsets: [[1024, 2048]] } },
  ] };
  const g = decodeGeo(json);
  assert.deepEqual(g.features[0].geometry.coordinates, [[[1, 2], [1 + 1 / 1024, 2]]]);
  assert.equal(json.features[0].geometry.coordinates[0], '@@B@', 'the input is left as it was');
  assert.equal(decodeGeo(g), g, 'plain GeoJSON is returned as it is');
  const built = path.join(SRC, 'player-web/dist/wall/geo/53.json');
  if (fs.existsSync(built)) {
    const map = decodeGeo(JSON.parse(fs.readFileSync(built, 'utf8')));
    assert.equal(map.features.length, 129, 'the 129 counties of Yunnan');
    for (const f of map.features) {
      const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const [x, y] = ring[0];
      assert.ok(x > 97 && x < 107 && y > 21 && y < 30, `${f.id} ${f.properties.name} lies in Yunnan (${x}, ${y})`);
    }
  }
});

test('short names of autonomous prefectures and counties', async () => {
  const { shortName } = await import('../../player-web/src/wall/model.js');
  assert.equal(shortName('楚雄彝族自治州'), '楚雄州');
  assert.equal(shortName('西双版纳傣族自治州'), '西双版纳州');
  assert.equal(shortName('双江拉祜族佤族布朗族傣族自治县'), '双江县');
  assert.equal(shortName('昆明市'), '昆明市');
  assert.equal(shortName('大理白族自治州'), '大理州');
});
