// Connectors with different keyrings share one fleet (a key rotation in progress, or a connector
// missing a key): a session sealed under a key a connector cannot read is never failed by it. The
// claim skips sessions whose creds' key version the connector lacks; a key that does not open the
// row under the right version number hands the session back with an alert. The session ends up on
// the connector that can read it and stays connected. Real PostgreSQL, real Baileys, the simulator.
import { afterEach, describe, expect, it } from 'vitest';
import { sessionRow, waitFor } from '../../scripts/harness/connector.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createRunningAgent } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const v1 = '31'.repeat(32);
const v2 = '32'.repeat(32);
const wrongV2 = '33'.repeat(32);
// Phase 1 of a rotation: v2 is readable everywhere, v1 still current; phase 2: v2 is current.
const phase2 = { CREDENTIALS_ENCRYPTION_KEY: v2, CREDENTIALS_ENCRYPTION_KEY_VERSION: '2', CREDENTIALS_ENCRYPTION_OLD_KEYS: `1:${v1}` };
const v1Only = { CREDENTIALS_ENCRYPTION_KEY: v1, CREDENTIALS_ENCRYPTION_KEY_VERSION: '1', CREDENTIALS_ENCRYPTION_OLD_KEYS: '' };
const wrongKeyForV2 = { CREDENTIALS_ENCRYPTION_KEY: wrongV2, CREDENTIALS_ENCRYPTION_KEY_VERSION: '2', CREDENTIALS_ENCRYPTION_OLD_KEYS: `1:${v1}` };

const stack = useSimulatorStack({ database: true });
afterEach(async () => {
  await stack.stopConnectors();
  await stack.db.sql`update public.whatsapp_sessions set desired_state = 'disconnected', owner_connector_id = null, lease_until = null`;
});

const connector = (keys: Record<string, string>) => stack.connector(keys);

/** A session linked by a connector whose current key is v2, then released by a graceful stop. */
async function linkedUnderV2(name: string, phone: string): Promise<string> {
  const agentId = await createRunningAgent(stack.db.sql, stack.owner, name);
  const linker = await connector(phase2);
  await scanPublishedQr(stack.db.sql, stack.sim, agentId, phone);
  await waitForStatus(stack.db.sql, agentId, 'connected');
  await waitFor(async () => (await stack.db.sql`select key_version from private.session_credentials where agent_id = ${agentId}`)[0]?.key_version === 2, 5_000, 'creds under v2');
  await linker.stop();
  await waitFor(() => stack.sim.observe(phone).live === 0, 5_000, 'socket closed at the simulator');
  return agentId;
}

const alerts = async (agentId: string) =>
  (await stack.db.sql`select severity, payload from public.events where agent_id = ${agentId} and type = 'alert.auth_state_unreadable'`) as unknown as Array<{ severity: string; payload: { reason: string } }>;

describe('connectors with different keyrings', () => {
  it('a connector without the session\'s key version never claims it; the one with the key does and connects', async () => {
    const agentId = await linkedUnderV2('rotating', '15552000001');
    const old = await connector(v1Only);
    // Several sweeps (300 ms each) go by without a claim.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(old.connector.manager.holdings()).toEqual([]);
    let row = await sessionRow(stack.db.sql, agentId);
    expect(row.owner_connector_id).toBeNull();
    expect(row.desired_state).toBe('connected');
    expect(row.status).not.toBe('failed');

    const current = await connector(phase2);
    await waitFor(() => current.connector.directory.get(agentId)?.isOpen(), 20_000, 'resumed on the connector holding v2');
    row = await waitForStatus(stack.db.sql, agentId, 'connected', 5_000);
    expect(row.owner_connector_id).toBe(current.config.connectorId);
    expect(old.connector.manager.holdings()).toEqual([]);
    expect(await alerts(agentId)).toEqual([]);
  });

  it('a connector whose key does not open the rows hands the sessions back with one alert each; the right connector takes them', async () => {
    // Two sessions: a claim that waited for a pool connection while the first was handed back
    // must not start it again (this raised a second alert before the fix).
    const ids = [await linkedUnderV2('misconfigured-a', '15552000002'), await linkedUnderV2('misconfigured-b', '15552000003')];
    const wrong = await connector(wrongKeyForV2);
    for (const agentId of ids) {
      const [alert] = await waitFor(async () => {
        const found = await alerts(agentId);
        return found.length > 0 ? found : undefined;
      }, 10_000, 'unreadable alert');
      expect(alert).toMatchObject({ severity: 'critical', payload: { reason: expect.stringMatching(/failed authentication/) } });
    }
    await waitFor(async () => {
      const rows = await stack.db.sql`select owner_connector_id from public.whatsapp_sessions where agent_id = any(${ids}::uuid[])`;
      return rows.every((r) => r.owner_connector_id === null);
    }, 5_000, 'leases handed back');
    // It does not take the sessions again while they wait for a connector that can read them.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(wrong.connector.manager.holdings()).toEqual([]);
    for (const agentId of ids) {
      const row = await sessionRow(stack.db.sql, agentId);
      expect(row.desired_state).toBe('connected');
      expect(row.status).not.toBe('failed');
      expect(await alerts(agentId)).toHaveLength(1);
    }
    const [failedEvents] = await stack.db.sql`select count(*)::int as n from public.events
      where agent_id = any(${ids}::uuid[]) and type = 'session.status' and payload->>'status' = 'failed'`;
    expect(failedEvents!.n).toBe(0);

    const right = await connector(phase2);
    for (const agentId of ids) {
      await waitFor(() => right.connector.directory.get(agentId)?.isOpen(), 20_000, 'resumed on the connector with the right key');
      const row = await waitForStatus(stack.db.sql, agentId, 'connected', 5_000);
      expect(row.owner_connector_id).toBe(right.config.connectorId);
    }
    expect(wrong.connector.manager.holdings()).toEqual([]);
  });
});
