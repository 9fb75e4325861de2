// npm run bench:sessions — N linked sessions (N=100 and 500 by default; SESSIONS=...) in one
// connector process against the simulator: time from "all desired connected" to all connected,
// resident memory per connected session, CPU while idle.
//
// Method: link N accounts (in-process connector + simulator scans), start a connector process
// (`npm run connector` with the simulator's trust preload) while every session is desired
// disconnected, read its idle RSS, then ask for all N at once (one UPDATE; NOTIFY wakes it) and
// (testEnv carries the same encryption key the linker used) time until every row reads connected and the simulator sees N live logins. Then sample RSS
// and CPU over IDLE_SECONDS (default 20) with nothing happening.
import { cpuSeconds, rssBytes, setupBench } from './connector-bench.ts';
import { testEnv } from '../harness/connector.ts';
import { spawnConnector } from '../harness/connector-process.ts';

const sizes = (process.env.SESSIONS ?? '100,500').split(',').map(Number);
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 20);
const log = (msg: string) => console.log(`[bench:sessions] ${msg}`);
const results: Array<Record<string, number>> = [];

for (const requested of sizes) {
  const setup = await setupBench(requested, log);
  const { sql, sim, agents, phones } = setup;
  const n = agents.length;
  try {
    await sql`update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = any(${agents}::uuid[])`;
    const env = testEnv(setup.dbUrl, sim.url, {
      CONNECTOR_CAPACITY: String(n),
      LOG_LEVEL: 'info', // the HTTP address is announced at info
      BAILEYS_LOG_LEVEL: 'silent',
      CONNECTOR_DB_POOL: '10',
      CONNECTOR_LEASE_SECONDS: '20',
      CONNECTOR_RENEW_INTERVAL_MS: '5000',
      CONNECTOR_SWEEP_INTERVAL_MS: '2000',
      HEALTH_CONNECTED_MS: '60000',
      HEALTH_CONNECTING_MS: '30000',
      BACKOFF_BASE_MS: '1000',
      BACKOFF_MAX_MS: '30000',
      WA_CONNECT_TIMEOUT_MS: '60000',
    });
    const proc = spawnConnector(env, sim.rootPublicKey);
    await Promise.race([
      proc.httpUrl,
      proc.exited.then((code) => {
        throw new Error(`connector exited (${code}) before listening:\n${proc.lines.join('\n')}`);
      }),
    ]);
    await new Promise((r) => setTimeout(r, 3000));
    const baseRss = rssBytes(proc.pid);
    const t0 = performance.now();
    await sql`update public.whatsapp_sessions set desired_state = 'connected' where agent_id = any(${agents}::uuid[])`;
    for (;;) {
      const [row] = await sql`select count(*)::int as n from public.whatsapp_sessions where agent_id = any(${agents}::uuid[]) and status = 'connected'`;
      if (row!.n === n && phones.every((p) => sim.observe(p).live === 1)) break;
      if (performance.now() - t0 > 600_000) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
    const connectSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    const rss = rssBytes(proc.pid);
    const cpu0 = cpuSeconds(proc.pid);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idleCpuPercent = ((cpuSeconds(proc.pid) - cpu0) / idleSeconds) * 100;
    const maxLive = Math.max(...phones.map((p) => sim.observe(p).maxLive));
    const result = {
      requested,
      sessions: n,
      linkSeconds: Number(setup.linkSeconds.toFixed(1)),
      connectSeconds: Number(connectSeconds.toFixed(2)),
      baseRssMB: Number((baseRss / 2 ** 20).toFixed(1)),
      rssMB: Number((rss / 2 ** 20).toFixed(1)),
      rssPerSessionKB: Math.round((rss - baseRss) / n / 1024),
      idleCpuPercent: Number(idleCpuPercent.toFixed(1)),
      maxLive,
    };
    log(JSON.stringify(result));
    results.push(result);
    proc.signal('SIGTERM');
    await proc.exited;
  } finally {
    await setup.cleanup();
  }
}
console.log(JSON.stringify({ bench: 'sessions', results }));
