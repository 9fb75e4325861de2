// npm run bench:inbound — inbound throughput of one connector process (connector/main.ts), from
// the simulated contacts' phones to a row in public.inbound_messages and a verified
// `message.received` webhook at a local receiver (the dispatcher runs in the same connector):
//   1. live: LIVE messages (default 1000) round-robin over SESSIONS sessions (default 4) that are
//      connected. The simulator runs in this process and shares the CPU, so the contacts' phones
//      encrypt every message first (timed apart, simulatorEncryptPerSecond) and the burst is put on
//      the wire at once: the rates measure the connector, from the burst to the last one stored
//      and webhooked. LIVE_PACED=1 injects as the phones encrypt instead (the figure before);
//   2. offline drain: the connector stopped, DRAIN messages (default 200) queued at the
//      simulator for one number, a new connector started: from its start, and from the first
//      message stored, to the last one stored and webhooked.
// Target (issue 12): stored and webhooked at ≥ 200 messages/s per connector. The last line is one
// JSON summary with the machine's cores and load at start, and per phase the database function
// calls it took (pg_stat_user_functions, track_functions set on the bench database), per message.
// BENCH_CPU_PROF_DIR=<dir> writes a CPU profile of each connector process there (--cpu-prof).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { pino } from 'pino';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { createKeyring } from '../../kernel/secret-box.ts';
import { TEST_WEBHOOK_KEY_HEX, testEnv } from '../harness/connector.ts';
import { type ConnectorProcess, cpuProfileArgs, spawnConnector } from '../harness/connector-process.ts';
import { createEndpoint } from '../harness/webhook-endpoints.ts';
import { setupBench } from './connector-bench.ts';

