// Wake-ups are latency hints on top of a sweep that always runs: LISTEN/NOTIFY against real
// PostgreSQL (channel wa_gateway_wake), and the Realtime path with the connector's real
// supabase-js client against a fake Realtime server (hosted Supabase Realtime cannot run here)
// that delivers what the wake-up trigger broadcasts (realtime.send into realtime.messages). Both
// come from the trigger of migration 20261202050400, which fires only on changes that need a
// connector. Also the health, readiness and Prometheus endpoints.
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../../connector/http/server.ts';
import { createSupabaseRealtimeClient } from '../../connector/wakeups/wakeups.ts';
import { waitFor } from '../../scripts/harness/connector.ts';
import { startFakeRealtime } from '../helpers/fake-realtime.ts';
import { claim, createRunningAgent, registerConnector } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack({ database: true });

// Sweeps and renewals far apart, so only a wake-up can explain a fast reaction.
const slow = { CONNECTOR_SWEEP_INTERVAL_MS: '60000', CONNECTOR_LEASE_SECONDS: '60', CONNECTOR_RENEW_INTERVAL_MS: '20000' };

const ownerOf = async (agentId: string) =>
  (await stack.db.sql`select owner_connector_id from public.whatsapp_sessions where agent_id = ${agentId}`)[0]!.owner_connector_id as string | null;

