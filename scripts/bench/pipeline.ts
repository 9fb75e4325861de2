// npm run bench:pipeline — the message path end to end against the simulator:
//   1. latency: RATE sends per second (round-robin over the sessions) for DURATION seconds, once
//      with the default pacing (RATE 5 keeps inside it) and once with pacing off at 20/s,
//      through the HTTP control plane (scripts/dev/serve-api.ts in its own
//      process, a user JWT); for each, from the 202 arriving to the simulated contact holding
//      the decrypted message. p50 / p99 / max, for the first message per session of a freshly
//      started connector (device and pre-key fetch, new Signal session) and for the steady
//      state after it, with the slowest messages broken down.
//   2. throughput: BURST messages per session enqueued up front, a fresh connector with pacing
//      off; messages per second from the first to the last one received.
// One connector process (connector/main.ts), SESSIONS linked sessions (default 20), one contact
// per session.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { repoRoot } from '../db/migrate.ts';
import { pino } from 'pino';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { setupBench } from './connector-bench.ts';
import { testEnv } from '../harness/connector.ts';
import { type ConnectorProcess, EXIT_WITH_PARENT, spawnConnector } from '../harness/connector-process.ts';

const SESSIONS = Number(process.env.SESSIONS ?? 20);
// 5/s over 20 sessions = one message per session every 4 s: inside the default pacing (1 s + up to
// 1 s jitter per session, 3 s per recipient), so the figure is the pipeline's, not a pacing queue.
const RATE = Number(process.env.RATE ?? 5);
const DURATION = Number(process.env.DURATION ?? 20);
const BURST = Number(process.env.BURST ?? 200);
const log = (msg: string) => process.stdout.write(`[bench:pipeline] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

// The in-process simulator's libsignal prints session records (key material) with console.*.
installConsoleScrub(pino({ level: 'silent' }));
const setup = await setupBench(SESSIONS, log);
const { sql, sim, agents, phones } = setup;
const contacts = agents.map((_, i) => `4477001${String(i).padStart(5, '0')}`);
for (const c of contacts) sim.addContact(c);
const [ownerRow] = await sql`select owner_id from public.agents where id = ${agents[0]!}`;
const owner = ownerRow!.owner_id as string;
await sql`update public.plans set messages_per_minute = 1000000`;

/** Every child started, so a failed run does not leave a connector or a control plane behind. */
const children: Array<{ kill(): void }> = [];

function connector(extra: Record<string, string>): ConnectorProcess & { id: string; startedAt: Date } {
  const id = randomUUID();
  const proc = spawnConnector(
    testEnv(setup.dbUrl, sim.url, {
      CONNECTOR_ID: id,
      CONNECTOR_CAPACITY: String(agents.length),
      LOG_LEVEL: 'warn',
      BAILEYS_LOG_LEVEL: 'silent',
      CONNECTOR_DB_POOL: '10',
      CONNECTOR_LEASE_SECONDS: '20',
      CONNECTOR_RENEW_INTERVAL_MS: '5000',
      HEALTH_CONNECTED_MS: '60000',
      WEBHOOKS_ENABLED: 'false',
      ...extra,
    }),
    sim.rootPublicKey,
    { keepLines: 20_000 },
  );
  children.push({ kill: () => proc.signal('SIGKILL') });
  return Object.assign(proc, { id, startedAt: new Date() });
}

/** Every session connected by this connector (the rows of the previous one still say connected). */
async function allConnected(proc: { id: string; startedAt: Date }): Promise<void> {
  for (;;) {
    const [r] = await sql`select count(*)::int as n from public.whatsapp_sessions where agent_id = any(${agents}::uuid[])
      and status = 'connected' and owner_connector_id = ${proc.id} and last_connected_at >= ${proc.startedAt}`;
    if (r!.n === agents.length) return;
    await sleep(200);
  }
}

const receivedAt = (contact: string, id: string) => sim.received(contact).find((m) => m.id === id)?.at;

/** The control plane in its own process, and a JWT for the owner. */
async function startApi(): Promise<{ base: string; token: string; child: ChildProcess }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
  const supabaseUrl = 'https://bench.supabase.test';
  const port = 19_000 + (process.pid % 1000);
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, '--import', 'tsx', path.join(repoRoot, 'scripts/dev/serve-api.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env, MEDIA_STORE: 'folder', MEDIA_STORE_DIR: path.join(repoRoot, '.data', 'bench-media'), SUPABASE_DB_URL: setup.dbUrl, SUPABASE_URL: supabaseUrl, SUPABASE_JWKS: JSON.stringify({ keys: [jwk] }),
      WEBHOOK_SECRETS_KEY: randomBytes(32).toString('hex'), PORT: String(port), LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push({ kill: () => child.kill('SIGKILL') });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('gateway listening') && resolve());
    child.once('exit', (code) => reject(new Error(`control plane exited with ${code}`)));
  });
  const token = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setSubject(owner)
    .setIssuer(`${supabaseUrl}/auth/v1`).setAudience('authenticated').setExpirationTime('1h').sign(privateKey);
  return { base: `http://127.0.0.1:${port}/gateway`, token, child };
}

