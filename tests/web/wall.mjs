// Browser test of the monitoring wall (/wall/) against the real server:
// Debian's Chromium driven by playwright-core, the Yunnan site list, a
// viewer token, viewing events posted with the admin API as a station
// would, and the channel (/ws) with accelerated pushes (ws_push_ms 50).
//   - bad input: a wrong setup token and a site token get a clear Chinese
//     error, and nothing is stored;
//   - setup with a viewer token: the token leaves the address bar and is
//     kept; the first load is under 1 MB over the wire; no scrolling at
//     1920x1080 and at 4K, big type at 4K;
//   - the province's map has 129 coloured counties; the ranking table has
//     the 16 prefectures with the worst marked;
//   - a session starts in 大理市: the watching count goes up, its county's
//     colour changes, the lesson is listed with its language, the ticker
//     names the village; a click drills down to 大理州's 12 counties;
//   - memory: the JS heap after a GC stays flat over many pushed deltas;
//   - a live meeting: its attended/targeted stations change with live
//     events (kind live) and go when it ends;
//   - the server restarts: the wall reconnects and shows the figures again.
// Writes wall.png (1920x1080) to YL_SCREENSHOTS (docs/screenshots/ when
// run for the docs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, importSites, browser, closeBrowser, makeShortMedia, shot, until, log, fail, SRC, TMP, YUNLING } from './lib/fixture.mjs';

const shots = process.env.YL_SCREENSHOTS || path.join(TMP, 'screenshots');
const WebSocket = createRequire(import.meta.url)(path.join(SRC, 'node_modules/ws'));
const stations = []; // station sockets (the TVs of 大理市's villages)
const ini = path.join(TMP, 'wall.ini');
let srv;
let b; // the wall's browser, kept across tests (a wall runs all day)
let seq = 0;

before(async () => {
  srv = new Server();
  log(`sites import: ${importSites(srv)}`);
  srv.admin = srv.cli('token', 'create', '--role', 'admin', '--scope', '53');
  srv.viewer = srv.cli('token', 'create', '--role', 'viewer', '--scope', '53', '--name', 'wall');
  srv.siteToken = srv.cli('token', 'create', '--role', 'site', '--scope', '532901104201');
  // Site tokens for the villages of 大理市: their TVs come online below.
  srv.tvs = srv.cli('token', 'create', '--role', 'site', '--scope', '532901', '--each-site').split('\n')
    .map((l) => l.split('\t')).filter((x) => x.length >= 2).slice(0, 24).map(([code, token]) => ({ code, token }));
  srv.villages = srv.sqlRows("SELECT code FROM sites WHERE level=5 AND code LIKE '5329%' ORDER BY code LIMIT 40").map((r) => r.code);
  fs.writeFileSync(ini, '[server]\nws_push_ms = 50\n');
  const media = makeShortMedia(path.join(TMP, 'media'), 4);
  await srv.start(['--config', ini]);
  srv.lesson = await srv.upload(srv.admin, { source: `${media}/short.mp4` }, { 'title.zh': '核桃种植技术', category: '农业' });
  log(`lesson ${srv.lesson} transcoded`);
});

after(async () => {
  for (const w of stations) w.terminate();
  if (b) await b.close().catch(() => {});
  await closeBrowser();
  if (srv) await srv.stop();
});

/** A viewing event of a station, posted as its TV would (admin token). */
async function view(site, session, kind, lang = 'zh') {
  const ev = { session, seq: seq++, site, lesson: srv.lesson, kind, position_s: 1, audio_lang: lang, rendition: '360p', client: 'tv' };
  const r = await srv.api('POST', '/api/v1/views', { token: srv.admin, json: { events: [ev] } });
  assert.equal(r.status, 200, `POST /api/v1/views: ${r.status} ${r.text}`);
}

const text = (p, sel) => p.locator(sel).innerText();

/** A station's TV on the channel (hello with its site token). */
function tv({ code, token }) {
  return new Promise((resolve, reject) => {
    const w = new WebSocket(`${srv.base.replace('http', 'ws')}/ws`, 'yunling.v1');
    w.on('open', () => w.send(JSON.stringify({ type: 'hello', token, since: 0, client: 'tv', device: `tv-${code}` })));
    w.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'welcome') resolve(w);
    });
    w.on('error', reject);
    stations.push(w);
  });
}
const wallState = (p) => p.evaluate(() => window.yl.wall && window.yl.wall.channel.state);

