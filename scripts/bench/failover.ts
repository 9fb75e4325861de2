// npm run bench:failover — two connector processes hold SESSIONS (default 100) linked sessions;
// kill -9 one; seconds until every session is connected again (owned by the survivor, status
// connected, the simulator sees one live login per account). The seeds' target: under 30 s.
// Production lease timings (20 s lease, 5 s renewal, 2 s sweep) unless overridden in the env.
import { setupBench } from './connector-bench.ts';
import { testEnv } from '../harness/connector.ts';
import { type ConnectorProcess, spawnConnector } from '../harness/connector-process.ts';

const requested = Number(process.env.SESSIONS ?? 100);
const log = (msg: string) => console.log(`[bench:failover] ${msg}`);
const setup = await setupBench(requested, log);
const { sql, sim, agents, phones } = setup;
const n = agents.length;
const procs: ConnectorProcess[] = [];

function spawn(capacity: number) {
  const env = testEnv(setup.dbUrl, sim.url, {
    CONNECTOR_CAPACITY: String(capacity),
    LOG_LEVEL: 'info',
    BAILEYS_LOG_LEVEL: 'silent',
    CONNECTOR_DB_POOL: '10',
    CONNECTOR_LEASE_SECONDS: process.env.CONNECTOR_LEASE_SECONDS ?? '20',
    CONNECTOR_RENEW_INTERVAL_MS: process.env.CONNECTOR_RENEW_INTERVAL_MS ?? '5000',
    CONNECTOR_SWEEP_INTERVAL_MS: process.env.CONNECTOR_SWEEP_INTERVAL_MS ?? '2000',
    BACKOFF_BASE_MS: '1000',
    BACKOFF_MAX_MS: '30000',
    WA_CONNECT_TIMEOUT_MS: '60000',
  });
  const proc = spawnConnector(env, sim.rootPublicKey);
  procs.push(proc);
  return { proc, id: env.CONNECTOR_ID! };
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 300_000): Promise<void> {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const owners = async () =>
  sql`select owner_connector_id, status from public.whatsapp_sessions where agent_id = any(${agents}::uuid[])`;

try {
  const half = Math.ceil(n / 2);
  const a = spawn(half);
  await until(async () => (await owners()).filter((r) => r.status === 'connected' && r.owner_connector_id === a.id).length === half, 'a holds half');
  const b = spawn(n);
  await until(async () => (await owners()).every((r) => r.status === 'connected') && phones.every((p) => sim.observe(p).live === 1), 'all connected');
  const heldByA = (await owners()).filter((r) => r.owner_connector_id === a.id).length;
  log(`a holds ${heldByA}, b holds ${n - heldByA}; kill -9 a`);
  const t0 = performance.now();
  a.proc.signal('SIGKILL');
  await a.proc.exited;
  await until(
    async () => (await owners()).every((r) => r.status === 'connected' && r.owner_connector_id === b.id) && phones.every((p) => sim.observe(p).live === 1),
    'b holds all',
  );
  const seconds = (performance.now() - t0) / 1000;
  const maxLive = Math.max(...phones.map((p) => sim.observe(p).maxLive));
  const result = { bench: 'failover', requested, sessions: n, movedSessions: heldByA, secondsToAllConnected: Number(seconds.toFixed(2)), targetSeconds: 30, maxLive };
  log(JSON.stringify(result));
  console.log(JSON.stringify(result));
  b.proc.signal('SIGTERM');
  await b.proc.exited;
} finally {
  for (const p of procs) p.signal('SIGKILL');
  await setup.cleanup();
}
