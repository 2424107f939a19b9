// ws_cases.mjs PHASE - the websocket channel driven by real clients
// (node `ws`), one phase per call of t_ws.sh. Environment: PORT, ADMIN,
// DALI, SITE (532901104201), CHUX_SITE (532301103201), EXPIRED, VIEWER,
// SITE2 (another Dali village), LID (a published lesson).
import { Client, WebSocket, check, api } from './wslib.mjs';

const E = process.env;
const port = E.PORT;
const phase = process.argv[2];

async function refused() {
    // Bad, expired and wrong-shape hellos.
    let c = new Client(port);
    await c.opened;
    c.send({ type: 'hello', token: 'x'.repeat(32), since: 0, client: 'tv' });
    let cl = await c.closedWith();
    check(cl.code === 4401, `unknown token: closed 4401 (${cl.code} ${cl.reason})`);

    c = new Client(port);
    await c.opened;
    c.send({ type: 'hello', token: E.EXPIRED });
    cl = await c.closedWith();
    check(cl.code === 4401 && /expired/.test(cl.reason), `expired token: 4401 "${cl.reason}"`);

    c = new Client(port);
    await c.opened;
    c.send({ type: 'views', events: [] });
    cl = await c.closedWith();
    check(cl.code === 4400, `a first message that is not a hello: 4400 (${cl.reason})`);

    c = new Client(port);
    await c.opened;
    c.send('{not json');
    cl = await c.closedWith();
    check(cl.code === 4400, 'malformed JSON as the first message: 4400');

    c = new Client(port);
    await c.opened;
    cl = await c.closedWith(15000);
    check(cl.code === 4408, `no hello within ws_hello: 4408 (${cl.reason})`);

    // The subprotocol is required; other paths are not websockets.
    c = new Client(port, { protocol: null });
    let err = await c.opened.then(() => 'open', (e) => e.message);
    check(err === 'HTTP 400', `no subprotocol: ${err}`);
    c = new Client(port, { path: '/ws/nope' });
    err = await c.opened.then(() => 'open', (e) => e.message);
    check(err === 'HTTP 404', `another path: ${err}`);
    // A list led by the name of one of the server's own protocols still
    // gets the channel, with its hello deadline (lws would bind the first
    // name it knows: a connection nothing times out).
    c = new Client(port, { protocol: ['yl-upgrade', 'yl-http', 'yunling.v1'] });
    await c.opened;
    check(c.ws.protocol === 'yunling.v1', `a list led by internal names: ${c.ws.protocol} chosen`);
    cl = await c.closedWith(15000);
    check(cl.code === 4408, `... and no hello in time is closed 4408 (${cl.code})`);

    // Non-browser clients may authenticate on the upgrade.
    c = new Client(port, { headers: { authorization: `Bearer ${E.SITE}` } });
    await c.opened;
    c.send({ type: 'hello', since: 0, client: 'pc' });
    const w = await c.next('welcome');
    check(w.role === 'site' && w.scope === '532901104201' && w.server_ms > 0,
        'Authorization: Bearer on the upgrade, hello without a token: welcome');
    c.close();
}