test('bad input: a wrong setup token and a site token are refused in Chinese, nothing stored', async () => {
  const x = await browser({ viewport: { width: 1920, height: 1080 } });
  try {
    await x.page.goto(`${srv.base}/wall/?setup=not-a-token`);
    await x.page.locator('#msg:not([hidden])').waitFor({ timeout: 10000 });
    assert.match(await text(x.page, '#msg-text'), /设置失败：大屏令牌无效、已撤销或已过期/);
    assert.match(await text(x.page, '#msg-how'), /viewer/);
    assert.equal(await x.page.evaluate(() => localStorage.getItem('yl.wall')), null, 'a refused token is not stored');
    await x.page.goto(`${srv.base}/wall/?setup=${srv.siteToken}`);
    await until(async () => /站点令牌/.test(await text(x.page, '#msg-text')), 10000, 'the site token refused');
    await x.page.goto(`${srv.base}/wall/`);
    await until(async () => /本屏尚未设置/.test(await text(x.page, '#msg-text')), 10000, 'a wall never set up says so');
    assert.deepEqual(x.errors.filter((e) => !/401|403/.test(e)), [], 'no page errors');
  } finally {
    await x.close();
  }
});

test('a prefecture\'s wall: a viewer token of 大理州 shows its 12 counties, never the province', async () => {
  const token = srv.cli('token', 'create', '--role', 'viewer', '--scope', '5329', '--name', 'dali-wall');
  const x = await browser({ viewport: { width: 1920, height: 1080 } });
  try {
    await x.page.goto(`${srv.base}/wall/?setup=${token}&region=53`);
    await until(async () => (await x.page.evaluate(() => window.yl.wall && window.yl.wall.colours().regions.length)) === 12, 15000, '大理州\'s 12 counties');
    assert.equal(await text(x.page, '#title'), '大理白族自治州 监控大屏', 'a region outside the token\'s falls back to its own');
    assert.equal(await x.page.locator('#crumbs button').count(), 0, 'no way up from the token\'s region');
    assert.equal(await text(x.page, '#rank-title'), '县市区综合排名');
  } finally {
    await x.close();
  }
});

test('setup, first load under 1 MB, 129 coloured counties, the ranking, no scrolling', async () => {
  b = await browser({ viewport: { width: 1920, height: 1080 } });
  const p = b.page;
  let bytes = 0;
  const sizes = [];
  p.on('requestfinished', async (r) => {
    const s = await r.sizes().catch(() => null);
    if (s) {
      bytes += s.responseBodySize + s.responseHeadersSize;
      sizes.push([r.url().replace(srv.base, ''), s.responseBodySize]);
    }
  });
  b.frames = 0;
  p.on('websocket', (ws) => ws.on('framereceived', () => { b.frames++; }));
  await p.goto(`${srv.base}/wall/?setup=${srv.viewer}`);
  await until(async () => (await wallState(p)) === 'open', 15000, async () => `the channel to open (${await wallState(p)}; ${await p.evaluate(() => window.yl.error)}; page errors: ${b.errors.join(' / ')} ${await p.evaluate(() => window.yl.lastStack)}; state: ${await text(p, '#state')})`);
  assert.equal(new URL(p.url()).search, '', 'the token left the address bar');
  assert.equal(JSON.parse(await p.evaluate(() => localStorage.getItem('yl.wall'))).token, srv.viewer, 'the token is kept');
  const col = await until(async () => {
    const c = await p.evaluate(() => window.yl.wall.colours());
    return c.regions.length === 129 && c.regions.every((r) => r.fill) ? c : null;
  }, 15000, async () => `129 coloured counties (${JSON.stringify(await p.evaluate(() => window.yl.wall.colours())).slice(0, 300)})`);
  assert.equal(col.mode, 'map');
  assert.equal(new Set(col.regions.map((r) => r.code)).size, 129, 'each county once');
  assert.ok(col.regions.every((r) => /^53\d{4}$/.test(r.code)), 'county codes');
  await until(async () => (await p.locator('#rank tbody tr').count()) === 16, 10000, 'the ranking of the 16 prefectures');
  const names = await p.locator('#rank tbody td:nth-child(2)').allInnerTexts();
  assert.ok(names.includes('大理州') && names.includes('昆明市'), `prefectures in the ranking, short names: ${names}`);
  assert.equal(await p.locator('#rank tbody tr.worst').count(), 3, 'the three last marked');
  assert.equal(await text(p, '#rank-title'), '州市综合排名');
  await p.locator('#periods button[data-days="30"]').click();
  await until(async () => (await p.evaluate(() => window.yl.wall.period)) === 30, 3000, 'the 30-day period');
  await sleep(500);
  log(`first load: ${(bytes / 1024).toFixed(0)} KB over the wire in ${sizes.length} responses`);
  assert.ok(bytes < 1024 * 1024, `first load under 1 MB: ${bytes} bytes (${JSON.stringify(sizes.sort((x, y) => y[1] - x[1]).slice(0, 5))})`);
  const o = await p.evaluate(() => ({ sh: document.documentElement.scrollHeight, sw: document.documentElement.scrollWidth }));
  assert.ok(o.sh <= 1080 && o.sw <= 1920, `no scrolling at 1920x1080 (${JSON.stringify(o)})`);
});

