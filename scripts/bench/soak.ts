// npm run bench:soak — seed 001's "no memory leaks over 24 hours", in a run of SOAK_MINUTES
// (default 30): one connector process (connector/main.ts) holds SESSIONS linked sessions while
//   - SEND_PER_S messages a second are enqueued (round-robin over the sessions, one contact each;
//     the simulated contacts answer with delivered and read receipts),
//   - INBOUND_PER_S messages a second arrive from those contacts,
//   - every RECONNECT_EVERY_S seconds one session's socket is closed by the simulator (the
//     connector reconnects it from stored creds),
//   - the key-hygiene job runs every minute (JOB_KEY_HYGIENE_CRON),
// and every SAMPLE_S seconds the connector's RSS (/proc) and V8 heap (its /metrics) are sampled.
// After WARMUP_MINUTES (default a third of the run) a least-squares line through the samples
// gives the slope in MB per hour; "flat" means the drift the slope predicts over the measured
// window is within twice the samples' scatter around the line (the noise of a garbage-collected
// heap), and below 1 MB/h in any case would be flat too.
// The last line is one JSON summary with the machine's cores and load at start.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { pino } from 'pino';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { testEnv } from '../harness/connector.ts';
import { spawnConnector } from '../harness/connector-process.ts';
import { rssBytes, setupBench } from './connector-bench.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const SESSIONS = Number(process.env.SESSIONS ?? 10);
const SEND_PER_S = Number(process.env.SEND_PER_S ?? 2);
const INBOUND_PER_S = Number(process.env.INBOUND_PER_S ?? 1);
const RECONNECT_EVERY_S = Number(process.env.RECONNECT_EVERY_S ?? 30);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 10);
const WARMUP_MINUTES = Number(process.env.WARMUP_MINUTES ?? MINUTES / 3);
const HEAP_SNAPSHOT_DIR = process.env.HEAP_SNAPSHOT_DIR;
const log = (msg: string) => process.stdout.write(`[bench:soak] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const machine = { cores: os.cpus().length, loadAtStart: os.loadavg().map((l) => Number(l.toFixed(2))) };

// The in-process simulator's libsignal prints session records (key material) with console.*.
installConsoleScrub(pino({ level: 'silent' }));
const setup = await setupBench(SESSIONS, log);
const { sql, sim, agents, phones } = setup;
const contacts = agents.map((_, i) => `4477002${String(i).padStart(5, '0')}`);
for (const c of contacts) sim.addContact(c);
const [ownerRow] = await sql`select owner_id from public.agents where id = ${agents[0]!}`;
const owner = ownerRow!.owner_id as string;
await sql`update public.plans set messages_per_minute = 1000000`;

const connectorId = randomUUID();
const startedAt = new Date();
const proc = spawnConnector(
  testEnv(setup.dbUrl, sim.url, {
    CONNECTOR_ID: connectorId,
    // Production timings, not the test harness's (a 4 s lease under a loaded machine self-fences).
    CONNECTOR_LEASE_SECONDS: '20',
    CONNECTOR_RENEW_INTERVAL_MS: '5000',
    CONNECTOR_SWEEP_INTERVAL_MS: '2000',
    BACKOFF_BASE_MS: '1000',
    BACKOFF_MAX_MS: '30000',
    WA_CONNECT_TIMEOUT_MS: '60000',
    HEALTH_CONNECTED_MS: '60000',
    CONNECTOR_CAPACITY: String(agents.length),
    LOG_LEVEL: 'info', // the harness learns the /metrics address from an info line
    BAILEYS_LOG_LEVEL: 'silent',
    HTTP_PORT: '0',
    WEBHOOKS_ENABLED: 'false',
    JOBS_ENABLED: 'true',
    JOB_KEY_HYGIENE_CRON: '* * * * *',
    MESSAGES_MIN_INTERVAL_MS: '0',
    MESSAGES_JITTER_MS: '0',
    MESSAGES_RECIPIENT_INTERVAL_MS: '0',
  }),
  sim.rootPublicKey,
  // HEAP_SNAPSHOT_DIR: a heap snapshot of the connector at the end of warm-up and at the end, to
  // compare in Chrome DevTools when the heap after major GC is not flat.
  { keepLines: 2_000, ...(HEAP_SNAPSHOT_DIR ? { execArgv: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`] } : {}) },
);

