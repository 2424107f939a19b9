// Browser test of lessons kept for offline viewing (issue 14; js/offline.js,
// sw.js, js/downloads.js) against the real server: a phone (viewport, touch)
// downloads a lesson through the player's "下载" button, goes offline (the
// browser context's network cut), reloads the app (served by the service
// worker), opens "已下载" and plays the lesson from Cache Storage with its
// Tibetan subtitles; the viewing events wait in the queue and reach the
// server when the phone is back online. Then delete. Before that, on a
// fresh profile: the refusal when the storage estimate leaves no room, a
// cancelled download, and a QuotaExceededError halfway: a clear message
// and nothing kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setup, browser, expectPlaying, shot, until, log, TMP } from './lib/fixture.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
const BEAT_S = 2;
// YL_SCREENSHOTS=$PWD/docs/screenshots refreshes docs/screenshots/offline.png.
const shots = process.env.YL_SCREENSHOTS || path.join(TMP, 'screenshots');
let srv;
let b;
let page;

before(async () => {
  srv = await setup({ siteLang: 'bo' });
});

after(async () => {
  if (b) await b.close();
  if (srv) await srv.stop();
  if (b && b.errors.length) log(`browser errors (offline fetches are expected):\n  ${b.errors.slice(0, 20).join('\n  ')}`);
});

const lessonUrl = () => `${srv.base}/?setup=${srv.site}.${srv.siteToken}&beat=${BEAT_S}#/lesson/${srv.lesson}`;
const kept = (p) => p.evaluate(() => JSON.parse(localStorage.getItem('yl.offline') || '{}'));
const lessonCaches = (p) => p.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('yl-lesson-')));