async function bad() {
    const c = new Client(port);
    await c.hello(E.SITE);
    c.send('[1,2');
    let m = await c.next('error');
    check(m.code === 'malformed_json', 'malformed JSON after hello: error frame, still open');
    c.send({ type: 'frobnicate' });
    m = await c.next('error');
    check(m.code === 'unknown_type' && /frobnicate/.test(m.message), 'unknown type: error naming it');
    c.send({ type: 'subscribe', topics: ['stats'] });
    m = await c.next('error');
    check(m.code === 'forbidden', 'a site token subscribing to stats: forbidden');
    c.send({ type: 'ack', notice: 999999, state: 'delivered' });
    m = await c.next('error');
    check(m.code === 'not_found', 'an ack for a notice not sent to this site: not_found');
    c.send({ type: 'ack', notice: 1, state: 'seen' });
    m = await c.next('error');
    check(m.code === 'invalid', 'an ack with an unknown state: invalid');
    // Acks in the usual shape take a fast path without jansson (str_ws.c
    // ack_fast); anything else goes through the full parser, with the
    // same answers as before.
    const acks = [
        ['{"type":"ack","notice":999999,"state":"read"}', 'not_found'],
        ['{"type":"ack","notice":999999,"state":"delivered"} ', 'not_found'],
        ['{"type":"ack", "notice":999999,"state":"delivered"}', 'not_found'],
        ['{"type":"ack","notice":01,"state":"delivered"}', 'malformed_json'],
        ['{"type":"ack","notice":0,"state":"delivered"}', 'invalid'],
        ['{"type":"ack","notice":-5,"state":"delivered"}', 'invalid'],
        ['{"type":"ack","notice":1.5,"state":"delivered"}', 'invalid'],
        ['{"type":"ack","notice":99999999999999999999,"state":"delivered"}', 'malformed_json'],
        ['{"type":"ack","notice":999999,"state":"delivered","state":"read"}', 'malformed_json'],
        ['{"type":"ack","notice":999999,"state":"delivered"}x', 'malformed_json'],
        ['{"type":"ack","notice":999999,"state":"deliveredx"}', 'invalid'],
        ['{"type":"ack","notice":999999,"state":"delivered"', 'malformed_json'],
    ];
    for (const [text, code] of acks) {
        c.send(text);
        m = await c.next('error');
        check(m.code === code, `ack ${text}: ${code} (${m.code})`);
    }
    c.send({ type: 'ping' });
    m = await c.next('pong');
    check(m.server_ms > 0, 'application ping: pong');
    // Binary frames are not part of the protocol.
    c.ws.send(Buffer.from([1, 2, 3]));
    let cl = await c.closedWith();
    check(cl.code === 1003, `binary frame: closed 1003 (${cl.reason})`);

    // Oversized message (ws_max_message = 8192 in the test config).
    const big = new Client(port);
    await big.hello(E.SITE);
    big.send({ type: 'ping', pad: 'x'.repeat(20000) });
    cl = await big.closedWith();
    // 1006 when the server's close crossed the rest of the client's
    // message on the wire (the client's TCP then drops the close frame).
    check(cl.code === 1009 || cl.code === 1006, `message over ws_max_message: closed ${cl.code} (${cl.reason})`);

    // A flood from one client: rate-limited, then closed.
    const fl = new Client(port);
    await fl.hello(E.SITE);
    // (In two bursts: a server that closes while a client's data is still
    // unread in its socket gets an RST, which throws away what the client
    // had not read yet; the close itself is what matters.)
    for (let i = 0; i < 50; i++) fl.send({ type: 'ping' });
    m = await fl.next('error');
    check(m.code === 'rate_limited', 'a flood: rate_limited error first');
    for (let i = 0; i < 30; i++) fl.send({ type: 'ping' });
    cl = await fl.closedWith();
    check(cl.code === 1008 || cl.code === 1006, `then closed ${cl.code} (${cl.reason})`);
    const met = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    check(/yunling_ws_rate_limited_total [1-9]/.test(met), 'the dropped messages are counted');

    // Scope: an admin of Dali cannot watch the province; a viewer can
    // watch within its region but sends no events.
    const dali = new Client(port);
    await dali.hello(E.DALI, { client: 'pc' });
    dali.send({ type: 'ack', notice: 1, state: 'delivered' });
    m = await dali.next('error');
    check(m.code === 'forbidden', 'an admin acknowledging a notice: forbidden');
    dali.send({ type: 'subscribe', topics: ['presence'], region: '53' });
    m = await dali.next('error');
    check(m.code === 'forbidden' && /outside/.test(m.message), 'admin subscribing outside its scope: forbidden');
    dali.send({ type: 'subscribe', topics: ['presence', 'warp'] });
    m = await dali.next('error');
    check(m.code === 'invalid' && /topics\[1\]/.test(m.message), 'unknown topic: invalid naming it');
    dali.close();
    const v = new Client(port);
    const w = await v.hello(E.VIEWER, { client: 'wall' });
    check(w.role === 'viewer', 'a viewer token is welcomed as viewer');
    v.send({ type: 'views', events: [] });
    m = await v.next('error');
    check(m.code === 'forbidden', 'a viewer cannot send viewing events');
    v.close();
}

