import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { claim, createAgent, createRunningAgent, createUser, registerConnector, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
});
afterAll(async () => db?.drop());

function errorOf(promise: Promise<unknown>) {
  return promise.then(
    () => undefined,
    (e: { code?: string; message?: string; detail?: string }) => e,
  );
}

describe('documented error codes', () => {
  it('WG001 unknown_agent and WG002 not_owner', async () => {
    const alice = await createUser(sql);
    const bob = await createUser(sql);
    const agent = await createAgent(sql, alice);
    const unknown = await errorOf(sql`select gateway.request_link(${alice}, ${randomUUID()}, 'qr')`);
    expect(unknown?.code).toBe('WG001');
    expect(unknown?.message).toMatch(/^unknown_agent: /);
    const foreign = await errorOf(sql`select * from gateway.enqueue_message(${bob}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`);
    expect(foreign?.code).toBe('WG002');
    expect(foreign?.message).toMatch(/^not_owner: /);
  });

  it('WG003 plan_limit: the basic plan allows 5 agents, even to concurrent creates', async () => {
    const user = await createUser(sql);
    const pools = Array.from({ length: 4 }, () => db.connect({ max: 2 }));
    const attempts = Array.from({ length: 8 }, (_, i) => sqlState(pools[i % 4]!`select gateway.create_agent(${user}, ${`a${i}`})`));
    const states = await Promise.all(attempts);
    expect(states.filter((s) => s === undefined)).toHaveLength(5);
    expect(states.filter((s) => s === 'WG003')).toHaveLength(3);
    const [n] = await sql`select count(*)::int as n from public.agents where owner_id = ${user}`;
    expect(n!.n).toBe(5);
    const e = await errorOf(sql`select gateway.create_agent(${user}, 'sixth')`);
    expect(JSON.parse(e!.detail!)).toEqual({ plan: 'basic', max_agents: 5 });
  });

  it('WG004 stale_lease', async () => {
    const user = await createUser(sql);
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, user);
    const epoch = (await claim(sql, connector, agent))!;
    const e = await errorOf(sql`select gateway.save_creds(${agent}, ${connector}, ${(epoch + 1n).toString()}, ${randomBytes(40)}, 1)`);
    expect(e?.code).toBe('WG004');
    expect(e?.message).toMatch(/^stale_lease: /);
  });

  it('WG005 invalid_argument', async () => {
    const user = await createUser(sql);
    const agent = await createAgent(sql, user);
    const cases = [
      sql`select gateway.create_agent(${user}, '   ')`,
      sql`select gateway.request_link(${user}, ${agent}, 'carrier-pigeon')`,
      sql`select gateway.request_link(${user}, ${agent}, 'pairing_code', '+1 555')`,
      sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '"not an object"'::jsonb)`,
      sql`select * from gateway.enqueue_message(${user}, ${agent}, 'not-a-number', 'text', '{}'::jsonb)`,
      sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'fax', '{}'::jsonb)`,
      sql`select * from gateway.take_token('k', 0, 1, 1)`,
      sql`select * from gateway.claim_messages(${randomUUID()}, -1, 60)`,
      sql`select gateway.request_session_command(${user}, ${agent}, 'explode')`,
    ];
    for (const c of cases) expect(await sqlState(c)).toBe('WG005');
    const [n] = await sql`select count(*)::int as n from public.messages where agent_id = ${agent}`;
    expect(n!.n).toBe(0);
  });

  it('WG006 idempotency_conflict', async () => {
    const user = await createUser(sql);
    const agent = await createAgent(sql, user);
    await sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"a"}'::jsonb, 'key-1', 'hash-a')`;
    const e = await errorOf(sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"b"}'::jsonb, 'key-1', 'hash-b')`);
    expect(e?.code).toBe('WG006');
  });

  it('WG007 rate_limited: the plan per-minute send limit, with limit/remaining/reset in DETAIL', async () => {
    const user = await createUser(sql);
    const agent = await createAgent(sql, user);
    for (let i = 0; i < 30; i++) {
      await sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`;
    }
    const e = await errorOf(sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`);
    expect(e?.code).toBe('WG007');
    const detail = JSON.parse(e!.detail!);
    expect(detail.limit).toBe(30);
    expect(detail.remaining).toBe(0);
    expect(detail.retry_after).toBeGreaterThanOrEqual(1);
    // a replay of an accepted request is answered even when the bucket is empty
    await sql`update private.rate_limit_buckets set tokens = 1 where key = ${`send:${agent}`}`;
    await sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb, 'k', 'h')`;
    const [replay] = await sql`select replayed from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb, 'k', 'h')`;
    expect(replay!.replayed).toBe(true);
  });

  it('WG008 conflict: restart while sends are in flight, unless forced', async () => {
    const user = await createUser(sql);
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, user);
    const epoch = (await claim(sql, connector, agent))!;
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch.toString()}, ${sql.json({ status: 'connected' })})`;
    await sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`;
    await sql`select * from gateway.claim_messages(${connector}, 1, 60)`;
    const [status] = await sql`select * from gateway.session_sending_status(${user}, ${agent})`;
    expect(status).toMatchObject({ in_flight: '1', queued: '0' });
    const e = await errorOf(sql`select gateway.request_session_command(${user}, ${agent}, 'restart', false)`);
    expect(e?.code).toBe('WG008');
    expect(JSON.parse(e!.detail!)).toEqual({ in_flight: 1 });
    const [forced] = await sql`select (gateway.request_session_command(${user}, ${agent}, 'restart', true)).pending_command`;
    expect(forced!.pending_command).toBe('restart');
  });

  it('WG009 not_found', async () => {
    const user = await createUser(sql);
    expect(await sqlState(sql`select gateway.redeliver(${user}, ${randomUUID()})`)).toBe('WG009');
  });
});

describe('token buckets', () => {
  it('concurrent takes never exceed the capacity', async () => {
    const pools = Array.from({ length: 6 }, () => db.connect({ max: 1 }));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => pools[i % 6]!`select * from gateway.take_token('burst', 10, 0.001, 1)`),
    );
    expect(results.filter((r) => r[0]!.allowed)).toHaveLength(10);
    const denied = results.find((r) => !r[0]!.allowed)![0]!;
    expect(denied.remaining).toBe(0);
    expect(denied.retry_after_seconds).toBeGreaterThan(0);
  });

  it('refills with time', async () => {
    const [a] = await sql`select * from gateway.take_token('refill', 2, 20, 2)`;
    const [b] = await sql`select * from gateway.take_token('refill', 2, 20, 1)`;
    expect([a!.allowed, b!.allowed]).toEqual([true, false]);
    await new Promise((r) => setTimeout(r, 150));
    const [c] = await sql`select * from gateway.take_token('refill', 2, 20, 1)`;
    expect(c!.allowed).toBe(true);
  });
});

describe('logout, disconnect and key hygiene', () => {
  it('logout of an unowned session wipes creds and keys at once', async () => {
    const user = await createUser(sql);
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, user);
    const e = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.save_creds(${agent}, ${connector}, ${e}, ${randomBytes(40)}, 1)`;
    await sql`select gateway.write_signal_keys(${agent}, ${connector}, ${e}, ${['pre-key']}::text[], ${['1']}::text[], ${sql.array([randomBytes(40)], 1001)}::bytea[], ${[1]}::int[])`;
    await sql`select gateway.release_sessions(${connector})`;
    const [s] = await sql`select (gateway.request_session_command(${user}, ${agent}, 'logout')).status`;
    expect(s!.status).toBe('logged_out');
    const [left] = await sql`select (select count(*) from private.session_credentials where agent_id = ${agent})::int
      + (select count(*) from private.signal_keys where agent_id = ${agent})::int as n`;
    expect(left!.n).toBe(0);
  });

  it('logout of an owned session is handed to the connector', async () => {
    const user = await createUser(sql);
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, user);
    await claim(sql, connector, agent);
    const [s] = await sql`select (gateway.request_session_command(${user}, ${agent}, 'logout')).pending_command`;
    expect(s!.pending_command).toBe('logout');
    const renew = await sql`select * from gateway.renew_leases(${connector}, ${[agent]}::uuid[], ${['1']}::bigint[], 30)`;
    expect(renew[0]).toMatchObject({ renewed: true, pending_command: 'logout' });
  });

  it('prunes only old session/sender keys, never pre-keys, never on a connected session', async () => {
    const user = await createUser(sql);
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, user);
    const e = (await claim(sql, connector, agent))!.toString();
    const types: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) { types.push('pre-key'); ids.push(String(i)); }
    for (const t of ['session', 'sender-key', 'app-state-sync-key', 'app-state-sync-version']) { types.push(t); ids.push('old'); }
    types.push('session'); ids.push('fresh');
    const blobs = types.map(() => randomBytes(40));
    await sql`select gateway.write_signal_keys(${agent}, ${connector}, ${e}, ${types}::text[], ${ids}::text[], ${sql.array(blobs, 1001)}::bytea[], ${types.map(() => 1)}::int[])`;
    await sql`update private.signal_keys set updated_at = now() - interval '30 days' where agent_id = ${agent} and key_id <> 'fresh'`;
    await sql`select gateway.update_session(${agent}, ${connector}, ${e}, ${sql.json({ status: 'connected' })})`;
    expect(await sqlState(sql`select gateway.prune_signal_keys(${agent})`)).toBe('WG008');
    await sql`select gateway.update_session(${agent}, ${connector}, ${e}, ${sql.json({ status: 'disconnected' })})`;
    await sql`select gateway.release_sessions(${connector})`;
    expect(await sqlState(sql`select gateway.prune_signal_keys(${agent}, interval '1 day')`)).toBe('WG005');
    const [p] = await sql`select gateway.prune_signal_keys(${agent}) as n`;
    expect(p!.n).toBe(2);
    const left = await sql`select key_type, count(*)::int as n from private.signal_keys where agent_id = ${agent} group by 1 order by 1`;
    expect(Object.fromEntries(left.map((r) => [r.key_type, r.n]))).toEqual({
      'app-state-sync-key': 1, 'app-state-sync-version': 1, 'pre-key': 50, session: 1,
    });
  });
});
