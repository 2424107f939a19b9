// edge_live.mjs ORIGIN EDGE PATH SECONDS - polls a live media playlist at
// the origin and through an edge every 50 ms, notes when each segment was
// first listed at each, and prints as JSON how many were seen and how much
// later the edge listed them (largest and mean).
const [origin, edge, p, secs] = process.argv.slice(2);
const seen = { o: new Map(), e: new Map() };
const segs = (t) => t.match(/^[^#\s].*\.ts$/gm) || [];
const t0 = Date.now();
const end = t0 + Number(secs) * 1000;
async function poll(base, k) {
    while (Date.now() < end) {
        try {
            const r = await fetch(base + p);
            const now = Date.now();
            for (const seg of r.ok ? segs(await r.text()) : []) if (!seen[k].has(seg)) seen[k].set(seg, now);
        } catch {
            /* the next poll */
        }
        await new Promise((res) => setTimeout(res, 50));
    }
}
await Promise.all([poll(origin, 'o'), poll(edge, 'e')]);
const delays = [];
// Segments listed in the first playlists read are not new: left out.
const first = (m) => Math.min(...m.values());
const o0 = first(seen.o), e0 = first(seen.e);
for (const [seg, at] of seen.o) if (at > o0 && seen.e.has(seg) && seen.e.get(seg) > e0) delays.push(seen.e.get(seg) - at);
console.log(JSON.stringify({ origin: seen.o.size, edge: seen.e.size, both: delays.length,
    max_ms: delays.length ? Math.max(...delays) : null,
    mean_ms: delays.length ? Math.round(delays.reduce((a, d) => a + d, 0) / delays.length) : null }));