async function presence() {
    const wall = new Client(port);
    await wall.hello(E.VIEWER, { client: 'wall' });
    wall.send({ type: 'subscribe', topics: ['presence'], region: '53' });
    await wall.next('subscribed');
    let s = await wall.next('presence');
    check(s.snapshot === true && s.region === '53' && s.online === 0 &&
        s.children['5329'] === 0 && Object.keys(s.children).length === 16,
        'presence snapshot: 16 prefectures, nobody online');
    // A province wall colouring counties: depth 2 adds the grandchildren.
    const wall2 = new Client(port);
    await wall2.hello(E.VIEWER, { client: 'wall', device: 'w2' });
    wall2.send({ type: 'subscribe', topics: ['presence', 'stats'], region: '53', depth: 3 });
    let e2 = await wall2.next('error');
    check(e2.code === 'invalid' && /depth/.test(e2.message), 'depth 3: invalid naming it');
    wall2.send({ type: 'subscribe', topics: ['presence', 'stats'], region: '53', depth: 2 });
    await wall2.next('subscribed');
    let s2 = await wall2.next('presence');
    check(s2.snapshot === true && Object.keys(s2.grandchildren).length === 129 && s2.grandchildren['532901'] === 0,
        'depth 2: presence snapshot with the 129 counties');
    s2 = await wall2.next('stats');
    check(s2.snapshot === true && s2.grandchildren.length === 129 && Array.isArray(s2.lessons) && Array.isArray(s2.starts),
        'depth 2: stats snapshot with the 129 counties, lessons and starts');

    const tv = new Client(port);
    await tv.hello(E.SITE);
    let d = await wall.next("presence", 15000);
    check(d.snapshot === undefined && d.online === 1 && d.children['5329'] === 1 &&
        Object.keys(d.children).length === 1 && d.grandchildren === undefined,
        'a TV connects: a delta with only what changed');
    d = await wall2.next('presence', 15000);
    check(d.children['5329'] === 1 && d.grandchildren['532901'] === 1 && Object.keys(d.grandchildren).length === 1,
        'depth 2: the delta names the TV\'s county');
    wall2.close();

    // A second device of the same site: the site counts once.
    const phone = new Client(port);
    await phone.hello(E.SITE, { client: 'phone', device: 'p2' });
    await wall.none('presence', 2500);
    let met = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    check(/yunling_ws_sites_online 1\n/.test(met) && /yunling_ws_connections [3-9]\n/.test(met),
        'two devices of one site: one site online');

    const other = new Client(port);
    await other.hello(E.SITE2);
    d = await wall.next("presence", 15000);
    check(d.online === 2 && d.children['5329'] === 2, 'another Dali village: 5329 counts 2');

    tv.close();
    await wall.none('presence', 2500); // the phone is still there
    phone.close();
    other.close();
    d = await wall.next("presence", 15000);
    check(d.online === 0 && d.children['5329'] === 0, 'all gone: online 0');
    wall.close();
}