test('a session starts in 大理市: count, colour, lesson with its language, ticker; drill down to 大理州', async () => {
  const p = b.page;
  const before = Number((await text(p, '#k-watch')).replace(/,/g, ''));
  const c0 = (await p.evaluate(() => window.yl.wall.colours())).regions.find((r) => r.code === '532901').fill;
  const f0 = b.frames;
  await view('532901104201', 'wall-s1', 'start', 'bca');
  await until(async () => Number((await text(p, '#k-watch')).replace(/,/g, '')) === before + 1, 5000, async () => `the watching count to go from ${before} to ${before + 1} (shows ${await text(p, '#k-watch')})`);
  log(`watching count ${before} -> ${before + 1} after ${b.frames - f0} frames`);
  await until(async () => (await p.evaluate(() => window.yl.wall.colours())).regions.find((r) => r.code === '532901').fill !== c0, 5000,
    async () => `大理市 to change colour from ${c0} (figures ${JSON.stringify(await p.evaluate(() => { const w = window.yl.wall; return [w.fig.watching.get('532901'), w.fig.presence.get('532901'), w.stationsOf('532901'), w.depth, w.colours().regions.find((r) => r.code === '532901')]; }))})`);
  await until(async () => /核桃种植技术/.test(await text(p, '#lessons')), 5000, 'the lesson among those watched now');
  assert.match(await text(p, '#k-hours'), /^\d+\.\d$/, 'today\'s watch hours, pushed with the stats');
  assert.equal(await p.locator('#lessons .mix span[data-lang="bca"]').innerText(), '白语 1', 'its language mix');
  await until(async () => /大理市喜洲镇喜洲村委会 开始收看《核桃种植技术》/.test(await text(p, '#ticker')), 5000, async () => `the ticker (${await text(p, '#ticker')})`);
  // 大理市's TVs come online; a notice to the province, read by some.
  await Promise.all(srv.tvs.map(tv));
  await until(async () => (await text(p, '#k-online')) === String(srv.tvs.length), 5000, async () => `${srv.tvs.length} stations online (shows ${await text(p, '#k-online')})`);
  const r = await srv.api('POST', '/api/v1/notices', { token: srv.admin, json: { title: '关于冬季森林防火的通知', body: '请各村完成防火检查。', targets: ['53'] } });
  assert.equal(r.status, 201, `POST /api/v1/notices: ${r.text}`);
  for (const t of srv.tvs.slice(0, 8)) {
    const rd = await srv.api('POST', `/api/v1/notices/${r.body.id}/read`, { token: t.token });
    assert.equal(rd.status, 200, `read: ${rd.text}`);
  }
  await until(async () => /冬季森林防火/.test(await text(p, '#ntitle')), 5000, 'the newest notice on the wall');
  await until(async () => /已读 8/.test(await text(p, '#ntotal')), 10000, async () => `8 read (${await text(p, '#ntotal')})`);
  await until(async () => (await p.locator('#nrates li[data-code="5329"] .p').innerText().catch(() => '')) !== '0%', 15000, '大理州\'s read rate');
  for (let i = 0; i < 6; i++) await view(srv.villages[i * 5], `wall-t${i}`, 'start', ['zh', 'bo', 'lis', 'ii', 'zh', 'zh'][i]);
  await until(async () => (await text(p, '#k-watch')) === '7', 5000, '7 sessions watching');
  await sleep(1200);
  await shot(p, path.join(shots, 'wall.png'));
  // A click on 大理市 opens 大理州 with its 12 counties; back to the province.
  await p.evaluate(() => window.yl.wall.clicked({ name: '532901' }));
  await until(async () => (await p.evaluate(() => window.yl.wall.colours())).regions.length === 12, 10000, '大理州\'s 12 counties');
  assert.equal(await text(p, '#rank-title'), '县市区综合排名');
  await until(async () => (await p.locator('#rank tbody tr').count()) === 12, 10000, 'the ranking of 大理州\'s counties');
  await until(async () => (await text(p, '#k-watch')) === '7', 5000, 'the sessions watching in 大理州 too');
  // A county has no township shapes: the treemap fallback, one box each.
  const towns = srv.sqlRows("SELECT count(*) AS n FROM sites WHERE level=4 AND code LIKE '532901%'")[0].n;
  await p.evaluate(() => window.yl.wall.clicked({ name: '532901' }));
  await until(async () => {
    const c = await p.evaluate(() => window.yl.wall.colours());
    return c.mode === 'treemap' && c.regions.length === towns && c.regions.every((r) => r.fill);
  }, 10000, `大理市's ${towns} townships as a treemap`);
  assert.equal(await text(p, '#rank-title'), '乡镇综合排名');
  assert.equal(await p.locator('#crumbs button').count(), 2, 'back to the prefecture or the province');
  await p.locator('#crumbs button').first().click();
  await until(async () => (await p.evaluate(() => window.yl.wall.colours())).regions.length === 129, 10000, 'the province again');
  // 4K: the same layout at twice the size, no scrolling.
  await p.setViewportSize({ width: 3840, height: 2160 });
  const k = await p.evaluate(() => ({ px: parseFloat(getComputedStyle(document.querySelector('.kpi .v')).fontSize), sh: document.documentElement.scrollHeight }));
  assert.ok(k.px >= 100 && k.sh <= 2160, `4K: figures ${k.px} px high, no scrolling (${k.sh})`);
  await p.setViewportSize({ width: 1920, height: 1080 });
});

