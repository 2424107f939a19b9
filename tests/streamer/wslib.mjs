// wslib.mjs - a websocket client for the channel tests (node `ws`): each
// message is queued; next(type) waits for the next one of that type (with
// a deadline), so tests never sleep for a fixed time.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../package.json'));
export const WebSocket = require('ws');

export class Client {
    constructor(port, opts = {}) {
        this.msgs = [];
        this.waiters = [];
        this.closed = null;
        const proto = opts.protocol === undefined ? 'yunling.v1' : opts.protocol;
        this.ws = new WebSocket(`ws://127.0.0.1:${port}${opts.path || '/ws'}`,
            Array.isArray(proto) ? proto : proto ? [proto] : [],
            { headers: opts.headers || {} });
        this.opened = new Promise((resolve, reject) => {
            this.ws.on('open', resolve);
            this.ws.on('unexpected-response', (req, res) =>
                reject(new Error(`HTTP ${res.statusCode}`)));
            this.ws.on('error', reject);
        });
        this.ws.on('message', (data, binary) => {
            const m = binary ? { type: '<binary>' } : JSON.parse(data.toString());
            this.msgs.push(m);
            this._wake();
        });
        this.ws.on('close', (code, reason) => {
            this.closed = { code, reason: reason.toString() };
            this._wake();
        });
        this.ws.on('error', () => {});
    }
    _wake() {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
    }
    // Until a message or the close arrives, or ms pass. The deadline's
    // timer is cleared on wake: a pending one would keep node running
    // after the test's last line for what is left of it (up to 15 s).
    _wait(ms) {
        return new Promise((r) => {
            const t = setTimeout(r, ms);
            this.waiters.push(() => { clearTimeout(t); r(); });
        });
    }
    send(o) { this.ws.send(typeof o === 'string' ? o : JSON.stringify(o)); }
    async hello(token, extra = {}) {
        await this.opened;
        this.send({ type: 'hello', token, since: 0, client: 'tv', device: 'test', ...extra });
        return this.next('welcome');
    }
    // The next message whose type is `type` (others before it are kept).
    async next(type, ms = 15000) {
        const end = Date.now() + ms;
        for (;;) {
            const i = this.msgs.findIndex((m) => m.type === type);
            if (i >= 0) return this.msgs.splice(i, 1)[0];
            if (this.closed) throw new Error(`closed ${this.closed.code} ${this.closed.reason} waiting for ${type}`);
            const left = end - Date.now();
            if (left <= 0) throw new Error(`no ${type} within ${ms} ms (have: ${JSON.stringify(this.msgs)})`);
            await this._wait(left);
        }
    }
    // Resolves with {code, reason} once the server closed the connection.
    async closedWith(ms = 15000) {
        const end = Date.now() + ms;
        while (!this.closed) {
            const left = end - Date.now();
            if (left <= 0) throw new Error(`not closed within ${ms} ms`);
            await this._wait(left);
        }
        return this.closed;
    }
    // No message of `type` arrives within ms.
    async none(type, ms) {
        try {
            const m = await this.next(type, ms);
            throw new Error(`unexpected ${JSON.stringify(m)}`);
        } catch (e) {
            if (!String(e.message).startsWith('no ')) throw e;
        }
    }
    close() { try { this.ws.close(); } catch { /* gone */ } }
}

export function check(cond, what) {
    if (!cond) throw new Error(`FAIL: ${what}`);
    console.log(`ok - ${what}`);
}

export async function api(port, method, p, token, body) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`http://127.0.0.1:${port}${p}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text };
}
