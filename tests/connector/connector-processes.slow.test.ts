// Connector processes as deployed (npm run connector, configuration from the environment) against
// real PostgreSQL and the simulator: two processes and 20 sessions, kill -9 one, the other owns
// and reconnects all and no account is ever logged in twice; SIGSTOP past the lease, SIGCONT:
// the woken process ends its sockets and its stale writes are refused; SIGTERM releases leases
// and exits 0; a missing key stops the process with the variable's name.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/harness/connector.ts';
import { type ConnectorProcess, metricValue, spawnConnector } from '../../scripts/harness/connector-process.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createRunningAgent, sqlState } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack({ database: true });
const procs: ConnectorProcess[] = [];
const sessions: Array<{ agentId: string; phone: string }> = [];

const childEnv = (overrides: Record<string, string> = {}) =>
  stack.env({ LOG_LEVEL: 'info', CONNECTOR_DB_POOL: '6', CONNECTOR_LEASE_SECONDS: '4', CONNECTOR_RENEW_INTERVAL_MS: '1000', ...overrides });

function spawnChild(overrides: Record<string, string> = {}) {
  const env = childEnv(overrides);
  const p = spawnConnector(env, stack.sim.rootPublicKey);
  procs.push(p);
  return { proc: p, id: env.CONNECTOR_ID! };
}

beforeAll(async () => {
  // Link 20 accounts with an in-process connector, then stop it gracefully.
  const linker = await stack.connector({ CONNECTOR_LEASE_SECONDS: '10', CONNECTOR_RENEW_INTERVAL_MS: '2000' });
  for (let i = 0; i < 20; i++) {
    const phone = `155530000${String(i).padStart(2, '0')}`;
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, phone);
    await scanPublishedQr(stack.db.sql, stack.sim, agentId, phone);
    sessions.push({ agentId, phone });
  }
  for (const s of sessions) await waitForStatus(stack.db.sql, s.agentId, 'connected');
  await linker.stop();
  await waitFor(() => sessions.every((s) => stack.sim.observe(s.phone).live === 0), 5_000, 'linker sockets closed');
}, 120_000);

