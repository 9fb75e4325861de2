/**
 * npm run bench:db — the queue's cost against the floor of a bare INSERT, in one run.
 *
 *   bare insert      one single-row INSERT per row into a table shaped like public.messages
 *   enqueue          gateway.enqueue_message per row (ownership, plan, idempotency, bucket, stats)
 *   claim+complete   gateway.claim_messages batches of 50 + one batched complete_messages per session in each
 *   pipeline         rows / (enqueue time + claim+complete time)
 *
 * Uses DATABASE_URL (a server; a scratch database is created and dropped) or the local server.
 * ROWS (default 10000) and CONCURRENCY (default 8) tune it. The last line is one JSON summary:
 * cores and load average at start, the rates, and the ratios beside their targets.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import postgres from 'postgres';
import { migrate } from '../db/migrate.ts';
import { withDatabase } from '../db/server.ts';

const ROWS = Number(process.env.ROWS ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const AGENTS = 20;
const admin = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `wg_bench_db_${process.pid}`;
const machine = { cores: os.cpus().length, loadavg: os.loadavg().map((l) => Number(l.toFixed(2))) };

const adminSql = postgres(admin, { max: 1, onnotice: () => {} });
await adminSql.unsafe(`drop database if exists "${name}" with (force)`);
await adminSql.unsafe(`create database "${name}"`);
await migrate(withDatabase(admin, name));
const sql = postgres(withDatabase(admin, name), { max: CONCURRENCY, prepare: true, onnotice: () => {} });

async function parallel(total: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < total; i = next++) await work(i);
    }),
  );
  return (performance.now() - start) / 1000;
}

try {
  const [user] = await sql`insert into auth.users (email) values ('bench@example.test') returning id`;
  const owner = user!.id as string;
  await sql`update public.plans set max_agents = 1000, messages_per_minute = 1000000000`;
  await sql`update public.accounts set plan_id = 'max' where user_id = ${owner}`;
  const connector = randomUUID();
  await sql`select gateway.register_connector(${connector}, 'bench', ${process.pid}, 'bench', 1000)`;
  const agents: string[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const [a] = await sql`select id from gateway.create_agent(${owner}, ${`bench-${i}`})`;
    agents.push(a!.id as string);
    await sql`select gateway.request_link(${owner}, ${a!.id}, 'qr')`;
  }
  const claimed = await sql`select agent_id, lease_epoch from gateway.claim_sessions(${connector}, 1000, 600)`;
  for (const c of claimed) {
    await sql`select gateway.update_session(${c.agent_id}, ${connector}, ${c.lease_epoch}, ${sql.json({ status: 'connected' })})`;
  }

  await sql`create table public.bench_bare (like public.messages including defaults including indexes)`;
  const content = sql.json({ text: 'hello from the benchmark' });
  const bare = await parallel(ROWS, (i) => sql`
    insert into public.bench_bare (agent_id, owner_id, wa_message_id, recipient, type, content, idempotency_key)
    values (${agents[i % AGENTS]!}, ${owner}, ${`BARE${i}`}, '15550001111', 'text', ${content}, ${`k${i}`})`);

  const enqueue = await parallel(ROWS, (i) => sql`
    select id from gateway.enqueue_message(${owner}, ${agents[i % AGENTS]!}, '15550001111', 'text', ${content}, ${`k${i}`}, 'h')`);

  let drained = 0;
  const drainStart = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const rows = await sql`select id, agent_id, lease_epoch from gateway.claim_messages(${connector}, 50, 60)`;
        if (rows.length === 0) return;
        // Completions are fenced per session (agent, connector, epoch), as the connector writes them.
        for (const agent of new Set(rows.map((r) => r.agent_id as string))) {
          const mine = rows.filter((r) => r.agent_id === agent);
          await sql`select id from gateway.complete_messages(${agent}, ${connector}, ${mine[0]!.lease_epoch}, ${sql.json(mine.map((r) => ({ id: r.id, outcome: 'sent' })))})`;
        }
        drained += rows.length;
      }
    }),
  );
  const drain = (performance.now() - drainStart) / 1000;
  if (drained !== ROWS) throw new Error(`drained ${drained} of ${ROWS}`);

  const rate = (s: number) => Math.round(ROWS / s);
  const pipeline = ROWS / (enqueue + drain);
  console.log(`bench:db  rows=${ROWS} concurrency=${CONCURRENCY} agents=${AGENTS} (PostgreSQL ${(await sql`show server_version`)[0]!.server_version})`);
  console.log(`  bare single-row INSERT       ${rate(bare).toString().padStart(7)} rows/s`);
  console.log(`  enqueue_message              ${rate(enqueue).toString().padStart(7)} rows/s`);
  console.log(`  claim(50) + complete batch   ${rate(drain).toString().padStart(7)} rows/s`);
  console.log(`  pipeline enqueue→claim→sent  ${Math.round(pipeline).toString().padStart(7)} rows/s`);
  console.log(`  ratio pipeline / bare insert ${(pipeline / (ROWS / bare)).toFixed(2)}`);
  console.log(`  ratio enqueue / bare insert  ${(bare / enqueue).toFixed(2)}`);
  console.log(JSON.stringify({
    bench: 'db', ...machine, rows: ROWS, concurrency: CONCURRENCY, agents: AGENTS,
    bare_rows_per_s: rate(bare), enqueue_rows_per_s: rate(enqueue), drain_rows_per_s: rate(drain), pipeline_rows_per_s: Math.round(pipeline),
    enqueue_to_bare: Number((bare / enqueue).toFixed(2)), enqueue_target: 0.7,
    pipeline_to_bare: Number((pipeline / (ROWS / bare)).toFixed(2)),
  }));
} finally {
  await sql.end();
  await adminSql.unsafe(`drop database if exists "${name}" with (force)`);
  await adminSql.end();
}
