/**
 * The audit log (issue 13): every control-plane action writes exactly one entry in its own
 * transaction, whoever runs it (the gateway naming its actor, the Data API, the SQL editor);
 * nothing updates, deletes or truncates it but the retention, which logs itself; no entry holds
 * a secret.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { asRole, claim, createAgent, createRunningAgent, createUser, registerConnector, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
});
afterAll(async () => db?.drop());

interface Entry {
  action: string;
  owner_id: string | null;
  agent_id: string | null;
  target_id: string | null;
  actor_type: string;
  actor: string;
  client_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: Record<string, unknown>;
}

// Every user made by createUser signs up: their personal organisation and its owner are recorded
// (tested in 'organisations' below) and left out of the other tests' counts.
const SIGN_UP = ['organisation.created', 'member.added'];
const entriesOf = (owner: string) =>
  sql<Entry[]>`select * from public.audit_log where owner_id = ${owner} and not (action = any(${SIGN_UP})) order by created_at, action`;

/** Runs `action` and returns the entries it added for `owner` (newest last). */
async function added(owner: string, action: () => Promise<unknown>): Promise<Entry[]> {
  const before = (await entriesOf(owner)).length;
  await action();
  return (await entriesOf(owner)).slice(before);
}

const user = (id: string) => ({ type: 'user', id, ip: '203.0.113.7', user_agent: 'audit-test/1.0', request_id: 'req-12345678' });

