// npm run bench:fleet — a fleet of CONNECTORS connector processes (default 4, connector/main.ts
// each) sharing SESSIONS linked sessions (default 1000), restarted one by one (SIGTERM, started
// again with the same id, then waiting until every session is connected and the fleet is even
// again) while SEND_PER_S messages a second are enqueued (round-robin, one simulated contact per
// session; the contacts answer with receipts) and INBOUND_PER_S messages a second arrive from
// those contacts. Then it waits for the traffic to settle and counts, against the issue's targets
// (issue 12, item 3: 0 lost, 0 duplicated on the wire, sessions spread evenly again):
//   outbound   rows not sent (lost) or failed; wire duplicates (a WhatsApp id the simulated
//              contact received twice) and rows the contact never received;
//   inbound    injected messages stored (once each: one row per WhatsApp id), and missing;
//   logins     the simulator's most logged-in connections at once per account (1: no double login);
//   spread     connected sessions per connector at the end, beside the share;
// per restart: seconds from SIGTERM until every session was connected again (the stopped
// connector's sessions on the others), and until the fleet was even again after it came back.
// Production lease timings (20 s lease, 5 s renewal, 2 s sweep) and the rebalancing defaults
// unless overridden in the env (CONNECTOR_REBALANCE=false shows the fleet without it). The last
// line is one JSON summary with the machine's cores and load at start.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { pino } from 'pino';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { testEnv } from '../harness/connector.ts';
import { type ConnectorProcess, metricValue, spawnConnector } from '../harness/connector-process.ts';
import { setupBench } from './connector-bench.ts';

