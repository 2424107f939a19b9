// bench/ws/ref_server.mjs - the reference for the fan-out benchmark: a
// minimal broadcast server on node `ws` (what a team might write instead):
// answers a hello with a welcome and, on POST /notice, encodes one notice
// and sends it to every connection. No storage, no auth, no receipts.
// node ref_server.mjs PORT
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../package.json'));
const { WebSocketServer } = require('ws');

let id = 0;
const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/notice') {
        const frame = JSON.stringify({
            type: 'notice', id: ++id, title: '关于秋季森林防火的通知',
            body: '各村党群服务站：请于本周五前完成秋季森林防火检查。',
            attachments: [], from: '53', sent_ms: Date.now(),
        });
        for (const ws of wss.clients) ws.send(frame);
        res.end(JSON.stringify({ id, targets: wss.clients.size }));
        return;
    }
    res.statusCode = 404;
    res.end();
});
const wss = new WebSocketServer({ server, backlog: 4096 });
wss.on('connection', (ws) => {
    ws.on('message', (data) => {
        const m = JSON.parse(data);
        if (m.type === 'hello')
            ws.send(JSON.stringify({ type: 'welcome', role: 'site', scope: '', server_ms: Date.now() }));
    });
    ws.on('error', () => {});
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', 4096, () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
});
