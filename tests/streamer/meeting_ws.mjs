// meeting_ws.mjs PORT TOKEN OUT - a site on the channel: writes each
// "meeting" message it gets to OUT (one JSON per line); exits 0 after an
// "ended" one, 1 after 90 s. Started before the meeting, as a village TV.
import fs from 'node:fs';
import { Client } from './wslib.mjs';

const [port, token, out] = process.argv.slice(2);
const c = new Client(port);
await c.hello(token);
fs.writeFileSync(out, '');
fs.writeFileSync(`${out}.ready`, '');
for (;;) {
    const m = await c.next('meeting', 90000);
    fs.appendFileSync(out, `${JSON.stringify(m)}\n`);
    if (m.state === 'ended') break;
}
c.close();
process.exit(0);
