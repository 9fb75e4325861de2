/**
 * Who reads and writes what through the Data API (PostgREST runs each request as anon or
 * authenticated with the JWT claims set; service_role bypasses RLS). User A owns one agent with
 * a row in every exposed table; user B owns nothing of it. A and B are each the one owner of their
 * personal organisation (id = their user id), so "owns" means "is a member of the owning
 * organisation"; tests/sql/organisations.test.ts has the matrix of roles.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { asRole, claim, createRunningAgent, createUser, registerConnector, sqlState } from '../helpers/fixtures.ts';

// Every table in the exposed schema, and the column that ties a row to its owner (null: shared).
const EXPOSED: Record<string, string | null> = {
  // A view (security_invoker) over organisations, kept for compatibility.
  accounts: 'user_id',
  audit_log: 'owner_id',
  agents: 'owner_id',
  content_policies: 'owner_id',
  daily_stats: 'owner_id',
  events: 'owner_id',
  inbound_messages: 'owner_id',
  messages: 'owner_id',
  number_checks: 'owner_id',
  organisation_invitations: 'organisation_id',
  organisation_members: 'organisation_id',
  organisations: 'id',
  plans: null,
  webhook_deliveries: 'owner_id',
  webhook_endpoints: 'owner_id',
  whatsapp_sessions: 'owner_id',
};
const PRIVATE = ['api_keys', 'connectors', 'rate_limit_buckets', 'session_credentials', 'signal_keys', 'webhook_secrets'];

let db: TestDatabase;
let sql: Sql;
let alice: string;
let bob: string;
let agent: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  alice = await createUser(sql);
  bob = await createUser(sql);
  const connector = await registerConnector(sql);
  agent = await createRunningAgent(sql, alice);
  const e = (await claim(sql, connector, agent))!.toString();
  await sql`select gateway.save_creds(${agent}, ${connector}, ${e}, ${randomBytes(40)}, 1)`;
  await sql`select gateway.write_signal_keys(${agent}, ${connector}, ${e}, ${['pre-key']}::text[], ${['1']}::text[], ${sql.array([randomBytes(40)], 1001)}::bytea[], ${[1]}::int[])`;
  const [endpoint] = await sql`insert into public.webhook_endpoints (owner_id, url) values (${alice}, 'https://example.com/hook') returning id`;
  await sql`insert into private.webhook_secrets (endpoint_id, ciphertext, key_version) values (${endpoint!.id}, ${randomBytes(40)}, 1)`;
  await sql`select * from gateway.enqueue_message(${alice}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`;
  await sql`select gateway.record_inbound(${agent}, ${connector}, ${e}, ${sql.json([{ wa_message_id: 'W1', chat_jid: 'x@s.whatsapp.net', type: 'text' }])})`;
  await sql`insert into public.number_checks (agent_id, owner_id, numbers) values (${agent}, ${alice}, ${['15550001111']})`;
  await sql`insert into private.api_keys (owner_id, name, prefix, key_hash) values (${alice}, 'k', 'abcdefgh', ${randomBytes(32)})`;
  await sql`select * from gateway.take_token('x', 1, 1, 1)`;
  await sql`select * from gateway.create_invitation(${alice}, ${alice}, 'owner', 'friend@example.test', 'viewer', ${randomBytes(32)}, 3600, 10)`;
  await sql`select * from gateway.api_set_content_policy(${alice}, 'discard_after_delivery')`;
});
afterAll(async () => db?.drop());

describe('row level security', () => {
  it('every table in the exposed schema is listed here and has RLS enabled (a view runs as its caller, under the RLS of its tables)', async () => {
    const rows = await sql`select c.relname, c.relkind, c.relrowsecurity or (c.relkind = 'v' and coalesce(c.reloptions, '{}') @> '{security_invoker=true}') as rls
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm') order by 1`;
    expect(rows.map((r) => r.relname)).toEqual(Object.keys(EXPOSED).sort());
    for (const row of rows) expect({ table: row.relname, rls: row.rls }).toEqual({ table: row.relname, rls: true });
  });

  it('every exposed table holds a row of user A for the matrix to mean something', async () => {
    for (const table of Object.keys(EXPOSED)) {
      const [r] = await sql`select count(*)::int as n from ${sql('public')}.${sql(table)}`;
      expect({ table, n: r!.n > 0 }).toEqual({ table, n: true });
    }
  });

  for (const [table, ownerColumn] of Object.entries(EXPOSED)) {
    it(`${table}: A reads only A's rows, B none of them, anon nothing, service_role all`, async () => {
      const [all] = await sql`select count(*)::int as n from ${sql('public')}.${sql(table)}`;
      const count = (tx: Sql) => tx`select count(*)::int as n from ${tx('public')}.${tx(table)}`.then((r) => r[0]!.n as number);
      const ownedBy = (tx: Sql, user: string) =>
        ownerColumn ? tx`select count(*)::int as n from ${tx('public')}.${tx(table)} where ${tx(ownerColumn)} <> ${user}`.then((r) => r[0]!.n as number) : Promise.resolve(0);

      if (ownerColumn) {
        expect(await asRole(sql, 'authenticated', alice, count)).toBeGreaterThan(0);
        expect(await asRole(sql, 'authenticated', alice, (tx) => ownedBy(tx, alice))).toBe(0);
        const aliceRows = (tx: Sql) =>
          tx`select count(*)::int as n from ${tx('public')}.${tx(table)} where ${tx(ownerColumn)} = ${alice}`.then((r) => r[0]!.n as number);
        expect(await asRole(sql, 'authenticated', bob, aliceRows)).toBe(0);
        expect(await asRole(sql, 'authenticated', bob, (tx) => ownedBy(tx, bob))).toBe(0);
      } else {
        expect(await asRole(sql, 'authenticated', bob, count)).toBe(all!.n);
      }
      expect(await sqlState(asRole(sql, 'anon', null, count))).toBe('42501');
      expect(await asRole(sql, 'service_role', null, count)).toBe(all!.n);
    });

    it(`${table}: no signed-in user writes it through the Data API`, async () => {
      const attempts = [
        (tx: Sql) => tx`delete from ${tx('public')}.${tx(table)}`,
        (tx: Sql) => tx`truncate ${tx('public')}.${tx(table)} cascade`,
        (tx: Sql) => tx.unsafe(`update public.${table} set ${ownerColumn ?? 'name'} = ${ownerColumn ? `'${bob}'` : `'x'`}`),
        (tx: Sql) => tx.unsafe(`insert into public.${table} default values`),
      ];
      // Truncating the accounts view is refused as "not a table" (42809) before privileges are looked at.
      const refused = (i: number) => (i === 1 && table === 'accounts' ? '42809' : '42501');
      for (const [i, attempt] of attempts.entries()) {
        expect(await sqlState(asRole(sql, 'authenticated', alice, attempt))).toBe(refused(i));
        expect(await sqlState(asRole(sql, 'anon', null, attempt))).toBe(refused(i));
      }
    });
  }

  it('whatsapp_sessions: the owner reads status columns but not which connector holds it (host, PID, id, epoch)', async () => {
    const read = (tx: Sql) => tx`select status, desired_state, lease_until, last_heartbeat_at from public.whatsapp_sessions where agent_id = ${agent}`;
    expect(await asRole(sql, 'authenticated', alice, read)).toHaveLength(1);
    for (const column of ['owner_connector_id', 'owner_hostname', 'owner_pid', 'lease_epoch']) {
      const probe = (tx: Sql) => tx`select ${tx(column)} from public.whatsapp_sessions`;
      expect({ column, state: await sqlState(asRole(sql, 'authenticated', alice, probe)) }).toEqual({ column, state: '42501' });
    }
    expect(await sqlState(asRole(sql, 'authenticated', alice, (tx) => tx`select * from public.whatsapp_sessions`))).toBe('42501');
    // Operators still see everything.
    const [op] = await sql`select owner_connector_id, owner_hostname, owner_pid from ops.sessions where agent_id = ${agent}`;
    expect(op!.owner_hostname).toBe('test-host');
  });

  it('the private schema is unreachable for anon and authenticated, reachable for service_role', async () => {
    for (const table of PRIVATE) {
      const read = (tx: Sql) => tx`select count(*) from ${tx('private')}.${tx(table)}`;
      expect(await sqlState(asRole(sql, 'authenticated', alice, read))).toBe('42501');
      expect(await sqlState(asRole(sql, 'anon', null, read))).toBe('42501');
      expect(await sqlState(asRole(sql, 'service_role', null, read))).toBeUndefined();
    }
  });

  it('gateway functions cannot be called by anon or authenticated', async () => {
    const call = (tx: Sql) => tx`select gateway.create_agent(${alice}, 'sneaky')`;
    expect(await sqlState(asRole(sql, 'authenticated', alice, call))).toBe('42501');
    expect(await sqlState(asRole(sql, 'anon', null, call))).toBe('42501');
    const fns = await sql`select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('gateway', 'private', 'ops') and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute'))
      order by 1`;
    // The membership helpers the RLS policies call (they run as the caller); nothing else.
    expect(fns.map((f) => f.proname)).toEqual(['has_role', 'is_member', 'organisation_role_rank', 'organisation_roles']);
  });

  it('every gateway and private function pins its search_path and has a comment', async () => {
    const loose = await sql`select n.nspname || '.' || p.proname as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('gateway', 'private', 'public', 'ops') and not coalesce(p.proconfig, '{}') @> array['search_path=""']`;
    expect(loose.map((r) => r.fn)).toEqual([]);
    const silent = await sql`select n.nspname || '.' || p.proname as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('gateway', 'private', 'ops') and obj_description(p.oid, 'pg_proc') is null`;
    expect(silent.map((r) => r.fn)).toEqual([]);
    const tables = await sql`select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('public', 'private') and c.relkind = 'r' and obj_description(c.oid, 'pg_class') is null`;
    expect(tables.map((r) => r.t)).toEqual([]);
  });

  it('Realtime publishes sessions, messages and events', async () => {
    const rows = await sql`select tablename from pg_publication_tables where pubname = 'supabase_realtime' order by 1`;
    expect(rows.map((r) => r.tablename)).toEqual(['events', 'messages', 'whatsapp_sessions']);
  });
});