describe('connector wake-ups', () => {
  it('NOTIFY wa_gateway_wake: a link request is claimed and a disconnect applied at once, not at the next sweep', async () => {
    const c = await stack.connector(slow);
    await new Promise((r) => setTimeout(r, 300)); // the first sweep has run
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'wake');
    await waitFor(async () => (await ownerOf(agentId)) === c.config.connectorId, 2_000, 'claimed on NOTIFY');
    await waitFor(() => c.connector.manager.holdings().find((h) => h.status === 'qr' && h.agentId === agentId), 20_000, 'qr');
    await stack.db.sql`select gateway.request_session_command(${stack.owner}, ${agentId}, 'disconnect')`;
    await waitFor(async () => (await ownerOf(agentId)) === null, 2_000, 'disconnected on NOTIFY');
    await c.stop();
  });

  it('the NOTIFY trigger fires for new messages with the agent id and ":message"', async () => {
    const listener = stack.db.connect({ max: 1 });
    const payloads: string[] = [];
    await listener.listen('wa_gateway_wake', (p) => payloads.push(p));
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'msg');
    await stack.db.sql`insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content) values (${agentId}, ${stack.owner}, 'm1', '15550001111', 'text', '{}')`;
    await waitFor(() => payloads.includes(`${agentId}:message`), 2_000, 'message wake');
    expect(payloads).toContain(agentId);
  });

  it('only changes that need action wake: a renewal, heartbeat or status report sends no NOTIFY and no broadcast', async () => {
    const listener = stack.db.connect({ max: 1 });
    const payloads: string[] = [];
    await listener.listen('wa_gateway_wake', (p) => payloads.push(p));
    const broadcasts = async () =>
      (await stack.db.sql`select payload from realtime.messages where topic = 'wa-gateway:connector' and event = 'wake' and private order by inserted_at, id`).map((r) => r.payload);
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'quiet');
    const connector = await registerConnector(stack.db.sql);
    const epoch = (await claim(stack.db.sql, connector, agentId, 60))!.toString();
    const before = (await broadcasts()).length;
    await waitFor(() => payloads.filter((p) => p === agentId).length === 2, 2_000, 'insert and link request wakes'); // create + request_link
    payloads.length = 0;
    for (let i = 0; i < 5; i++) await stack.db.sql`select * from gateway.renew_leases(${connector}, ${[agentId]}::uuid[], ${[epoch]}::bigint[], 60)`;
    await stack.db.sql`select gateway.update_session(${agentId}, ${connector}, ${epoch}, ${stack.db.sql.json({ status: 'qr', qr_code: 'x' })})`;
    expect((await broadcasts()).length).toBe(before);
    await stack.db.sql`select gateway.request_session_command(${stack.owner}, ${agentId}, 'restart')`;
    await stack.db.sql`select gateway.create_number_check(${stack.owner}, ${agentId}, ${['15550001111']}::text[])`;
    await stack.db.sql`insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content) values (${agentId}, ${stack.owner}, 'q1', '15550001111', 'text', '{}')`;
    await waitFor(() => payloads.length === 3, 2_000, 'three wakes');
    // The renewals and the status report sent nothing: the first NOTIFY is the command's.
    expect(payloads).toEqual([agentId, `${agentId}:number_check`, `${agentId}:message`]);
    expect((await broadcasts()).slice(before)).toEqual([
      { agent_id: agentId, kind: 'session' },
      { agent_id: agentId, kind: 'number_check' },
      { agent_id: agentId, kind: 'message' },
    ]);
    await listener.end();
  });

  it('Realtime (fake Realtime server speaking Phoenix, fed from realtime.messages): a private join; a link request wakes; 100 leased sessions renewing through 60 s of renewals wake nobody', async () => {
    // Sessions of the earlier tests want a socket too: out of the way, so the one slot is rt-a's.
    await stack.db.sql`update public.whatsapp_sessions set desired_state = 'disconnected'`;
    const serviceKey = 'sb_secret_test_connector_key';
    const fake = await startFakeRealtime({ sql: stack.db.sql, serviceKey });
    const client = await createSupabaseRealtimeClient(fake.url, serviceKey, { heartbeatIntervalMs: 100 });
    const { loadConfig } = await import('../../connector/config.ts');
    const { createConnector } = await import('../../connector/connector.ts');
    const { createLogger } = await import('../../connector/logging/logger.ts');
    // Renewals every 100 ms stand in for 5 s: 60 s of them pass in 1.2 s. Capacity 1, so the
    // connector holds one session and the fleet's 100 stay with another connector.
    const config = await loadConfig(stack.env({ ...slow, CONNECTOR_RENEW_INTERVAL_MS: '100', CONNECTOR_CAPACITY: '1' }));
    const sql = stack.db.connect({ max: 4 });
    const connector = createConnector({ sql, config, logger: createLogger({ level: 'silent' }), realtimeClient: client });
    await connector.start();
    try {
      await waitFor(() => fake.joins().some((j) => j.topic === 'realtime:wa-gateway:connector' && j.private && j.ok), 5_000, 'private join');
      await new Promise((r) => setTimeout(r, 300)); // the SUBSCRIBED sweep has run
      const a = await createRunningAgent(stack.db.sql, stack.owner, 'rt-a');
      await waitFor(async () => (await ownerOf(a)) === config.connectorId, 3_000, 'claimed on the broadcast, not a sweep');

      // 100 sessions leased by another connector of the fleet.
      await stack.db.sql`update public.plans set max_agents = 1000 where id = 'max'`;
      const fleet = await registerConnector(stack.db.sql);
      const agents: string[] = [];
      for (let i = 0; i < 100; i++) agents.push(await createRunningAgent(stack.db.sql, stack.owner, `idle-${i}`));
      const leased = await stack.db.sql`select agent_id, lease_epoch from gateway.claim_sessions(${fleet}, 100, 60)`;
      expect(leased).toHaveLength(100);
      await fake.pump();
      const rows = async () => (await stack.db.sql`select count(*)::int as n from realtime.messages`)[0]!.n as number;
      const rowsBefore = await rows();
      const deliveredBefore = fake.delivered().length;
      const heartbeatsBefore = fake.heartbeats();
      const renewalsBefore = (await stack.db.sql`select last_heartbeat_at from private.connectors where id = ${config.connectorId}`)[0]!.last_heartbeat_at as Date;

      // 60 s of idle time: 12 fleet renewals of all 100 leases while our connector renews its own.
      for (let i = 0; i < 12; i++) {
        const renewed = await stack.db.sql`select renewed from gateway.renew_leases(${fleet}, ${leased.map((r) => r.agent_id)}::uuid[], ${leased.map((r) => r.lease_epoch)}::bigint[], 60)`;
        expect(renewed.every((r) => r.renewed)).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitFor(() => fake.heartbeats() >= heartbeatsBefore + 3, 5_000, 'client heartbeats during the idle time');
      await waitFor(async () => (await stack.db.sql`select last_heartbeat_at from private.connectors where id = ${config.connectorId}`)[0]!.last_heartbeat_at > renewalsBefore, 3_000, 'our renewals');
      await fake.pump();
      const wakeups = fake.delivered().length - deliveredBefore;
      expect({ wakeups, broadcastRows: (await rows()) - rowsBefore }).toEqual({ wakeups: 0, broadcastRows: 0 });

      // A change that needs action reaches the connector exactly once, with its agent and kind.
      await stack.db.sql`select gateway.create_number_check(${stack.owner}, ${agents[0]!}, ${['15550001111']}::text[])`;
      await waitFor(() => fake.delivered().length === deliveredBefore + 1, 3_000, 'number check broadcast');
      expect(fake.delivered().at(-1)).toEqual({
        topic: 'realtime:wa-gateway:connector',
        event: 'wake',
        payload: { agent_id: agents[0], kind: 'number_check' },
      });
    } finally {
      await connector.stop();
      await fake.close();
      await sql.end();
    }
  });

  it('serves /healthz, /readyz and Prometheus /metrics with the connector\'s series', async () => {
    const c = await stack.connector({}, { start: false });
    const http = await startHttpServer({ registry: c.connector.metrics.registry, ready: () => c.connector.ready() }, 0, '127.0.0.1');
    try {
      expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${http.url}/readyz`)).status).toBe(503);
      await c.connector.start();
      await waitFor(async () => (await fetch(`${http.url}/readyz`)).status === 200, 3_000, 'ready');
      const text = await (await fetch(`${http.url}/metrics`)).text();
      for (const name of ['wa_gateway_sessions', 'wa_gateway_session_connects_total', 'wa_gateway_session_disconnects_total', 'wa_gateway_session_reconnect_duration_seconds',
        'wa_gateway_lease_takeovers_total', 'wa_gateway_lease_losses_total', 'wa_gateway_heartbeat_failures_total', 'wa_gateway_outbound_queue_depth',
        'wa_gateway_outbound_queue_oldest_age_seconds', 'wa_gateway_message_send_duration_seconds', 'wa_gateway_key_store_operations_total', 'wa_gateway_signal_keys']) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      await c.stop();
      expect((await fetch(`${http.url}/readyz`)).status).toBe(503);
    } finally {
      await http.close();
    }
  });
});
