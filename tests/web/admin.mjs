// Browser test of the admin console (/admin/) against the real server:
// Debian's Chromium driven by playwright-core at 1366x768 (an office PC).
//   - a province admin signs in with a password (yunling user add), uploads
//     a short lesson (source by the file picker, a Tibetan subtitle file by
//     drag and drop, its language guessed from the name, ticked to be
//     burned into the picture too: "burned": ["bo"]), sees the upload
//     progress and then the transcode job pushed on the channel until done;
//   - an upload of a file that is not media fails, and the console shows
//     the reason;
//   - a notice with no targets is refused (by the page, and by the server);
//   - a notice sent to a county from the region tree reaches a station
//     (a node `ws` client with a site token), whose read receipt arrives in
//     the open console live, per child region;
//   - a county admin sees its own county only;
//   - admin.png in $YL_SCREENSHOTS (YL_SCREENSHOTS=docs/screenshots makes
//     the documentation's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Server, importSites, browser, closeBrowser, makeShortMedia, shot, until, log, TMP, YUNLING } from './lib/fixture.mjs';
import { Client } from '../streamer/wslib.mjs';

const shots = process.env.YL_SCREENSHOTS || path.join(TMP, 'screenshots');
const VIEW = { viewport: { width: 1366, height: 768 } };
let srv, media;
const open = [];

function addUser(name, scope, pw) {
  execFileSync(YUNLING, ['user', 'add', '--name', name, '--role', 'admin', '--scope', scope, '--data', srv.data], { input: `${pw}\n` });
}

before(async () => {
  srv = new Server();
  log(`sites import: ${importSites(srv)}`);
  srv.site = '532901104201'; // 喜洲村委会, 大理市 532901
  srv.siteToken = srv.cli('token', 'create', '--role', 'site', '--scope', srv.site);
  addUser('sheng', '53', 'province-pass');
  addUser('dalishi', '532901', 'county-pass');
  media = makeShortMedia(path.join(TMP, 'media'), 4);
  fs.writeFileSync(path.join(media, 'bad.mp4'), 'this is a text file, not a video\n'.repeat(200));
  fs.writeFileSync(path.join(media, 'subs-bo.srt'), '1\n00:00:00,500 --> 00:00:03,000\nབཀྲ་ཤིས་བདེ་ལེགས།\n');
  await srv.start();
});

after(async () => {
  for (const b of open) {
    if (b.errors.length) log(`browser errors:\n  ${b.errors.join('\n  ')}`);
    await b.close().catch(() => {});
  }
  await closeBrowser();
  if (srv) await srv.stop();
});

async function signIn(name, pw) {
  const b = await browser(VIEW);
  open.push(b);
  b.frames = [];
  b.page.on('websocket', (ws) => ws.on('framereceived', (f) => { try { b.frames.push(JSON.parse(String(f.payload))); } catch { /* binary */ } }));
  await b.page.goto(`${srv.base}/admin/`);
  await b.page.waitForSelector('#signin:not([hidden])');
  await b.page.fill('#si-name', name);
  await b.page.fill('#si-pw', pw);
  await b.page.click('#si-go');
  await b.page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  await until(() => b.page.evaluate(() => document.getElementById('live').classList.contains('on')), 10000, 'the channel to welcome the session');
  return b;
}

test('a wrong password is refused on the page', async () => {
  const b = await browser(VIEW);
  open.push(b);
  await b.page.goto(`${srv.base}/admin/`);
  await b.page.fill('#si-name', 'sheng');
  await b.page.fill('#si-pw', 'not-the-password');
  await b.page.click('#si-go');
  await until(async () => (await b.page.textContent('#si-err')).includes('密码错误'), 10000, 'the wrong-password message');
  const cookies = await b.ctx.cookies();
  assert.equal(cookies.length, 0, 'no cookie after a wrong password');
  // First load over the wire (gzip siblings), far under the 1 MB budget.
  const bytes = await b.page.evaluate(() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .reduce((n, e) => n + (e.transferSize || 0), 0));
  log(`first load: ${bytes} bytes`);
  assert.ok(bytes > 0 && bytes < 1024 * 1024, `first load ${bytes} bytes`);
});