describe('each action writes exactly one entry', () => {
  it('agents, session commands, API keys, webhooks and plans, with the gateway\'s actor or the operator', async () => {
    const owner = await createUser(sql);
    const actor = sql.json(user(owner));
    let agent = '';

    const created = await added(owner, async () => {
      [{ id: agent }] = await sql`select id from gateway.create_agent(gateway.as_actor(${actor}, ${owner}), 'first')`;
    });
    expect(created).toMatchObject([{ action: 'agent.created', agent_id: agent, actor_type: 'user', actor: owner, client_ip: '203.0.113.7', user_agent: 'audit-test/1.0', request_id: 'req-12345678', changes: { name: 'first' } }]);

    const steps: [string, () => Promise<unknown>, Partial<Entry>][] = [
      ['agent.renamed', () => sql`select * from gateway.api_rename_agent(gateway.as_actor(${actor}, ${owner}), ${agent}, 'second')`, { changes: { name: { from: 'first', to: 'second' } } }],
      ['session.link_requested', () => sql`select * from gateway.api_request_link(${owner}, ${agent}, 'pairing_code', '15550001234')`, { actor_type: 'operator', actor: 'postgres', changes: { method: 'pairing_code' } }],
      ['session.restart_requested', () => sql`select * from gateway.api_session_command(${owner}, ${agent}, 'restart', false)`, { changes: { force: false } }],
      ['session.disconnect_requested', () => sql`select * from gateway.api_session_command(${owner}, ${agent}, 'disconnect', true)`, { changes: { force: true } }],
      ['session.logout_requested', () => sql`select * from gateway.api_session_command(${owner}, ${agent}, 'logout', false)`, { changes: { force: false } }],
      ['plan.changed', () => sql`update public.accounts set plan_id = 'pro' where user_id = ${owner}`, { target_id: owner, changes: { plan: { from: 'basic', to: 'pro' } } }],
    ];
    for (const [action, run, expected] of steps) {
      const rows = await added(owner, run);
      expect({ action, rows }).toMatchObject({ action, rows: [{ action, agent_id: action === 'plan.changed' ? null : agent, ...expected }] });
    }

    // API keys: created once, revoked once (a repeated revocation changes nothing and adds nothing).
    let key = '';
    const keyCreated = await added(owner, async () => {
      [{ id: key }] = await sql`select id from gateway.create_api_key(gateway.as_actor(${actor}, ${owner}), ${agent}, 'ci', 'abcd1234', ${randomBytes(32)}, ${['*']}::text[])`;
    });
    expect(keyCreated).toMatchObject([{ action: 'api_key.created', target_id: key, agent_id: agent, changes: { name: 'ci', prefix: 'abcd1234', scopes: ['*'] } }]);
    const revoked = await added(owner, async () => {
      await sql`select * from gateway.revoke_api_key(${owner}, ${key})`;
      await sql`select * from gateway.revoke_api_key(${owner}, ${key})`;
    });
    expect(revoked).toMatchObject([{ action: 'api_key.revoked', target_id: key, changes: { prefix: 'abcd1234' } }]);

    // Webhooks: created (its first secret is no rotation), updated (what changed), rotated, deleted.
    const hook = randomUUID();
    const hookCreated = await added(owner, () => sql`
      select id from gateway.create_webhook_endpoint(${owner}, ${hook}, null, 'https://u:p@hooks.example.com:8443/in/tok3n?sig=abc', ${['*']}::text[], 'crm', ${randomBytes(40)}, 1)`);
    expect(hookCreated).toMatchObject([{ action: 'webhook.created', target_id: hook, changes: { url_origin: 'https://hooks.example.com:8443', event_types: ['*'], description: 'crm', enabled: true } }]);
    const updated = await added(owner, async () => {
      await sql`select id from gateway.update_webhook_endpoint(${owner}, ${hook}, ${sql.json({ enabled: false, event_types: ['message.*'] })})`;
      await sql`select id from gateway.update_webhook_endpoint(${owner}, ${hook}, ${sql.json({ enabled: false })})`;
    });
    expect(updated).toHaveLength(1);
    expect(updated[0]!.changes).toEqual({ enabled: { from: true, to: false }, event_types: { from: ['*'], to: ['message.*'] } });
    const rotated = await added(owner, () => sql`select * from gateway.api_rotate_webhook_secret(${owner}, ${hook}, ${randomBytes(40)}, 1, 3600)`);
    expect(rotated).toMatchObject([{ action: 'webhook.secret_rotated', target_id: hook }]);
    expect(rotated[0]!.changes).toHaveProperty('previous_secret_expires_at');
    const deleted = await added(owner, () => sql`select gateway.delete_webhook_endpoint(${owner}, ${hook})`);
    expect(deleted).toMatchObject([{ action: 'webhook.deleted', target_id: hook, changes: { url_origin: 'https://hooks.example.com:8443' } }]);

    // Deleting the agent takes its keys and webhooks with it: one entry, the agent's.
    await sql`select id from gateway.create_webhook_endpoint(${owner}, ${randomUUID()}, ${agent}, 'https://hooks.example.com/a', ${['*']}::text[], null, ${randomBytes(40)}, 1)`;
    const agentDeleted = await added(owner, () => sql`select gateway.delete_agent(gateway.as_actor(${sql.json({ type: 'api_key', id: 'wagprefx1' })}, ${owner}), ${agent})`);
    expect(agentDeleted).toMatchObject([{ action: 'agent.deleted', agent_id: agent, actor_type: 'api_key', actor: 'wagprefx1', client_ip: null, changes: { name: 'second' } }]);
  });

  it('a rolled-back or refused action leaves no entry', async () => {
    const owner = await createUser(sql);
    const rollback = new Error('rollback');
    await expect(sql.begin(async (tx) => {
      await tx`select id from gateway.create_agent(${owner}, 'gone')`;
      expect((await tx`select count(*)::int as n from public.audit_log where owner_id = ${owner} and not (action = any(${SIGN_UP}))`)[0]!.n).toBe(1);
      throw rollback;
    })).rejects.toBe(rollback);
    const agent = await createAgent(sql, owner, 'kept');
    expect(await sqlState(sql`select * from gateway.api_rename_agent(${owner}, ${agent}, '')`)).toBe('WG005');
    expect(await sqlState(sql`select * from gateway.api_session_command(${owner}, ${agent}, 'restart', false)`)).toBe('WG008');
    expect((await entriesOf(owner)).map((e) => e.action)).toEqual(['agent.created']);
  });

  it('the actor does not outlive its transaction', async () => {
    const owner = await createUser(sql);
    const pool = db.connect({ max: 1 });
    await pool`select id from gateway.create_agent(gateway.as_actor(${pool.json(user(owner))}, ${owner}), 'a')`;
    await pool`select id from gateway.create_agent(${owner}, 'b')`;
    expect((await entriesOf(owner)).map((e) => [e.changes.name, e.actor_type])).toEqual([['a', 'user'], ['b', 'operator']]);
    expect(await sqlState(sql`select gateway.as_actor(${sql.json({ type: 'admin', id: 'x' })}, ${owner})`)).toBe('WG005');
  });

  it('a Data API caller is named by its JWT: the service role as operator, with the client address and user agent', async () => {
    const owner = await createUser(sql);
    await sql`select gateway.ensure_account(${owner})`;
    await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: 'service_role' })}, true)`;
      await tx`select set_config('request.headers', ${JSON.stringify({ 'x-forwarded-for': '198.51.100.1, 192.0.2.9', 'user-agent': 'postgrest-client' })}, true)`;
      await tx.unsafe('set local role service_role');
      await tx`update public.accounts set plan_id = 'max' where user_id = ${owner}`;
    });
    expect(await entriesOf(owner)).toMatchObject([{ action: 'plan.changed', actor_type: 'operator', actor: 'service_role', client_ip: '192.0.2.9', user_agent: 'postgrest-client' }]);
  });

  it('operator functions record themselves once, as the database role; a dry run records nothing', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const calls: [string, () => Promise<unknown>][] = [
      ['ops.disable_agent', () => sql`select ops.disable_agent(${agent}, 'abuse report')`],
      ['ops.enable_agent', () => sql`select ops.enable_agent(${agent})`],
      ['ops.force_release_session', () => sql`select ops.force_release_session(${agent})`],
      ['ops.requeue_failed_messages', () => sql`select ops.requeue_failed_messages(${agent})`],
      ['ops.prune_signal_keys', () => sql`select * from ops.prune_signal_keys(${agent})`],
      ['ops.emergency_key_cleanup', () => sql`select ops.emergency_key_cleanup(${agent}, false)`],
    ];
    for (const [action, call] of calls) {
      const rows = await added(owner, call);
      expect({ action, rows }).toMatchObject({ action, rows: [{ action, agent_id: agent, actor_type: 'operator', actor: 'postgres' }] });
    }
    expect(await added(owner, () => sql`select ops.emergency_key_cleanup(${agent})`)).toEqual([]);
    expect(await added(owner, () => sqlState(sql`select ops.disable_agent(${agent}, '')`))).toEqual([]);
    const [disabled] = (await entriesOf(owner)).filter((e) => e.action === 'ops.disable_agent');
    expect(disabled!.changes).toEqual({ reason: 'abuse report' });
  });

  it('restoring and cancelling key cleanups are recorded too', async () => {
    const owner = await createUser(sql);
    const agent = await createRunningAgent(sql, owner);
    const connector = await registerConnector(sql);
    const epoch = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.write_signal_keys(${agent}, ${connector}, ${epoch}, ${['session']}::text[], ${['a']}::text[], ${sql.array([randomBytes(40)], 1001)}::bytea[], ${[1]}::int[])`;
    await sql`update private.signal_keys set updated_at = now() - interval '30 days' where agent_id = ${agent}`;
    await sql`select gateway.release_sessions(${connector})`;
    const [pruned] = await sql`select * from ops.prune_signal_keys(${agent})`;
    expect(pruned!.deleted).toBe(1);
    const restored = await added(owner, () => sql`select ops.restore_signal_keys(${pruned!.cleanup_id})`);
    expect(restored).toMatchObject([{ action: 'ops.restore_signal_keys', agent_id: agent, target_id: pruned!.cleanup_id, changes: { restored: 1 } }]);

    // A session someone holds: the procedure stops it first, and can be cancelled meanwhile.
    const running = await createAgent(sql, owner, 'running');
    await sql`select gateway.request_link(${owner}, ${running}, 'qr')`;
    await claim(sql, connector, running);
    await sql`select ops.emergency_key_cleanup(${running}, false)`;
    const cancelled = await added(owner, () => sql`select ops.cancel_emergency_key_cleanup(${running})`);
    expect(cancelled).toMatchObject([{ action: 'ops.cancel_emergency_key_cleanup', agent_id: running, changes: { restored_desired_state: 'connected' } }]);
  });
});

