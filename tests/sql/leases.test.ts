import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { asRole, claim, createRunningAgent, createUser, registerConnector, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let owner: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  owner = await createUser(sql);
  await sql`update public.plans set max_agents = 1000`;
});
afterAll(async () => db?.drop());

const fakeCiphertext = () => randomBytes(48);

describe('claiming a session', () => {
  it('exactly one of N concurrent connectors wins, over hundreds of rounds', async () => {
    const N = 6;
    const rounds = 200;
    const pools = Array.from({ length: N }, () => db.connect({ max: 1 }));
    const connectors = await Promise.all(pools.map((p) => registerConnector(p)));
    const agents: string[] = [];
    for (let i = 0; i < rounds; i++) agents.push(await createRunningAgent(sql, owner, `race-${i}`));

    for (const agent of agents) {
      const results = await Promise.all(pools.map((p, i) => claim(p, connectors[i]!, agent)));
      const winners = results.filter((epoch) => epoch !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toBe(1n);
      const [row] = await sql`select owner_connector_id from public.whatsapp_sessions where agent_id = ${agent}`;
      expect(connectors[results.findIndex((e) => e !== null)]).toBe(row!.owner_connector_id);
    }
  });

  it('a live lease is kept, an expired one is taken over with a new epoch and an event', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    expect(await claim(sql, a, agent, 1)).toBe(1n);
    expect(await claim(sql, b, agent)).toBeNull();
    expect(await claim(sql, a, agent, 1)).toBe(1n); // already mine: same epoch, extended
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    const [taken] = await sql`select * from gateway.claim_session(${b}, ${agent}, 30)`;
    expect(BigInt(taken!.lease_epoch)).toBe(2n);
    expect(taken!.taken_over_from).toBe(a);
    const events = await sql`select payload from public.events where agent_id = ${agent} and type = 'session.lease_takeover'`;
    expect(events).toHaveLength(1);
    const [takeover] = await sql`select from_connector, to_connector from ops.lease_takeovers where agent_id = ${agent}`;
    expect(takeover).toEqual({ from_connector: a, to_connector: b });
  });

  it('a takeover event a tenant can read names no connector, host, PID or epoch; operators see them in ops.lease_takeovers', async () => {
    const a = await registerConnector(sql, randomUUID(), 'host-a.internal');
    const b = await registerConnector(sql, randomUUID(), 'host-b.internal');
    const agent = await createRunningAgent(sql, owner);
    await claim(sql, a, agent);
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    expect(await claim(sql, b, agent)).toBe(2n);

    const seen = await asRole(sql, 'authenticated', owner, (tx) => tx`select type, severity, payload from public.events where agent_id = ${agent} and type = 'session.lease_takeover'`);
    expect(seen).toHaveLength(1);
    const text = JSON.stringify(seen[0]);
    for (const secret of [a, b, 'host-a.internal', 'host-b.internal']) expect(text).not.toContain(secret);
    expect(Object.keys(seen[0]!.payload)).not.toEqual(expect.arrayContaining(['from_connector']));
    expect(seen[0]!.payload).not.toHaveProperty('to_connector');
    expect(seen[0]!.payload).not.toHaveProperty('lease_epoch');

    const [op] = await sql`select * from ops.lease_takeovers where agent_id = ${agent}`;
    expect(op).toMatchObject({ from_connector: a, from_hostname: 'host-a.internal', to_connector: b, to_hostname: 'host-b.internal', lease_epoch: '2' });
    // Tenants cannot read the operators' record.
    expect(await sqlState(asRole(sql, 'authenticated', owner, (tx) => tx`select * from private.lease_takeovers`))).toBe('42501');
  });

  it('does not claim sessions that do not want a socket or whose agent is disabled', async () => {
    const c = await registerConnector(sql);
    const idle = (await sql`select id from gateway.create_agent(${owner}, 'idle')`)[0]!.id as string;
    expect(await claim(sql, c, idle)).toBeNull();
    const disabled = await createRunningAgent(sql, owner);
    await sql`update public.agents set disabled_at = now() where id = ${disabled}`;
    expect(await claim(sql, c, disabled)).toBeNull();
  });

  it('batch claims share a fleet without overlap (SKIP LOCKED)', async () => {
    await sql`update public.whatsapp_sessions set desired_state = 'disconnected'`;
    const agents = [];
    for (let i = 0; i < 40; i++) agents.push(await createRunningAgent(sql, owner, `fleet-${i}`));
    const pools = Array.from({ length: 4 }, () => db.connect({ max: 1 }));
    const connectors = await Promise.all(pools.map((p) => registerConnector(p)));
    const claimed = await Promise.all(
      pools.map((p, i) => p`select agent_id from gateway.claim_sessions(${connectors[i]!}, 15, 30)`),
    );
    const all = claimed.flatMap((rows) => rows.map((r) => r.agent_id as string));
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(40);
    expect(new Set(all)).toEqual(new Set(agents));
  });
});

