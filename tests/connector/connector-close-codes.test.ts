// Close codes handled as DESIGN.md specifies, with real Baileys sockets driven by the simulator's
// faults: 428 and 408 reconnect with backoff, 440 never loops (conflict after the allowed tries),
// 401 / device_removed wipes the state and marks logged_out with an alert, a refused login is a
// 401 too, repeated 401s raise their own alert; owner commands restart and logout.
import { beforeAll, describe, expect, it } from 'vitest';
import { type TestConnector, waitFor } from '../../scripts/harness/connector.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createRunningAgent } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

let c: TestConnector;
let n = 0;

const stack = useSimulatorStack({ database: true });
beforeAll(async () => {
  c = await stack.connector({ WA_KEEPALIVE_MS: '1000', CONFLICT_MAX_TRIES: '3' });
});

async function linked(): Promise<{ agentId: string; phone: string }> {
  const phone = `1555200${String(++n).padStart(4, '0')}`;
  const agentId = await createRunningAgent(stack.db.sql, stack.owner, phone);
  await scanPublishedQr(stack.db.sql, stack.sim, agentId, phone);
  await waitForStatus(stack.db.sql, agentId, 'connected');
  await waitFor(() => c.connector.directory.get(agentId)?.isOpen(), 10_000, 'open');
  return { agentId, phone };
}

const keyRows = async (agentId: string) =>
  (await stack.db.sql`select (select count(*) from private.signal_keys where agent_id = ${agentId})::int
    + (select count(*) from private.session_credentials where agent_id = ${agentId})::int as n`)[0]!.n as number;