describe('append-only', () => {
  it('refuses UPDATE, DELETE and TRUNCATE to the superuser, in replica mode and inside functions', async () => {
    const owner = await createUser(sql);
    await createAgent(sql, owner);
    const [{ su }] = await sql<[{ su: boolean }]>`select rolsuper as su from pg_roles where rolname = current_user`;
    expect(su).toBe(true);
    const attempts = [
      () => sql`update public.audit_log set actor = 'someone else'`,
      () => sql`delete from public.audit_log where owner_id = ${owner}`,
      () => sql`truncate public.audit_log`,
      () => sql.unsafe(`do $$ begin delete from public.audit_log; end $$`),
      () => sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`delete from public.audit_log`;
      }),
      // Naming the retention's cutoff is not enough: the DELETE must be the retention's own.
      () => sql.begin(async (tx) => {
        await tx`select set_config('wa_gateway.audit_prune_before', '2999-01-01', true)`;
        await tx`delete from public.audit_log`;
      }),
    ];
    for (const attempt of attempts) expect(await sqlState(attempt())).toBe('42501');
    expect(await entriesOf(owner)).toHaveLength(1);
  });
});

describe('retention', () => {
  it('gateway.prune_audit_log deletes only entries older than the retention and logs that it did', async () => {
    const owner = await createUser(sql);
    await createAgent(sql, owner);
    await sql`
      insert into public.audit_log (created_at, owner_id, action, actor_type, actor)
      values (now() - interval '40 days', ${owner}, 'plan.changed', 'operator', 'postgres'),
             (now() - interval '31 days', ${owner}, 'plan.changed', 'operator', 'postgres'),
             (now() - interval '29 days', ${owner}, 'plan.changed', 'operator', 'postgres')`;
    const [{ total }] = await sql<[{ total: number }]>`select count(*)::int as total from public.audit_log where created_at < now() - interval '30 days'`;
    expect(total).toBe(2);
    const [{ deleted }] = await sql<[{ deleted: number }]>`select gateway.prune_audit_log(30) as deleted`;
    expect(deleted).toBe(2);
    expect((await entriesOf(owner)).map((e) => e.action)).toEqual(['plan.changed', 'agent.created']);
    const [log] = await sql<Entry[]>`select * from public.audit_log where action = 'audit_log.pruned'`;
    expect(log).toMatchObject({ owner_id: null, actor_type: 'operator', actor: 'postgres', changes: { retention_days: 30, deleted: 2 } });
    // Nothing old left: nothing deleted, nothing logged; a retention under a day is refused.
    expect((await sql`select gateway.prune_audit_log(30) as deleted`)[0]!.deleted).toBe(0);
    expect((await sql`select count(*)::int as n from public.audit_log where action = 'audit_log.pruned'`)[0]!.n).toBe(1);
    expect(await sqlState(sql`select gateway.prune_audit_log(0)`)).toBe('WG005');
  });
});

