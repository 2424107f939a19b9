// ws_hold.mjs PORT token TOKEN | PORT session SID - holds a welcomed
// channel open and waits for the server to close it. Prints "welcome"
// once welcomed (the caller then revokes the token, lets it expire or
// ends the session), then "closed CODE REASON" and the seconds from
// "welcome" to the close. Exits 0 on a close within 20 s, 1 otherwise.
import { Client } from './wslib.mjs';

const [port, kind, cred] = process.argv.slice(2);
const c = kind === 'session'
    ? new Client(port, { headers: { cookie: `yl_session=${cred}`, origin: `http://127.0.0.1:${port}` } })
    : new Client(port);
try {
    await c.hello(kind === 'session' ? undefined : cred, { client: 'pc' });
    const t0 = Date.now();
    console.log('welcome');
    const cl = await c.closedWith(20000);
    console.log(`closed ${cl.code} ${cl.reason}`);
    console.log(`after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    process.exit(0);
} catch (e) {
    console.log(`FAIL: ${e.message}`);
    process.exit(1);
}
