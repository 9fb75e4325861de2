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
});
afterAll(async () => db?.drop());

describe('operations from the SQL editor', () => {
  it('ops.sessions shows owner, heartbeat age, status, last error, queue depth and oldest queued', async () => {
    const connector = await registerConnector(sql, undefined, 'host-a');
    const agent = await createRunningAgent(sql, owner);
    const e = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${e}, ${sql.json({ status: 'reconnecting', last_disconnect_code: 428, last_disconnect_reason: 'connection closed' })})`;
    await sql`select * from gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', '{"text":"a"}'::jsonb)`;
    await sql`select * from gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', '{"text":"b"}'::jsonb)`;
    const [row] = await sql`select * from ops.sessions where agent_id = ${agent}`;
    expect(row).toMatchObject({
      owner_connector_id: connector, owner_hostname: 'host-a', status: 'reconnecting', last_disconnect_code: 428,
      queued: '2', in_flight: '0', lease_live: true,
    });
    expect(row!.heartbeat_age_seconds).toBeGreaterThanOrEqual(0);
    expect(row!.oldest_queued_at).not.toBeNull();
    const [c] = await sql`select * from ops.connectors where id = ${connector}`;
    expect(c).toMatchObject({ hostname: 'host-a', alive: true, sessions_held: '1', sessions_connected: '0' });
  });

  it('force-release moves the epoch on at once, lets another connector claim and fences the old one', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const old = (await claim(sql, a, agent))!;
    const [released] = await sql`select lease_epoch, owner_connector_id from ops.force_release_session(${agent})`;
    // The old owner's epoch is dead from the release on, not only from the next claim.
    expect(released).toEqual({ lease_epoch: String(old + 1n), owner_connector_id: null });
    expect(await claim(sql, b, agent)).toBe(old + 2n);
    expect(await sqlState(sql`select gateway.update_session(${agent}, ${a}, ${old.toString()}, ${sql.json({ status: 'connected' })})`)).toBe('WG004');
    const [alert] = await sql`select type from ops.recent_alerts where agent_id = ${agent}`;
    expect(alert!.type).toBe('alert.lease_force_released');
  });

  it('requeues failed messages with their original WhatsApp ids', async () => {
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const e = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${e}, ${sql.json({ status: 'connected' })})`;
    const [m] = await sql`select id, wa_message_id from gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', '{"text":"a"}'::jsonb)`;
    await sql`select gateway.claim_messages(${connector}, 10, 60)`;
    await sql`select gateway.complete_messages(${agent}, ${connector}, ${e}, ${sql.json([{ id: m!.id, outcome: 'failed', error_code: 'timeout' }])})`;
    const [n] = await sql`select ops.requeue_failed_messages(${agent}) as n`;
    expect(n!.n).toBe(1);
    const [again] = await sql`select id, wa_message_id, attempts from gateway.claim_messages(${connector}, 10, 60)`;
    expect(again).toMatchObject({ id: m!.id, wa_message_id: m!.wa_message_id, attempts: 1 });
  });

  it('a disabled agent cannot send or be claimed, and its connector is told to stop', async () => {
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const e = await claim(sql, connector, agent);
    expect(await sqlState(sql`select ops.disable_agent(${agent}, '')`)).toBe('WG005');
    await sql`select ops.disable_agent(${agent}, 'abuse report')`;
    expect(await sqlState(sql`select * from gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', '{"text":"a"}'::jsonb)`)).toBe('WG008');
    const [renew] = await sql`select * from gateway.renew_leases(${connector}, ${[agent]}::uuid[], ${[e!.toString()]}::bigint[], 30)`;
    expect(renew!.desired_state).toBe('disconnected');
    await sql`select gateway.release_sessions(${connector})`;
    expect(await claim(sql, connector, agent)).toBeNull();
  });

  it('only the service role (and the SQL editor) can use ops', async () => {
    const view = (tx: Sql) => tx`select count(*) from ops.sessions`;
    const fn = (tx: Sql) => tx`select ops.disable_agent(gen_random_uuid(), 'x')`;
    for (const role of ['anon', 'authenticated'] as const) {
      expect(await sqlState(asRole(sql, role, owner, view))).toBe('42501');
      expect(await sqlState(asRole(sql, role, owner, fn))).toBe('42501');
    }
    expect(await sqlState(asRole(sql, 'service_role', null, view))).toBeUndefined();
    expect(await sqlState(asRole(sql, 'service_role', null, fn))).toBe('WG001');
  });
});
