// Upgrading a populated database to organisations: built from the migrations before
// 20261202120000_organisations.sql, as a deployed project is, then filled with users, agents,
// sessions, messages, inbound messages, events, keys and webhooks; then the organisation
// migrations run. Every row must be intact, every user must own a one-member organisation with
// their id and plan, and still read their rows through RLS, and no more.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyBootstrap, repoRoot } from '../../scripts/db/migrate.ts';
import { withDatabase } from '../../scripts/db/server.ts';
import { createJwtVerifier } from '../../edge-functions/_shared/auth/jwt.ts';
import { createApp } from '../../edge-functions/gateway/app.ts';
import { createFolderMediaStore } from '../../kernel/node/media-folder-store.ts';
import { createKeyring } from '../../kernel/secret-box.ts';
import { API_ROLE, SUPABASE_URL } from '../helpers/api.ts';
import { asRole, claim, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

const FIRST = '20261202120000_organisations.sql';
const dir = path.join(repoRoot, 'supabase/migrations');
const name = `wg_orgs_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let sql: postgres.Sql;

// Every table holding tenant rows, and the column naming its owner.
const TENANT_TABLES = [
  'public.agents', 'public.whatsapp_sessions', 'public.messages', 'public.inbound_messages', 'public.events',
  'public.webhook_endpoints', 'public.webhook_deliveries', 'public.daily_stats', 'public.number_checks', 'private.api_keys',
];

async function apply(file: string) {
  await sql.unsafe(await readFile(path.join(dir, file), 'utf8'));
}

/** Every row of every tenant table, as text, in a stable order. */
async function snapshot(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of [...TENANT_TABLES, 'public.plans']) {
    const rows = await sql.unsafe(`select t::text as r from ${table} t order by 1`);
    out[table] = rows.map((r) => r.r as string);
  }
  return out;
}

const users: string[] = [];
let before: Record<string, string[]>;

beforeAll(async () => {
  const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = withDatabase(inject('pgAdminUrl'), name);
  await applyBootstrap(url);
  sql = postgres(url, { max: 2, onnotice: () => {} });
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql') && f < FIRST).sort()) await apply(file);

  // Three tenants as the old schema had them: each an account on a plan, with agents, sessions,
  // queued and received messages, events, an API key and a webhook with a delivery.
  const connector = await registerConnector(sql);
  for (const [i, plan] of (['basic', 'pro', 'max'] as const).entries()) {
    const user = await createUser(sql, `tenant${i}@example.test`);
    users.push(user);
    await sql`update public.accounts set plan_id = ${plan} where user_id = ${user}`;
    for (let a = 0; a < 2; a++) {
      const agent = await createRunningAgent(sql, user, `agent ${i}.${a}`);
      const epoch = (await claim(sql, connector, agent))!.toString();
      await sql`select * from gateway.enqueue_message(${user}, ${agent}, '15550001111', 'text', '{"text":"out"}'::jsonb)`;
      await sql`select gateway.record_inbound(${agent}, ${connector}, ${epoch}, ${sql.json([{ wa_message_id: `W${i}${a}`, chat_jid: '1@s.whatsapp.net', type: 'text' }])})`;
      await sql`insert into public.number_checks (agent_id, owner_id, numbers) values (${agent}, ${user}, ${['15550001111']})`;
    }
    await sql`insert into private.api_keys (owner_id, name, prefix, key_hash) values (${user}, 'k', ${`p${i}${randomBytes(4).toString('hex')}`}, ${randomBytes(32)})`;
    const [endpoint] = await sql`insert into public.webhook_endpoints (owner_id, url) values (${user}, 'https://example.com/hook') returning id`;
    const [event] = await sql`insert into public.events (owner_id, type) values (${user}, 'webhook.test') returning id`;
    await sql`insert into public.webhook_deliveries (endpoint_id, event_id, owner_id) values (${endpoint!.id}, ${event!.id}, ${user})`;
  }
  before = await snapshot();
  // The organisation migrations and every one after them: the API under test is today's.
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql') && f >= FIRST).sort()) await apply(file);
});
afterAll(async () => {
  await sql?.end();
  const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe(`migrations ${FIRST} and after on a populated database`, () => {
  it('keeps every tenant row exactly as it was', async () => {
    const after = await snapshot();
    for (const table of Object.keys(before)) expect({ table, rows: after[table] }).toEqual({ table, rows: before[table] });
    for (const table of TENANT_TABLES) expect({ table, some: before[table]!.length > 0 }).toEqual({ table, some: true });
  });

  it('gives every user an organisation with their id and plan, which they alone own', async () => {
    const rows = await sql`select o.id, o.plan_id, m.user_id, m.role from public.organisations o
      join public.organisation_members m on m.organisation_id = o.id where o.id = any(${users}::uuid[]) order by o.plan_id`;
    expect(rows.map((r) => [r.id, r.plan_id, r.user_id, r.role])).toEqual([
      [users[0], 'basic', users[0], 'owner'],
      [users[2], 'max', users[2], 'owner'],
      [users[1], 'pro', users[1], 'owner'],
    ]);
  });

  it('moves every owner_id foreign key to public.organisations, validated', async () => {
    const toUsers = await sql`select conrelid::regclass::text as t from pg_constraint where confrelid = 'auth.users'::regclass
      and conname like '%owner_id%'`;
    expect(toUsers).toEqual([]);
    const toOrgs = await sql`select conrelid::regclass::text as t, convalidated from pg_constraint
      where confrelid = 'public.organisations'::regclass and conname like '%owner_id_fkey' order by 1`;
    // The tenant tables populated above, and those the later migrations add (they reference
    // organisations from the start).
    const later = ['private.data_requests', 'public.content_policies'];
    expect(toOrgs.map((r) => r.t).sort()).toEqual([...TENANT_TABLES, ...later].map((t) => t.replace(/^public\./, '')).sort());
    expect(toOrgs.every((r) => r.convalidated)).toBe(true);
  });

  it('each user still reads exactly their own rows through RLS', async () => {
    for (const user of users) {
      for (const table of TENANT_TABLES.filter((t) => t.startsWith('public.') && t !== 'public.whatsapp_sessions')) {
        const [mine] = await sql.unsafe(`select count(*)::int as n from ${table} where owner_id = $1`, [user]);
        const seen = await asRole(sql, 'authenticated', user, (tx) =>
          tx.unsafe(`select count(*)::int as n, count(*) filter (where owner_id <> $1)::int as foreign from ${table}`, [user]));
        expect({ table, n: seen[0]!.n, foreign: seen[0]!.foreign }).toEqual({ table, n: mine!.n, foreign: 0 });
      }
      const sessions = await asRole(sql, 'authenticated', user, (tx) => tx`select count(*)::int as n from public.whatsapp_sessions`);
      expect(sessions[0]!.n).toBe(2);
    }
  });

  it('each user still reads and writes through the API, within the plan they had', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256', use: 'sig' };
    const apiSql = postgres(withDatabase(inject('pgAdminUrl'), name), { max: 2, prepare: false, username: API_ROLE, onnotice: () => {} });
    const mediaDir = mkdtempSync(path.join(tmpdir(), 'wg-orgs-'));
    try {
      const app = createApp({
        sql: apiSql, mediaStore: createFolderMediaStore(mediaDir), keyring: await createKeyring({ version: 1, key: new Uint8Array(randomBytes(32)) }),
        verifyJwt: createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks: { keys: [jwk] } }), logger: { info() {}, warn() {}, error() {} },
      });
      const call = async (user: string, method: string, route: string, body?: unknown) => {
        const token = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setSubject(user)
          .setIssuer(`${SUPABASE_URL}/auth/v1`).setAudience('authenticated').setIssuedAt().setExpirationTime('5m').sign(privateKey);
        return await app.request(`/gateway${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      };
      for (const [i, user] of users.entries()) {
        const list = (await (await call(user, 'GET', '/v1/agents')).json()) as { data: Array<{ id: string; name: string }> };
        expect(list.data.map((a) => a.name)).toEqual([`agent ${i}.0`, `agent ${i}.1`]);
        const messages = (await (await call(user, 'GET', `/v1/agents/${list.data[0]!.id}/messages`)).json()) as { data: unknown[] };
        expect(messages.data).toHaveLength(1);
        const orgs = (await (await call(user, 'GET', '/v1/organisations')).json()) as { data: Array<{ id: string; role: string; plan: string; personal: boolean }> };
        expect(orgs.data).toMatchObject([{ id: user, role: 'owner', plan: ['basic', 'pro', 'max'][i], personal: true }]);
        expect((await call(user, 'POST', '/v1/agents', { name: 'after the upgrade' })).status).toBe(201);
      }
      // basic allows 5 agents: two old, one new, two more, then the limit.
      for (let n = 0; n < 2; n++) expect((await call(users[0]!, 'POST', '/v1/agents', { name: `more ${n}` })).status).toBe(201);
      expect((await call(users[0]!, 'POST', '/v1/agents', { name: 'one too many' })).status).toBe(403);
    } finally {
      await apiSql.end();
      rmSync(mediaDir, { recursive: true, force: true });
    }
  });
});