async function notices() {
    const tv = new Client(port);
    await tv.hello(E.SITE);
    const adminWs = new Client(port);
    await adminWs.hello(E.ADMIN, { client: 'pc' });
    adminWs.send({ type: 'subscribe', topics: ['notices'], region: '53' });
    await adminWs.next('subscribed');
    await adminWs.next('notices');

    // Refusals, each naming the problem.
    let r = await api(port, 'POST', '/api/v1/notices', E.ADMIN,
        { title: 'x', body: 'y', targets: ['53', '5399'] });
    check(r.status === 400 && /targets\[1\]: unknown code 5399/.test(r.json.error.message),
        `unknown target code: 400 naming it (${r.text})`);
    r = await api(port, 'POST', '/api/v1/notices', E.ADMIN, { title: 'x', body: 'y', targets: [] });
    check(r.status === 400 && /targets/.test(r.json.error.message), 'no target: 400');
    r = await api(port, 'POST', '/api/v1/notices', E.ADMIN, { title: 'x', body: 'y', targets: ['abc'] });
    check(r.status === 400 && /targets\[0\]/.test(r.json.error.message), 'not a code: 400');
    r = await api(port, 'POST', '/api/v1/notices', E.ADMIN, { title: '', body: 'y', targets: ['53'] });
    check(r.status === 400 && /title/.test(r.json.error.message), 'empty title: 400');
    r = await api(port, 'POST', '/api/v1/notices', E.DALI, { title: 'x', body: 'y', targets: ['5323'] });
    check(r.status === 403 && /outside/.test(r.json.error.message), 'a target outside the admin region: 403');
    r = await api(port, 'POST', '/api/v1/notices', E.SITE, { title: 'x', body: 'y', targets: ['53'] });
    check(r.status === 403, 'a site token cannot send: 403');
    r = await fetch(`http://127.0.0.1:${port}/api/v1/notices`, {
        method: 'POST', headers: { authorization: `Bearer ${E.ADMIN}` }, body: '{"title":' });
    check(r.status === 400, 'malformed JSON body: 400');

    // Sent: stored, answered 201, pushed to the connected village.
    const body = '各村党群服务站：\n\n请于本周五前完成秋季森林防火检查。<b>不是HTML</b>';
    r = await api(port, 'POST', '/api/v1/notices', E.ADMIN,
        { title: '关于秋季森林防火的通知', body, targets: ['5329'] });
    check(r.status === 201 && r.json.id > 0 && r.json.targets > 1000 && r.json.sent_ms > 0,
        `notice to Dali: 201 ${r.text}`);
    const id = r.json.id;
    const n = await tv.next('notice');
    const recvMs = Date.now();
    check(n.id === id && n.title === '关于秋季森林防火的通知' && n.body === body &&
        n.from === '53' && n.sent_ms === r.json.sent_ms, 'the TV received the notice as stored');
    check(recvMs - n.sent_ms < 2000, `pushed within ${recvMs - n.sent_ms} ms of acceptance`);
    const chux = new Client(port);
    await chux.hello(E.CHUX_SITE);
    await chux.none('notice', 1000);
    check(true, 'a site outside the targets gets nothing');

    tv.send({ type: 'ack', notice: id, state: 'delivered' });
    let d = await adminWs.next("notices", 15000);
    while (!(d.notices || []).some((x) => x.id === id && x.delivered === 1))
        d = await adminWs.next("notices", 15000);
    check(true, 'the admin\'s notices subscription counts the delivery');
    let rep;
    for (let i = 0; i < 50; i++) { // the receipt is in the next writer batch
        rep = await api(port, 'GET', `/api/v1/notices/${id}`, E.ADMIN);
        if (rep.json.totals.delivered === 1) break;
        await new Promise((res) => setTimeout(res, 100));
    }
    const kid = rep.json.children.find((c) => c.code === '5329');
    check(rep.status === 200 && rep.json.totals.delivered === 1 && rep.json.totals.read === 0 &&
        kid && kid.delivered === 1 && kid.targeted === rep.json.totals.targeted,
        'GET /notices/{id}: delivered 1, per child region');
    rep = await api(port, 'GET', `/api/v1/notices/${id}?region=5329`, E.DALI);
    check(rep.status === 200 && rep.json.children.length > 5 &&
        rep.json.children.some((c) => c.code === '532901' && c.delivered === 1),
        'a Dali admin sees its counties, 大理市 delivered 1');

    // Read over REST (a client without the channel).
    r = await api(port, 'POST', `/api/v1/notices/${id}/read`, E.SITE);
    check(r.status === 200 && r.json.changed === true, 'POST /notices/{id}/read: 200');
    r = await api(port, 'POST', `/api/v1/notices/${id}/read`, E.SITE);
    check(r.status === 200 && r.json.changed === false, 'read twice: the first time kept');
    r = await api(port, 'POST', `/api/v1/notices/${id}/read`, E.CHUX_SITE);
    check(r.status === 404, 'read by a site it was not sent to: 404');
    rep = await api(port, 'GET', `/api/v1/notices/${id}`, E.ADMIN);
    check(rep.json.totals.read === 1, 'report: read 1');
    r = await api(port, 'GET', '/api/v1/notices', E.SITE);
    check(r.status === 200 && r.json.items.some((x) => x.id === id && x.read_ms > 0),
        'GET /notices (site): its notices with receipts');
    r = await api(port, 'GET', '/api/v1/notices?site=532301103201', E.SITE);
    check(r.status === 403, 'a site reading another site\'s notices: 403');
    r = await api(port, 'GET', `/api/v1/notices/${id}`, E.CHUX_SITE);
    check(r.status === 404, 'a notice not sent to the site: 404');

    // Replay: a village that was offline gets what it has not acknowledged,
    // in order; acknowledged ones are not sent again.
    tv.close();
    chux.close();
    const ids = [];
    for (const t of ['第一条', '第二条', '第三条']) {
        r = await api(port, 'POST', '/api/v1/notices', E.ADMIN,
            { title: t, body: t, targets: ['532901104201'] });
        check(r.status === 201 && r.json.targets === 1, `to one village: ${t}`);
        ids.push(r.json.id);
    }
    let back = new Client(port);
    await back.hello(E.SITE, { since: id });
    const got = [await back.next('notice'), await back.next('notice'), await back.next('notice')];
    check(got.map((x) => x.id).join() === ids.join(), `replayed in order: ${got.map((x) => x.id)}`);
    back.send({ type: 'ack', notice: ids[0], state: 'delivered' });
    back.send({ type: 'ack', notice: ids[1], state: 'read' });
    await new Promise((res) => setTimeout(res, 600)); // receipts: next tick
    back.close();
    back = new Client(port);
    await back.hello(E.SITE, { since: 0 });
    const again = await back.next('notice');
    check(again.id === ids[2], 'reconnect: only the unacknowledged one comes again');
    await back.none('notice', 800);

    // Withdrawn: connected sites are told; it is not replayed again.
    r = await api(port, 'DELETE', `/api/v1/notices/${ids[2]}`, E.DALI);
    check(r.status === 403, 'withdrawing a province notice as Dali: 403');
    r = await api(port, 'DELETE', `/api/v1/notices/${ids[2]}`, E.ADMIN);
    check(r.status === 200, 'withdrawn: 200');
    const wd = await back.next('notice_withdrawn');
    check(wd.id === ids[2], 'the connected site is told to remove it');
    back.close();
    back = new Client(port);
    await back.hello(E.SITE, { since: 0 });
    await back.none('notice', 800);
    check(true, 'a withdrawn notice is not replayed');
    back.close();
    adminWs.close();
}

