// Seed 002's emergency procedure against a real connector, real Baileys and the simulator: a linked
// session with 190 old Signal session rows goes through stopping (the connector ends the socket
// and releases the lease), the cleanup with backup, restarting (a connector claims it again and it
// reconnects without a new QR) and verified; only the stale rows were deleted, never a pre-key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { sessionRow, startTestConnector, type TestConnector, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createRunningAgent, createUser, setPlan } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sim: Simulator;
let untrust: () => void;
let running: TestConnector | undefined;

beforeAll(async () => {
  installCertificateVerification();
  db = await createTestDatabase();
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
});
afterAll(async () => {
  await running?.stop().catch(() => {});
  untrust?.();
  await sim?.stop();
  await db?.drop();
});

const procedure = async (agentId: string, dryRun = false) =>
  (await db.sql`select ops.emergency_key_cleanup(${agentId}, ${dryRun}) as r`)[0]!.r as Record<string, unknown>;
const count = async (agentId: string, type: string) =>
  (await db.sql`select count(*)::int as n from private.signal_keys where agent_id = ${agentId} and key_type = ${type}`)[0]!.n as number;

describe('the emergency key cleanup with a real connector', () => {
  it('stops the session, cleans up with a backup, restarts it without a new QR and verifies', async () => {
    const owner = await createUser(db.sql);
    await setPlan(db.sql, owner, 'max');
    const agentId = await createRunningAgent(db.sql, owner, 'emergency');
    running = await startTestConnector(testEnv(db.url, sim.url));
    await scanPublishedQr(db.sql, sim, agentId, '15551000190');
    await waitForStatus(db.sql, agentId, 'connected');
    expect(await count(agentId, 'pre-key')).toBeGreaterThan(800); // Baileys' first batch: never a cleanup candidate
    // Sessions with contacts long gone: what accumulates over weeks (ciphertext never read).
    await db.sql`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version, updated_at)
      select ${agentId}, 'session', 'gone-' || g || '.0', '\\x00'::bytea, 1, now() - interval '30 days' from generate_series(1, 190) g`;

    expect(await procedure(agentId, true)).toMatchObject({ dry_run: true, would_delete: { session: 190 } });
    expect(await count(agentId, 'session')).toBeGreaterThanOrEqual(190);

    expect(await procedure(agentId)).toMatchObject({ state: 'stopping' });
    await waitFor(async () => {
      const row = await sessionRow(db.sql, agentId);
      return row.status === 'disconnected' && row.owner_connector_id === null;
    }, 20_000, 'the connector stopped the session and released it');

    expect(await procedure(agentId)).toMatchObject({ state: 'restarting', deleted: 190 });
    await waitForStatus(db.sql, agentId, 'connected');
    const done = await procedure(agentId);
    expect(done).toMatchObject({ state: 'verified', verification: { restarted: true, status: 'connected' } });
    // Exactly the stale rows went (libsignal itself deletes a pre-key a contact consumed meanwhile).
    const [backup] = await db.sql`select count(*)::int as n, count(*) filter (where key_type = 'session' and key_id like 'gone-%')::int as stale
      from private.signal_key_backups where cleanup_id = ${done.cleanup_id as string}`;
    expect(backup).toEqual({ n: 190, stale: 190 });
    const qrs = await db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'session.status' and payload->>'status' = 'qr'`;
    expect(qrs[0]!.n).toBe(1); // the link's QR only: it came back with its creds
  });
});