test('the admin uploads a lesson and sees it transcode to done', async () => {
  const b = await signIn('sheng', 'province-pass');
  const p = b.page;
  const c = (await b.ctx.cookies()).find((x) => x.name === 'yl_session');
  assert.ok(c && c.httpOnly && c.sameSite === 'Strict', `session cookie flags: ${JSON.stringify(c)}`);
  await p.setInputFiles('#up-files', path.join(media, 'short.mp4'));
  // The subtitle file arrives by drag and drop.
  const srt = fs.readFileSync(path.join(media, 'subs-bo.srt'), 'utf8');
  const dt = await p.evaluateHandle((text) => {
    const d = new DataTransfer();
    d.items.add(new File([text], 'subs-bo.srt', { type: 'text/plain' }));
    return d;
  }, srt);
  await p.dispatchEvent('#drop', 'dragover', { dataTransfer: dt });
  await p.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  const rows = await p.$$eval('#up-list tr', (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent, tr.querySelector('select') ? tr.querySelector('select').value : '']));
  assert.deepEqual(rows, [['视频', 'short.mp4', ''], ['字幕', 'subs-bo.srt', 'bo']], 'source and a Tibetan subtitle listed');
  const boName = await p.$eval('#up-list select', (s) => s.selectedOptions[0].textContent);
  assert.match(boName, /^བོད་སྐད/, 'the language list shows native names');
  // 烧录进画面: the same subtitles burned into a 480p rung (burn_subs=bo).
  await p.check('#up-list input.burn');
  await p.fill('#up-title', '核桃种植技术');
  await p.fill('#up-cat', '农业');
  await p.click('#up-go');
  await until(() => p.evaluate(() => document.getElementById('up-prog').value === 1), 20000, 'the upload progress bar to fill');
  const lesson = await until(() => p.evaluate(() => {
    const tr = document.querySelector('#lessons tbody tr');
    return tr && tr.cells[1].textContent === '核桃种植技术' ? Number(tr.dataset.lesson) : 0;
  }), 10000, 'the new lesson in the list');
  await until(() => p.evaluate((id) => {
    const td = document.querySelector(`#lessons tr[data-lesson="${id}"] td:nth-child(4)`);
    return td && /done|ready/.test(td.dataset.state) && td.textContent === '已完成' || (td && td.textContent === '已发布');
  }, lesson), 90000, 'the job to show done');
  assert.ok(b.frames.some((m) => m.type === 'jobs' && !m.snapshot && m.jobs.some((j) => j.lesson === lesson && j.state === 'done')), 'the job state was pushed on the channel');
  const l = await srv.api('GET', `/api/v1/lessons/${lesson}`);
  assert.equal(l.status, 200);
  assert.deepEqual(l.body.subtitles, ['bo'], 'the dropped subtitle is in the lesson');
  assert.deepEqual(l.body.burned, ['bo'], 'and burned into a rung (烧录进画面)');
  // 编辑: the title and category edited in place.
  await p.click(`#lessons tr[data-lesson="${lesson}"] button.edit`);
  await p.fill(`#lessons tr[data-lesson="${lesson}"] .ed-title`, '核桃种植技术（修订）');
  await p.fill(`#lessons tr[data-lesson="${lesson}"] .ed-cat`, '林业');
  await p.click(`#lessons tr[data-lesson="${lesson}"] .ed-save`);
  await until(() => p.evaluate((id) => document.querySelector(`#lessons tr[data-lesson="${id}"]`).cells[1].textContent === '核桃种植技术（修订）', lesson), 5000, 'the edited title');
  const e = await srv.api('GET', `/api/v1/lessons/${lesson}`);
  assert.equal(e.body.category, '林业', 'the category stored');
  srv.lesson = lesson;
  srv.adminPage = b;
});