async function views() {
    const tv = new Client(port);
    await tv.hello(E.SITE);
    const ev = (seq, kind, pos) => ({
        session: 'ws-s1', seq, site: '532901104201', lesson: Number(E.LID), kind,
        position_s: pos, audio_lang: 'zh', rendition: '480p', client: 'tv',
    });
    const batch = { type: 'views', events: [ev(1, 'start', 0), ev(2, 'beat', 15)] };
    tv.send(batch);
    let a = await tv.next('views_ack');
    check(a.accepted === 2 && a.duplicates === 0, 'views over the channel: accepted 2');
    tv.send(batch);
    a = await tv.next('views_ack');
    check(a.accepted === 0 && a.duplicates === 2, 'the same batch again: duplicates 2');
    tv.send({ type: 'views', events: [{ ...ev(3, 'beat', 30), site: '532301103201' }] });
    let e = await tv.next('error');
    check(e.for === 'views' && e.code === 'forbidden', `another site's events: forbidden (${e.message})`);
    tv.send({ type: 'views', events: [{ ...ev(3, 'beat', 'x') }] });
    e = await tv.next('error');
    check(e.for === 'views' && /position_s/.test(e.message), `wrong type: invalid naming the field (${e.message})`);

    // A burst of 24 batches: past 8 in flight the server stops reading
    // the connection until answers come; none is refused, and the answers
    // come in the order of the batches (a client pairs them so).
    const held = async () => Number((/^yunling_ws_views_held_total (\d+)$/m.exec(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) || [])[1]);
    const held0 = await held();
    for (let b = 0; b < 24; b++) {
        tv.send({ type: 'views', events: Array.from({ length: 20 }, (_, i) => {
            const seq = b * 20 + i + 1;
            return { ...ev(seq, seq === 1 ? 'start' : 'beat', (seq - 1) * 15), session: 'ws-burst' };
        }) });
    }
    for (let b = 0; b < 24; b++) {
        a = await tv.next('views_ack');
        check(a.accepted === 20 && a.duplicates === 0, `burst batch ${b + 1}: accepted 20`);
    }
    const held1 = await held();
    check(held1 > held0, `the burst held the connection's reading (yunling_ws_views_held_total ${held0} -> ${held1})`);
    tv.close();
}

