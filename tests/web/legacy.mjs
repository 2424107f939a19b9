// The legacy bundle (issue 11): old Android WebViews of village set-top
// boxes do not run ES modules, so player-web/build.sh makes js/legacy.js
// with esbuild (ES2015, one script) and index.html loads it with
// <script nomodule>. Checks: the bundle parses as ES2015 (acorn,
// ecmaVersion 2015: no syntax newer than that), the modern modules do not
// (so the check can fail), index.html loads it with nomodule; and in
// Chromium with the module build disabled (the page's module scripts
// removed, every request for the modules refused) the lesson list and a
// lesson play from the bundle alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setup, browser, closeBrowser, expectPlaying, log, SRC } from './lib/fixture.mjs';

const dist = process.env.YL_WEB || path.join(SRC, 'player-web/dist');
const { parse } = await import(path.join(SRC, 'node_modules/acorn/dist/acorn.mjs'));

test('js/legacy.js parses at ES2015; the modules need more; index.html loads it nomodule', () => {
  const file = path.join(dist, 'js/legacy.js');
  assert.ok(fs.existsSync(file), `${file} is built`);
  const code = fs.readFileSync(file, 'utf8');
  assert.doesNotThrow(() => parse(code, { ecmaVersion: 2015, sourceType: 'script' }), 'legacy.js is ES2015');
  assert.doesNotMatch(code, /\bimport\s*\(|\bimport\.meta\b/, 'no dynamic import or import.meta left');
  assert.throws(() => parse(fs.readFileSync(path.join(dist, 'js/player.js'), 'utf8'), { ecmaVersion: 2015, sourceType: 'module' }),
    'the modern player does not parse at ES2015 (the check can fail)');
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  assert.match(html, /<script nomodule[^>]*src="js\/legacy\.js"/);
  log(`legacy.js: ${(code.length / 1024).toFixed(1)} KB, parses as ES2015`);
});

let srv;
before(async () => {
  srv = await setup({ siteLang: 'bo' });
});
after(async () => {
  await closeBrowser();
  if (srv) await srv.stop();
});

test('with the module build disabled, the list and a lesson play from the legacy bundle', async () => {
  const b = await browser();
  const { page } = b;
  const refused = [];
  try {
    // A browser without modules: index.html without its module script and
    // preloads, legacy.js as an ordinary script; any module request fails.
    await page.route(/\/(index\.html)?(\?[^#]*)?$/, async (route) => {
      const res = await route.fetch();
      let html = await res.text();
      html = html.replace(/<script type="module"[^>]*><\/script>\n?/g, '').replace(/<link rel="modulepreload"[^>]*>\n?/g, '')
        .replace('<script nomodule', '<script');
      await route.fulfill({ response: res, body: html, headers: { ...res.headers(), 'content-length': String(Buffer.byteLength(html)) } });
    });
    await page.route(/\/js\/(?!legacy\.js)[\w-]+\.js$/, (route) => {
      refused.push(route.request().url());
      return route.abort();
    });
    await page.goto(`${srv.base}/?setup=${srv.site}.${srv.siteToken}`);
    await page.locator(`.card[data-id="${srv.lesson}"]`).waitFor({ timeout: 15000 });
    assert.equal(await page.evaluate(() => window.ylLegacy), true, 'the legacy bundle runs the page');
    await page.locator(`.card[data-id="${srv.lesson}"]`).click();
    const s = await expectPlaying(page, 2, 20000, 'legacy playback');
    assert.ok(s.frames > 10, 'video frames decoded');
    assert.deepEqual(refused, [], 'no module was requested');
    assert.ok(!b.errors.some((e) => /pageerror/.test(e)), `no page errors: ${b.errors.join('; ')}`);
  } finally {
    await b.close();
  }
});