describe('no secrets', () => {
  it('no entry holds a key hash, a webhook secret ciphertext or a pairing phone number', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const hash = randomBytes(32);
    const first = randomBytes(40);
    const second = randomBytes(40);
    const hook = randomUUID();
    await sql`select id from gateway.create_api_key(${owner}, null, 'k', 'secretpx', ${hash}, ${['*']}::text[])`;
    await sql`select id from gateway.create_webhook_endpoint(${owner}, ${hook}, null, 'https://hooks.example.com/T0/B0/s3cr3tpath?token=qwerty', ${['*']}::text[], null, ${first}, 1)`;
    await sql`select * from gateway.api_rotate_webhook_secret(${owner}, ${hook}, ${second}, 1, 60)`;
    await sql`select * from gateway.api_request_link(${owner}, ${agent}, 'pairing_code', '15557654321')`;
    const [{ text }] = await sql<[{ text: string }]>`select string_agg(l::text, ' ') as text from public.audit_log l where owner_id = ${owner}`;
    expect(text).toContain('webhook.secret_rotated');
    for (const secret of [hash, first, second]) {
      expect(text).not.toContain(secret.toString('hex'));
      expect(text).not.toContain(secret.toString('base64'));
    }
    for (const fragment of ['s3cr3tpath', 'qwerty', '15557654321', '7654321']) expect(text).not.toContain(fragment);
  });
});