async function subscribe() {
    const adm = new Client(port);
    await adm.hello(E.ADMIN, { client: 'pc' });
    adm.send({ type: 'subscribe', topics: ['stats', 'jobs'], region: '5329' });
    await adm.next('subscribed');
    const s = await adm.next('stats');
    check(s.snapshot === true && s.region === '5329', 'stats snapshot for 5329');
    // Today's watch hours ride on the stats topic: the same figure as the
    // ranking's for today (rounded to 0.01 h).
    const day = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
    const rk = await api(port, 'GET', `/api/v1/stats/ranking?region=5329&from=${day}&to=${day}`, E.ADMIN);
    const want = rk.json.items.reduce((a, it) => a + it.watch_hours, 0);
    check(typeof s.hours_today === 'number' && Math.abs(s.hours_today - want) <= 0.006,
        `hours_today ${s.hours_today} is today's ranking total ${want.toFixed(4)}`);
    const j = await adm.next('jobs');
    check(j.snapshot === true && Array.isArray(j.jobs), 'jobs snapshot');

    // Several walls on one region share one computation per push round
    // (the server's round cache): each still gets its own deltas, the same
    // for the same region, and a wall on the province its own.
    const adm2 = new Client(port);
    await adm2.hello(E.ADMIN, { client: 'wall', device: 'w-b' });
    adm2.send({ type: 'subscribe', topics: ['stats'], region: '5329' });
    await adm2.next('subscribed');
    await adm2.next('stats');
    const prov = new Client(port);
    await prov.hello(E.ADMIN, { client: 'wall', device: 'w-c' });
    prov.send({ type: 'subscribe', topics: ['stats'], region: '53' });
    await prov.next('subscribed');
    const p0 = await prov.next('stats');
    const tv = new Client(port);
    await tv.hello(E.SITE);
    tv.send({ type: 'views', events: [{
        session: 'ws-round', seq: 1, site: '532901104201', lesson: Number(E.LID), kind: 'start',
        position_s: 0, audio_lang: 'zh', rendition: '480p', client: 'tv',
    }] });
    await tv.next('views_ack');
    // The first delta that says more than the time (at_ms changes every
    // round; hours_today may move with a beat in between).
    const moved = async (c) => {
        for (;;) {
            const d = await c.next('stats', 5000);
            delete d.at_ms; delete d.hours_today;
            if (Object.keys(d).some((k) => k !== 'type' && k !== 'region')) return d;
        }
    };
    const [d1, d2, d3] = await Promise.all([moved(adm), moved(adm2), moved(prov)]);
    check(JSON.stringify(d1) === JSON.stringify(d2) && d1.region === '5329' && d1.snapshot === undefined,
        `two walls on 5329 get the same delta (${JSON.stringify(d1).slice(0, 120)})`);
    check(d3.region === '53' && JSON.stringify(d3) !== JSON.stringify(p0) &&
        Array.isArray(d3.items) && d3.items.some((it) => it.code === '5329') &&
        d3.items.every((it) => it.code.length === 4) &&
        d1.items.every((it) => it.code.startsWith('5329') && it.code.length === 6),
    'a wall on the province gets its own (prefectures), the walls on 5329 theirs (counties)');
    tv.close();
    adm2.close();
    prov.close();
    adm.close();
}

