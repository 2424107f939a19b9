// attend_stats.mjs PORT TOKEN REGION - subscribes to the stats topic of
// REGION and prints the snapshot (t_attendance.sh reads its "meeting").
import { Client } from './wslib.mjs';

const [port, token, region] = process.argv.slice(2);

async function main() {
    const c = new Client(port);
    await c.hello(token, { client: 'pc' });
    c.send({ type: 'subscribe', topics: ['stats'], region });
    const m = await c.next('stats');
    process.stdout.write(`${JSON.stringify(m)}\n`);
    c.close();
}

main().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