describe('reading', () => {
  it('owners read their entries through the Data API; others and anon read none', async () => {
    const alice = await createUser(sql);
    const bob = await createUser(sql);
    await createAgent(sql, alice);
    const read = (tx: Sql) => tx`select action, owner_id from public.audit_log where not (action = any(${SIGN_UP}))`;
    expect(await asRole(sql, 'authenticated', alice, read)).toEqual([{ action: 'agent.created', owner_id: alice }]);
    expect(await asRole(sql, 'authenticated', bob, read)).toEqual([]);
    expect(await sqlState(asRole(sql, 'anon', null, read))).toBe('42501');
    expect(await sqlState(asRole(sql, 'service_role', null, (tx) => tx`delete from public.audit_log`))).toBe('42501');
  });
});

describe('organisations', () => {
  const actions = async (org: string) =>
    (await sql<Entry[]>`select * from public.audit_log where owner_id = ${org} order by created_at`).map((e) => [e.action, e.changes]);

  it('a sign-up records its personal organisation and owner; members, roles and invitations are recorded', async () => {
    const owner = await createUser(sql);
    const other = await createUser(sql);
    expect((await actions(owner)).sort()).toEqual([
      ['member.added', { user_id: owner, role: 'owner' }],
      ['organisation.created', { name: expect.any(String), plan: 'basic' }],
    ]);
    const before = (await actions(owner)).length;
    await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${owner}, ${other}, 'viewer')`;
    await sql`update public.organisation_members set role = 'admin' where organisation_id = ${owner} and user_id = ${other}`;
    await sql`update public.organisation_members set role = 'admin' where organisation_id = ${owner} and user_id = ${other}`; // no change, no entry
    await sql`delete from public.organisation_members where organisation_id = ${owner} and user_id = ${other}`;
    const [invite] = await sql<[{ id: string }]>`
      insert into public.organisation_invitations (organisation_id, email, role, token_hash, expires_at)
      values (${owner}, 'new@example.com', 'developer', ${randomBytes(32)}, now() + interval '1 day') returning id`;
    await sql`update public.organisation_invitations set revoked_at = now() where id = ${invite!.id}`;
    await sql`update public.organisations set name = 'Renamed' where id = ${owner}`;
    expect((await actions(owner)).slice(before)).toEqual([
      ['member.added', { user_id: other, role: 'viewer' }],
      ['member.role_changed', { user_id: other, role: { from: 'viewer', to: 'admin' } }],
      ['member.removed', { user_id: other, role: 'admin' }],
      ['invitation.created', { email: 'new@example.com', role: 'developer', expires_at: expect.any(String) }],
      ['invitation.revoked', { email: 'new@example.com', role: 'developer' }],
      ['organisation.renamed', { name: { from: expect.any(String), to: 'Renamed' } }],
    ]);
    const [{ text }] = await sql<[{ text: string }]>`select string_agg(l::text, ' ') as text from public.audit_log l where owner_id = ${owner}`;
    expect(text).not.toContain('token_hash');
  });

  it('owners and admins read the organisation\'s entries; developers and viewers read none', async () => {
    const owner = await createUser(sql);
    const [admin, developer, viewer] = [await createUser(sql), await createUser(sql), await createUser(sql)];
    for (const [user, role] of [[admin, 'admin'], [developer, 'developer'], [viewer, 'viewer']] as const)
      await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${owner}, ${user}, ${role})`;
    await createAgent(sql, owner);
    const read = (tx: Sql) => tx`select action from public.audit_log where owner_id = ${owner} and action = 'agent.created'`;
    expect(await asRole(sql, 'authenticated', owner, read)).toEqual([{ action: 'agent.created' }]);
    expect(await asRole(sql, 'authenticated', admin, read)).toEqual([{ action: 'agent.created' }]);
    expect(await asRole(sql, 'authenticated', developer, read)).toEqual([]);
    expect(await asRole(sql, 'authenticated', viewer, read)).toEqual([]);
  });
});
