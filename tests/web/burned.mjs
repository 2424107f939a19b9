// Browser test of burned-in subtitles (issue 14): a lesson uploaded with
// burn_subs=bo, in Debian's Chromium against the real `yunling serve`.
// TV mode, remote keys only: the player offers 字幕烧录版 for the site's
// language (Tibetan), the green key's menu lists it, choosing it plays
// master-burn-bo.m3u8 (one 480p-or-smaller rung, no WebVTT on top), and
// 关闭字幕 goes back to master.m3u8. PC mode: neither the menu nor hls.js's
// levels ever hold the burned rung.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, browser, closeBrowser, expectPlaying, until, log, remoteKey, focused } from './lib/fixture.mjs';

let srv;

before(async () => {
  srv = await setup({ siteLang: 'bo', burn: 'bo' });
});

after(async () => {
  await closeBrowser();
  if (srv) await srv.stop();
});

async function press(page, key, times = 1) {
  for (let i = 0; i < times; i++) {
    await page.keyboard.press(key);
    await page.waitForTimeout(40);
  }
  return focused(page);
}

async function choose(page, value) {
  await page.locator('.menu').waitFor({ timeout: 3000 });
  await press(page, 'ArrowUp', 12);
  for (let i = 0; i < 14 && (await focused(page)) !== `opt:${value}`; i++) await press(page, 'ArrowDown');
  assert.equal(await focused(page), `opt:${value}`, `the menu offers ${value}`);
  await press(page, 'Enter');
  await until(async () => !(await page.locator('.menu').count()), 3000, 'the menu to close');
}

const state = (page) => page.evaluate(() => {
  const p = window.yl.player;
  return {
    url: p.hls && p.hls.url, subs: p.subLang, burn: p.burnLang, notice: p.notice.hidden ? '' : p.notice.textContent,
    levels: p.hls ? p.hls.levels.map((l) => ({ h: l.height, url: String(l.url) })) : [],
    label: p.b.subs.textContent,
  };
});

test('API and playlists list the burned rung apart from the ladder', async () => {
  const r = await srv.api('GET', `/api/v1/lessons/${srv.lesson}`);
  assert.deepEqual(r.body.burned, ['bo']);
  const m = await srv.api('GET', `/hls/${srv.lesson}/master.m3u8`);
  assert.ok(!/vb-bo/.test(m.text), 'master.m3u8 does not list the burned rung');
  const b = await srv.api('GET', `/hls/${srv.lesson}/master-burn-bo.m3u8`);
  assert.equal(b.status, 200);
  assert.match(b.text, /\nvb-bo\/index\.m3u8\n/);
});

test('TV mode offers 字幕烧录版 and plays it by remote keys', async () => {
  const b = await browser({ viewport: { width: 1280, height: 720 } });
  const { page } = b;
  try {
    await page.goto(`${srv.base}/?tv=1&setup=${srv.site}.${srv.siteToken}`);
    await page.locator('.card').first().waitFor();
    await until(async () => /^card:/.test((await focused(page)) || ''), 5000, 'a focused card');
    for (let i = 0; i < 8 && (await focused(page)) !== `card:${srv.lesson}`; i++) await press(page, 'ArrowRight');
    assert.equal(await focused(page), `card:${srv.lesson}`, 'arrows reach the lesson');
    await press(page, 'Enter');
    await page.locator('.player').waitFor();
    await expectPlaying(page, 1.5, 30000, 'playback');
    await until(async () => /字幕烧录版/.test((await state(page)).notice), 15000, 'the 字幕烧录版 offer');
    let st = await state(page);
    log(`offer: ${st.notice}`);
    assert.match(st.url, /master\.m3u8$/, 'the ladder plays until asked');
    assert.ok(st.levels.every((l) => !/vb-bo/.test(l.url)), 'the ladder holds no burned rung');

    await remoteKey(page, 'ColorF1Green', 404);
    await choose(page, 'burn:bo');
    await until(async () => /master-burn-bo\.m3u8$/.test((await state(page)).url || ''), 8000, 'the burned master');
    await expectPlaying(page, 1.5, 20000, 'burned playback');
    st = await state(page);
    assert.equal(st.burn, 'bo');
    assert.equal(st.subs, null, 'no WebVTT on top of the burned text');
    assert.equal(st.levels.length, 1, 'one variant');
    assert.ok(st.levels[0].h > 0 && st.levels[0].h <= 480, `burned rung ${st.levels[0].h}p`);
    assert.match(st.label, /字幕烧录版/, 'the subtitle button says so');
    assert.equal(st.notice, '', 'the offer is gone');

    await remoteKey(page, 'ColorF1Green', 404);
    await choose(page, '');
    await until(async () => /master\.m3u8$/.test((await state(page)).url || ''), 8000, 'back to the ladder');
    await expectPlaying(page, 1, 20000, 'ladder playback');
    assert.equal((await state(page)).burn, null);
    assert.deepEqual(b.errors, [], 'no page errors');
  } finally {
    await b.close();
  }
});

test('PC mode never shows or picks the burned rung', async () => {
  const b = await browser({ viewport: { width: 1280, height: 720 } });
  const { page } = b;
  try {
    await page.goto(`${srv.base}/?tv=0#/lesson/${srv.lesson}`);
    await page.locator('.player').waitFor();
    await expectPlaying(page, 1.5, 30000, 'playback');
    const st = await state(page);
    assert.ok(st.levels.every((l) => !/vb-bo/.test(l.url)), 'no burned level');
    assert.ok(!/字幕烧录版/.test(st.notice), 'no offer');
    await page.evaluate(() => window.yl.player.openMenu('subs'));
    await page.locator('.menu').waitFor();
    assert.equal(await page.locator('.menu [data-value^="burn:"]').count(), 0, 'no burned option');
  } finally {
    await b.close();
  }
});