/** The connector's V8 heap in use now (garbage included), and right after its last major GC. */
async function heapBytes(): Promise<{ used: number; afterMajorGc: number }> {
  const text = await proc.metrics();
  const value = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? Number.NaN);
  return { used: value('nodejs_heap_size_used_bytes'), afterMajorGc: value('wa_gateway_heap_used_after_major_gc_bytes') };
}

/** Least squares y = a + b·x; b per unit of x, and the residuals' standard deviation. */
function leastSquares(points: Array<[number, number]>): { slope: number; scatter: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const slope = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  const scatter = Math.sqrt(points.reduce((s, [x, y]) => s + (y - (my + slope * (x - mx))) ** 2, 0) / n);
  return { slope, scatter };
}

const counts = { enqueued: 0, injected: 0, socketsClosed: 0, sendErrors: 0 };
const samples: Array<{ minute: number; rssMb: number; heapMb: number; heapAfterGcMb: number; backlog: number }> = [];
try {
  for (;;) {
    const [r] = await sql`select count(*)::int as n from public.whatsapp_sessions where agent_id = any(${agents}::uuid[]) and status = 'connected'
      and owner_connector_id = ${connectorId} and last_connected_at >= ${startedAt}`; // not the linker's rows
    if (r!.n === agents.length) break;
    await sleep(200);
  }
  log(`${agents.length} sessions connected; soaking for ${MINUTES} min (${SEND_PER_S}/s out, ${INBOUND_PER_S}/s in, a socket closed every ${RECONNECT_EVERY_S} s)`);
  const start = Date.now();
  const end = start + MINUTES * 60_000;
  let tick = 0;
  let nextSample = start;
  let snapshotMinute: number | undefined;
  while (Date.now() < end) {
    const second = Date.now();
    for (let i = 0; i < SEND_PER_S; i++) {
      const s = (tick * SEND_PER_S + i) % agents.length;
      await sql`select 1 from gateway.enqueue_message(${owner}, ${agents[s]!}, ${contacts[s]!}, 'text', ${sql.json({ text: `soak ${tick}.${i}` })})`
        .then(() => counts.enqueued++, () => counts.sendErrors++);
    }
    for (let i = 0; i < INBOUND_PER_S; i++) {
      const s = (tick * INBOUND_PER_S + i) % agents.length;
      await sim.inject(phones[s]!, { from: contacts[s]!, text: `soak inbound ${tick}.${i}` }).then(() => counts.injected++, () => {});
    }
    if (tick > 0 && tick % RECONNECT_EVERY_S === 0) counts.socketsClosed += sim.fault(phones[(tick / RECONNECT_EVERY_S) % agents.length]!, 'close');
    if (Date.now() >= nextSample) {
      // The backlog beside the memory: a connector that falls behind holds more, which is not a leak.
      const [b] = await sql`select count(*) filter (where status in ('queued', 'sending'))::int as backlog from public.messages`;
      const heap = await heapBytes();
      const sample = { minute: (Date.now() - start) / 60_000, rssMb: rssBytes(proc.pid) / 2 ** 20, heapMb: heap.used / 2 ** 20, heapAfterGcMb: heap.afterMajorGc / 2 ** 20, backlog: b!.backlog as number };
      samples.push(sample);
      if (samples.length % 6 === 1) log(`t=${sample.minute.toFixed(1)} min rss ${sample.rssMb.toFixed(1)} MB heap ${sample.heapMb.toFixed(1)} MB (after major GC ${sample.heapAfterGcMb.toFixed(1)} MB) outbound backlog ${sample.backlog}`);
      nextSample += SAMPLE_S * 1000;
      if (HEAP_SNAPSHOT_DIR && snapshotMinute === undefined && sample.minute >= WARMUP_MINUTES) {
        snapshotMinute = sample.minute;
        proc.signal('SIGUSR2');
      }
    }
    tick++;
    await sleep(Math.max(0, second + 1000 - Date.now()));
  }
  await sleep(5_000); // the last sends' receipts
  if (HEAP_SNAPSHOT_DIR) proc.signal('SIGUSR2');
  const [statuses] = await sql`select count(*) filter (where status = 'read')::int as read, count(*) filter (where status = 'failed')::int as failed,
    count(*) filter (where status not in ('read', 'failed'))::int as other from public.messages`;
  const [inbound] = await sql`select count(*)::int as stored from public.inbound_messages`;
  const metricsText = await proc.metrics();
  const hygieneRuns = metricsText.split('\n').filter((l) => l.includes('job="key-hygiene"') && l.includes('outcome="ran"')).map((l) => Number(l.split(' ').at(-1))).reduce((a, b) => a + b, 0);
  // Writing a heap snapshot leaves the process's RSS a step higher (V8's serialisation buffers):
  // with one taken at warm-up, the slopes are fitted from the sample after it on.
  const measured = samples.filter((s) => s.minute >= WARMUP_MINUTES && (snapshotMinute === undefined || s.minute > snapshotMinute));
  const window = (measured.at(-1)?.minute ?? 0) - (measured[0]?.minute ?? 0);
  const trend = (pick: (s: (typeof samples)[number]) => number) => {
    if (measured.length < 3) return { mbPerHour: Number.NaN, driftMb: Number.NaN, scatterMb: Number.NaN, flat: false };
    const { slope, scatter } = leastSquares(measured.map((s) => [s.minute, pick(s)]));
    const drift = slope * window;
    return { mbPerHour: Number((slope * 60).toFixed(2)), driftMb: Number(drift.toFixed(2)), scatterMb: Number(scatter.toFixed(2)), flat: Math.abs(drift) <= 2 * scatter || Math.abs(slope * 60) < 1 };
  };
  const summary = {
    bench: 'soak', ...machine, minutes: MINUTES, warmupMinutes: WARMUP_MINUTES, sessions: agents.length, samples: samples.length, measuredFromMinute: Number(measured[0]?.minute.toFixed(1)),
    rssMb: { first: Number(samples[0]?.rssMb.toFixed(1)), atWarmup: Number(measured[0]?.rssMb.toFixed(1)), last: Number(samples.at(-1)?.rssMb.toFixed(1)), ...trend((s) => s.rssMb) },
    heapMb: { first: Number(samples[0]?.heapMb.toFixed(1)), atWarmup: Number(measured[0]?.heapMb.toFixed(1)), last: Number(samples.at(-1)?.heapMb.toFixed(1)), ...trend((s) => s.heapMb) },
    heapAfterMajorGcMb: { first: Number(samples[0]?.heapAfterGcMb.toFixed(1)), atWarmup: Number(measured[0]?.heapAfterGcMb.toFixed(1)), last: Number(samples.at(-1)?.heapAfterGcMb.toFixed(1)), ...trend((s) => s.heapAfterGcMb) },
    outboundBacklog: { max: Math.max(...samples.map((s) => s.backlog)), last: samples.at(-1)?.backlog },
    traffic: { ...counts, outbound: statuses, inboundStored: inbound!.stored, keyHygieneRuns: hygieneRuns },
    target: 'rss and the heap after major GC flat after warm-up (drift within 2× scatter, or under 1 MB/h); the heap in use (garbage included) is shown beside them',
    loadAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  proc.signal('SIGTERM');
  await proc.exited;
  await setup.cleanup();
}
process.exit(0);
