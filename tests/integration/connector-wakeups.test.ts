// Wake-ups are latency hints on top of a sweep that always runs: LISTEN/NOTIFY against real
// PostgreSQL (the trigger of migration 20261122003000 on channel wa_gateway_wake), and the
// Realtime path with a fake client, because hosted Supabase Realtime cannot run here. Also the
// health, readiness and Prometheus endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../connector/http/server.ts';
import type { RealtimeChannelLike, RealtimeClientLike } from '../../connector/wakeups/wakeups.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { startTestConnector, type TestConnector, testEnv, waitFor } from '../helpers/connector.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createRunningAgent, createUser, setPlan } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sim: Simulator;
let untrust: () => void;
let owner: string;
const running: TestConnector[] = [];

beforeAll(async () => {
  installCertificateVerification();
  db = await createTestDatabase();
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
});
afterAll(async () => {
  await Promise.all(running.map((c) => c.stop().catch(() => {})));
  untrust();
  await sim.stop();
  await db.drop();
});

// Sweeps and renewals far apart, so only a wake-up can explain a fast reaction.
const slow = { CONNECTOR_SWEEP_INTERVAL_MS: '60000', CONNECTOR_LEASE_SECONDS: '60', CONNECTOR_RENEW_INTERVAL_MS: '20000' };

const ownerOf = async (agentId: string) =>
  (await db.sql`select owner_connector_id from public.whatsapp_sessions where agent_id = ${agentId}`)[0]!.owner_connector_id as string | null;

describe('connector wake-ups', () => {
  it('NOTIFY wa_gateway_wake: a link request is claimed and a disconnect applied at once, not at the next sweep', async () => {
    const c = await startTestConnector(testEnv(db.url, sim.url, slow));
    running.push(c);
    await new Promise((r) => setTimeout(r, 300)); // the first sweep has run
    const agentId = await createRunningAgent(db.sql, owner, 'wake');
    await waitFor(async () => (await ownerOf(agentId)) === c.config.connectorId, 2_000, 'claimed on NOTIFY');
    await waitFor(() => c.connector.manager.holdings().find((h) => h.status === 'qr' && h.agentId === agentId), 20_000, 'qr');
    await db.sql`select gateway.request_session_command(${owner}, ${agentId}, 'disconnect')`;
    await waitFor(async () => (await ownerOf(agentId)) === null, 2_000, 'disconnected on NOTIFY');
    await c.stop();
  });

  it('the NOTIFY trigger fires for new messages with the agent id and ":message"', async () => {
    const listener = db.connect({ max: 1 });
    const payloads: string[] = [];
    await listener.listen('wa_gateway_wake', (p) => payloads.push(p));
    const agentId = await createRunningAgent(db.sql, owner, 'msg');
    await db.sql`insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content) values (${agentId}, ${owner}, 'm1', '15550001111', 'text', '{}')`;
    await waitFor(() => payloads.includes(`${agentId}:message`), 2_000, 'message wake');
    expect(payloads).toContain(agentId);
  });

  it('Realtime (fake client: hosted Supabase Realtime cannot run here): SUBSCRIBED sweeps, a session change wakes', async () => {
    const handlers: Array<(p: { new?: Record<string, unknown> }) => void> = [];
    let status: (s: string) => void = () => {};
    const channel: RealtimeChannelLike = {
      on(_type, _filter, cb) {
        handlers.push(cb);
        return channel;
      },
      subscribe(cb) {
        status = cb;
        return channel;
      },
    };
    const fake: RealtimeClientLike = { channel: () => channel, removeAllChannels: async () => [] };
    const { loadConfig } = await import('../../connector/config.ts');
    const { createConnector } = await import('../../connector/connector.ts');
    const { createLogger } = await import('../../connector/logging/logger.ts');
    const env = testEnv(db.url, sim.url, slow);
    const config = await loadConfig(env);
    const sql = db.connect({ max: 4 });
    const connector = createConnector({ sql, config, logger: createLogger({ level: 'silent' }), realtimeClient: fake });
    await connector.start();
    try {
      expect(handlers.length).toBe(2);
      await new Promise((r) => setTimeout(r, 300));
      const a = await createRunningAgent(db.sql, owner, 'rt-a');
      await new Promise((r) => setTimeout(r, 500));
      expect(await ownerOf(a)).toBeNull(); // no LISTEN in this mode, no sweep yet
      status('SUBSCRIBED'); // a (re)subscription sweeps
      await waitFor(async () => (await ownerOf(a)) === config.connectorId, 2_000, 'claimed after SUBSCRIBED');
      const b = await createRunningAgent(db.sql, owner, 'rt-b');
      handlers[0]!({ new: { agent_id: b } });
      await waitFor(async () => (await ownerOf(b)) === config.connectorId, 2_000, 'claimed after a change');
    } finally {
      await connector.stop();
    }
  });

  it('serves /healthz, /readyz and Prometheus /metrics with the connector\'s series', async () => {
    const c = await startTestConnector(testEnv(db.url, sim.url), { start: false });
    running.push(c);
    const http = await startHttpServer({ registry: c.connector.metrics.registry, ready: () => c.connector.ready() }, 0, '127.0.0.1');
    try {
      expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${http.url}/readyz`)).status).toBe(503);
      await c.connector.start();
      await waitFor(async () => (await fetch(`${http.url}/readyz`)).status === 200, 3_000, 'ready');
      const text = await (await fetch(`${http.url}/metrics`)).text();
      for (const name of ['wa_sessions', 'wa_connects_total', 'wa_disconnects_total', 'wa_reconnect_seconds', 'wa_lease_takeovers_total', 'wa_lease_losses_total',
        'wa_heartbeat_failures_total', 'wa_queue_depth', 'wa_queue_oldest_age_seconds', 'wa_send_seconds', 'wa_key_store_operations_total', 'wa_signal_keys']) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      await c.stop();
      expect((await fetch(`${http.url}/readyz`)).status).toBe(503);
    } finally {
      await http.close();
    }
  });
});