test('memory: the JS heap stays flat over many pushed deltas', async () => {
  const p = b.page;
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('Performance.enable');
  // The heap after a full GC; the smallest of three readings, since a
  // draw or a fetch in flight at a reading holds a few hundred KB.
  const heap = async () => {
    let min = Infinity;
    for (let i = 0; i < 3; i++) {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      min = Math.min(min, metrics.find((m) => m.name === 'JSHeapUsedSize').value);
      await sleep(300);
    }
    return min;
  };
  // Warm up (lesson titles fetched, first draws), then measure.
  const churn = async (ms) => {
    const end = Date.now() + ms;
    let i = 0;
    while (Date.now() < end) {
      const site = srv.villages[i % srv.villages.length];
      await view(site, `heap-${i}`, 'start', ['zh', 'bo', 'lis'][i % 3]);
      if (i >= 5) await view(srv.villages[(i - 5) % srv.villages.length], `heap-${i - 5}`, 'end');
      i++;
      await sleep(40);
    }
    return i;
  };
  await churn(2000);
  const h0 = await heap();
  const f0 = b.frames;
  const d0 = await p.evaluate(() => window.yl.wall.draws);
  const t0 = Date.now();
  let n = await churn(8000);
  const hm = await heap();
  n += await churn(8000);
  const h1 = await heap();
  log(`heap mid-way ${(hm / 1e6).toFixed(2)} MB`);
  const frames = b.frames - f0;
  const draws = (await p.evaluate(() => window.yl.wall.draws)) - d0;
  const secs = (Date.now() - t0) / 1000;
  log(`heap ${(h0 / 1e6).toFixed(2)} -> ${(h1 / 1e6).toFixed(2)} MB over ${n} sessions, ${frames} frames pushed, ${draws} draws in ${secs.toFixed(1)} s`);
  assert.ok(frames >= 60, `many deltas pushed (${frames})`);
  assert.ok(draws <= secs + 1, `at most one draw a second (${draws} in ${secs.toFixed(1)} s)`);
  assert.ok(h1 - h0 < 2e6, `heap growth under 2 MB: ${h0} -> ${h1}`);
  await cdp.detach();
});