afterAll(async () => {
  for (const p of procs) p.signal('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
});

const ids = () => sessions.map((s) => s.agentId);
const rows = async () =>
  stack.db.sql`select agent_id, owner_connector_id, lease_epoch, status from public.whatsapp_sessions where agent_id = any(${ids()}::uuid[])`;
const allLive = () => sessions.every((s) => stack.sim.observe(s.phone).live === 1);

describe('connector processes', () => {
  it('kill -9 one of two connectors: the other owns and reconnects all 20; never logged in twice', async () => {
    const a = spawnChild({ CONNECTOR_CAPACITY: '10' });
    await waitFor(async () => (await rows()).filter((r) => r.owner_connector_id === a.id && r.status === 'connected').length === 10, 40_000, 'a holds 10');
    const b = spawnChild({ CONNECTOR_CAPACITY: '20' });
    await waitFor(async () => (await rows()).every((r) => r.status === 'connected' && r.owner_connector_id !== null) && allLive(), 40_000, 'all 20 connected');
    const owners = new Set((await rows()).map((r) => r.owner_connector_id));
    expect(owners).toEqual(new Set([a.id, b.id]));

    const killedAt = Date.now();
    a.proc.signal('SIGKILL');
    await a.proc.exited;
    await waitFor(async () => (await rows()).every((r) => r.owner_connector_id === b.id && r.status === 'connected') && allLive(), 30_000, 'b owns all');
    const seconds = (Date.now() - killedAt) / 1000;
    expect(seconds).toBeLessThan(4 + 6);
    for (const s of sessions) expect(stack.sim.observe(s.phone).maxLive).toBe(1);
    // Graceful stop of b: SIGTERM releases every lease and exits 0.
    b.proc.signal('SIGTERM');
    expect(await b.proc.exited).toBe(0);
    expect((await rows()).every((r) => r.owner_connector_id === null)).toBe(true);
    await waitFor(() => sessions.every((s) => stack.sim.observe(s.phone).live === 0), 5_000, 'sockets ended');
  }, 120_000);

  it('SIGSTOP past the lease, SIGCONT: the woken connector ends its sockets first and its stale writes are refused', async () => {
    const a = spawnChild({ CONNECTOR_CAPACITY: '20' });
    await waitFor(async () => (await rows()).every((r) => r.owner_connector_id === a.id && r.status === 'connected') && allLive(), 40_000, 'a holds all');
    const epochsA = new Map((await rows()).map((r) => [r.agent_id as string, BigInt(r.lease_epoch)]));
    // On a loaded machine a's 4 s leases may self-fence once while it connects: count from here.
    const fencedBefore = metricValue(await a.proc.metrics(), 'wa_gateway_lease_losses_total', 'reason="self_fenced"');
    a.proc.signal('SIGSTOP');
    // b's own lease is longer than a's, so that b, starved by a loaded machine, cannot lose the
    // sessions back to the woken a: this test is about a, whose 4 s lease has long run out. Nor
    // does b hand half of them back to a once a is live again (CONNECTOR_REBALANCE, tested in
    // connector-rebalance.test.ts): the ownership checked below is b's.
    const b = spawnChild({ CONNECTOR_CAPACITY: '20', CONNECTOR_LEASE_SECONDS: '15', CONNECTOR_REBALANCE: 'false' });
    await waitFor(async () => (await rows()).every((r) => r.owner_connector_id === b.id && r.status === 'connected'), 40_000, 'b took over');
    // The simulator does not kick a second login, so a's stopped sockets still count as live here.
    await waitFor(() => sessions.every((s) => stack.sim.observe(s.phone).live === 2), 20_000, 'b logged in beside the frozen a');
    const continuedAt = Date.now();
    a.proc.signal('SIGCONT');
    await waitFor(() => sessions.every((s) => stack.sim.observe(s.phone).live === 1), 3_000, 'a ended its sockets');
    const metrics = await a.proc.metrics();
    expect(metricValue(metrics, 'wa_gateway_lease_losses_total', 'reason="self_fenced"') - fencedBefore).toBe(20);
    // a wrote nothing for those sessions: b's ownership and status stand.
    await new Promise((r) => setTimeout(r, 1_500));
    for (const r of await rows()) {
      expect(r.owner_connector_id).toBe(b.id);
      expect(r.status).toBe('connected');
      expect(BigInt(r.lease_epoch)).toBe(epochsA.get(r.agent_id)! + 1n);
    }
    // And had it tried, SQL refuses its epoch.
    const { agentId } = sessions[0]!;
    expect(await sqlState(stack.db.sql`select gateway.update_session(${agentId}, ${a.id}, ${epochsA.get(agentId)!.toString()}, ${stack.db.sql.json({ status: 'failed' })})`)).toBe('WG004');
    expect(await sqlState(stack.db.sql`select gateway.save_creds(${agentId}, ${a.id}, ${epochsA.get(agentId)!.toString()}, ${Buffer.alloc(40)}, 1)`)).toBe('WG004');
    // What a logged after it was woken, by the time in each line: lines written just before the
    // SIGSTOP can reach this process's pipe after it (reading by position counted them as after).
    const woke = a.proc.lines
      .map((l) => JSON.parse(l) as { time: number; msg: string; reason?: string; agentId?: string })
      .filter((l) => l.time >= continuedAt);
    const fenced = woke.map((l, i) => (l.msg === 'lease lost; ending socket' && l.reason === 'self_fenced' ? i : -1)).filter((i) => i >= 0);
    expect(fenced.length).toBe(20);
    // Nothing else was done for a session before all of them were fenced.
    const firstOther = woke.findIndex((l) => l.agentId && l.msg !== 'lease lost; ending socket');
    const early = firstOther !== -1 && firstOther < Math.max(...fenced) ? woke.slice(0, Math.max(...fenced) + 1) : [];
    expect(early, 'a session was acted on before every socket was fenced').toEqual([]);
    a.proc.signal('SIGTERM');
    b.proc.signal('SIGTERM');
    expect(await a.proc.exited).toBe(0);
    expect(await b.proc.exited).toBe(0);
  }, 120_000);

  it('refuses to start without CREDENTIALS_ENCRYPTION_KEY, naming it', () => {
    const env = { ...process.env, ...childEnv(), CREDENTIALS_ENCRYPTION_KEY: '', CONNECTOR_ID: randomUUID() };
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'connector/main.ts'], { env, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(78);
    expect(result.stdout + result.stderr).toMatch(/CREDENTIALS_ENCRYPTION_KEY: is required/);
  });
});