const events = async (agentId: string, type: string) =>
  (await stack.db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = ${type}`)[0]!.n as number;
const disconnects = async (code: string) =>
  (await c.connector.metrics.disconnects.get()).values.filter((v) => v.labels.code === code).reduce((a, v) => a + v.value, 0);

describe('connector: close codes', () => {
  it('428 (connection dropped) reconnects with backoff and keeps the state', async () => {
    const { agentId, phone } = await linked();
    const before = await disconnects('428');
    expect(stack.sim.fault(phone, 'close')).toBe(1);
    await waitFor(async () => (await disconnects('428')) > before, 5_000, '428 counted');
    await waitFor(() => c.connector.directory.get(agentId)?.isOpen() && stack.sim.observe(phone).live === 1, 10_000, 'reconnected');
    const row = await waitForStatus(stack.db.sql, agentId, 'connected', 5_000);
    expect(row.last_disconnect_code).toBe(428);
    expect(stack.sim.observe(phone).maxLive).toBe(1);
    expect(await keyRows(agentId)).toBeGreaterThan(0);
  });

  it('408 (pings unanswered) reconnects', async () => {
    const { agentId, phone } = await linked();
    const before = await disconnects('408');
    expect(stack.sim.fault(phone, 'silence_pings')).toBe(1);
    await waitFor(async () => (await disconnects('408')) > before, 15_000, '408 counted');
    await waitFor(() => c.connector.directory.get(agentId)?.isOpen(), 10_000, 'reconnected');
  });

  it('440 (replaced) re-checks the lease, retries, and after the allowed tries marks conflict without looping', async () => {
    const { agentId, phone } = await linked();
    const connects = async () => (await c.connector.metrics.connects.get()).values[0]!.value;
    for (let i = 0; i < 3; i++) {
      const opened = await connects();
      expect(stack.sim.fault(phone, 'conflict')).toBe(1);
      // Wait for the reconnect (a fresh open) before replacing it again.
      if (i < 2) await waitFor(async () => (await connects()) > opened && stack.sim.observe(phone).live === 1, 10_000, `reopened after conflict ${i + 1}`);
    }
    const row = await waitForStatus(stack.db.sql, agentId, 'conflict', 10_000);
    expect(row.desired_state).toBe('disconnected');
    expect(row.last_disconnect_code).toBe(440);
    expect(await events(agentId, 'alert.conflict')).toBe(1);
    await waitFor(async () => (await stack.db.sql`select owner_connector_id from public.whatsapp_sessions where agent_id = ${agentId}`)[0]!.owner_connector_id === null, 3_000, 'released');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(stack.sim.observe(phone).live).toBe(0);
    expect(c.connector.directory.get(agentId)).toBeUndefined();
    expect(await keyRows(agentId)).toBeGreaterThan(0); // conflict keeps the creds
  });

  it('401 device_removed wipes creds and keys, marks logged_out, raises an alert, waits for a new link', async () => {
    const { agentId, phone } = await linked();
    expect(await keyRows(agentId)).toBeGreaterThan(0);
    stack.sim.fault(phone, 'device_removed');
    const row = await waitForStatus(stack.db.sql, agentId, 'logged_out', 10_000);
    expect(row).toMatchObject({ desired_state: 'disconnected', phone_number: null, linked_jid: null });
    // The lease is handed back right after the status write.
    await waitFor(async () => (await stack.db.sql`select owner_connector_id from public.whatsapp_sessions where agent_id = ${agentId}`)[0]!.owner_connector_id === null, 3_000, 'released');
    expect(await keyRows(agentId)).toBe(0);
    expect(await events(agentId, 'alert.logged_out')).toBe(1);
    await new Promise((r) => setTimeout(r, 800));
    expect(c.connector.directory.get(agentId)).toBeUndefined();
    expect(stack.sim.observe(phone).live).toBe(0);
  });

  it('a login refused with 401 is a logout too; two in 24 h raise alert.repeated_logouts', async () => {
    const { agentId, phone } = await linked();
    stack.sim.fault(phone, 'refuse_login_401');
    await stack.db.sql`select gateway.request_session_command(${stack.owner}, ${agentId}, 'restart')`;
    await waitForStatus(stack.db.sql, agentId, 'logged_out', 10_000);
    expect(await keyRows(agentId)).toBe(0);
    expect(await events(agentId, 'alert.logged_out')).toBe(1);
    // Link again, and get removed again: the second 401 within 24 h.
    await stack.db.sql`select gateway.request_link(${stack.owner}, ${agentId}, 'qr')`;
    await scanPublishedQr(stack.db.sql, stack.sim, agentId, phone);
    await waitForStatus(stack.db.sql, agentId, 'connected');
    await waitFor(() => c.connector.directory.get(agentId)?.isOpen(), 10_000, 'open');
    stack.sim.fault(phone, 'device_removed');
    await waitForStatus(stack.db.sql, agentId, 'logged_out', 10_000);
    await waitFor(async () => (await events(agentId, 'alert.repeated_logouts')) === 1, 3_000, 'repeated alert');
    // Fenced: raised in the transaction that records the logout under the live lease (same
    // transaction time), not in a write of its own after the lease was handed back.
    const [alert] = await stack.db.sql`
      select r.payload, r.created_at = (select max(l.created_at) from public.events l where l.agent_id = r.agent_id and l.type = 'alert.logged_out') as with_logout
      from public.events r where r.agent_id = ${agentId} and r.type = 'alert.repeated_logouts'`;
    expect(alert).toMatchObject({ payload: { logouts_24h: 2 }, with_logout: true });
  });

  it('owner commands: restart reconnects; logout logs out and wipes', async () => {
    const { agentId, phone } = await linked();
    const connects = (await c.connector.metrics.connects.get()).values[0]!.value;
    await stack.db.sql`select gateway.request_session_command(${stack.owner}, ${agentId}, 'restart')`;
    await waitFor(async () => (await c.connector.metrics.connects.get()).values[0]!.value > connects, 10_000, 'reconnected after restart');
    const [r1] = await stack.db.sql`select pending_command, status from public.whatsapp_sessions where agent_id = ${agentId}`;
    expect(r1!.pending_command).toBeNull();
    await waitFor(() => c.connector.directory.get(agentId)?.isOpen(), 10_000, 'open');
    expect(stack.sim.observe(phone).live).toBe(1);
    await stack.db.sql`select gateway.request_session_command(${stack.owner}, ${agentId}, 'logout')`;
    const row = await waitForStatus(stack.db.sql, agentId, 'logged_out', 10_000);
    expect(row.pending_command).toBeNull();
    expect(await keyRows(agentId)).toBe(0);
    expect(await events(agentId, 'alert.logged_out')).toBe(0); // asked for, not an alert
  });
});