// After a kill -9 right after the 201: the site still gets the notice.
async function afterCrash() {
    const tv = new Client(port);
    await tv.hello(E.SITE, { since: Number(E.SINCE) });
    const n = await tv.next('notice');
    check(n.id === Number(E.NID), `after kill -9 and restart the notice ${n.id} is replayed`);
    tv.close();
}

// A client that stops answering (its socket paused: no pong) goes offline.
// One that says nothing but answers pings stays (the server pings it).
async function deadPeer() {
    const alive = new Client(port);
    let pings = 0;
    alive.ws.on('ping', () => { pings++; });
    await alive.hello(E.ADMIN);
    const tv = new Client(port);
    await tv.hello(E.SITE);
    tv.ws._socket.pause();
    const t0 = Date.now();
    for (;;) {
        const met = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (/yunling_ws_sites_online 0\n/.test(met)) break;
        if (Date.now() - t0 > 20000) throw new Error('FAIL: the silent peer is still online after 20 s');
        await new Promise((r) => setTimeout(r, 250));
    }
    check(true, `a peer that answers no ping is dropped after ${Date.now() - t0} ms (ws_ping 2: within 2x2+5 s)`);
    const met = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    check(/yunling_ws_closed_silent_total [1-9]/.test(met), 'counted in yunling_ws_closed_silent_total');
    await new Promise((r) => setTimeout(r, 1500));
    check(alive.closed === null && pings >= 2, `a silent peer that answers pings stays connected (${pings} pings, closed ${JSON.stringify(alive.closed)})`);
    alive.close();
    tv.ws.terminate();
}

