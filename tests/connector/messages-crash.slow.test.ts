// Exactly once under crashes (issues 6 and 16): 2,000 outbound messages across 10 sessions while
// simulated contacts send 400 messages to those sessions, the connector process is killed with
// SIGKILL three times, PostgreSQL itself is restarted once (`pg_ctl restart -m fast` of a
// throwaway cluster this file starts, not the shared test server) and sockets are dropped ten
// times. Every outbound message must reach its contact under its own WhatsApp id (a re-send after
// a crash reuses that id, which WhatsApp clients dedupe), no message may arrive under an id that is
// not its own, and every row must end `read`, or `failed` with a reason. Every inbound message must
// be stored exactly once, with the text its contact sent, and acknowledged to the simulator (which,
// as WhatsApp, offers an unacknowledged message again at the next login). Drops alternate between
// a terminated socket (428) and WhatsApp's 515 restart. CRASH_SCALE scales the message counts.
// One JSON line with the figures is printed for the record.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../scripts/db/migrate.ts';
import { type Cluster, startThrowawayCluster } from '../../scripts/db/throwaway-cluster.ts';
import { startTestConnector, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { type ConnectorProcess, spawnConnector } from '../../scripts/harness/connector-process.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createRunningAgent, createUser, setPlan } from '../helpers/fixtures.ts';
import { restartCluster } from '../helpers/pg-restart.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const SCALE = Number(process.env.CRASH_SCALE ?? '1');
const SESSIONS = 10;
const PER_SESSION = Math.max(10, Math.round(200 * SCALE));
const TOTAL = SESSIONS * PER_SESSION;
const INBOUND = Math.max(20, Math.round(400 * SCALE));
/** Faults at these shares of the outbound messages received. */
const FAULTS: Array<[number, 'kill' | 'restart_postgres']> = [
  [0.15, 'kill'],
  [0.35, 'restart_postgres'],
  [0.55, 'kill'],
  [0.75, 'kill'],
];

// The in-process simulator's libsignal prints key material.
const stack = useSimulatorStack({ simulator: { deliveredAfterMs: 30, readAfterMs: 80 }, scrubConsole: true });

let cluster: Cluster;
let db: { url: string; sql: postgres.Sql };
let owner: string;
const sessions: Array<{ agentId: string; phone: string }> = [];
const contacts = Array.from({ length: 10 }, (_, i) => `4477009${String(10_000 + i).slice(1)}`);
const procs: ConnectorProcess[] = [];

beforeAll(async () => {
  // Its own PostgreSQL: this file restarts it, and other files use the shared test server.
  cluster = await startThrowawayCluster();
  await migrate(cluster.url);
  db = { url: cluster.url, sql: postgres(cluster.url, { max: 6, onnotice: () => {} }) };
  for (const c of contacts) stack.sim.addContact(c);
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
  await db.sql`update public.plans set messages_per_minute = 100000 where id = 'max'`;
  const linker = await startTestConnector(testEnv(db.url, stack.sim.url, { CONNECTOR_LEASE_SECONDS: '10', CONNECTOR_RENEW_INTERVAL_MS: '2000', LOG_LEVEL: 'warn' }));
  for (let i = 0; i < SESSIONS; i++) {
    const phone = `155540000${String(i).padStart(2, '0')}`;
    const agentId = await createRunningAgent(db.sql, owner, phone);
    await scanPublishedQr(db.sql, stack.sim, agentId, phone);
    sessions.push({ agentId, phone });
  }
  for (const s of sessions) await waitForStatus(db.sql, s.agentId, 'connected');
  await linker.stop();
}, 180_000);

afterAll(async () => {
  for (const p of procs) p.signal('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await db?.sql.end({ timeout: 5 });
  if (cluster) {
    cluster.stop();
    rmSync(path.dirname(cluster.dataDir), { recursive: true, force: true });
  }
});

function spawn(): ConnectorProcess {
  const env = testEnv(db.url, stack.sim.url, {
    LOG_LEVEL: 'info',
    BAILEYS_LOG_LEVEL: 'error',
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_DB_POOL: '8',
    CONNECTOR_LEASE_SECONDS: '4',
    CONNECTOR_RENEW_INTERVAL_MS: '1000',
    WA_SEND_TIMEOUT_MS: '4000',
    MESSAGES_VISIBILITY_SECONDS: '10',
    MESSAGES_POLL_INTERVAL_MS: '200',
    MESSAGES_MIN_INTERVAL_MS: '20',
    MESSAGES_JITTER_MS: '20',
    MESSAGES_RECIPIENT_INTERVAL_MS: '0',
    MESSAGES_RETRY_BASE_MS: '500',
    MESSAGES_RETRY_MAX_MS: '2000',
    WEBHOOKS_ENABLED: 'false',
  });
  const p = spawnConnector(env, stack.sim.rootPublicKey, { keepLines: 20_000 });
  procs.push(p);
  return p;
}

const receivedTotal = () => contacts.reduce((n, c) => n + new Set(stack.sim.received(c).map((m) => m.id)).size, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A probe that reads the database: false while PostgreSQL restarts. */
const probe = (read: () => Promise<boolean>) => () => read().catch(() => false);

/** Simulated contacts write to the sessions throughout, paced by the outbound progress. */
function startInbound(sent: Map<string, { agentId: string; text: string }>): { done: Promise<void> } {
  const done = (async () => {
    for (let i = 0; i < INBOUND; i++) {
      while (i >= INBOUND * Math.min(1, (receivedTotal() / TOTAL) * 1.25 + 0.05)) await sleep(50);
      const s = sessions[i % SESSIONS]!;
      const text = `in ${i}`;
      const { id } = await stack.sim.inject(s.phone, { from: contacts[(i * 3 + 1) % contacts.length]!, text });
      sent.set(id, { agentId: s.agentId, text });
    }
  })();
  return { done };
}

describe('messages under crashes', () => {
  it('2,000 out and 400 in, 3 × kill -9, a PostgreSQL restart, 10 socket drops: each outbound reaches its contact under its own id, each inbound is stored once', async () => {
    const started = Date.now();
    const expected = new Map<string, { contact: string; id: string }>();
    for (let i = 0; i < PER_SESSION; i++) {
      for (let s = 0; s < SESSIONS; s++) {
        const contact = contacts[(s + i) % contacts.length]!;
        const [row] = await db.sql`
          select id, wa_message_id from gateway.enqueue_message(${owner}, ${sessions[s]!.agentId}, ${contact}, 'text', ${db.sql.json({ text: `m ${s}/${i}` })})`;
        expected.set(row!.wa_message_id as string, { contact, id: row!.id as string });
      }
    }
    expect(expected.size).toBe(TOTAL);

    const inboundSent = new Map<string, { agentId: string; text: string }>();
    const phases: string[] = [];
    let current = spawn();
    const inbound = startInbound(inboundSent);
    let drops = 0;
    const dropper = setInterval(() => {
      if (drops >= 10) return;
      const s = sessions[drops % SESSIONS]!;
      if (stack.sim.observe(s.phone).live > 0) {
        // Alternately: the socket is terminated (Baileys sees 428) or WhatsApp sends 515 restart.
        stack.sim.fault(s.phone, drops % 2 === 0 ? 'close' : 'restart_required');
        drops++;
      }
    }, 1_500);
    const agentIds = sessions.map((s) => s.agentId);
    try {
      for (const [share, fault] of FAULTS) {
        const threshold = Math.round(TOTAL * share);
        await waitFor(() => receivedTotal() >= threshold, 120_000, `${threshold} messages received`).catch((error) => {
          const tail = current.lines.slice(-40).map((l) => l.slice(0, 300));
          process.stdout.write(`${JSON.stringify({ phases, received: receivedTotal(), tail })}\n`);
          throw error;
        });
        phases.push(`${fault}@${Math.round((Date.now() - started) / 1000)}s`);
        if (fault === 'kill') {
          current.signal('SIGKILL');
          await current.exited;
          current = spawn();
        } else {
          await restartCluster(cluster);
        }
      }
      await inbound.done;
      phases.push(`injected@${Math.round((Date.now() - started) / 1000)}s`);
      await waitFor(
        probe(async () => {
          const [r] = await db.sql`select count(*)::int as n from public.messages where status in ('read', 'failed') and agent_id = any(${agentIds}::uuid[])`;
          return r!.n === TOTAL;
        }),
        240_000,
        'every row read or failed',
      )
        .then(() => phases.push(`outbound-done@${Math.round((Date.now() - started) / 1000)}s`)).catch(async (error) => {
        process.stdout.write(`${JSON.stringify({ phases })}\n`);
        const stuck = await db.sql`select status, error_code, count(*)::int as n, min(wa_message_id) as sample from public.messages where status not in ('read', 'failed') group by 1, 2`;
        process.stdout.write(`${JSON.stringify({ stuck, received: receivedTotal(), tail: current.lines.slice(-30) })}\n`);
        const sample = stuck[0]?.sample as string | undefined;
        if (sample) process.stdout.write(`${JSON.stringify({ sample, got: expected.get(sample), copies: stack.sim.received(expected.get(sample)!.contact).filter((m) => m.id === sample).length })}\n`);
        const notReceived = [...expected].filter(([waId, e]) => !stack.sim.received(e.contact).some((m) => m.id === waId)).map(([waId]) => waId);
        const decryptFailures = sessions.flatMap((s) => stack.sim.stanzaLog(s.phone).filter((e) => e.summary.includes('sim-decrypt-failed')).map((e) => e.summary.slice(0, 300)));
        process.stdout.write(`${JSON.stringify({ notReceived, decryptFailures: decryptFailures.slice(0, 10), decryptFailureCount: decryptFailures.length })}\n`);
        const stanzas = sessions.flatMap((s) => stack.sim.stanzaLog(s.phone).filter((e) => notReceived.some((id) => e.summary.includes(id))).map((e) => ({ phone: s.phone, ...e, summary: e.summary.slice(0, 600) })));
        process.stdout.write(`${JSON.stringify({ stanzas })}\n`);
        // What the connectors said about those messages and about retry requests (Baileys logs an
        // unanswerable retry request at error level: 'error in sending message again').
        const said = procs.flatMap((p) => p.lines.filter((l) => /message again|retry/i.test(l) || notReceived.some((id) => l.includes(id)))).map((l) => l.slice(0, 700)).slice(-30);
        process.stdout.write(`${JSON.stringify({ said })}\n`);
        throw error;
      });
      const storedCount = async () => {
        const [r] = await db.sql`select count(*)::int as n from public.inbound_messages where agent_id = any(${agentIds}::uuid[])`;
        return r!.n as number;
      };
      await waitFor(
        // Settled with WhatsApp: acknowledged, or (a copy redelivered after a kill between the commit
        // and the receipt cannot be decrypted again) refused after it was stored.
        probe(async () => (await storedCount()) >= inboundSent.size && [...inboundSent.keys()].every((id) => stack.sim.inboundState(id)?.acked || stack.sim.inboundState(id)?.nacked)),
        60_000,
        'every inbound message stored and acknowledged',
      ).catch(async (error) => {
        process.stdout.write(`${JSON.stringify({ phases })}\n`);
        const unacked = [...inboundSent.keys()].filter((id) => !stack.sim.inboundState(id)?.acked && !stack.sim.inboundState(id)?.nacked);
        const nacks = procs.flatMap((p) => p.lines.filter((l) => /decrypt|Key used already|error in handling message|retry/i.test(l) || unacked.some((id) => l.includes(id)))).map((l) => l.slice(0, 700)).slice(-12);
        process.stdout.write(`${JSON.stringify({ inboundSent: inboundSent.size, stored: await storedCount().catch(() => -1), unacked: unacked.slice(0, 10), unackedCount: unacked.length, states: unacked.slice(0, 5).map((id) => stack.sim.inboundState(id)), nacks })}\n`);
        throw error;
      });
    } finally {
      clearInterval(dropper);
    }
    expect(drops).toBe(10);

    // Every message reached its contact, under its own id; nothing arrived under a foreign id.
    let resends = 0;
    for (const c of contacts) {
      const got = stack.sim.received(c);
      const ids = new Set(got.map((m) => m.id));
      resends += got.length - ids.size;
      for (const id of ids) expect(expected.get(id)?.contact, `unexpected id ${id} at ${c}`).toBe(c);
    }
    const missing = [...expected].filter(([waId, e]) => !stack.sim.received(e.contact).some((m) => m.id === waId));
    if (missing.length > 0) {
      const ids = missing.map(([waId]) => waId);
      const rowsOf = await db.sql`select wa_message_id, status, attempts, error_code, sending_at, sent_at, delivered_at, read_at, agent_id from public.messages where wa_message_id = any(${ids})`;
      const stanzas = sessions.flatMap((s) => stack.sim.stanzaLog(s.phone).filter((e) => ids.some((id) => e.summary.includes(id))).map((e) => ({ phone: s.phone, ...e, summary: e.summary.slice(0, 200) })));
      process.stdout.write(`${JSON.stringify({ missingRows: rowsOf, stanzas })}\n`);
    }
    expect(missing).toEqual([]);
    const rows = await db.sql`select status, error_code, count(*)::int as n from public.messages group by 1, 2`;
    for (const r of rows) if (r.status === 'failed') expect(r.error_code).toBeTruthy();
    const read = rows.filter((r) => r.status === 'read').reduce((n, r) => n + (r.n as number), 0);
    const [stuck] = await db.sql`select count(*)::int as n from public.messages where status in ('queued', 'sending')`;

    // Every inbound message stored once, under its WhatsApp id, with the text its contact sent.
    const stored = await db.sql`select agent_id, wa_message_id, content->>'text' as text from public.inbound_messages where agent_id = any(${agentIds}::uuid[])`;
    const storedIds = new Map<string, number>();
    for (const r of stored) storedIds.set(r.wa_message_id as string, (storedIds.get(r.wa_message_id as string) ?? 0) + 1);
    const inboundDuplicates = [...storedIds.values()].filter((n) => n > 1).length;
    const unexpected = stored.filter((r) => inboundSent.get(r.wa_message_id as string)?.text !== r.text || inboundSent.get(r.wa_message_id as string)?.agentId !== r.agent_id);
    const lost = [...inboundSent.keys()].filter((id) => !storedIds.has(id));
    const redelivered = [...inboundSent.keys()].filter((id) => (stack.sim.inboundState(id)?.receipts.length ?? 0) > 1).length;
    // A message Baileys could not decrypt is asked again (retry receipt) and re-sent by the contact.
    const nackedAfterStore = [...inboundSent.keys()].filter((id) => !stack.sim.inboundState(id)?.acked && stack.sim.inboundState(id)?.nacked).length;
    const retried = [...inboundSent.keys()].filter((id) => stack.sim.inboundState(id)?.receipts.includes('retry')).length;
    const decryptErrors = procs.flatMap((p) => p.lines.filter((l) => l.includes('failed to decrypt message')).map((l) => /"message":"([^"]{0,80})/.exec(l)?.[1] ?? '?'));

    // Same-id re-sends are the at-least-once cost of a kill between the wire and the commit of
    // `sent` (the writer may be behind by many rows under load): receivers dedupe by id, which is
    // what "none twice" means here. A bound still catches a re-send loop.
    const retries: Record<string, number> = {};
    for (const p of procs) for (const line of p.lines) if (line.includes('send did not succeed')) {
      const code = /"code":"([^"]+)"/.exec(line)?.[1] ?? '?';
      retries[code] = (retries[code] ?? 0) + 1;
    }
    const figures = {
      crashFigures: true,
      seconds: Math.round((Date.now() - started) / 1000),
      phases,
      faults: { kills: FAULTS.filter(([, f]) => f === 'kill').length, postgresRestarts: FAULTS.filter(([, f]) => f === 'restart_postgres').length, socketDrops: drops },
      outbound: { sent: TOTAL, read, failed: TOTAL - read, missing: missing.length, duplicatesOnWire: resends, retries },
      inbound: { sent: inboundSent.size, stored: storedIds.size, lost: lost.length, duplicates: inboundDuplicates, unexpected: unexpected.length, redeliveredReceipts: redelivered, nackedAfterStore, retryReceipts: retried, decryptErrors: decryptErrors.length, decryptErrorKinds: [...new Set(decryptErrors)].slice(0, 5) },
      stuckRows: stuck!.n,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    expect(resends).toBeLessThan(TOTAL / 2);
    expect(lost).toEqual([]);
    expect(unexpected).toEqual([]);
    expect(inboundDuplicates).toBe(0);
    expect(stuck!.n).toBe(0);
  }, 420_000);
});
