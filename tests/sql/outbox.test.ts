import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let owner: string;
let agent: string;
let other: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  owner = await createUser(sql);
  agent = await createRunningAgent(sql, owner, 'one');
  other = await createRunningAgent(sql, owner, 'two');
});
afterAll(async () => db?.drop());

async function endpoint(eventTypes: string[], agentId: string | null = null): Promise<string> {
  const [row] = await sql`insert into public.webhook_endpoints (owner_id, agent_id, url, event_types)
    values (${owner}, ${agentId}, ${`https://example.com/${randomUUID()}`}, ${eventTypes}) returning id`;
  return row!.id as string;
}

describe('webhook outbox', () => {
  it('writes deliveries with the change, and none when the change rolls back', async () => {
    const all = await endpoint(['*']);
    const statusOnly = await endpoint(['session.status'], agent);
    const messagesOnly = await endpoint(['message.*']);
    const connector = await registerConnector(sql);
    const epoch = (await claim(sql, connector, agent))!.toString();

    await sql.begin(async (tx) => {
      await tx`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${tx.json({ status: 'connecting' })})`;
      throw new Error('abort');
    }).catch(() => {});
    const [none] = await sql`select count(*)::int as n from public.webhook_deliveries`;
    expect(none!.n).toBe(0);

    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'connecting' })})`;
    await sql`select gateway.emit_event(${owner}, ${other}, 'session.status', 'info', '{}'::jsonb)`;
    await sql`select gateway.emit_event(${owner}, ${agent}, 'message.received', 'info', '{}'::jsonb)`;
    const rows = await sql`select d.endpoint_id, e.type, e.agent_id from public.webhook_deliveries d join public.events e on e.id = d.event_id`;
    const got = rows.map((r) => `${r.endpoint_id === all ? 'all' : r.endpoint_id === statusOnly ? 'status' : r.endpoint_id === messagesOnly ? 'messages' : '?'}:${r.type}:${r.agent_id === agent ? 'one' : 'two'}`).sort();
    expect(got).toEqual([
      'all:message.received:one', 'all:session.status:one', 'all:session.status:two',
      'messages:message.received:one', 'status:session.status:one',
    ]);
    await sql`update public.webhook_endpoints set enabled = false`;
  });

  // A cap of 100 per endpoint: this test is about disjoint claims, not fairness (below).
  it('three dispatchers claim disjoint deliveries; completion checks the holder; dead after max attempts', async () => {
    await sql`delete from public.webhook_deliveries`;
    await sql`update public.webhook_endpoints set enabled = true where event_types = '{*}'`;
    for (let i = 0; i < 60; i++) await sql`select gateway.emit_event(${owner}, ${agent}, 'alert.test', 'warning', ${sql.json({ i })})`;
    const pools = Array.from({ length: 3 }, () => db.connect({ max: 1 }));
    const ids = pools.map(() => randomUUID());
    const claimed = await Promise.all(pools.map((p, i) => p`select delivery_id, payload, url from gateway.claim_deliveries(${ids[i]!}, 25, 30, 100)`));
    // A claim skips an endpoint another claim is serving at that instant; the next claim gets it.
    for (const [i, got] of claimed.entries()) {
      got.push(...(await sql`select delivery_id, payload, url from gateway.claim_deliveries(${ids[i]!}, ${25 - got.length}, 30, 100)`));
    }
    const flat = claimed.flat().map((r) => r.delivery_id as string);
    expect(flat).toHaveLength(60);
    expect(new Set(flat).size).toBe(60);

    const mine = claimed[0]![0]!.delivery_id as string;
    const [wrong] = await sql`select gateway.complete_deliveries(${ids[1]!}, ${sql.json([{ id: mine, outcome: 'delivered' }])}) as n`;
    expect(wrong!.n).toBe(0);
    const [right] = await sql`select gateway.complete_deliveries(${ids[0]!}, ${sql.json([{ id: mine, outcome: 'delivered', status_code: 200 }])}) as n`;
    expect(right!.n).toBe(1);

    const doomed = claimed[1]![0]!.delivery_id as string;
    await sql`update public.webhook_deliveries set max_attempts = 2 where id = ${doomed}`;
    await sql`select gateway.complete_deliveries(${ids[1]!}, ${sql.json([{ id: doomed, outcome: 'retry', status_code: 500, retry_at: new Date().toISOString() }])})`;
    const [again] = await sql`select delivery_id, attempts from gateway.claim_deliveries(${ids[2]!}, 100, 30, 100) where delivery_id = ${doomed}`;
    expect(again!.attempts).toBe(2);
    await sql`select gateway.complete_deliveries(${ids[2]!}, ${sql.json([{ id: doomed, outcome: 'retry', status_code: 500 }])})`;
    const [dead] = await sql`select status, last_status_code from public.webhook_deliveries where id = ${doomed}`;
    expect(dead).toEqual({ status: 'dead', last_status_code: 500 });

    const [back] = await sql`select (gateway.redeliver(${owner}, ${doomed})).status`;
    expect(back!.status).toBe('pending');
    const [reclaimed] = await sql`select attempts from gateway.claim_deliveries(${ids[0]!}, 100, 30, 100) where delivery_id = ${doomed}`;
    expect(reclaimed!.attempts).toBe(1);
  });

  it('an expired claim comes back to another dispatcher', async () => {
    await sql`delete from public.webhook_deliveries`;
    await sql`select gateway.emit_event(${owner}, ${agent}, 'alert.test', 'warning', '{}'::jsonb)`;
    const a = randomUUID();
    const b = randomUUID();
    expect(await sql`select 1 from gateway.claim_deliveries(${a}, 10, 1)`).toHaveLength(1);
    expect(await sql`select 1 from gateway.claim_deliveries(${b}, 10, 30)`).toHaveLength(0);
    await sql`update public.webhook_deliveries set locked_until = now() - interval '1 second'`;
    expect(await sql`select 1 from gateway.claim_deliveries(${b}, 10, 30)`).toHaveLength(1);
  });
});

describe('webhook outbox fairness', () => {
  /** An endpoint of a fresh tenant with `n` due deliveries, created in order. */
  async function tenantWithBacklog(n: number) {
    const tenant = await createUser(sql);
    const tenantAgent = await createRunningAgent(sql, tenant, 'fair');
    const [row] = await sql`insert into public.webhook_endpoints (owner_id, url) values (${tenant}, ${`https://example.com/${randomUUID()}`}) returning id`;
    for (let i = 0; i < n; i++) await sql`select gateway.emit_event(${tenant}, ${tenantAgent}, 'alert.test', 'warning', ${sql.json({ i })})`;
    return { tenant, endpoint: row!.id as string };
  }
  const claimed = (connector: string, limit: number) =>
    sql<{ delivery_id: string; endpoint_id: string }[]>`select delivery_id, endpoint_id from gateway.claim_deliveries(${connector}, ${limit}, 30)`;

  it('a flooded endpoint does not delay another tenant, and holds at most its cap in flight across the fleet', async () => {
    await sql`delete from public.webhook_deliveries`;
    await sql`update public.webhook_endpoints set enabled = false`;
    const flooded = await tenantWithBacklog(200);
    const quiet = await tenantWithBacklog(1);

    // One dispatcher with 16 slots: the quiet tenant's single delivery goes out in the first claim.
    const first = await claimed(randomUUID(), 16);
    expect(first.filter((r) => r.endpoint_id === quiet.endpoint)).toHaveLength(1);
    expect(first.filter((r) => r.endpoint_id === flooded.endpoint)).toHaveLength(8);

    // More dispatchers, at once: the flooded endpoint stays at its cap of 8 in flight.
    const pools = Array.from({ length: 3 }, () => db.connect({ max: 1 }));
    const more = await Promise.all(pools.map((p) => p`select endpoint_id from gateway.claim_deliveries(${randomUUID()}, 16, 30)`));
    expect(more.flat()).toHaveLength(0);
    const [inFlight] = await sql`select count(*)::int as n from public.webhook_deliveries where endpoint_id = ${flooded.endpoint} and status = 'delivering'`;
    expect(inFlight!.n).toBe(8);
  });

  it('endpoints take turns within one claim', async () => {
    await sql`delete from public.webhook_deliveries`;
    await sql`update public.webhook_endpoints set enabled = false`;
    const a = await tenantWithBacklog(5);
    const b = await tenantWithBacklog(5);
    const c = await tenantWithBacklog(5);
    const got = await claimed(randomUUID(), 6);
    const per = (e: string) => got.filter((r) => r.endpoint_id === e).length;
    expect([per(a.endpoint), per(b.endpoint), per(c.endpoint)]).toEqual([2, 2, 2]);
  });

  it('a disabled endpoint gets nothing; a row out of attempts is dead-lettered, not tried again', async () => {
    await sql`delete from public.webhook_deliveries`;
    await sql`update public.webhook_endpoints set enabled = false`;
    const paused = await tenantWithBacklog(1);
    await sql`update public.webhook_endpoints set enabled = false where id = ${paused.endpoint}`;
    expect(await claimed(randomUUID(), 10)).toHaveLength(0);
    await sql`update public.webhook_endpoints set enabled = true where id = ${paused.endpoint}`;
    expect(await claimed(randomUUID(), 10)).toHaveLength(1);

    // The dispatcher died during the last attempt: its claim expires with attempts = max.
    await sql`update public.webhook_deliveries set max_attempts = 1, locked_until = now() - interval '1 second' where endpoint_id = ${paused.endpoint}`;
    expect(await claimed(randomUUID(), 10)).toHaveLength(0);
    const [row] = await sql`select status, attempts, locked_by from public.webhook_deliveries where endpoint_id = ${paused.endpoint}`;
    expect(row).toEqual({ status: 'dead', attempts: 1, locked_by: null });
  });
});
