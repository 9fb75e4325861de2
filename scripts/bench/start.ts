/**
 * tsx scripts/bench/start.ts — dispatch latency of `npm start`'s stack (the embedded PGlite):
 * from the HTTP 202 of a send to the simulated contact receiving it, one message at a time.
 *
 * Each mode runs in a fresh data directory against its own simulator: `wakeups` (the embedded
 * database's notifications nudge the outbound worker) and `poll-only` (the stack as it was before
 * wake-ups: the worker finds the message on its next poll). The stack keeps its default message
 * settings except the pacing between sends (MESSAGES_MIN_INTERVAL_MS etc.), set to 0 so each
 * send measures dispatch alone. `server` runs the same stack on a PostgreSQL server instead
 * (DATABASE_URL, with LISTEN): a fresh database on TEST_DATABASE_URL's server, else the local
 * one on 127.0.0.1:5432, else a throwaway cluster. Prints one JSON line.
 *
 * Env: N (messages per mode, default 30), MODES (comma list, default "poll-only,wakeups,server").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import postgres from 'postgres';
import { resolveTestServer, withDatabase } from '../db/server.ts';
import { type LocalStack, startLocalStack } from '../dev/stack.ts';

const N = Number(process.env.N ?? 30);
type Mode = 'poll-only' | 'wakeups' | 'server';
const MODES = (process.env.MODES ?? 'poll-only,wakeups,server').split(',') as Mode[];
const PHONE = '15550124599';
const CONTACT = '447700900899';

installConsoleScrub(pino({ level: 'silent' }));
installCertificateVerification();

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A fresh database on a PostgreSQL server, for the `server` mode; dropped afterwards. */
async function serverDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { adminUrl, cluster } = await resolveTestServer();
  const name = `wa_bench_start_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
      cluster?.stop();
    },
  };
}

async function runMode(mode: Mode) {
  const dataDir = mkdtempSync(path.join(tmpdir(), `wa-gateway-bench-start-${mode}-`));
  const server = mode === 'server' ? await serverDatabase() : undefined;
  const sim = await startSimulator();
  const untrust = trustSimulatorRoot(sim);
  sim.addContact(CONTACT);
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      dataDir,
      port: 0,
      logLevel: 'error',
      embeddedPollOnly: mode === 'poll-only',
      env: { WA_WEBSOCKET_URL: sim.url, MESSAGES_MIN_INTERVAL_MS: '0', MESSAGES_JITTER_MS: '0', MESSAGES_RECIPIENT_INTERVAL_MS: '0', ...(server ? { DATABASE_URL: server.url } : {}) },
    });
    const s = stack;
    const call = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${s.apiBase}${route}`, { method, headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const agentId = (await call('POST', '/v1/agents', { name: 'bench' })).json.id as string;
    // This throwaway data directory only: the plan's send limit must not be what is measured.
    await s.sql`update public.plans set messages_per_minute = 1000000000 where id = 'max'`;
    await s.sql`update public.accounts set plan_id = 'max' where user_id = ${s.userId}`;
    await call('POST', `/v1/agents/${agentId}/session/link`, { method: 'pairing_code', phone: `+${PHONE}` });
    const code = await waitFor(async () => ((await call('GET', `/v1/agents/${agentId}/session`)).json.pairingCode as string | null) ?? undefined, 30_000, 'a pairing code');
    await sim.completePairingCode(PHONE, code);
    await waitFor(async () => ((await call('GET', `/v1/agents/${agentId}/session`)).json.status === 'connected' ? true : undefined), 30_000, 'connected');

    const latencies: number[] = [];
    // One warm-up send (first-use costs: prepared statements, the contact's session keys).
    for (let i = -1; i < N; i++) {
      const text = `bench ${mode} ${i}`;
      const sent = await call('POST', `/v1/agents/${agentId}/messages`, { to: `+${CONTACT}`, type: 'text', text });
      if (sent.status !== 202) throw new Error(`send answered ${sent.status}: ${JSON.stringify(sent.json)}`);
      const accepted = Date.now();
      const received = await waitFor(() => sim.received(CONTACT).find((m) => (m.content.conversation ?? m.content.extendedTextMessage?.text) === text), 30_000, text);
      if (i >= 0) latencies.push(received.at - accepted);
    }
    latencies.sort((a, b) => a - b);
    return { mode, n: N, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), minMs: latencies[0], maxMs: latencies.at(-1) };
  } finally {
    await stack?.stop();
    await sim.stop();
    untrust();
    rmSync(dataDir, { recursive: true, force: true });
    await server?.drop();
  }
}

const startedAt = new Date().toISOString();
const load = loadavg().map((l) => Math.round(l * 100) / 100);
const results = [];
for (const mode of MODES) results.push(await runMode(mode));
process.stdout.write(`${JSON.stringify({ bench: 'start', startedAt, cores: availableParallelism(), loadavgAtStart: load, results })}\n`);
process.exit(0);
