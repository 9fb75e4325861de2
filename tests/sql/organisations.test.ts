/**
 * Organisations in SQL: RLS by membership for every role (a member of any role reads the
 * organisation's rows, nobody writes them through the Data API, invitations only for admins and
 * owners), the owner rules (at least one owner, enforced at commit), invitations (one open per
 * address, accepted only by the invited address, hash only), and what deleting a user does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORGANISATION_ROLES, type OrganisationRole } from '../../kernel/organisation-roles.ts';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { asRole, createRunningAgent, createUser, registerConnector, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let owner: string;
let org: string;
let agent: string;
const members = new Map<OrganisationRole, string>();
let outsider: string;

const TABLES = ['agents', 'whatsapp_sessions', 'messages', 'events', 'webhook_endpoints', 'organisations', 'organisation_members'] as const;
const ownerColumn = (table: string) => (table === 'organisations' ? 'id' : table.startsWith('organisation_') ? 'organisation_id' : 'owner_id');
const sha = (token: string) => createHash('sha256').update(token).digest();

async function invite(email: string, role: OrganisationRole, actorRole: OrganisationRole = 'owner'): Promise<{ id: string; token: string }> {
  const token = randomBytes(24).toString('base64url');
  const [row] = await sql`select * from gateway.create_invitation(${org}, ${owner}, ${actorRole}, ${email}, ${role}, ${sha(token)}, 3600, 20)`;
  return { id: row!.id as string, token };
}

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  owner = await createUser(sql);
  [{ id: org }] = (await sql`select id from gateway.create_organisation(${owner}, 'Team', 5)`) as unknown as [{ id: string }];
  members.set('owner', owner);
  for (const role of ORGANISATION_ROLES.slice(1)) {
    const user = await createUser(sql);
    await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${org}, ${user}, ${role})`;
    members.set(role, user);
  }
  outsider = await createUser(sql);
  agent = await createRunningAgent(sql, org);
  await sql`select * from gateway.enqueue_message(${org}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`;
  await sql`insert into public.webhook_endpoints (owner_id, url) values (${org}, 'https://example.com/hook')`;
  await sql`select gateway.emit_event(${org}, ${agent}, 'session.status', 'info', '{}'::jsonb)`;
  await invite('someone@example.test', 'viewer');
});
afterAll(async () => db?.drop());

const countWhere = (table: string, id: string) => (tx: Sql) =>
  tx`select count(*)::int as n from ${tx('public')}.${tx(table)} where ${tx(ownerColumn(table))} = ${id}`.then((r) => r[0]!.n as number);

describe('RLS by membership', () => {
  for (const role of ORGANISATION_ROLES) {
    it(`a ${role} reads the organisation's rows in every table`, async () => {
      for (const table of TABLES) {
        const n = await asRole(sql, 'authenticated', members.get(role)!, countWhere(table, org));
        expect({ table, readable: n > 0 }).toEqual({ table, readable: true });
      }
    });

    it(`a ${role} writes none of them through the Data API`, async () => {
      const user = members.get(role)!;
      const writes = [
        (tx: Sql) => tx`update public.agents set name = 'x' where owner_id = ${org}`,
        (tx: Sql) => tx`delete from public.messages where owner_id = ${org}`,
        (tx: Sql) => tx`update public.organisations set plan_id = 'max' where id = ${org}`,
        (tx: Sql) => tx`update public.organisation_members set role = 'owner' where user_id = ${user}`,
        (tx: Sql) => tx`insert into public.organisation_members (organisation_id, user_id, role) values (${org}, ${outsider}, 'owner')`,
        (tx: Sql) => tx`insert into public.organisation_invitations (organisation_id, email, role, token_hash, expires_at) values (${org}, 'x@example.test', 'owner', ${randomBytes(32)}, now())`,
      ];
      for (const [i, write] of writes.entries()) expect({ i, state: await sqlState(asRole(sql, 'authenticated', user, write)) }).toEqual({ i, state: '42501' });
    });
  }

  it('invitations are readable by admins and owners only, and never their token hash', async () => {
    const read = countWhere('organisation_invitations', org);
    expect(await asRole(sql, 'authenticated', members.get('owner')!, read)).toBeGreaterThan(0);
    expect(await asRole(sql, 'authenticated', members.get('admin')!, read)).toBeGreaterThan(0);
    expect(await asRole(sql, 'authenticated', members.get('developer')!, read)).toBe(0);
    expect(await asRole(sql, 'authenticated', members.get('viewer')!, read)).toBe(0);
    const hash = (tx: Sql) => tx`select token_hash from public.organisation_invitations`;
    expect(await sqlState(asRole(sql, 'authenticated', members.get('owner')!, hash))).toBe('42501');
  });

  it('an outsider reads nothing of the organisation, and a removed member nothing any more', async () => {
    for (const table of [...TABLES, 'organisation_invitations']) {
      expect({ table, n: await asRole(sql, 'authenticated', outsider, countWhere(table, org)) }).toEqual({ table, n: 0 });
    }
    const leaver = await createUser(sql);
    await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${org}, ${leaver}, 'viewer')`;
    expect(await asRole(sql, 'authenticated', leaver, countWhere('agents', org))).toBe(1);
    await sql`select gateway.remove_member(${org}, 'viewer', ${leaver})`;
    expect(await asRole(sql, 'authenticated', leaver, countWhere('agents', org))).toBe(0);
  });

  it('private.has_role ranks the roles: a developer has viewer and developer, not admin', async () => {
    const has = (min: OrganisationRole) => (tx: Sql) => tx`select private.has_role(${org}, ${min}) as ok`.then((r) => r[0]!.ok as boolean);
    const dev = members.get('developer')!;
    expect([await asRole(sql, 'authenticated', dev, has('viewer')), await asRole(sql, 'authenticated', dev, has('developer')), await asRole(sql, 'authenticated', dev, has('admin'))]).toEqual([true, true, false]);
    expect(await asRole(sql, 'authenticated', outsider, has('viewer'))).toBe(false);
  });
});

describe('policies and keys name organisations', () => {
  it('no policy ties a row to auth.uid() directly, and no owner_id references auth.users (owner_id is an organisation)', async () => {
    const direct = await sql`select schemaname || '.' || tablename || ': ' || policyname as p from pg_policies
      where coalesce(qual, '') || coalesce(with_check, '') ~ 'auth\.uid\(\)' order by 1`;
    expect(direct.map((r) => r.p)).toEqual([]);
    const toUsers = await sql`select c.conrelid::regclass::text as t from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
      where c.contype = 'f' and c.confrelid = 'auth.users'::regclass and a.attname = 'owner_id'`;
    expect(toUsers.map((r) => r.t)).toEqual([]);
  });
});

describe('owners', () => {
  it('the last owner cannot be demoted or removed, by a function or by a direct write', async () => {
    expect(await sqlState(sql`select * from gateway.change_member_role(${org}, 'owner', ${owner}, 'admin')`)).toBe('WG008');
    expect(await sqlState(sql`select gateway.remove_member(${org}, 'owner', ${owner})`)).toBe('WG008');
    expect(await sqlState(sql`update public.organisation_members set role = 'viewer' where organisation_id = ${org} and user_id = ${owner}`)).toBe('WG008');
    expect(await sqlState(sql`delete from public.organisation_members where organisation_id = ${org} and user_id = ${owner}`)).toBe('WG008');
    expect((await sql`select role from public.organisation_members where organisation_id = ${org} and user_id = ${owner}`)[0]!.role).toBe('owner');
  });

  it('an organisation cannot be created without an owner', async () => {
    expect(await sqlState(sql`insert into public.organisations (name) values ('orphan')`)).toBe('WG008');
  });

  it('only an owner grants or touches the owner role; an admin manages the other roles', async () => {
    const admin = members.get('admin')!;
    const viewer = members.get('viewer')!;
    expect(await sqlState(sql`select * from gateway.change_member_role(${org}, 'admin', ${viewer}, 'owner')`)).toBe('WG008');
    expect(await sqlState(sql`select gateway.remove_member(${org}, 'admin', ${owner})`)).toBe('WG008');
    const [row] = await sql`select * from gateway.change_member_role(${org}, 'admin', ${viewer}, 'developer')`;
    expect(row).toMatchObject({ user_id: viewer, role: 'developer' });
    await sql`select * from gateway.change_member_role(${org}, 'admin', ${viewer}, 'viewer')`;
    expect(admin).toBeDefined();
  });

  it('a second owner lets the first one step down', async () => {
    const [{ id: team }] = (await sql`select id from gateway.create_organisation(${owner}, 'Handover', 5)`) as unknown as [{ id: string }];
    const next = await createUser(sql);
    await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${team}, ${next}, 'admin')`;
    await sql`select * from gateway.change_member_role(${team}, 'owner', ${next}, 'owner')`;
    await sql`select * from gateway.change_member_role(${team}, 'owner', ${owner}, 'viewer')`;
    const rows = await sql`select user_id, role from public.organisation_members where organisation_id = ${team} order by role`;
    expect(rows.map((r) => [r.user_id, r.role])).toEqual([[next, 'owner'], [owner, 'viewer']]);
  });
});

describe('invitations', () => {
  it('stores the address lower-case and the token as its SHA-256 only; a new one replaces the open one', async () => {
    const first = await invite('  New.Person@Example.TEST ', 'developer');
    const second = await invite('new.person@example.test', 'viewer');
    const rows = await sql`select id, email, token_hash, revoked_at from public.organisation_invitations where email = 'new.person@example.test' order by created_at`;
    expect(rows.map((r) => r.id)).toEqual([first.id, second.id]);
    expect(rows[0]!.revoked_at).not.toBeNull();
    expect(rows[1]!.revoked_at).toBeNull();
    expect(Buffer.from(rows[1]!.token_hash as Uint8Array).equals(sha(second.token))).toBe(true);
  });

  it('an admin cannot invite an owner; an address of a member cannot be invited', async () => {
    expect(await sqlState(invite('boss@example.test', 'owner', 'admin'))).toBe('WG008');
    const [m] = await sql`select email from auth.users where id = ${members.get('viewer')!}`;
    expect(await sqlState(invite(m!.email as string, 'viewer'))).toBe('WG008');
  });

  it('is accepted once, by the invited address only, before it expires', async () => {
    const email = `guest-${randomBytes(3).toString('hex')}@example.test`;
    const guest = await createUser(sql, email);
    const { token } = await invite(email, 'developer');
    expect(await sqlState(sql`select * from gateway.accept_invitation(${outsider}, 'someone.else@example.test', ${sha(token)})`)).toBe('WG009');
    expect(await sqlState(sql`select * from gateway.accept_invitation(${guest}, ${email}, ${sha('wrong')})`)).toBe('WG009');
    const [joined] = await sql`select * from gateway.accept_invitation(${guest}, ${email.toUpperCase()}, ${sha(token)})`;
    expect(joined).toMatchObject({ id: org, role: 'developer' });
    expect(await sqlState(sql`select * from gateway.accept_invitation(${guest}, ${email}, ${sha(token)})`)).toBe('WG009');
    expect(await asRole(sql, 'authenticated', guest, countWhere('agents', org))).toBe(1);

    const late = `late-${randomBytes(3).toString('hex')}@example.test`;
    const lateUser = await createUser(sql, late);
    const expired = await invite(late, 'viewer');
    await sql`update public.organisation_invitations set expires_at = now() - interval '1 second' where id = ${expired.id}`;
    expect(await sqlState(sql`select * from gateway.accept_invitation(${lateUser}, ${late}, ${sha(expired.token)})`)).toBe('WG009');
    const revoked = await invite(late, 'viewer');
    await sql`select gateway.revoke_invitation(${org}, ${revoked.id})`;
    expect(await sqlState(sql`select * from gateway.accept_invitation(${lateUser}, ${late}, ${sha(revoked.token)})`)).toBe('WG009');
  });
});

describe('alert mails', () => {
  it('"owners" means the owners of the event\'s organisation, not its other members', async () => {
    const connector = await registerConnector(sql);
    await sql`select gateway.configure_alert_emails(${connector}, '{alert.conflict}', '{}', true)`;
    const [event] = await sql`select gateway.emit_event(${org}, ${agent}, 'alert.conflict', 'warning', '{}'::jsonb) as id`;
    const rows = await sql`select recipient from private.alert_emails where event_id = ${event!.id}`;
    const [mail] = await sql`select email from auth.users where id = ${owner}`;
    expect(rows.map((r) => r.recipient)).toEqual([mail!.email]);
  });
});

describe('deleting a user', () => {
  it('takes their personal organisation and its rows with them, and hands a shared one to the next member', async () => {
    const leaver = await createUser(sql);
    const personalAgent = await createRunningAgent(sql, leaver);
    const [{ id: shared }] = (await sql`select id from gateway.create_organisation(${leaver}, 'Shared', 5)`) as unknown as [{ id: string }];
    const heir = await createUser(sql);
    await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${shared}, ${heir}, 'developer')`;
    const sharedAgent = await createRunningAgent(sql, shared);

    await sql`delete from auth.users where id = ${leaver}`;

    expect(await sql`select id from public.organisations where id = ${leaver}`).toHaveLength(0);
    expect(await sql`select id from public.agents where id = ${personalAgent}`).toHaveLength(0);
    expect(await sql`select id from public.agents where id = ${sharedAgent}`).toHaveLength(1);
    const [heirRow] = await sql`select role from public.organisation_members where organisation_id = ${shared} and user_id = ${heir}`;
    expect(heirRow!.role).toBe('owner');
  });
});