describe('renewing and releasing', () => {
  it('renews all held leases in one call and reports the lost ones', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const kept = await createRunningAgent(sql, owner);
    const lost = await createRunningAgent(sql, owner);
    const e1 = (await claim(sql, a, kept, 1))!;
    const e2 = (await claim(sql, a, lost, 1))!;
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${lost}`;
    expect(await claim(sql, b, lost)).not.toBeNull();
    const rows = await sql`select * from gateway.renew_leases(${a}, ${[kept, lost]}::uuid[], ${[e1.toString(), e2.toString()]}::bigint[], 30)`;
    const byAgent = Object.fromEntries(rows.map((r) => [r.agent_id, r]));
    expect(byAgent[kept]!.renewed).toBe(true);
    expect(byAgent[lost]!.renewed).toBe(false);
    const [s] = await sql`select lease_until > now() + interval '20 seconds' as fresh from public.whatsapp_sessions where agent_id = ${kept}`;
    expect(s!.fresh).toBe(true);
  });

  it('release lets another connector claim at once', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    await claim(sql, a, agent);
    expect(await claim(sql, b, agent)).toBeNull();
    const [r] = await sql`select gateway.release_sessions(${a}) as n`;
    expect(r!.n).toBeGreaterThanOrEqual(1);
    expect(await claim(sql, b, agent)).toBe(2n);
    const [c] = await sql`select stopped_at from private.connectors where id = ${a}`;
    expect(c!.stopped_at).not.toBeNull();
  });
});

describe('fencing', () => {
  it('refuses stale-epoch writes of creds, keys, status, receipts and inbound with stale_lease', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const oldEpoch = (await claim(sql, a, agent, 1))!;
    await sql`select gateway.save_creds(${agent}, ${a}, ${oldEpoch.toString()}, ${fakeCiphertext()}, 1)`;
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    const newEpoch = (await claim(sql, b, agent))!;
    expect(newEpoch).toBe(oldEpoch + 1n);

    const stale = oldEpoch.toString();
    const attempts = [
      sql`select gateway.save_creds(${agent}, ${a}, ${stale}, ${fakeCiphertext()}, 1)`,
      sql`select gateway.write_signal_keys(${agent}, ${a}, ${stale}, ${['pre-key']}::text[], ${['1']}::text[], ${sql.array([fakeCiphertext()], 1001)}::bytea[], ${[1]}::int[])`,
      sql`select gateway.update_session(${agent}, ${a}, ${stale}, ${sql.json({ status: 'connected' })})`,
      sql`select gateway.wipe_auth_state(${agent}, ${a}, ${stale})`,
      sql`select gateway.advance_message_status(${agent}, ${a}, ${stale}, ${sql.json([])})`,
      sql`select gateway.record_inbound(${agent}, ${a}, ${stale}, ${sql.json([])})`,
      sql`select * from gateway.load_creds(${agent}, ${a}, ${stale})`,
      // the right connector with a wrong epoch is refused too
      sql`select gateway.save_creds(${agent}, ${b}, ${stale}, ${fakeCiphertext()}, 1)`,
    ];
    for (const attempt of attempts) expect(await sqlState(attempt)).toBe('WG004');

    // the current owner writes fine, and nothing of the stale writes landed
    await sql`select gateway.update_session(${agent}, ${b}, ${newEpoch.toString()}, ${sql.json({ status: 'connecting' })})`;
    const [s] = await sql`select status from public.whatsapp_sessions where agent_id = ${agent}`;
    expect(s!.status).toBe('connecting');
    const keys = await sql`select count(*)::int as n from private.signal_keys where agent_id = ${agent}`;
    expect(keys[0]!.n).toBe(0);
  });

  it('an expired lease cannot write even before anyone else claims it', async () => {
    const a = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const epoch = (await claim(sql, a, agent, 1))!;
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    expect(await sqlState(sql`select gateway.save_creds(${agent}, ${a}, ${epoch.toString()}, ${fakeCiphertext()}, 1)`)).toBe('WG004');
  });

  it('a claim waits for an in-flight fenced write instead of slipping under it', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const epoch = (await claim(sql, a, agent, 1))!;
    const writer = db.connect({ max: 1 });
    const claimer = db.connect({ max: 1 });
    let claimed: bigint | null | undefined;
    await writer.begin(async (tx) => {
      await tx`select gateway.save_creds(${agent}, ${a}, ${epoch.toString()}, ${fakeCiphertext()}, 1)`;
      await tx`select pg_sleep(1.1)`; // the lease expires while the write transaction is open
      const pending = claim(claimer, b, agent).then((e) => {
        claimed = e;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(claimed).toBeUndefined(); // blocked by the FOR SHARE lock of the fence
      void pending;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(claimed).toBe(2n);
  });

  it('write_signal_keys upserts and deletes several types in one transaction', async () => {
    const a = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const e = (await claim(sql, a, agent))!.toString();
    await sql`select gateway.write_signal_keys(${agent}, ${a}, ${e},
      ${['pre-key', 'pre-key', 'session', 'app-state-sync-key']}::text[], ${['1', '2', 'abc.0', 'k1']}::text[],
      ${sql.array([fakeCiphertext(), fakeCiphertext(), fakeCiphertext(), fakeCiphertext()], 1001)}::bytea[], ${[1, 1, 1, 1]}::int[])`;
    await sql`select gateway.write_signal_keys(${agent}, ${a}, ${e},
      ${['pre-key', 'session']}::text[], ${['1', 'abc.0']}::text[], ${sql.array([null, fakeCiphertext()], 1001)}::bytea[], ${[1, 2]}::int[])`;
    const rows = await sql`select key_type, key_id, key_version from private.signal_keys where agent_id = ${agent} order by 1, 2`;
    expect(rows.map((r) => `${r.key_type}/${r.key_id}/v${r.key_version}`)).toEqual([
      'app-state-sync-key/k1/v1',
      'pre-key/2/v1',
      'session/abc.0/v2',
    ]);
    // an unknown key type rolls the whole batch back
    expect(
      await sqlState(sql`select gateway.write_signal_keys(${agent}, ${a}, ${e}, ${['pre-key', 'bogus']}::text[],
        ${['9', '9']}::text[], ${sql.array([fakeCiphertext(), fakeCiphertext()], 1001)}::bytea[], ${[1, 1]}::int[])`),
    ).toBe('WG005');
    const [n] = await sql`select count(*)::int as n from private.signal_keys where agent_id = ${agent} and key_id = '9'`;
    expect(n!.n).toBe(0);
  });

  it('status changes raise session.status events; unknown fields and statuses are refused', async () => {
    const a = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const e = (await claim(sql, a, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${a}, ${e}, ${sql.json({ status: 'qr', qr_code: 'ref1' })})`;
    await sql`select gateway.update_session(${agent}, ${a}, ${e}, ${sql.json({ qr_code: 'ref2' })})`;
    await sql`select gateway.update_session(${agent}, ${a}, ${e}, ${sql.json({ status: 'connected', qr_code: null, phone_number: '15550001111' })})`;
    const events = await sql`select payload->>'status' as s from public.events where agent_id = ${agent} and type = 'session.status' order by created_at`;
    expect(events.map((r) => r.s)).toEqual(['qr', 'qr', 'connected']);
    expect(await sqlState(sql`select gateway.update_session(${agent}, ${a}, ${e}, ${sql.json({ owner_id: randomUUID() })})`)).toBe('WG005');
    expect(await sqlState(sql`select gateway.update_session(${agent}, ${a}, ${e}, ${sql.json({ status: 'online' })})`)).toBe('WG005');
  });
});
