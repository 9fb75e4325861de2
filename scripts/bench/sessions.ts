// npm run bench:sessions — N linked sessions (N=100 and 500 by default; SESSIONS=...) in one
// connector process against the simulator: time from "all desired connected" to all connected,
// resident memory per connected session, CPU while idle, and how bursty the logins looked to the
// simulator (the most logins it accepted in any one second).
//
// Method: link N accounts (in-process connector + simulator scans), start a connector process
// (`npm run connector` with the simulator's trust preload) while every session is desired
// disconnected, read its idle RSS, then ask for all N at once (one UPDATE; NOTIFY wakes it) and
// (testEnv carries the same encryption key the linker used) time until every row reads connected and the simulator sees N live logins. Then sample RSS
// and CPU over IDLE_SECONDS (default 20) with nothing happening.
//
// BENCH_CPU_PROF=<dir> writes a CPU profile of each connector process there (node --cpu-prof; the
// linking connector's under <dir>/linker); BENCH_CONNECTOR_<VAR>=value and BENCH_LINKER_<VAR>=value
// set <VAR> for the measured connector and for the linking one.
import os from 'node:os';
import { testEnv } from '../harness/connector.ts';
import { cpuProfileArgs, spawnConnector } from '../harness/connector-process.ts';
import { cpuSeconds, rssBytes, setupBench } from './connector-bench.ts';

const sizes = (process.env.SESSIONS ?? '100,500').split(',').map(Number);
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 20);
const profileDir = process.env.BENCH_CPU_PROF;
const log = (msg: string) => console.log(`[bench:sessions] ${msg}`);
const machine = { cores: os.cpus().length, loadAtStart: os.loadavg().map((l) => Number(l.toFixed(2))) };
const targets = { connectSecondsAt1000: 60, rssPerSessionKB: 1024, idleCpuPercent: 5, linkFailures: 0 };
const results: Array<Record<string, unknown>> = [];

/** The most entries of `times` (ms) inside any window of `windowMs`. */
function peakPerWindow(times: readonly number[], windowMs: number): number {
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

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
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_CONNECTOR_')).map(([k, v]) => [k.slice('BENCH_CONNECTOR_'.length), v ?? ''])),
    });
    const proc = spawnConnector(env, sim.rootPublicKey, { keepLines: 2000, execArgv: cpuProfileArgs(profileDir) });
    await Promise.race([
      proc.httpUrl,
      proc.exited.then((code) => {
        throw new Error(`connector exited (${code}) before listening:\n${proc.lines.join('\n')}`);
      }),
    ]);
    await new Promise((r) => setTimeout(r, 3000));
    const baseRss = rssBytes(proc.pid);
    const transactions = async () =>
      ((await sql`select (xact_commit + xact_rollback)::bigint as n from pg_stat_database where datname = current_database()`)[0]!.n as bigint);
    const txBefore = await transactions();
    const loginsBefore = sim.loginTimes().length;
    const cpuAtStart = cpuSeconds(proc.pid);
    const t0 = performance.now();
    await sql`update public.whatsapp_sessions set desired_state = 'connected' where agent_id = any(${agents}::uuid[])`;
    for (;;) {
      const [row] = await sql`select count(*)::int as n from public.whatsapp_sessions where agent_id = any(${agents}::uuid[]) and status = 'connected'`;
      if (row!.n === n && phones.every((p) => sim.observe(p).live === 1)) break;
      if (performance.now() - t0 > 600_000) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
    const connectSeconds = (performance.now() - t0) / 1000;
    const connectCpuSeconds = cpuSeconds(proc.pid) - cpuAtStart;
    const logins = sim.loginTimes().slice(loginsBefore);
    const pollSeconds = connectSeconds;
    await new Promise((r) => setTimeout(r, 3000));
    // Transactions (each statement outside one counts once) of the whole database while connecting,
    // less this loop's own polls (about ten a second): the connector's round trips per session start.
    const txPerSession = (Number((await transactions()) - txBefore) - pollSeconds * 10) / n;
    const rss = rssBytes(proc.pid);
    const cpu0 = cpuSeconds(proc.pid);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idleCpuPercent = ((cpuSeconds(proc.pid) - cpu0) / idleSeconds) * 100;
    const maxLive = Math.max(...phones.map((p) => sim.observe(p).maxLive));
    const result = {
      requested,
      sessions: n,
      linkSeconds: Number(setup.linkSeconds.toFixed(1)),
      linkFailures: setup.linkFailures,
      linkedWithoutPreKeys: setup.linkedWithoutPreKeys,
      linkerCpuSeconds: setup.linkerCpuSeconds === undefined ? undefined : Number(setup.linkerCpuSeconds.toFixed(1)),
      connectSeconds: Number(connectSeconds.toFixed(2)),
      connectCpuSeconds: Number(connectCpuSeconds.toFixed(1)),
      dbTransactionsPerSession: Number(txPerSession.toFixed(1)),
      logins: logins.length,
      peakLoginsPerSecond: peakPerWindow(logins, 1000),
      baseRssMB: Number((baseRss / 2 ** 20).toFixed(1)),
      rssMB: Number((rss / 2 ** 20).toFixed(1)),
      rssPerSessionKB: Math.round((rss - baseRss) / n / 1024),
      idleCpuPercent: Number(idleCpuPercent.toFixed(1)),
      maxLive,
      loadAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
    };
    log(JSON.stringify(result));
    results.push(result);
    proc.signal('SIGTERM');
    await proc.exited;
  } finally {
    await setup.cleanup();
  }
}
console.log(JSON.stringify({ bench: 'sessions', ...machine, targets, results }));
