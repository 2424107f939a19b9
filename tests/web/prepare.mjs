// tests/web/prepare.mjs - the ctest fixture "web_lessons" (test
// fixture_web_lessons): the browser tests' sites, tokens and lessons,
// transcoded once per ctest run instead of once per test. Writes
// $YL_FIXTURES/web/{lesson,short,audio}/ (data directories, each with the
// lessons of the one before too) and fixture.json (the tokens and ids);
// setup() in lib/fixture.mjs copies the one a test asks for. Published
// with rename(), so a half-made fixture is never used.
import fs from 'node:fs';
import path from 'node:path';
import { prepareWeb, log, FIXTURES } from './lib/fixture.mjs';

if (!FIXTURES) throw new Error('YL_FIXTURES must name the fixtures directory');
fs.mkdirSync(FIXTURES, { recursive: true });
const tmp = fs.mkdtempSync(path.join(FIXTURES, '.web.'));
try {
  await prepareWeb(tmp);
  fs.rmSync(path.join(FIXTURES, 'web'), { recursive: true, force: true });
  fs.renameSync(tmp, path.join(FIXTURES, 'web'));
} catch (e) {
  fs.rmSync(tmp, { recursive: true, force: true });
  throw e;
}
log(`web_lessons fixture ready in ${path.join(FIXTURES, 'web')}`);