// A station that stops reading while notices pile up: once its queue
// (ws_queue frames) is full it is closed 4429 instead of growing memory or
// stalling the loop; it reads what was in flight, is closed, comes
// back with since = the highest id it has and gets every other one: none
// lost.
async function slow() {
    const metric = async () => {
        const met = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return Number((met.match(/yunling_ws_closed_slow_total (\d+)/) || [0, 0])[1]);
    };
    const conns = async () => Number((/^yunling_ws_connections (\d+)$/m.exec(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) || [])[1]);
    const slow0 = await metric();
    const tv = new Client(port);
    await tv.hello(E.SITE2, { since: 0 });
    const n0 = await conns(); // the station's connection among them
    tv.ws._socket.pause();
    const body = 'x'.repeat(19000);
    const ids = [];
    while ((await metric()) === slow0) {
        if (ids.length >= 3000) throw new Error(`FAIL: not closed after ${ids.length} notices`);
        const rs = await Promise.all(Array.from({ length: 25 }, (_, i) =>
            api(port, 'POST', '/api/v1/notices', E.ADMIN,
                { title: `积压 ${ids.length + i}`, body, targets: [E.SITE2_CODE] })));
        for (const r of rs) {
            if (r.status !== 201) throw new Error(`FAIL: notice ${r.status}`);
            ids.push(r.json.id);
        }
    }
    check(true, `closed as too slow after ${ids.length} notices of 19 KB (yunling_ws_closed_slow_total ${slow0 + 1})`);
    // Still reading nothing, it cannot take the close frame: the server
    // lets its connection go after 5 s all the same (it held a descriptor,
    // a queue and "online" for ever).
    const t0 = Date.now();
    while ((await conns()) >= n0) {
        if (Date.now() - t0 > 10000) throw new Error(`FAIL: a reader that reads nothing still has its connection after 10 s (${n0})`);
        await new Promise((r) => setTimeout(r, 200));
    }
    check(true, `its connection gone ${((Date.now() - t0) / 1000).toFixed(1)} s later, though it never read`);
    tv.ws._socket.resume();
    const cl = await tv.closedWith(30000);
    // 4429 when the close frame still fit in its socket; when even that
    // did not, the server drops the TCP connection (1006 on this side).
    check(cl.code === 4429 || cl.code === 1006, `the station is closed (${cl.code} ${cl.reason})`);
    const got = new Set(tv.msgs.filter((m) => m.type === 'notice').map((m) => m.id));
    check(got.size > 0 && got.size < ids.length, `${got.size} of ${ids.length} arrived before the close`);
    const since = Math.max(...got);
    // It acknowledges what it has, comes back and gets the rest in order.
    const tv2 = new Client(port);
    await tv2.hello(E.SITE2, { since });
    const rest = [];
    while (rest.length < ids.filter((id) => id > since).length) rest.push((await tv2.next('notice', 20000)).id);
    check(rest.every((id, i) => i === 0 || id > rest[i - 1]), 'the rest replayed in order');
    for (const id of rest) got.add(id);
    check(ids.every((id) => got.has(id)), `all ${ids.length} notices received, none lost`);
    tv2.close();
}

// ws_pace = 1 on poll: a broadcast asks one connection a round to write;
// every device still gets the notice, once, in order with the one after.
async function paced() {
    const tvs = [];
    for (let i = 0; i < 12; i++) {
        const c = new Client(port);
        await c.hello(i % 2 ? E.SITE2 : E.SITE, { device: `paced-${i}`, since: Number(E.SINCE) });
        tvs.push(c);
    }
    const ids = [];
    for (const title of ['第一份', '第二份']) {
        const r = await api(port, 'POST', '/api/v1/notices', E.ADMIN,
            { title, body: '逐轮发送', targets: ['5329'] });
        check(r.status === 201, `paced notice: 201 ${r.text}`);
        ids.push(r.json.id);
    }
    for (const c of tvs) {
        const a = await c.next('notice');
        const b = await c.next('notice');
        check(a.id === ids[0] && b.id === ids[1], `a paced device got ${a.id}, ${b.id}`);
        await c.none('notice', 200);
        c.close();
    }
    const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const paced = Number((/^yunling_ws_paced_total (\d+)$/m.exec(m) || [])[1]);
    check(paced >= 24, `the frames were written in turns (yunling_ws_paced_total ${paced})`);
    check(true, 'ws_pace = 1: 12 devices each got both notices, in order, once');
}

// SIGTERM while connected: told 1001 (going away) before the server exits.
async function sigterm() {
    const tv = new Client(port);
    await tv.hello(E.SITE);
    console.log('connected');
    const cl = await tv.closedWith(30000);
    check(cl.code === 1001, `SIGTERM: closed ${cl.code} (${cl.reason})`);
}

const phases = { refused, bad, presence, notices, views, subscribe, slow, afterCrash, deadPeer, paced, sigterm };
try {
    await phases[phase]();
    process.exit(0);
} catch (e) {
    console.error(e.stack || String(e));
    process.exit(1);
}
void WebSocket;