try {
  // --- 1. latency at a steady rate: default pacing, then pacing off ----------------------------
  const api = await startApi();
  type Sent = { contact: string; id: string; t0: number; session: number };
  /** `count` sends at `rate` per second, round-robin over the sessions; each timed from its 202. */
  async function sendAtRate(label: string, rate: number, count: number): Promise<Sent[]> {
    const sent: Sent[] = [];
    const interval = 1000 / rate;
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      const wait = start + i * interval - Date.now();
      if (wait > 0) await sleep(wait);
      const s = i % agents.length;
      const res = await fetch(`${api.base}/v1/agents/${agents[s]!}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: contacts[s]!, type: 'text', text: `latency ${label} ${i}` }),
      });
      const t0 = Date.now();
      if (res.status !== 202) throw new Error(`send answered ${res.status}: ${await res.text()}`);
      sent.push({ contact: contacts[s]!, id: ((await res.json()) as { waMessageId: string }).waMessageId, t0, session: s });
    }
    const deadline = Date.now() + 60_000;
    while (sent.some((m) => receivedAt(m.contact, m.id) === undefined) && Date.now() < deadline) await sleep(100);
    return sent;
  }
  async function summarize(sent: Sent[], rate: number) {
    const start = sent[0]?.t0 ?? 0;
    const timed = sent.map((m) => ({ ...m, ms: (receivedAt(m.contact, m.id) ?? Number.NaN) - m.t0 }));
    const latencies = timed.map((m) => m.ms).filter(Number.isFinite).sort((a, b) => a - b);
    const result = { rate, messages: sent.length, received: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), maxMs: latencies.at(-1) };
    log(JSON.stringify(result));
    // Where the slowest ones spent their time: 202 → row committed → `sent` committed → received.
    const slowest = timed.sort((a, b) => b.ms - a.ms).slice(0, Number(process.env.SHOW_SLOWEST ?? 3));
    const rows = await sql`select wa_message_id, extract(epoch from created_at) * 1000 as created, extract(epoch from sent_at) * 1000 as sent from public.messages where wa_message_id = any(${slowest.map((m) => m.id)})`;
    for (const m of slowest) {
      const r = rows.find((x) => x.wa_message_id === m.id);
      log(`  slowest: ${m.ms} ms (${((m.t0 - start) / 1000).toFixed(1)} s in, session ${m.session}); row committed ${Math.round(Number(r?.created) - m.t0)} ms, sent committed ${r?.sent == null ? 'not yet' : `+${Math.round(Number(r.sent) - m.t0)} ms`}`);
    }
    return result;
  }
  /**
   * Where a first message spends its time, from the simulator's stanza log of the session's
   * account (each stanza the connector sent, with the time it arrived) and the row's claim: per
   * phase, the median milliseconds after the 202 ("usync:devices 31→32": asked at +31 ms,
   * answered at +32). The gaps between the phases are the connector's own work (database reads
   * of Signal keys, encryption, scheduling); the arrows, the simulator's.
   */
  async function phases(sent: Sent[]) {
    const rows = await sql`select wa_message_id, extract(epoch from sending_at) * 1000 as claimed from public.messages where wa_message_id = any(${sent.map((m) => m.id)})`;
    const claimedAt = new Map(rows.map((r) => [r.wa_message_id as string, Number(r.claimed)]));
    const offsets = new Map<string, number[]>();
    const add = (phase: string, ms: number) => offsets.set(phase, [...(offsets.get(phase) ?? []), ms]);
    const kindOf = (summary: string): string | undefined => {
      if (!summary.startsWith('<iq')) return undefined;
      const xmlns = /xmlns="([^"]+)"/.exec(summary)?.[1] ?? '?';
      if (xmlns === 'usync') return `usync:${['contact', 'devices', 'lid'].filter((p) => summary.includes(`<${p} `) || summary.includes(`<${p}>`)).join('+')}`;
      if (xmlns === 'encrypt' && summary.includes('<key>')) return 'encrypt:prekeys';
      return `iq:${xmlns}`;
    };
    for (const m of sent) {
      const received = receivedAt(m.contact, m.id);
      const claimed = claimedAt.get(m.id);
      if (received === undefined || claimed === undefined) continue;
      add('claimed', claimed - m.t0);
      const log = sim.stanzaLog(phones[m.session]!).filter((e) => e.at >= claimed - 5 && e.at <= received);
      const asked = new Map<string, { kind: string; at: number }>();
      const seen = new Map<string, number>();
      for (const e of log) {
        const id = /^<\w+[^>]*? id="([^"]+)"/.exec(e.summary)?.[1];
        if (e.direction === 'in' && e.summary.startsWith(`<message id="${m.id}"`)) add('message', e.at - m.t0);
        const kind = e.direction === 'in' ? kindOf(e.summary) : undefined;
        if (kind && id) {
          const n = (seen.get(kind) ?? 0) + 1;
          seen.set(kind, n);
          asked.set(id, { kind: n > 1 ? `${kind}#${n}` : kind, at: e.at });
        } else if (e.direction === 'out' && id && asked.has(id)) {
          const q = asked.get(id)!;
          add(`${q.kind} asked`, q.at - m.t0);
          add(`${q.kind} answered`, e.at - m.t0);
        }
      }
      add('received', received - m.t0);
    }
    const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
    const order = [...offsets.entries()].map(([phase, xs]) => ({ phase, n: xs.length, p50: median(xs) })).sort((a, b) => a.p50 - b.p50);
    log(`  phases (median ms after the 202, n messages): ${order.map((o) => `${o.phase} +${Math.round(o.p50)}${o.n === sent.length ? '' : ` (n=${o.n})`}`).join(' | ')}`);
    return Object.fromEntries(order.map((o) => [o.phase, Math.round(o.p50)]));
  }
  async function measureLatency(label: string, rate: number, env: Record<string, string>) {
    const proc = connector(env);
    await allConnected(proc);
    // The first message of a fresh connector to each contact also fetches the contact's devices
    // and pre-keys and starts a Signal session: measured apart, then the steady state.
    log(`latency (${label}): first message per session, then ${rate}/s for ${DURATION} s over ${agents.length} sessions`);
    const firstSent = await sendAtRate(`${label} first`, 20, agents.length);
    const first = { ...(await summarize(firstSent, 20)), phases: await phases(firstSent) };
    await sleep(4_000); // outside the per-session and per-recipient pacing of that first message
    const steady = await summarize(await sendAtRate(label, rate, rate * DURATION), rate);
    proc.signal('SIGTERM');
    await proc.exited;
    return { first, steady };
  }
  const latency = await measureLatency('default pacing', RATE, {});
  const latencyPacingOff = await measureLatency('pacing off', 20, { MESSAGES_MIN_INTERVAL_MS: '0', MESSAGES_JITTER_MS: '0', MESSAGES_RECIPIENT_INTERVAL_MS: '0' });
  api.child.kill('SIGTERM');

  // --- 2. throughput, pacing off ----------------------------------------------------------------
  log(`throughput: ${BURST} messages per session × ${agents.length} sessions, pacing off`);
  const burst: Array<{ contact: string; id: string }> = [];
  for (let i = 0; i < BURST; i++) {
    await Promise.all(
      agents.map(async (agent, s) => {
        const [row] = await sql`select wa_message_id from gateway.enqueue_message(${owner}, ${agent}, ${contacts[s]!}, 'text', ${sql.json({ text: `burst ${i}` })})`;
        burst.push({ contact: contacts[s]!, id: row!.wa_message_id as string });
      }),
    );
  }
  const proc = connector({ MESSAGES_MIN_INTERVAL_MS: '0', MESSAGES_JITTER_MS: '0', MESSAGES_RECIPIENT_INTERVAL_MS: '0', MESSAGES_CLAIM_BATCH: '200', MESSAGES_LANE_MAX: '50' });
  const until = Date.now() + 300_000;
  while (burst.some((m) => receivedAt(m.contact, m.id) === undefined) && Date.now() < until) await sleep(200);
  const times = burst.map((m) => receivedAt(m.contact, m.id)).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const seconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
  const throughput = { messages: burst.length, received: times.length, seconds: Number(seconds.toFixed(2)), perSecond: Number((times.length / seconds).toFixed(1)), perSessionPerSecond: Number((times.length / seconds / agents.length).toFixed(1)) };
  log(JSON.stringify(throughput));
  const [statuses] = await sql`select count(*) filter (where status = 'read')::int as read, count(*) filter (where status = 'failed')::int as failed, count(*)::int as total from public.messages`;
  log(JSON.stringify({ finalStatuses: statuses }));
  proc.signal('SIGTERM');
  await proc.exited;
  process.stdout.write(`${JSON.stringify({ sessions: agents.length, latency, latencyPacingOff, throughput })}\n`);
} finally {
  for (const child of children) child.kill(); // no-ops for those that exited
  await setup.cleanup();
}
process.exit(0);
