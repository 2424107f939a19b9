// ws_session.mjs PORT SID - the channel takes a signed-in person's session
// cookie in place of a token, from a page of the same origin only
// (t_users.sh).
import { Client, check } from './wslib.mjs';

const [port, sid] = [process.argv[2], process.argv[3]];
const host = `127.0.0.1:${port}`;

async function main() {
    let c = new Client(port, { headers: { cookie: `yl_session=${sid}`, origin: `http://${host}` } });
    const w = await c.hello(undefined, { client: 'pc' });
    check(w.role === 'admin' && w.scope === '53', 'a session cookie from the same origin is welcomed');
    c.send({ type: 'subscribe', topics: ['notices'], region: '53' });
    await c.next('notices');
    check(true, 'the session subscribes to notices');
    c.close();

    c = new Client(port, { headers: { cookie: `yl_session=${sid}`, origin: 'http://evil.example' } });
    await c.opened;
    c.send({ type: 'hello', since: 0, client: 'pc', device: 'x' });
    let cl = await c.closedWith();
    check(cl.code === 4401, `a session cookie from another origin is refused (${cl.code})`);

    c = new Client(port, { headers: { cookie: 'yl_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', origin: `http://${host}` } });
    await c.opened;
    c.send({ type: 'hello', since: 0, client: 'pc', device: 'x' });
    cl = await c.closedWith();
    check(cl.code === 4401, `an unknown session is refused (${cl.code})`);
}

main().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