test('the service worker is served with a JavaScript type and no-cache', async () => {
  const r = await fetch(`${srv.base}/sw.js`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  assert.equal(r.headers.get('service-worker-allowed'), null, 'sw.js sits at the root: no Service-Worker-Allowed needed');
});

test('no room: the estimate refuses with a clear message; cancel and a QuotaExceededError halfway keep nothing', async () => {
  const q = await browser(PHONE, { persistent: true });
  try {
    // 0.2 MB free: far less than the lesson needs.
    await q.ctx.addInitScript(() => {
      navigator.storage.estimate = async () => ({ quota: 300000, usage: 100000 });
    });
    const p = q.page;
    await p.goto(lessonUrl());
    await p.locator('.download .dl-start').click({ timeout: 15000 });
    const err = p.locator('.download .dl-error');
    await err.waitFor({ timeout: 15000 });
    const msg = await err.innerText();
    log(`refused: ${msg}`);
    assert.match(msg, /^手机空间不足：需要约 [\d.]+ MB，可用 0\.2 MB$/);
    assert.deepEqual(await lessonCaches(p), [], 'nothing cached');
    assert.deepEqual(await kept(p), {}, 'nothing listed');
    assert.equal(await p.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0, 'no service worker for a refused download');
    // Cancelled halfway (segments slowed down): nothing kept, "下载" again.
    await p.evaluate(() => {
      navigator.storage.estimate = async () => ({ quota: 5e9, usage: 0 });
    });
    // Two segments go through, the rest wait until 取消 was pressed: a
    // delay per segment let the whole download end under CI load between
    // the progress check and the click (twice: 0.4 s, then 1.5 s).
    // Only fetch()es count (hls.js, playing, uses XHR); two files of a
    // lesson's ~24 show as at least 1 %. On the context, not the page:
    // the download registers sw.js, and once it claims the page the
    // segments are fetched by the service worker, which page.route()
    // does not see (under CI load at -j4 the download then finished
    // ungated before 取消 was clicked). The worker's fetch of a segment
    // hls.js asked for is held too: harmless, the check is the download.
    let passed = 0;
    let open;
    const gate = new Promise((res) => { open = res; });
    await q.ctx.route('**/hls/**/seg_*', async (r) => {
      if (r.request().resourceType() === 'fetch' && ++passed > 2) await gate;
      await r.continue().catch(() => {});
    });
    await p.locator('.download .dl-start').click();
    await until(async () => /^下载中 [1-9]\d*%$/.test(await p.locator('.download .dl-state').innerText().catch(() => '')), 20000, 'progress above 0%');
    await p.locator('.download .dl-cancel').click();
    await p.locator('.download .dl-start').waitFor({ timeout: 10000 });
    open();
    await until(async () => (await lessonCaches(p)).length === 0, 5000, async () => `no lesson cache after cancel (${await lessonCaches(p)})`);
    assert.deepEqual(await kept(p), {}, 'nothing listed after cancel');
    await q.ctx.unroute('**/hls/**/seg_*');
    // Room by the estimate, but the storage fills up during the download.
    await p.evaluate(() => {
      navigator.storage.estimate = async () => ({ quota: 5e9, usage: 0 });
      const put = Cache.prototype.put;
      let n = 0;
      Cache.prototype.put = function quotaPut(...a) {
        const u = String(a[0].url || a[0]);
        if (u.includes('/hls/') && ++n > 3) return Promise.reject(new DOMException('full', 'QuotaExceededError'));
        return put.apply(this, a);
      };
    });
    await p.locator('.download .dl-start').click();
    await until(async () => /手机空间不足/.test(await p.locator('.download .dl-error').innerText().catch(() => '')) && /可用 5000 MB/.test(await p.locator('.download .dl-error').innerText()), 20000, 'the no-room message after QuotaExceededError');
    assert.deepEqual(await lessonCaches(p), [], 'the partial lesson cache is deleted');
    assert.deepEqual(await kept(p), {}, 'nothing listed');
    assert.equal(await p.locator('.download .dl-start').count(), 1, '"下载" is offered again');
  } finally {
    await q.close();
  }
});

test('a phone downloads a lesson: one rung, the chosen audio and its subtitles, with progress', async () => {
  b = await browser(PHONE, { persistent: true });
  page = b.page;
  await page.goto(lessonUrl());
  await expectPlaying(page, 1, 30000, 'online playback');
  const st = await page.evaluate(() => ({ audio: window.yl.player.audioLang, subs: window.yl.player.subLang, kind: document.body.className }));
  assert.equal(st.audio, 'bo');
  assert.match(st.kind, /client-phone/);
  await page.evaluate(() => {
    window.__dl = [];
    new MutationObserver(() => {
      const s = document.querySelector('.download .dl-state');
      if (s && window.__dl[window.__dl.length - 1] !== s.textContent) window.__dl.push(s.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const t0 = Date.now();
  await page.locator('.download .dl-start').click();
  const rec = await until(async () => (await kept(page))[srv.lesson], 60000, 'the lesson in yl.offline');
  log(`downloaded in ${Date.now() - t0} ms: ${rec.rung}, ${rec.bytes} bytes, audio ${rec.audio}, subs ${rec.subs}`);
  const seen = await page.evaluate(() => window.__dl);
  log(`states shown: ${seen.join(' | ')}`);
  assert.ok(seen.some((s) => /^下载中 \d+%$/.test(s)), `a progress "下载中 N%" was shown: ${seen}`);
  await until(async () => /^已下载 · \d+p · [\d.]+ MB$/.test(await page.locator('.download .dl-state').innerText()), 5000, 'the kept state');
  assert.equal(rec.audio, 'bo');
  assert.equal(rec.subs, 'bo');

  // The kept master: that rung, that audio, those subtitles, out of the full ladder.
  const full = await (await fetch(`${srv.base}/hls/${srv.lesson}/master.m3u8`)).text();
  const c = await page.evaluate(async (id) => {
    const cache = await caches.open(`yl-lesson-${id}`);
    const keys = (await cache.keys()).map((r) => new URL(r.url).pathname);
    const master = await (await cache.match(`/hls/${id}/master.m3u8`)).text();
    return { keys, master };
  }, srv.lesson);
  const count = (t, re) => (t.match(re) || []).length;
  log(`full master: ${count(full, /#EXT-X-STREAM-INF/g)} variants, ${count(full, /TYPE=AUDIO/g)} audio, ${count(full, /TYPE=SUBTITLES/g)} subtitles; kept: ${c.keys.length} files`);
  assert.ok(count(full, /#EXT-X-STREAM-INF/g) > 1, 'the lesson has several variants');
  assert.equal(count(c.master, /#EXT-X-STREAM-INF/g), 1, `one rung kept:\n${c.master}`);
  assert.match(c.master, new RegExp(`RESOLUTION=\\d+x${rec.rung.replace('p', '')}`));
  assert.equal(count(c.master, /TYPE=AUDIO/g), 1);
  assert.match(c.master, /TYPE=AUDIO[^\n]*LANGUAGE="bo"/);
  assert.equal(count(c.master, /TYPE=SUBTITLES/g), 1);
  assert.match(c.master, /TYPE=SUBTITLES[^\n]*LANGUAGE="bo"/);
  const vdir = /\n(v\d+)\/index\.m3u8/.exec(c.master)[1];
  for (const want of [`${vdir}/index.m3u8`, `${vdir}/init.mp4`, `${vdir}/seg_00000.m4s`, 'a-bo/index.m3u8', 'a-bo/init.mp4', 's-bo/index.m3u8']) {
    assert.ok(c.keys.includes(`/hls/${srv.lesson}/${want}`), `${want} kept; kept: ${c.keys}`);
  }
  assert.ok(!c.keys.some((k) => /\/a-(zh|lis|duu)\//.test(k)), 'no other audio language kept');
  // Every segment of the kept rung: as many as the server's playlist names.
  const vlist = await (await fetch(`${srv.base}/hls/${srv.lesson}/${vdir}/index.m3u8`)).text();
  const nseg = count(vlist, /\.m4s/g);
  assert.equal(c.keys.filter((k) => k.startsWith(`/hls/${srv.lesson}/${vdir}/seg_`)).length, nseg, `all ${nseg} video segments kept`);
  await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 10000, 'the service worker to control the page');
});

test('offline: the app loads, lists the lesson under 已下载, and plays it with subtitles; views are queued', async () => {
  await page.goto(`${srv.base}/?beat=${BEAT_S}#/`);
  await page.locator('.dl-nav a').waitFor({ timeout: 10000 });
  await b.ctx.setOffline(true);
  await page.reload();
  // The list cannot load: the page says why and where the kept lessons are.
  const status = page.locator('.list .status');
  await until(async () => /现在没有网络/.test(await status.innerText().catch(() => '')), 15000, 'the offline notice in the list');
  log(`list offline: ${await status.innerText()}`);
  await status.locator('a[href="#/downloads"]').click();
  const row = page.locator(`.dl-row[data-id="${srv.lesson}"]`);
  await row.waitFor({ timeout: 10000 });
  const text = await row.innerText();
  log(`已下载 row: ${text.replace(/\n/g, ' / ')}`);
  for (const want of ['森林防火第一课', 'བོད་སྐད', 'MB', 'p ·', '下载', '播放', '删除']) assert.ok(text.includes(want), `the row shows ${want}: ${text}`);
  assert.match(await page.locator('.downloads .dl-offline').innerText(), /现在没有网络/);
  await shot(page, path.join(shots, 'offline.png'));
  await row.locator('.dl-play').click();
  const s = await expectPlaying(page, 4, 30000, 'offline playback');
  log(`offline playing: ${JSON.stringify(s)}`);
  const tr = await page.evaluate(() => [...window.yl.player.video.textTracks].filter((t) => t.kind === 'subtitles').map((t) => `${t.language}:${t.mode}`));
  assert.ok(tr.some((x) => x.startsWith('bo:')), `a Tibetan subtitles track: ${tr}`);
  const cue = await until(() => page.evaluate(() => window.yl.player.cues.textContent), 10000, 'a subtitle cue on screen');
  log(`cue: ${cue}`);
  assert.match(cue, /[\u0F00-\u0FFF]/, 'the cue is Tibetan');
  const sess = await page.evaluate(() => window.yl.player.session && window.yl.player.session.id);
  assert.ok(sess, 'a viewing session runs offline');
  await until(async () => (await page.evaluate(() => JSON.parse(localStorage.getItem('yl.views.q') || '[]'))).filter((e) => e.session === sess && e.kind === 'beat').length >= 1,
    BEAT_S * 4000, 'a beat queued offline');
  const q = (await page.evaluate(() => JSON.parse(localStorage.getItem('yl.views.q') || '[]'))).filter((e) => e.session === sess);
  log(`queued offline: ${q.map((e) => `${e.seq}:${e.kind}`).join(' ')} (rendition ${q[0].rendition}, client ${q[0].client})`);
  assert.equal(q[0].kind, 'start');
  assert.equal(q[0].client, 'phone');
  const stored = () => Number(srv.sqlRows(`SELECT count(*) AS n FROM view_events WHERE session_id IN (SELECT id FROM sessions WHERE skey='${sess}')`)[0].n);
  assert.equal(stored(), 0, 'nothing of the offline session reached the server while offline');

  // Back online: the queue goes, as it does for any lesson.
  await b.ctx.setOffline(false);
  const n = q.length;
  const got = await until(() => stored() >= n && stored(), 90000, `the ${n} offline events in view_events`);
  const row2 = srv.sqlRows(`SELECT client, audio_lang, watched_s FROM sessions WHERE skey='${sess}'`)[0];
  log(`back online: ${got} events stored for the session (${JSON.stringify(row2)})`);
  assert.equal(row2.client, 'phone');
  assert.equal(row2.audio_lang, 'bo');
  assert.ok(row2.watched_s >= 2, `the offline watching is counted (${row2.watched_s} s)`);
});

test('delete removes the kept lesson and its cache', async () => {
  await page.goto(`${srv.base}/?beat=${BEAT_S}#/downloads`);
  const row = page.locator(`.dl-row[data-id="${srv.lesson}"]`);
  await row.waitFor({ timeout: 10000 });
  await row.locator('.dl-delete').click();
  await page.locator('.downloads .dl-none').waitFor({ timeout: 10000 });
  assert.deepEqual(await lessonCaches(page), []);
  assert.deepEqual(await kept(page), {});
  // The player offers "下载" again and plays from the network.
  await page.goto(`${srv.base}/?beat=${BEAT_S}#/lesson/${srv.lesson}`);
  await page.locator('.download .dl-start').waitFor({ timeout: 15000 });
  await expectPlaying(page, 1, 30000, 'online playback after delete');
});
