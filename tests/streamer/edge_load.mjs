// edge_load.mjs BASE1,BASE2 PATHS_FILE CLIENTS - CLIENTS concurrent
// clients (in this one process, apart from the server and the edges), each
// fetching every path of PATHS_FILE in order from one of the edges, all at
// once. Prints {"ok":N,"failed":M,"bytes":B}.
import fs from 'node:fs';

const bases = process.argv[2].split(',');
const paths = fs.readFileSync(process.argv[3], 'utf8').trim().split('\n');
const n = Number(process.argv[4] || 200);
let ok = 0, failed = 0, bytes = 0;
await Promise.all(Array.from({ length: n }, async (_, i) => {
    const base = bases[i % bases.length];
    for (const p of paths) {
        try {
            const r = await fetch(base + p);
            const b = await r.arrayBuffer();
            if (r.status === 200) { ok++; bytes += b.byteLength; } else failed++;
        } catch { failed++; }
    }
}));
console.log(JSON.stringify({ ok, failed, bytes }));
