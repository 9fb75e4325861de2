/**
 * npm run bench:api — authenticated sends through the HTTP control plane against local Postgres,
 * beside the bare SQL enqueue rate measured in the same run.
 *
 *   1. a scratch database (bootstrap + migrations), one user on a 'max' plan whose per-minute
 *      limit is raised in this database only, AGENTS agents, one API key;
 *   2. bare SQL: gateway.enqueue_message from CONCURRENCY connections (ROWS rows);
 *   3. HTTP: the Node-hosted app (scripts/dev/serve-api.ts, a child process so the load generator
 *      does not share its event loop) under autocannon, each request a send with a distinct
 *      Idempotency-Key, round-robin over the agents; once with the API key, once with a JWT.
 *
 * Env: DATABASE_URL (admin URL, default local), DURATION (s, default 10), CONNECTIONS (default 32),
 * AGENTS (default 50), ROWS (default 10000), CONCURRENCY (default 16), DB_POOL_MAX (default 16),
 * CPU_PROF_DIR (the app runs under `node --cpu-prof` and writes its profile there on exit).
 *
 * The last line is one JSON summary: cores and load average at start, the rates, the ratios
 * beside their target (HTTP send >= 0.8 of the bare enqueue measured in the same run), CPU and
 * statements (round trips) per request.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { migrate, repoRoot } from '../db/migrate.ts';
import { withDatabase } from '../db/server.ts';
import { cpuProfileArgs, EXIT_WITH_PARENT } from '../harness/connector-process.ts';

// autocannon ships no types: the part used here, typed by hand.
type Cannon = (options: Record<string, unknown>) => Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }>;
const autocannon = ((await import('autocannon' as string)) as { default: Cannon }).default;

const admin = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const AGENTS = Number(process.env.AGENTS ?? 50);
const ROWS = Number(process.env.ROWS ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const POOL = Number(process.env.DB_POOL_MAX ?? 16);
const PORT = 18_000 + (process.pid % 1000);
const name = `wg_bench_api_${process.pid}`;
const PROFILE_DIR = process.env.CPU_PROF_DIR;
const machine = { cores: os.cpus().length, loadavg: os.loadavg().map((l) => Number(l.toFixed(2))) };

/**
 * CPU seconds used so far by these processes (user + system, from /proc; Linux with the server on
 * this machine, else null). Per request it says which process bounds the send, whatever the load.
 */
function cpuSeconds(pids: number[]): number | null {
  if (pids.length === 0 || !pids.every((pid) => existsSync(`/proc/${pid}/stat`))) return null;
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100; // USER_HZ
}

const adminSql = postgres(admin, { max: 1, onnotice: () => {} });
await adminSql.unsafe(`drop database if exists "${name}" with (force)`);
await adminSql.unsafe(`create database "${name}"`);
const url = withDatabase(admin, name);
console.log('migrating a scratch database…');
await migrate(url);
const sql = postgres(url, { max: CONCURRENCY, prepare: false, onnotice: () => {} });
let child: ReturnType<typeof spawn> | undefined;