test('an upload that is not media fails and the console shows why', async () => {
  const p = srv.adminPage.page;
  await p.setInputFiles('#up-files', path.join(media, 'bad.mp4'));
  await p.fill('#up-title', '坏文件');
  await p.click('#up-go');
  const why = await until(() => p.evaluate(() => {
    const err = document.getElementById('up-err').textContent;
    if (err) return `upload: ${err}`;
    const tr = [...document.querySelectorAll('#lessons tbody tr')].find((r) => r.cells[1].textContent === '坏文件');
    const e = tr && tr.querySelector('.jerr');
    return tr && tr.cells[3].dataset.state === 'failed' && e && e.textContent ? `job: ${e.textContent}` : '';
  }), 90000, 'the failure and its reason on the page');
  log(`non-media upload: ${why}`);
  assert.ok(why.length > 12, `a reason is shown: ${why}`);
  // 重试 queues the failed job again; it runs and fails again (same file),
  // which the channel pushes.
  if (why.startsWith('job:')) {
    const pushed = () => srv.adminPage.frames.filter((m) => m.type === 'jobs' && !m.snapshot).length;
    await p.click('#lessons button.retry');
    await until(() => p.evaluate(() => !document.querySelector('#lessons button.retry')), 5000, 'the job shown queued');
    const n0 = pushed();
    await until(() => p.evaluate(() => !!document.querySelector('#lessons button.retry')), 60000, 'the retried job to fail again');
    assert.ok(pushed() > n0, 'the second failure was pushed');
  }
});

test('a notice with no targets is refused', async () => {
  const p = srv.adminPage.page;
  await p.click('.tab[data-tab="notices"]');
  await p.fill('#nt-title', '无对象的通知');
  await p.fill('#nt-body', '正文');
  await p.click('#nt-go');
  assert.match(await p.textContent('#nt-err'), /至少选择/, 'the page refuses');
  const st = await p.evaluate(async () => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/notices', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf }, body: JSON.stringify({ title: 't', body: 'b', targets: [] }) });
    return r.status;
  });
  assert.equal(st, 400, 'the server refuses too');
});

test('a notice reaches a station and its read receipt arrives live', async () => {
  const p = srv.adminPage.page;
  const station = new Client(srv.port);
  const w = await station.hello(srv.siteToken);
  assert.equal(w.role, 'site');
  // The tree: 云南省 ▸ 大理白族自治州 ▸ tick 大理市.
  await p.click('#tree li[data-code="53"] > .tw');
  await p.waitForSelector('#tree li[data-code="5329"]');
  assert.match(await p.textContent('#tree li[data-code="5329"] > .cnt'), /\d+ 个站点/, 'the tree shows station counts');
  await p.click('#tree li[data-code="5329"] > .tw');
  await p.waitForSelector('#tree li[data-code="532901"]');
  await p.check('#tree li[data-code="532901"] > label input');
  await p.fill('#nt-title', '关于秋季森林防火的通知');
  await p.fill('#nt-body', '各村党群服务站：\n请于本周五前完成秋季森林防火检查。');
  await p.click('#nt-go');
  await until(async () => /已发送到 \d+ 个站点/.test(await p.textContent('#nt-err')), 10000, 'the sent message');
  const n = await station.next('notice');
  assert.equal(n.title, '关于秋季森林防火的通知');
  station.send({ type: 'ack', notice: n.id, state: 'delivered' });
  station.send({ type: 'ack', notice: n.id, state: 'read' });
  await until(() => p.evaluate((id) => {
    const tr = document.querySelector(`#notices tr[data-notice="${id}"]`);
    return tr && /^1\//.test(tr.querySelector('.read').textContent);
  }, n.id), 10000, 'the read receipt in the list, pushed');
  await until(() => p.evaluate(() => {
    const tr = document.querySelector('#report-table tr[data-code="5329"]');
    return tr && tr.cells[3].textContent === '1';
  }), 10000, 'the read receipt in the per-region report');
  // Down the report to the villages: 大理州 → 大理市 → 喜洲镇, where the
  // village that read it is not in the unread list and the others are.
  await p.click('#report-table tr[data-code="5329"] a');
  await p.waitForSelector('#report-table tr[data-code="532901"] a');
  await p.click('#report-table tr[data-code="532901"] a');
  await p.waitForSelector('#report-table tr[data-code="532901104"] a');
  await p.click('#report-table tr[data-code="532901104"] a');
  await p.waitForSelector(`#report-table tr[data-code="${srv.site}"]`);
  const unread = await p.textContent('#unread');
  assert.match(unread, /^未读的村：/, `the unread villages: ${unread}`);
  assert.ok(!unread.includes('喜洲村委会'), 'the village that read it is not listed as unread');
  await p.click('#report-up');
  await p.waitForSelector('#report-table tr[data-code="532901104"]');
  // 站点: the connected station shows online in 大理州, pushed.
  await p.click('.tab[data-tab="stations"]');
  await until(() => p.evaluate(() => {
    const tr = document.querySelector('#presence tr[data-code="5329"]');
    return tr && tr.cells[2].textContent === '1';
  }), 10000, 'the station online under 5329');
  station.close();
  await until(() => p.evaluate(() => document.getElementById('online-total').textContent === '0'), 70000, 'the station offline once it closed');
  // Down the site tree to the village: offline now, with its last-seen
  // time; its default language set from the row's list.
  await p.click('#presence tr[data-code="5329"] a');
  await p.waitForSelector('#presence tr[data-code="532901"] a');
  await p.click('#presence tr[data-code="532901"] a');
  await p.waitForSelector('#presence tr[data-code="532901104"] a');
  await p.click('#presence tr[data-code="532901104"] a');
  await p.waitForSelector(`#presence tr[data-code="${srv.site}"]`);
  await until(() => p.evaluate((c) => /^\d{4}-\d\d-\d\d \d\d:\d\d/.test(document.querySelector(`#presence tr[data-code="${c}"]`).cells[3].textContent), srv.site), 10000, 'the village\'s last-seen time');
  await p.selectOption(`#presence tr[data-code="${srv.site}"] select`, 'bo');
  await until(async () => /藏语|བོད/.test(await p.textContent('#sb-err')), 5000, 'the language set, said on the page');
  const lang = await p.evaluate(async (c) => (await (await fetch(`/api/v1/sites/${c}`)).json()).own_lang, srv.site);
  assert.equal(lang, 'bo', 'the village\'s own default language stored');
  await p.selectOption(`#presence tr[data-code="${srv.site}"] select`, '');
  await until(async () => (await p.evaluate(async (c) => (await (await fetch(`/api/v1/sites/${c}`)).json()).own_lang, srv.site)) === null, 5000, 'cleared again');
  await p.click('#sb-up');
  await p.waitForSelector('#presence tr[data-code="532901104"]');
  await p.click('.tab[data-tab="notices"]');
  srv.notice = n.id;
  await shot(p, path.join(shots, 'admin.png'));
});

