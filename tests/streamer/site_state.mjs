// site_state.mjs - the console's station browser over a real channel
// connection: a site's TV connects, GET /api/v1/sites?parent=...&state=1
// shows it online (counted once for two devices) with a last-seen time;
// after it leaves, offline with last_seen_ms at or after the leave.
import { Client, check, api } from './wslib.mjs';

const { PORT, DALI, SITE } = process.env;
const site = '532901104201';
const parent = '532901104';

async function stateOf(code) {
    const r = await api(PORT, 'GET', `/api/v1/sites?parent=${parent}&state=1`, DALI);
    if (r.status !== 200) throw new Error(`FAIL: list with state: ${r.status}`);
    return r.json.items.find((it) => it.code === code);
}

async function until(f, what, ms = 10000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await f();
        if (v) return v;
        if (Date.now() > end) throw new Error(`FAIL: ${what}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

const before = await stateOf(site);
check(before.online === 0 && before.last_seen_ms === 0, 'never seen: offline, last_seen_ms 0');
const t0 = Date.now();
const tv = new Client(PORT);
const phone = new Client(PORT);
await tv.hello(SITE);
await phone.hello(SITE, { client: 'phone', device: 'phone-1' });
const on = await stateOf(site);
check(on.online === 1, `online once for two devices (got ${on.online})`);
const town = (await api(PORT, 'GET', `/api/v1/sites/${parent}?state=1`, DALI)).json;
check(town.online === 1, 'the township counts its online station');
// The connect is written in the next batch (about 2 s).
await until(async () => (await stateOf(site)).last_seen_ms >= t0 - 1000, 'last seen recorded on connect');
tv.close();
phone.close();
const left = Date.now();
await tv.closedWith();
await phone.closedWith();
const off = await until(async () => {
    const s = await stateOf(site);
    return s.online === 0 && s.last_seen_ms >= left - 1000 ? s : null;
}, 'offline, last seen at the leave');
check(off.last_seen_ms <= Date.now(), `last_seen_ms ${off.last_seen_ms} is not in the future`);
