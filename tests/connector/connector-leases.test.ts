// The reconciler with two connectors in one process against real PostgreSQL and real Baileys
// sockets (against the simulator; unlinked sessions show QR codes, which is enough to hold a
// socket): sharing the fleet, takeover after a crash, losing a lease, self-fencing by the
// monotonic clock, desired state, graceful release.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/harness/connector.ts';
import { createRunningAgent } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack({ database: true });
afterEach(async () => {
  await stack.stopConnectors();
  await stack.db.sql`update public.whatsapp_sessions set desired_state = 'disconnected', owner_connector_id = null, lease_until = null`;
});

const connector = (overrides: Record<string, string> = {}) => stack.connector(overrides);

async function agents(n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => createRunningAgent(stack.db.sql, stack.owner, `a${i}`)));
}

const owners = async (ids: string[]) =>
  stack.db.sql`select agent_id, owner_connector_id, lease_epoch, status from public.whatsapp_sessions where agent_id = any(${ids}::uuid[])`;

describe('connector leases', () => {
  it('two connectors share the fleet; no session is held by both', async () => {
    const ids = await agents(6);
    const a = await connector({ CONNECTOR_CAPACITY: '4' });
    const b = await connector({ CONNECTOR_CAPACITY: '4' });
    await waitFor(async () => (await owners(ids)).every((r) => r.status === 'qr'), 20_000, 'all sessions showing QR');
    const rows = await owners(ids);
    const heldA = a.connector.manager.holdings().map((h) => h.agentId);
    const heldB = b.connector.manager.holdings().map((h) => h.agentId);
    expect(heldA.length + heldB.length).toBe(6);
    expect(heldA.filter((id) => heldB.includes(id))).toEqual([]);
    expect(heldA.length).toBeLessThanOrEqual(4);
    expect(heldB.length).toBeLessThanOrEqual(4);
    for (const row of rows) expect([a.config.connectorId, b.config.connectorId]).toContain(row.owner_connector_id);
  });

  it('a crashed connector\'s sessions are taken over within a lease period, with a new epoch', async () => {
    const ids = await agents(3);
    const a = await connector();
    await waitFor(async () => (await owners(ids)).every((r) => r.owner_connector_id === a.config.connectorId && r.status === 'qr'), 20_000, 'a owns all');
    const before = new Map((await owners(ids)).map((r) => [r.agent_id, BigInt(r.lease_epoch)]));
    const b = await connector();
    const crashedAt = Date.now();
    await a.crash();
    await waitFor(async () => (await owners(ids)).every((r) => r.owner_connector_id === b.config.connectorId && r.status === 'qr'), 20_000, 'b owns all');
    const tookMs = Date.now() - crashedAt;
    expect(tookMs).toBeLessThan(4_000 + 2_000); // lease (4 s) + sweep and connect
    for (const r of await owners(ids)) expect(BigInt(r.lease_epoch)).toBe(before.get(r.agent_id)! + 1n);
    const events = await stack.db.sql`select count(*)::int as n from public.events where type = 'session.lease_takeover' and agent_id = any(${ids}::uuid[])`;
    expect(events[0]!.n).toBe(3);
    await expect(b.connector.metrics.leaseTakeovers.get()).resolves.toMatchObject({ values: [{ value: 3 }] });
  });

  it('ends the socket within a second of its lease being taken (reported by the renewal or by any fenced write)', async () => {
    const [id] = await agents(1);
    const a = await connector();
    await waitFor(async () => a.connector.manager.holdings().find((h) => h.agentId === id && h.status === 'qr'), 20_000, 'qr');
    // An operator forces the lease free and bumps the epoch (as a takeover would).
    await stack.db.sql`update public.whatsapp_sessions set lease_epoch = lease_epoch + 1 where agent_id = ${id!}`;
    const t0 = Date.now();
    await waitFor(() => a.connector.manager.holdings().length === 0, 3_000, 'session dropped');
    expect(Date.now() - t0).toBeLessThan(1_000 + 500);
    // The next renewal usually reports it; a fenced write of the session (QR, creds, keys) that
    // happens to come first reports it as stale_write. Either way: one loss, from the database.
    const losses = (await a.connector.metrics.leaseLosses.get()).values;
    expect(losses).toHaveLength(1);
    expect(losses[0]).toMatchObject({ value: 1 });
    expect(['renewal_refused', 'stale_write']).toContain(losses[0]!.labels.reason);
  });

  it('self-fences by its own clock when renewals stop succeeding (no database needed)', async () => {
    const [id] = await agents(1);
    const a = await connector();
    await waitFor(async () => a.connector.manager.holdings().find((h) => h.agentId === id && h.status === 'qr'), 20_000, 'qr');
    const ws = (a.connector.manager.get(id!) as unknown as { sock?: { ws: { isOpen: boolean } } }).sock?.ws;
    expect(ws?.isOpen).toBe(true);
    // Make every renewal fail: the connector's own pool can no longer run gateway functions.
    const t0 = Date.now();
    await stack.db.sql`alter function gateway.renew_leases(uuid, uuid[], bigint[], integer) rename to renew_leases_off`;
    try {
      await waitFor(() => a.connector.manager.holdings().length === 0, 8_000, 'self-fence');
      const took = Date.now() - t0;
      expect(took).toBeLessThan(4_000 + 500);
      expect(ws?.isOpen).toBe(false);
      expect(await a.connector.metrics.heartbeatFailures.get()).toMatchObject({ values: [{ value: expect.any(Number) }] });
      expect((await a.connector.metrics.leaseLosses.get()).values.find((v) => v.labels.reason === 'self_fenced')?.value).toBe(1);
    } finally {
      await stack.db.sql`alter function gateway.renew_leases_off(uuid, uuid[], bigint[], integer) rename to renew_leases`;
    }
  });

  it('desired state disconnected ends the socket, reports disconnected and releases the lease', async () => {
    const [id] = await agents(1);
    const a = await connector();
    await waitFor(async () => a.connector.manager.holdings().find((h) => h.agentId === id && h.status === 'qr'), 20_000, 'qr');
    await stack.db.sql`select gateway.request_session_command(${stack.owner}, ${id!}, 'disconnect')`;
    await waitFor(async () => {
      const [r] = await owners([id!]);
      return r!.status === 'disconnected' && r!.owner_connector_id === null;
    }, 3_000, 'disconnected and released');
    expect(a.connector.manager.holdings()).toEqual([]);
  });

  it('graceful stop ends sockets and releases every lease so another connector takes over at once', async () => {
    const ids = await agents(3);
    const a = await connector();
    await waitFor(async () => (await owners(ids)).every((r) => r.owner_connector_id === a.config.connectorId && r.status === 'qr'), 20_000, 'a owns all');
    expect(await a.stop()).toBe(3);
    const rows = await owners(ids);
    expect(rows.every((r) => r.owner_connector_id === null)).toBe(true);
    const [c] = await stack.db.sql`select stopped_at from private.connectors where id = ${a.config.connectorId}`;
    expect(c!.stopped_at).not.toBeNull();
    const b = await connector({ CONNECTOR_LEASE_SECONDS: '60', CONNECTOR_RENEW_INTERVAL_MS: '5000' });
    const t0 = Date.now();
    await waitFor(async () => (await owners(ids)).every((r) => r.owner_connector_id === b.config.connectorId), 5_000, 'b claims');
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