const CONNECTORS = Number(process.env.CONNECTORS ?? 4);
const SESSIONS = Number(process.env.SESSIONS ?? 1000);
const SEND_PER_S = Number(process.env.SEND_PER_S ?? 10);
const INBOUND_PER_S = Number(process.env.INBOUND_PER_S ?? 5);
const CAPACITY = process.env.CONNECTOR_CAPACITY ?? '500';
const TOLERANCE_PERCENT = Number(process.env.CONNECTOR_REBALANCE_TOLERANCE_PERCENT ?? 10);
/** How long to wait for the fleet to be even after a restart before going on (reported as not even). */
const BALANCE_TIMEOUT_S = Number(process.env.BALANCE_TIMEOUT_S ?? 300);
const SETTLE_TIMEOUT_S = Number(process.env.SETTLE_TIMEOUT_S ?? 180);
const log = (msg: string) => process.stdout.write(`[bench:fleet] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));
const machine = { cores: os.cpus().length, loadAtStart: load() };

// The in-process simulator's libsignal prints session records (key material) with console.*.
installConsoleScrub(pino({ level: 'silent' }));
const setup = await setupBench(SESSIONS, log);
const { sql, sim, agents, phones } = setup;
const n = agents.length;
const contacts = agents.map((_, i) => `4477004${String(i).padStart(5, '0')}`);
for (const c of contacts) sim.addContact(c);
const [ownerRow] = await sql`select owner_id from public.agents where id = ${agents[0]!}`;
const owner = ownerRow!.owner_id as string;
await sql`update public.plans set messages_per_minute = 1000000`;

const ids = Array.from({ length: CONNECTORS }, () => randomUUID());
const procs: Array<ConnectorProcess | undefined> = [];

function spawn(slot: number): ConnectorProcess {
  const proc = spawnConnector(
    testEnv(setup.dbUrl, sim.url, {
      CONNECTOR_ID: ids[slot]!,
      CONNECTOR_CAPACITY: CAPACITY,
      CONNECTOR_LEASE_SECONDS: process.env.CONNECTOR_LEASE_SECONDS ?? '20',
      CONNECTOR_RENEW_INTERVAL_MS: process.env.CONNECTOR_RENEW_INTERVAL_MS ?? '5000',
      CONNECTOR_SWEEP_INTERVAL_MS: process.env.CONNECTOR_SWEEP_INTERVAL_MS ?? '2000',
      CONNECTOR_REBALANCE: process.env.CONNECTOR_REBALANCE ?? 'true',
      CONNECTOR_REBALANCE_TOLERANCE_PERCENT: String(TOLERANCE_PERCENT),
      ...(process.env.CONNECTOR_REBALANCE_BATCH ? { CONNECTOR_REBALANCE_BATCH: process.env.CONNECTOR_REBALANCE_BATCH } : {}),
      ...(process.env.CONNECTOR_REBALANCE_INTERVAL_MS ? { CONNECTOR_REBALANCE_INTERVAL_MS: process.env.CONNECTOR_REBALANCE_INTERVAL_MS } : {}),
      CONNECTOR_DB_POOL: '6',
      BACKOFF_BASE_MS: '1000',
      BACKOFF_MAX_MS: '30000',
      WA_CONNECT_TIMEOUT_MS: '60000',
      HEALTH_CONNECTED_MS: '60000',
      LOG_LEVEL: 'info', // the harness learns the /metrics address from an info line
      BAILEYS_LOG_LEVEL: 'silent',
      WEBHOOKS_ENABLED: 'false',
      MESSAGES_MIN_INTERVAL_MS: '0',
      MESSAGES_JITTER_MS: '0',
      MESSAGES_RECIPIENT_INTERVAL_MS: '0',
    }),
    sim.rootPublicKey,
    { keepLines: 500 },
  );
  procs[slot] = proc;
  return proc;
}

/** Connected sessions per connector slot (index of `ids`), and how many are connected in all. */
async function spread(): Promise<{ perConnector: number[]; connected: number }> {
  const rows = await sql`select owner_connector_id as owner, count(*)::int as n from public.whatsapp_sessions
    where agent_id = any(${agents}::uuid[]) and status = 'connected' and owner_connector_id is not null group by 1`;
  const perConnector = ids.map((id) => rows.find((r) => r.owner === id)?.n ?? 0);
  return { perConnector, connected: perConnector.reduce((a, b) => a + b, 0) };
}

const share = Math.ceil(n / CONNECTORS);
const tolerance = Math.max(1, Math.ceil((share * TOLERANCE_PERCENT) / 100));
/** Even: every session connected, and every connector within the tolerance of the share. */
const isEven = (s: { perConnector: number[]; connected: number }) =>
  s.connected === n && s.perConnector.every((c) => c >= share - tolerance * (CONNECTORS - 1) && c <= share + tolerance);

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(250);
  }
  return false;
}

// Traffic, both ways, until stopped.
const traffic = { enqueued: 0, enqueueErrors: 0, injected: 0, injectErrors: 0 };
const injectedIds: Array<{ agent: string; id: string }> = [];
let flowing = true;
async function flow(): Promise<void> {
  let tick = 0;
  while (flowing) {
    const second = Date.now();
    for (let i = 0; i < SEND_PER_S; i++) {
      const s = (tick * SEND_PER_S + i) % n;
      await sql`select 1 from gateway.enqueue_message(${owner}, ${agents[s]!}, ${contacts[s]!}, 'text', ${sql.json({ text: `fleet ${tick}.${i}` })})`.then(
        () => traffic.enqueued++,
        () => traffic.enqueueErrors++,
      );
    }
    for (let i = 0; i < INBOUND_PER_S; i++) {
      const s = (tick * INBOUND_PER_S + i) % n;
      await sim.inject(phones[s]!, { from: contacts[s]!, text: `fleet inbound ${tick}.${i}` }).then(
        ({ id }) => {
          traffic.injected++;
          injectedIds.push({ agent: agents[s]!, id });
        },
        () => traffic.injectErrors++,
      );
    }
    tick++;
    await sleep(Math.max(0, second + 1000 - Date.now()));
  }
}

const restarts: Array<{ connector: number; secondsAllConnectedAgain: number | null; secondsEvenAfterBack: number | null; spreadAfter: number[] }> = [];
let flowDone: Promise<void> | undefined;
try {
  for (let slot = 0; slot < CONNECTORS; slot++) spawn(slot);
  const t0 = Date.now();
  const started = await until(async () => isEven(await spread()), BALANCE_TIMEOUT_S * 1000);
  log(`${CONNECTORS} connectors up: ${JSON.stringify((await spread()).perConnector)} (even: ${started}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  flowDone = flow();
  await sleep(5_000);
  for (let slot = 0; slot < CONNECTORS; slot++) {
    const proc = procs[slot]!;
    const stoppedAt = Date.now();
    proc.signal('SIGTERM');
    await proc.exited;
    // The others take its sessions (their share over the connectors left).
    const back = await until(async () => (await spread()).connected === n, BALANCE_TIMEOUT_S * 1000);
    const secondsAllConnectedAgain = back ? (Date.now() - stoppedAt) / 1000 : null;
    const startedAt = Date.now();
    spawn(slot);
    const even = await until(async () => isEven(await spread()), BALANCE_TIMEOUT_S * 1000);
    const after = await spread();
    restarts.push({ connector: slot, secondsAllConnectedAgain, secondsEvenAfterBack: even ? Number(((Date.now() - startedAt) / 1000).toFixed(1)) : null, spreadAfter: after.perConnector });
    log(`restarted #${slot}: all connected again after ${secondsAllConnectedAgain?.toFixed(1) ?? 'never'} s, even ${even ? `${restarts.at(-1)!.secondsEvenAfterBack} s after it was back` : 'never'}: ${JSON.stringify(after.perConnector)}`);
    if (slot + 1 < CONNECTORS) await sleep(3_000);
  }
  flowing = false;
  await flowDone;
  // Settle: every outbound row final (sent or beyond, or failed) and every injected message stored.
  const settled = await until(async () => {
    const [r] = await sql`select count(*) filter (where status in ('queued', 'sending'))::int as open from public.messages`;
    const [s] = await sql`select count(*)::int as n from public.inbound_messages where wa_message_id = any(${injectedIds.map((x) => x.id)})`;
    return r!.open === 0 && s!.n === injectedIds.length;
  }, SETTLE_TIMEOUT_S * 1000);
  await sleep(2_000); // the last receipts

  const [out] = await sql`select count(*)::int as rows,
      count(*) filter (where status in ('sent', 'delivered', 'read'))::int as sent,
      count(*) filter (where status = 'failed')::int as failed,
      count(*) filter (where status in ('queued', 'sending'))::int as unsent
    from public.messages`;
  const waIds = (await sql`select wa_message_id from public.messages`).map((r) => r.wa_message_id as string);
  const onWire = new Map<string, number>();
  for (const c of contacts) for (const m of sim.received(c)) onWire.set(m.id, (onWire.get(m.id) ?? 0) + 1);
  const wireDuplicates = [...onWire.values()].filter((k) => k > 1).length;
  const neverOnWire = waIds.filter((id) => !onWire.has(id)).length;
  const [inb] = await sql`select count(*)::int as rows, count(distinct wa_message_id)::int as ids from public.inbound_messages
    where wa_message_id = any(${injectedIds.map((x) => x.id)})`;
  const maxLive = Math.max(...phones.map((p) => sim.observe(p).maxLive));
  const final = await spread();
  const handedBack = await Promise.all(procs.map(async (p) => (p ? metricValue(await p.metrics().catch(() => ''), 'wa_gateway_sessions_handed_back_total') : 0)));
  const summary = {
    bench: 'fleet',
    ...machine,
    connectors: CONNECTORS,
    requested: SESSIONS,
    sessions: n,
    capacity: Number(CAPACITY),
    rebalance: process.env.CONNECTOR_REBALANCE ?? 'true',
    traffic: { ...traffic, sendPerS: SEND_PER_S, inboundPerS: INBOUND_PER_S },
    settled,
    outbound: { rows: out!.rows, sent: out!.sent, failed: out!.failed, lost: out!.unsent, wireDuplicates, neverOnWire },
    inbound: { injected: injectedIds.length, stored: inb!.ids, storedRows: inb!.rows, missing: injectedIds.length - inb!.ids },
    maxLivePerAccount: maxLive,
    share,
    tolerance,
    spreadAfter: final.perConnector,
    maxShareOfOne: Number((Math.max(...final.perConnector) / n).toFixed(3)),
    handedBackSinceLastStart: handedBack,
    restarts,
    target: '0 lost, 0 failed, 0 wire duplicates, inbound stored once each, maxLivePerAccount 1, spread within share ± tolerance',
    loadAtEnd: load(),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  flowing = false;
  await flowDone?.catch(() => {});
  for (const p of procs) p?.signal('SIGTERM');
  await Promise.all(procs.map((p) => p?.exited));
  await setup.cleanup();
}
process.exit(0);
