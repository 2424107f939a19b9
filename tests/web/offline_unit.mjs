// Unit tests of player-web/src/js/offline.js under node (no browser): the
// rung kept for a phone and a PC, the reduced master (that rung, that audio,
// those subtitles), the files of a media playlist, and the size estimate
// and its "MB" figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const src = process.env.YL_SRCDIR || path.resolve(import.meta.dirname, '../..');
const off = await import(pathToFileURL(path.join(src, 'player-web/src/js/offline.js')).href);

// A master as yunling transcode writes it (docs/transcode.md).
const MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="zh",NAME="中文",DEFAULT=YES,AUTOSELECT=YES,URI="a-zh/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="bo",NAME="བོད་སྐད",DEFAULT=NO,AUTOSELECT=YES,URI="a-bo/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="bo",NAME="བོད་སྐད",DEFAULT=NO,AUTOSELECT=YES,URI="s-bo/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="lis",NAME="ꓡꓲ-ꓢꓴ",DEFAULT=NO,AUTOSELECT=YES,URI="s-lis/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2600000,RESOLUTION=1280x720,FRAME-RATE=25,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
v0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1400000,AVERAGE-BANDWIDTH=1200000,RESOLUTION=854x480,FRAME-RATE=25,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
v1/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=700000,AVERAGE-BANDWIDTH=600000,RESOLUTION=640x360,FRAME-RATE=25,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
v2/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
a-zh/index.m3u8
`;

test('the rung: at most 480p on a phone, 720p on a PC, else the lowest', () => {
  const m = off.parseMaster(MASTER);
  assert.equal(m.variants.length, 4);
  assert.equal(off.pickRung(m.variants, 'phone').uri, 'v1/index.m3u8');
  assert.equal(off.pickRung(m.variants, 'pc').uri, 'v0/index.m3u8');
  const tall = off.parseMaster(MASTER.replace(/854x480/, '1920x1080').replace(/640x360/, '2560x1440')).variants;
  assert.equal(off.pickRung(tall, 'phone').uri, 'v0/index.m3u8', 'nothing fits: the lowest rung');
  const audioOnly = off.parseMaster(MASTER.split('#EXT-X-STREAM-INF:BANDWIDTH=3000000')[0] +
    '#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2",AUDIO="aud"\na-zh/index.m3u8\n').variants;
  assert.equal(off.pickRung(audioOnly, 'phone').uri, 'a-zh/index.m3u8', 'an audio lesson keeps its audio variant');
});

test('the reduced master: that rung, that audio (as default), those subtitles', () => {
  const p = off.plan(MASTER, { kind: 'phone', audio: 'bo', subs: 'bo' });
  const lines = p.text.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS']);
  assert.equal(lines.filter((l) => l.startsWith('#EXT-X-STREAM-INF')).length, 1);
  assert.equal(lines[lines.length - 1], 'v1/index.m3u8');
  const audio = lines.filter((l) => l.includes('TYPE=AUDIO'));
  assert.equal(audio.length, 1);
  assert.match(audio[0], /LANGUAGE="bo".*DEFAULT=YES/);
  const subs = lines.filter((l) => l.includes('TYPE=SUBTITLES'));
  assert.equal(subs.length, 1);
  assert.match(subs[0], /LANGUAGE="bo"/);
  assert.equal(p.audio.a.URI, 'a-bo/index.m3u8');
  assert.equal(p.subs.a.URI, 's-bo/index.m3u8');
  // No subtitles wanted (or none in that language): the variant names none.
  const q = off.plan(MASTER, { kind: 'pc', audio: 'bod', subs: 'ii' });
  assert.equal(q.subs, null);
  assert.doesNotMatch(q.text, /SUBTITLES/);
  assert.equal(q.audio.a.LANGUAGE, 'bo', 'tags compare in their canonical form');
  assert.equal(off.plan(MASTER, { kind: 'pc', audio: 'wbm' }).audio.a.LANGUAGE, 'zh', 'an unknown language: the default audio');
});

test('media playlist files and the size estimate', () => {
  const { files, dur } = off.mediaFiles(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000,
seg_00000.m4s
#EXTINF:4.000,
seg_00001.m4s
#EXTINF:2.5,
seg_00002.m4s
#EXT-X-ENDLIST
`);
  assert.deepEqual(files, ['init.mp4', 'seg_00000.m4s', 'seg_00001.m4s', 'seg_00002.m4s']);
  assert.equal(dur, 10.5);
  const v = off.parseMaster(MASTER).variants[1];
  // 1.2 Mbit/s for 10 minutes: 90 MB, plus 5% and 64 KB.
  assert.equal(off.estimateBytes(v, 600), Math.ceil(90e6 * 1.05) + 65536);
  assert.equal(off.fmtMB(85.4e6), '85 MB');
  assert.equal(off.fmtMB(940000), '0.9 MB');
  assert.equal(off.fmtMB(-1), '0 MB');
});
