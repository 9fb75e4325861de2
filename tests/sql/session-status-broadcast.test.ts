/**
 * Live session status through Supabase Realtime: a session's status or QR change is a private
 * broadcast `session_changed` on topic agent:<id> (payload without the QR text), and only the
 * agent's owner may hear it — checked the way Supabase Realtime authorises a private join: as
 * `authenticated` with the user's claims and `realtime.topic()` set, select from realtime.messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { asRole, claim, createAgent, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let alice: string;
let bob: string;
let agent: string;
let bobsAgent: string;
let connector: string;
let epoch: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  alice = await createUser(sql);
  bob = await createUser(sql);
  agent = await createRunningAgent(sql, alice);
  bobsAgent = await createAgent(sql, bob);
  connector = await registerConnector(sql);
  epoch = (await claim(sql, connector, agent))!.toString();
});
afterAll(async () => db?.drop());

const broadcasts = (topic: string) =>
  sql`select event, payload, private from realtime.messages where topic = ${topic} and event = 'session_changed' order by inserted_at, id`;

/** What a private join to `topic` by `user` would see (Realtime's RLS check). */
const heardBy = (user: string | null, topic: string) =>
  asRole(sql, user ? 'authenticated' : 'anon', user, async (tx) => {
    await tx`select set_config('realtime.topic', ${topic}, true)`;
    const rows = await tx`select count(*)::int as n from realtime.messages where realtime.topic() = ${topic} and extension = 'broadcast'`;
    return rows[0]!.n as number;
  });

describe('session status broadcast', () => {
  it('a status or QR change is a private session_changed broadcast on agent:<id> without the QR text', async () => {
    const topic = `agent:${agent}`;
    const before = (await broadcasts(topic)).length;
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'qr', qr_code: 'SECRET-QR-1' })})`;
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ qr_code: 'SECRET-QR-2' })})`;
    const rows = (await broadcasts(topic)).slice(before);
    expect(rows.map((r) => [r.private, r.payload])).toEqual([
      [true, { agent_id: agent, status: 'qr' }],
      [true, { agent_id: agent, status: 'qr' }],
    ]);
    expect(JSON.stringify(rows)).not.toContain('SECRET-QR');
  });

  it('a lease renewal broadcasts nothing', async () => {
    const count = async () => (await broadcasts(`agent:${agent}`)).length;
    const before = await count();
    await claim(sql, connector, agent);
    await sql`update public.whatsapp_sessions set last_heartbeat_at = now(), lease_until = now() + interval '30 seconds' where agent_id = ${agent}`;
    expect(await count()).toBe(before);
  });

  it("the owner may join the agent's topic; another user, anon, and a malformed topic may not", async () => {
    const topic = `agent:${agent}`;
    expect(await heardBy(alice, topic)).toBeGreaterThan(0);
    expect(await heardBy(bob, topic)).toBe(0);
    expect(await heardBy(null, topic)).toBe(0);
    // Bob owns an agent too: his own topic is his, yet naming Alice's agent still yields nothing.
    await sql`select realtime.send('{}'::jsonb, 'session_changed', ${`agent:${bobsAgent}`}, true)`;
    expect(await heardBy(bob, `agent:${bobsAgent}`)).toBeGreaterThan(0);
    expect(await heardBy(alice, `agent:${bobsAgent}`)).toBe(0);
    expect(await heardBy(alice, `agent:${agent.toUpperCase()}`)).toBe(0);
    expect(await heardBy(alice, 'agent:not-a-uuid')).toBe(0);
  });
});