const SESSIONS = Number(process.env.SESSIONS ?? 4);
const LIVE = Number(process.env.LIVE ?? 1000);
const DRAIN = Number(process.env.DRAIN ?? 200);
const LIVE_PACED = process.env.LIVE_PACED === '1';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
const TARGET_PER_S = 200;
const log = (msg: string) => process.stdout.write(`[bench:inbound] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const machine = { cores: os.cpus().length, loadAtStart: os.loadavg().map((l) => Number(l.toFixed(2))) };

// The in-process simulator's libsignal prints session records (key material) with console.*.
installConsoleScrub(pino({ level: 'silent' }));
const setup = await setupBench(SESSIONS, log);
const { sql, sim, agents, phones } = setup;
const contacts = agents.map((_, i) => `4477003${String(i).padStart(5, '0')}`);
for (const c of contacts) sim.addContact(c);
const [ownerRow] = await sql`select owner_id from public.agents where id = ${agents[0]!}`;
const owner = ownerRow!.owner_id as string;
// Counted for the connector processes started from here on (new connections read the setting).
const [dbRow] = await sql`select current_database() as name`;
await sql.unsafe(`alter database "${dbRow!.name as string}" set track_functions = 'all'`);

/** Calls per function since the last snapshot (each backend reports when it exits or idles). */
let lastCalls = new Map<string, number>();
async function functionCalls(): Promise<Record<string, number>> {
  await sleep(1_200); // backends flush their counters at most once a second
  await sql`select pg_stat_clear_snapshot()`;
  const rows = await sql`select schemaname || '.' || funcname as name, calls::int as calls from pg_stat_user_functions`;
  const now = new Map(rows.map((r) => [r.name as string, r.calls as number]));
  const diff: Record<string, number> = {};
  for (const [name, calls] of [...now].sort((a, b) => b[1] - a[1])) if (calls - (lastCalls.get(name) ?? 0) > 0) diff[name] = calls - (lastCalls.get(name) ?? 0);
  lastCalls = now;
  return diff;
}

// The customer's receiver: counts message.received events by WhatsApp id, answers 200.
const webhooked = new Map<string, number>();
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { wa_message_id?: string; waMessageId?: string } };
    const id = event.data.wa_message_id ?? event.data.waMessageId;
    if (event.type === 'message.received' && id && !webhooked.has(id)) webhooked.set(id, Date.now());
    res.end('ok');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const keyring = await createKeyring({ version: 1, key: Buffer.from(TEST_WEBHOOK_KEY_HEX, 'hex') });
await createEndpoint(sql, keyring, { owner, url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, eventTypes: ['message.received'] });

function connector(): ConnectorProcess & { id: string; startedAt: Date } {
  const id = randomUUID();
  const startedAt = new Date();
  const proc = spawnConnector(
    testEnv(setup.dbUrl, sim.url, {
      CONNECTOR_ID: id,
      CONNECTOR_CAPACITY: String(agents.length),
      CONNECTOR_LEASE_SECONDS: '20',
      CONNECTOR_RENEW_INTERVAL_MS: '5000',
      CONNECTOR_DB_POOL: '10',
      LOG_LEVEL: process.env.BENCH_CONNECTOR_LOG_LEVEL ?? 'warn',
      BAILEYS_LOG_LEVEL: 'silent',
      GATEWAY_ALLOW_PRIVATE_URLS: 'true',
      WEBHOOK_ALLOW_HTTP: 'true',
    }),
    sim.rootPublicKey,
    { keepLines: 2_000, execArgv: cpuProfileArgs(CPU_PROF_DIR) },
  );
  return Object.assign(proc, { id, startedAt });
}

async function allConnected(proc: { id: string; startedAt: Date }): Promise<void> {
  for (;;) {
    const [r] = await sql`select count(*)::int as n from public.whatsapp_sessions where agent_id = any(${agents}::uuid[])
      and status = 'connected' and owner_connector_id = ${proc.id} and last_connected_at >= ${proc.startedAt}`;
    if (r!.n === agents.length) return;
    await sleep(100);
  }
}

/** Until every id is stored and webhooked (or 5 minutes): when the last of each happened. */
async function settle(ids: string[]): Promise<{ stored: number; webhooked: number; lastStoredMs: number; firstStoredMs: number; lastWebhookMs: number }> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const [r] = await sql`select count(*)::int as n, extract(epoch from min(created_at)) * 1000 as first, extract(epoch from max(created_at)) * 1000 as last
      from public.inbound_messages where wa_message_id = any(${ids})`;
    const hooked = ids.filter((id) => webhooked.has(id));
    if ((r!.n === ids.length && hooked.length === ids.length) || Date.now() > deadline) {
      return { stored: r!.n, webhooked: hooked.length, firstStoredMs: Number(r!.first), lastStoredMs: Number(r!.last), lastWebhookMs: Math.max(...hooked.map((id) => webhooked.get(id)!)) };
    }
    await sleep(50);
  }
}

const perSecond = (n: number, ms: number) => Number(((n * 1000) / ms).toFixed(1));
let proc = connector();
try {
  await allConnected(proc);
  // --- 1. live ----------------------------------------------------------------------------------
  log(`live: ${LIVE} messages over ${agents.length} connected sessions`);
  const liveIds: string[] = [];
  await functionCalls();
  const encryptStart = Date.now();
  const prepared: Array<{ id: string; deliver(): void }> = [];
  if (!LIVE_PACED) {
    for (let i = 0; i < LIVE; i++) prepared.push(await sim.prepareInject(phones[i % agents.length]!, { from: contacts[i % agents.length]!, text: `live ${i}` }));
  }
  const encryptMs = Date.now() - encryptStart;
  const liveStart = Date.now();
  if (LIVE_PACED) {
    for (let i = 0; i < LIVE; i += 50) {
      const batch = Array.from({ length: Math.min(50, LIVE - i) }, (_, k) => (i + k) % agents.length);
      const sent = await Promise.all(batch.map((s, k) => sim.inject(phones[s]!, { from: contacts[s]!, text: `live ${i + k}` })));
      liveIds.push(...sent.map((m) => m.id));
    }
  } else {
    for (const m of prepared) {
      m.deliver();
      liveIds.push(m.id);
    }
  }
  const injectedMs = Date.now() - liveStart;
  const live = await settle(liveIds);
  const liveStoredMs = live.lastStoredMs - liveStart;
  const liveWebhookedMs = live.lastWebhookMs - liveStart;
  const liveSummary = {
    messages: LIVE, paced: LIVE_PACED, stored: live.stored, webhooked: live.webhooked, injectSeconds: injectedMs / 1000,
    storedPerSecond: perSecond(live.stored, liveStoredMs), webhookedPerSecond: perSecond(live.webhooked, liveWebhookedMs),
    ...(LIVE_PACED ? { simulatorInjectPerSecond: perSecond(LIVE, injectedMs) } : { simulatorEncryptPerSecond: perSecond(LIVE, encryptMs) }),
  };
  log(JSON.stringify(liveSummary));

  // --- 2. offline drain -------------------------------------------------------------------------
  proc.signal('SIGTERM');
  await proc.exited;
  if (process.env.BENCH_LOG_FILE) writeFileSync(`${process.env.BENCH_LOG_FILE}.live`, `${proc.lines.join('\n')}\n`);
  const liveCalls = await functionCalls();
  log(`live: database function calls ${JSON.stringify(liveCalls)}`);
  log(`drain: ${DRAIN} messages queued for one number while no connector runs`);
  const drainIds: string[] = [];
  for (let i = 0; i < DRAIN; i++) drainIds.push((await sim.inject(phones[0]!, { from: contacts[0]!, text: `drain ${i}` })).id);
  proc = connector();
  const drain = await settle(drainIds);
  const drainSummary = {
    messages: DRAIN, stored: drain.stored, webhooked: drain.webhooked,
    fromStartSeconds: Number(((drain.lastWebhookMs - proc.startedAt.getTime()) / 1000).toFixed(2)),
    storedPerSecond: perSecond(drain.stored, drain.lastStoredMs - drain.firstStoredMs),
    webhookedPerSecond: perSecond(drain.webhooked, drain.lastWebhookMs - drain.firstStoredMs),
  };
  log(JSON.stringify(drainSummary));
  proc.signal('SIGTERM');
  await proc.exited;
  const drainCalls = await functionCalls();
  log(`drain: database function calls ${JSON.stringify(drainCalls)}`);
  const perMessage = (calls: Record<string, number>, n: number) => {
    const pick = ['gateway.record_inbound', 'gateway.get_signal_keys', 'gateway.write_signal_keys', 'gateway.claim_deliveries', 'gateway.complete_deliveries'];
    return Object.fromEntries(pick.map((f) => [f, Number(((calls[f] ?? 0) / n).toFixed(3))]));
  };
  process.stdout.write(
    `${JSON.stringify({
      bench: 'inbound', ...machine, sessions: agents.length, targetPerSecond: TARGET_PER_S,
      live: { ...liveSummary, callsPerMessage: perMessage(liveCalls, LIVE) }, drain: { ...drainSummary, callsPerMessage: perMessage(drainCalls, DRAIN) },
      loadAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
    })}\n`,
  );
} finally {
  proc.signal('SIGTERM');
  await proc.exited;
  // BENCH_LOG_FILE=<path>: the last connector's newest log lines, for a run that went wrong.
  if (process.env.BENCH_LOG_FILE) writeFileSync(process.env.BENCH_LOG_FILE, `${proc.lines.join('\n')}\n`);
  receiver.close();
  await setup.cleanup();
}
process.exit(0);