test('statistics: the ranking in scope, and CSV for Excel', async () => {
  const p = srv.adminPage.page;
  await p.click('.tab[data-tab="stats"]');
  await p.waitForSelector('#ranking tbody tr[data-code="5329"]');
  assert.equal(await p.$$eval('#ranking tbody tr', (r) => r.length), 16, 'the 16 prefectures of Yunnan');
  await p.click('#ranking tr[data-code="5329"] a');
  await p.waitForSelector('#ranking tbody tr[data-code="532901"]');
  const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#st-csv')]);
  const csv = fs.readFileSync(await dl.path());
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a BOM (Excel)');
  const text = csv.toString('utf8');
  assert.match(text, /^\ufeff名次,代码,区域,/, 'a Chinese header row');
  assert.match(text, /532901,大理市,/, 'a row per county');
  assert.match(dl.suggestedFilename(), /\.csv$/);
  // A village's viewing history, from the ranking down to it.
  await p.click('#ranking tr[data-code="532901"] a');
  await p.waitForSelector('#ranking tbody tr[data-code="532901104"] a');
  await p.click('#ranking tr[data-code="532901104"] a');
  await p.waitForSelector(`#ranking tbody tr[data-code="${srv.site}"] a.hist`);
  await p.click(`#ranking tr[data-code="${srv.site}"] a.hist`);
  await until(async () => /喜洲村委会/.test(await p.textContent('#hist-name')), 5000, 'the village\'s history shown');
  assert.match(await p.textContent('#hist-totals'), /观看 [\d.]+ 小时/, 'its totals');
  const [dh] = await Promise.all([p.waitForEvent('download'), p.click('#hist-csv')]);
  assert.match(fs.readFileSync(await dh.path(), 'utf8'), /^\ufeff日期,课程,/, 'its CSV');
  await p.click('#hist-close');
  await p.click('.tab[data-tab="notices"]');
});