try {
  const [user] = await sql`insert into auth.users (email) values ('bench-api@example.test') returning id`;
  const owner = user!.id as string;
  // Bench database only: the plan limit must not be what is measured.
  await sql`update public.plans set max_agents = 100000, messages_per_minute = 1000000000 where id = 'max'`;
  await sql`update public.accounts set plan_id = 'max' where user_id = ${owner}`;
  const agents: string[] = [];
  for (let i = 0; i < AGENTS; i++) agents.push(((await sql`select id from gateway.create_agent(${owner}, ${`bench-${i}`})`)[0]!).id as string);

  // The backends of this database: their CPU per request is the database's share of a send.
  const backends = async () => (await sql`select pid from pg_stat_activity where datname = current_database()`).map((r) => r.pid as number);
  const perRequest = (before: number | null, after: number | null, n: number) => (before === null || after === null || n === 0 ? null : Math.round(((after - before) / n) * 1e6));

  // Bare SQL enqueue rate.
  const content = sql.json({ text: 'hello from the benchmark' });
  await Promise.all(Array.from({ length: CONCURRENCY }, () => sql`select 1`));
  let next = 0;
  const sqlPids = await backends();
  const sqlCpu0 = cpuSeconds(sqlPids);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ROWS; i = next++) {
        await sql`select * from gateway.enqueue_message(${owner}, ${agents[i % AGENTS]!}, '4915123456789', 'text', ${content}, ${`sql-${i}`}, 'h')`;
      }
    }),
  );
  const sqlRate = ROWS / ((performance.now() - started) / 1000);
  const sqlDbCpuUs = perRequest(sqlCpu0, cpuSeconds(sqlPids), ROWS);

  // The app in its own process.
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
  const supabaseUrl = 'https://bench.supabase.test';
  const profile = cpuProfileArgs(PROFILE_DIR && path.resolve(PROFILE_DIR));
  child = spawn(process.execPath, [...profile, ...EXIT_WITH_PARENT, '--import', 'tsx', path.join(repoRoot, 'scripts/dev/serve-api.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env, MEDIA_STORE: 'folder', MEDIA_STORE_DIR: path.join(repoRoot, '.data', 'bench-media'), SUPABASE_DB_URL: url, SUPABASE_URL: supabaseUrl, SUPABASE_JWKS: JSON.stringify({ keys: [jwk] }),
      WEBHOOK_SECRETS_KEY: randomBytes(32).toString('hex'), PORT: String(PORT), LOG_LEVEL: 'warn', DB_POOL_MAX: String(POOL),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child!.stdout!.on('data', (d: Buffer) => d.toString().includes('gateway listening') && resolve());
    child!.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${PORT}/gateway`;
  const token = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setSubject(owner)
    .setIssuer(`${supabaseUrl}/auth/v1`).setAudience('authenticated').setExpirationTime('1h').sign(privateKey);
  const keyRes = await fetch(`${base}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', scopes: ['messages:send'] }) });
  const apiKey = ((await keyRes.json()) as { key: string }).key;

  // Transactions this database has finished: every statement of the app is one (autocommit), so
  // their count per request is its round trips. The counters are flushed by each backend within
  // a second or so of its last transaction, hence the pause.
  const transactions = async () => {
    await new Promise((r) => setTimeout(r, 1500));
    await sql`select pg_stat_clear_snapshot()`;
    const [row] = await sql`select (xact_commit + xact_rollback)::float8 as n from pg_stat_database where datname = current_database()`;
    return row!.n as number;
  };

  async function load(label: string, credential: string) {
    let n = 0;
    const xacts0 = await transactions();
    const pids = await backends();
    const app0 = cpuSeconds([child!.pid!]);
    const db0 = cpuSeconds(pids);
    const result = await autocannon({
      url: base,
      connections: CONNECTIONS,
      duration: DURATION,
      requests: [
        {
          method: 'POST',
          setupRequest: (req: Record<string, unknown>) => {
            const i = n++;
            return {
              ...req,
              path: `/gateway/v1/agents/${agents[i % AGENTS]}/messages`,
              headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', 'idempotency-key': `${label}-${i}` },
              body: JSON.stringify({ to: '+49 151 23456789', type: 'text', text: `bench ${i}` }),
            };
          },
        },
      ],
    });
    const non2xx = result.non2xx + result.errors;
    const appCpuUs = perRequest(app0, cpuSeconds([child!.pid!]), result.requests.total);
    // Backends the app opened during the run are not counted: a warm-up run opens the pool first.
    const dbCpuUs = perRequest(db0, cpuSeconds(pids.filter((pid) => existsSync(`/proc/${pid}/stat`))), result.requests.total);
    // Less the few statements of this script between the two readings (backends, the readings).
    const statements = result.requests.total === 0 ? null : Number((((await transactions()) - xacts0 - 3) / result.requests.total).toFixed(2));
    return { label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, non2xx, appCpuUs, dbCpuUs, statements };
  }

  await load('warmup', apiKey).catch(() => undefined);
  const byKey = await load('api-key', apiKey);
  const byJwt = await load('jwt', token);
  const [queued] = await sql`select count(*)::int as n from public.messages where idempotency_key like 'api-key-%' or idempotency_key like 'jwt-%'`;

  console.log('');
  console.log(`bare SQL enqueue (gateway.enqueue_message, ${CONCURRENCY} connections): ${sqlRate.toFixed(0)} rows/s, database CPU ${sqlDbCpuUs ?? '?'} us/row`);
  for (const r of [byKey, byJwt]) {
    console.log(
      `HTTP send (${r.label}, ${CONNECTIONS} connections, ${DURATION} s): ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ` +
        `non-2xx ${r.non2xx}, ratio HTTP/SQL ${(r.rps / sqlRate).toFixed(2)}, CPU per request: app ${r.appCpuUs ?? '?'} us, database ${r.dbCpuUs ?? '?'} us, ` +
        `statements per request ${r.statements ?? '?'}`,
    );
  }
  console.log(`rows queued by the HTTP runs: ${queued!.n} (requests: ${byKey.total + byJwt.total})`);
  console.log(`target: >= 2000 sends/s with p99 < 30 ms -> api-key ${byKey.rps >= 2000 && byKey.p99 < 30 ? 'met' : 'not met'}, jwt ${byJwt.rps >= 2000 && byJwt.p99 < 30 ? 'met' : 'not met'}`);
  const http = (r: typeof byKey) => ({
    rps: Math.round(r.rps), p50_ms: r.p50, p99_ms: r.p99, non2xx: r.non2xx, app_cpu_us: r.appCpuUs, db_cpu_us: r.dbCpuUs, statements_per_request: r.statements,
    ratio_to_sql: Number((r.rps / sqlRate).toFixed(2)), target_ratio: 0.8,
  });
  console.log(JSON.stringify({
    bench: 'api', ...machine, duration_s: DURATION, connections: CONNECTIONS, agents: AGENTS,
    sql_enqueue_rows_per_s: Math.round(sqlRate), sql_enqueue_db_cpu_us: sqlDbCpuUs, api_key: http(byKey), jwt: http(byJwt),
  }));
} finally {
  child?.kill('SIGTERM');
  // The profile is written when the app exits: wait for it.
  if (child && child.exitCode === null) await new Promise((resolve) => child!.once('exit', resolve));
  await sql.end();
  await adminSql.unsafe(`drop database if exists "${name}" with (force)`);
  await adminSql.end();
}