test('a live meeting: its attendance on the wall changes with the stations\' beats', async () => {
  const p = b.page;
  const town = '532901104'; // 喜洲镇
  const m = await srv.api('POST', '/api/v1/meetings', { token: srv.admin, json: { title: '全省部署会', targets: [town], source: 'test:' } });
  assert.equal(m.status, 201, m.text);
  const id = m.body.id;
  const n = m.body.n_sites;
  assert.equal(await p.locator('#k-meet').isHidden(), true, 'no meeting figure before the start');
  const st = await srv.api('POST', `/api/v1/meetings/${id}/start`, { token: srv.admin });
  assert.equal(st.status, 200, st.text);
  try {
    await until(async () => (await text(p, '#k-meet-v').catch(() => '')) === `0/${n}`, 10000, async () => `0/${n} attended when it starts (shows ${await text(p, '#k-meet-v').catch(() => '?')})`);
    const live = async (site, session) => {
      const ev = { session, seq: 1, site, meeting: id, kind: 'start', position_s: 0, client: 'tv' };
      const r = await srv.api('POST', '/api/v1/views', { token: srv.admin, json: { events: [ev] } });
      assert.equal(r.status, 200, `POST /api/v1/views: ${r.text}`);
    };
    const vills = srv.sqlRows(`SELECT code FROM sites WHERE level=5 AND code LIKE '${town}%' ORDER BY code LIMIT 2`).map((r) => r.code);
    await live(vills[0], 'wall-m1');
    await until(async () => (await text(p, '#k-meet-v')) === `1/${n}`, 5000, async () => `1/${n} attended (shows ${await text(p, '#k-meet-v')})`);
    await live(vills[1], 'wall-m2');
    await until(async () => (await text(p, '#k-meet-v')) === `2/${n}`, 5000, async () => `2/${n} attended (shows ${await text(p, '#k-meet-v')})`);
    assert.match(await text(p, '#k-meet-s'), /全省部署会/, 'the meeting\'s title');
    log(`meeting attendance on the wall: ${await text(p, '#k-meet-v')} ${await text(p, '#k-meet-s')}`);
  } finally {
    const sp = await srv.api('POST', `/api/v1/meetings/${id}/stop`, { token: srv.admin });
    assert.equal(sp.status, 200, sp.text);
  }
  await until(async () => p.locator('#k-meet').isHidden(), 5000, 'the meeting figure goes when it ends');
});

test('the server restarts: the wall reconnects and shows the figures again', async () => {
  const p = b.page;
  await view('532901104201', 'wall-s2', 'start');
  await until(async () => Number(await text(p, '#k-watch')) > 0, 5000, 'sessions watching');
  await srv.stop();
  // It says so while it waits to retry (between tries it shows 连接中…).
  await until(async () => (await wallState(p)) === 'retry' && /重新连接/.test(await text(p, '#state')), 10000, 'the wall to see the server go and say it reconnects');
  const out = fs.openSync(path.join(TMP, 'server.log'), 'a');
  srv.proc = spawn(YUNLING, ['serve', '--listen', `127.0.0.1:${srv.port}`, '--data', srv.data, '--web', path.join(SRC, 'player-web/dist'), '--config', ini], { stdio: ['ignore', out, out] });
  srv.exited = null;
  srv.proc.on('exit', (code, sig) => { srv.exited = `exit ${code} ${sig || ''}`; });
  await until(async () => {
    if (srv.exited) fail(`yunling serve stopped at restart (${srv.exited})`);
    try {
      return (await fetch(`${srv.base}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 15000, 'the server to come back');
  await until(async () => (await wallState(p)) === 'open', 20000, 'the wall to reconnect');
  await view('532901104201', 'wall-s3', 'start');
  await until(async () => /开始收看/.test(await text(p, '#ticker')) && Number(await text(p, '#k-watch')) > 0, 10000, 'figures after the restart');
  assert.equal(await text(p, '#state'), '实时');
});