test('meetings: the 会议 tab, attendance down to the stations, and CSV', async () => {
  const p = srv.adminPage.page;
  const admin = srv.cli('token', 'create', '--role', 'admin', '--scope', '53');
  const m = await srv.api('POST', '/api/v1/meetings', { token: admin, json: { title: '全省部署会', targets: ['532901104'], source: 'test:' } });
  assert.equal(m.status, 201, m.text);
  const id = m.body.id;
  // A headcount is refused before the start (409); a meeting that ran
  // (here in the catalog only: no pipeline needed for this page) takes it.
  let hc = await srv.api('POST', `/api/v1/meetings/${id}/headcount`, { token: srv.siteToken, json: { site: srv.site, count: 23 } });
  assert.equal(hc.status, 409, hc.text);
  srv.sql(`PRAGMA busy_timeout = 5000; UPDATE meetings SET state = 'ended', started_ms = ${Date.now() - 60000}, ended_ms = ${Date.now()} WHERE id = ${id}`);
  hc = await srv.api('POST', `/api/v1/meetings/${id}/headcount`, { token: srv.siteToken, json: { site: srv.site, count: 23 } });
  assert.equal(hc.status, 200, hc.text);
  await p.click('.tab[data-tab="meetings"]');
  const row = `#meetings tr[data-meeting="${id}"]`;
  await p.waitForSelector(row);
  assert.deepEqual(await p.$eval(row, (r) => [...r.cells].map((c) => c.textContent)),
    [String(id), '全省部署会', '已结束', String(m.body.n_sites), '0', '0.0%', '0.00', '23'], 'the meeting with its attendance');
  await p.click(`${row} a`);
  for (const code of ['5329', '532901', '532901104']) {
    await p.waitForSelector(`#attendance-table tr[data-code="${code}"] a`);
    await p.click(`#attendance-table tr[data-code="${code}"] a`);
  }
  await p.waitForSelector(`#attendance-table tr[data-code="${srv.site}"]`);
  assert.equal(await p.$eval(`#attendance-table tr[data-code="${srv.site}"]`, (r) => r.cells[5].textContent), '23', 'the station\'s headcount');
  const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#attendance a.button')]);
  const csv = fs.readFileSync(await dl.path());
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a BOM (Excel)');
  assert.match(csv.toString('utf8'), /^\ufeff代码,名称,加入时间/, 'the stations\' CSV header');
  assert.match(csv.toString('utf8'), new RegExp(`${srv.site},[^,]+,,,0,0,23`), 'the station\'s row');
  await p.click('.tab[data-tab="notices"]');
});

test('a county admin sees its own county only', async () => {
  const b = await signIn('dalishi', 'county-pass');
  const p = b.page;
  await p.click('.tab[data-tab="notices"]');
  await p.waitForSelector('#tree li[data-code="532901"]');
  assert.equal(await p.$$eval('#tree > ul > li', (l) => l.map((x) => x.dataset.code).join()), '532901', 'the tree starts at the county');
  const r = await p.evaluate(async (id) => ({
    other: (await fetch('/api/v1/stats/now?region=5323')).status,
    up: (await fetch('/api/v1/stats/now?region=5329')).status,
    own: (await fetch('/api/v1/stats/now')).status,
    report: (await fetch(`/api/v1/notices/${id}?region=5329`)).status >= 403,
  }), srv.notice);
  assert.deepEqual(r, { other: 403, up: 403, own: 200, report: true }, 'another county, the prefecture: 403');
  // Provisioning the county's TVs: a setup link per village, once.
  await p.click('.tab[data-tab="stations"]');
  await until(async () => (await p.inputValue('#pv-region')) === '532901', 5000, 'the county prefilled');
  await p.click('#pv-go');
  await p.waitForSelector('#pv-list tbody tr');
  const links = await p.$$eval('#pv-list tbody tr', (r) => r.map((x) => x.cells[2].textContent));
  assert.ok(links.length > 100 && links.every((l) => l.startsWith(`${srv.base}/?setup=532901`)), `setup links: ${links.length}`);
  await p.fill('#pv-region', '532301');
  await p.click('#pv-go');
  await until(async () => /生成失败/.test(await p.textContent('#pv-err')), 5000, 'another county refused');
  await p.click('.tab[data-tab="stats"]');
  await p.waitForSelector('#ranking tbody tr');
  assert.equal(await p.inputValue('#st-region'), '532901', 'the ranking starts at the county');
  await p.fill('#st-region', '5323');
  await p.click('#st-form button[type=submit]');
  await until(async () => /查询失败/.test(await p.textContent('#st-err')), 5000, 'another prefecture refused on the page');
  // The channel's jobs snapshot holds its own county's jobs only.
  assert.ok(!b.frames.some((m) => m.type === 'jobs' && m.jobs.some((j) => j.lesson === srv.lesson)), 'the province lesson\'s job is not shown to the county');
});
