/**
 * The send path after 20261202124000_send_path_statements.sql: gateway.enqueue_message checks
 * recipient, type and idempotency key itself (no subtransaction around the insert), so its checks
 * must stay those of the table's constraints; and one daily_stats update counts both the queued
 * message and the API call of gateway.api_send. After 20261202134000 a send runs no function
 * frame of its own but enqueue_message (the wake-up trigger's are the insert's). After
 * 20261202134100 the API's send checks its caller in the same statement (api_send_with_key,
 * api_send_as_member): refused callers write nothing, encrypted organisations are asked to seal.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createUser, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
});
afterAll(async () => db?.drop());

const constraint = async (name: string) =>
  (await sql`select pg_get_constraintdef(oid) as def from pg_constraint where conname = ${name} and conrelid = 'public.messages'::regclass`)[0]!.def as string;

const enqueue = (owner: string, agent: string, recipient: string, type: string, key: string | null = null) =>
  sql`select * from gateway.enqueue_message(${owner}, ${agent}, ${recipient}, ${type}, '{"text":"x"}'::jsonb, ${key})`;

describe("enqueue_message's own checks are the table's", () => {
  it('accepts every type messages_type_check allows, and refuses another one as invalid_argument', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const types = [...(await constraint('messages_type_check')).matchAll(/'([a-z]+)'::text/g)].map((m) => m[1]!);
    expect(types.length).toBeGreaterThan(5);
    for (const type of types) expect(await sqlState(enqueue(owner, agent, '15550001111', type))).toBeUndefined();
    expect(await sqlState(enqueue(owner, agent, '15550001111', 'sticker'))).toBe('WG005');
  });

  it('refuses what messages_recipient_check refuses as invalid_argument, and accepts both of its forms', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const def = await constraint('messages_recipient_check');
    // The patterns the function asks are the constraint's, literally.
    const fn = (await sql`select prosrc from pg_proc where oid = 'gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid, boolean)'::regprocedure`)[0]!.prosrc as string;
    for (const pattern of def.matchAll(/~ '([^']+)'::text/g)) expect(fn).toContain(`'${pattern[1]}'`);
    for (const bad of ['12345', '1234567890123456', '+15550001111', 'abc@EXAMPLE.com', 'a b@s.whatsapp.net']) {
      expect(await sqlState(enqueue(owner, agent, bad, 'text')), bad).toBe('WG005');
    }
    expect(await sqlState(enqueue(owner, agent, '120363000000000000@g.us', 'text'))).toBeUndefined();
  });

  it('refuses an idempotency key outside 1..255 characters as invalid_argument', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    expect(await sqlState(enqueue(owner, agent, '15550001111', 'text', ''))).toBe('WG005');
    expect(await sqlState(enqueue(owner, agent, '15550001111', 'text', 'k'.repeat(256)))).toBe('WG005');
    expect(await sqlState(enqueue(owner, agent, '15550001111', 'text', 'k'.repeat(255)))).toBeUndefined();
  });
});

/** The SQL and plpgsql functions one statement ran, by name, counted in its transaction (track_functions = all). */
async function functionsCalledBy(run: (tx: Sql) => Promise<unknown>): Promise<string[]> {
  let called: string[] = [];
  await sql.begin(async (tx) => {
    await tx`set local track_functions = 'all'`;
    await run(tx as unknown as Sql);
    called = (await tx`select n.nspname || '.' || p.proname as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      join pg_language l on l.oid = p.prolang
      where l.lanname in ('sql', 'plpgsql') and pg_stat_get_xact_function_calls(p.oid) > 0 order by 1`).map((r) => r.fn as string);
  });
  return called;
}

describe('the frames of one send', () => {
  it('enqueue_message reads agent, plan and policy and takes the bucket itself: no owned_agent, content_policy_of or take_token frame', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const called = await functionsCalledBy((tx) => tx`select * from gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb, 'k', 'h')`);
    // The insert's trigger wakes connectors: NOTIFY and the Realtime broadcast.
    expect(called).toEqual(['gateway.enqueue_message', 'private.notify_message_wake', 'private.wake_connectors', 'realtime.send']);
  });
});

const stats = async (agent: string) =>
  (await sql`select queued, api_calls from public.daily_stats where agent_id = ${agent}`)[0] as { queued: number; api_calls: number } | undefined;

describe('daily_stats of the send path', () => {
  const apiSend = (owner: string, agent: string, key: string, hash: string) =>
    sql`select * from gateway.api_send(${owner}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb, ${key}, ${hash})`;

  it('api_send counts the message and the call; a replay counts a call only; enqueue_message counts no call; a refused send counts nothing', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    await apiSend(owner, agent, 'k1', 'h1');
    expect(await stats(agent)).toEqual({ queued: 1, api_calls: 1 });
    const [replay] = await apiSend(owner, agent, 'k1', 'h1');
    expect(replay!.replayed).toBe(true);
    expect(await stats(agent)).toEqual({ queued: 1, api_calls: 2 });
    await enqueue(owner, agent, '15550001111', 'text');
    expect(await stats(agent)).toEqual({ queued: 2, api_calls: 2 });
    expect(await sqlState(apiSend(owner, agent, 'k1', 'another body'))).toBe('WG006');
    expect(await sqlState(sql`select * from gateway.api_send(${owner}, ${agent}, 'nope', 'text', '{"text":"x"}'::jsonb)`)).toBe('WG005');
    expect(await stats(agent)).toEqual({ queued: 2, api_calls: 2 });
  });

  it('concurrent api_sends to one agent are all counted', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    await sql`update public.plans set messages_per_minute = 1000 where id = (select plan_id from public.accounts where user_id = ${owner})`;
    const pool = db.connect({ max: 8 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => pool`select * from gateway.api_send(${owner}, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb, ${`c${i}`}, 'h')`));
    await pool.end();
    expect(await stats(agent)).toEqual({ queued: 40, api_calls: 40 });
  });
});

describe('sends that check their caller', () => {
  const hash = () => new Uint8Array(randomBytes(32));
  async function keyOf(owner: string, o: { scopes?: string[]; agent?: string | null; revoked?: boolean; expired?: boolean } = {}) {
    const prefix = randomBytes(6).toString('hex');
    const h = hash();
    await sql`insert into private.api_keys (owner_id, agent_id, name, prefix, key_hash, scopes, revoked_at, expires_at)
      values (${owner}, ${o.agent ?? null}, 'k', ${prefix}, ${h}, ${o.scopes ?? ['messages:send']}::text[],
              ${o.revoked ? new Date() : null}, ${o.expired ? new Date(Date.now() - 1000) : null})`;
    return { prefix, hash: h };
  }
  const withKey = (k: { prefix: string; hash: Uint8Array }, agent: string, o: { organisation?: string; content?: unknown } = {}) =>
    sql`select * from gateway.api_send_with_key(${k.prefix}, ${k.hash}, ${o.organisation ?? null}::uuid, ${agent}, '15550001111', 'text',
      ${o.content === undefined ? sql.json({ text: 'x' }) : o.content === null ? null : sql.json(o.content as never)}, null, null)`;
  const asMember = (user: string, organisation: string, agent: string, content: unknown = { text: 'x' }) =>
    sql`select * from gateway.api_send_as_member(${user}, ${organisation}, ${agent}, '15550001111', 'text', ${content === null ? null : sql.json(content as never)}, null, null)`;
  const written = async (agent: string) =>
    (await sql`select (select count(*) from public.messages where agent_id = ${agent})::int as messages,
      (select count(*) from public.daily_stats where agent_id = ${agent})::int as stats,
      (select count(*) from private.rate_limit_buckets where key = ${`send:${agent}`})::int as buckets`)[0];

  it('refuses, writing nothing: unknown prefix, wrong hash, revoked, expired, another organisation, no scope, bound to another agent', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const other = await createAgent(sql, owner, 'other');
    const good = await keyOf(owner);
    const refusals = [
      withKey({ prefix: 'nosuchprefix', hash: good.hash }, agent),
      withKey({ prefix: good.prefix, hash: hash() }, agent),
      withKey(await keyOf(owner, { revoked: true }), agent),
      withKey(await keyOf(owner, { expired: true }), agent),
      withKey(good, agent, { organisation: await createUser(sql) }),
      withKey(await keyOf(owner, { scopes: ['messages:read', 'agents:read'] }), agent),
      withKey(await keyOf(owner, { agent: other }), agent),
    ];
    for (const [i, refusal] of refusals.entries()) expect({ i, outcome: (await refusal)[0]!.outcome }).toEqual({ i, outcome: 'refused' });
    expect(await written(agent)).toEqual({ messages: 0, stats: 0, buckets: 0 });
    const [sent] = await withKey(good, agent, { organisation: owner });
    expect(sent).toMatchObject({ outcome: 'sent', owner_id: owner, replayed: false, status: 'queued' });
    expect(await written(agent)).toEqual({ messages: 1, stats: 1, buckets: 1 });
    expect((await stats(agent))).toEqual({ queued: 1, api_calls: 1 });
    expect((await sql`select last_used_at from private.api_keys where prefix = ${good.prefix}`)[0]!.last_used_at).not.toBeNull();
    const [star] = await withKey(await keyOf(owner, { scopes: ['*'], agent }), agent);
    expect(star!.outcome).toBe('sent');
  });

  it('a member sends with the developer role or more; a viewer or a stranger is refused', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const viewer = await createUser(sql);
    const developer = await createUser(sql);
    await sql`insert into public.organisation_members (organisation_id, user_id, role) values (${owner}, ${viewer}, 'viewer'), (${owner}, ${developer}, 'developer')`;
    expect((await asMember(viewer, owner, agent))[0]!.outcome).toBe('refused');
    expect((await asMember(await createUser(sql), owner, agent))[0]!.outcome).toBe('refused');
    expect(await written(agent)).toEqual({ messages: 0, stats: 0, buckets: 0 });
    expect((await asMember(developer, owner, agent))[0]).toMatchObject({ outcome: 'sent', owner_id: owner });
    expect((await asMember(owner, owner, agent))[0]).toMatchObject({ outcome: 'sent', owner_id: owner });
  });

  it("an encrypted organisation's unsealed content is answered 'seal' and not stored; null content asks for the policy", async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const key = await keyOf(owner);
    expect((await withKey(key, agent, { content: null }))[0]).toMatchObject({ outcome: 'plain', owner_id: owner, id: null });
    await sql`insert into public.content_policies (owner_id, policy) values (${owner}, 'encrypted')`;
    expect((await withKey(key, agent))[0]).toMatchObject({ outcome: 'seal', owner_id: owner, id: null });
    expect((await withKey(key, agent, { content: null }))[0]!.outcome).toBe('seal');
    expect((await asMember(owner, owner, agent))[0]!.outcome).toBe('seal');
    expect(await written(agent)).toEqual({ messages: 0, stats: 0, buckets: 0 });
    const [sealed] = await withKey(key, agent, { content: { sealed: { v: 1, ct: 'AAAA' } } });
    expect(sealed!.outcome).toBe('sent');
  });

  it('one statement, one frame more than enqueue_message', async () => {
    const owner = await createUser(sql);
    const agent = await createAgent(sql, owner);
    const key = await keyOf(owner);
    const called = await functionsCalledBy((tx) => tx`select * from gateway.api_send_with_key(${key.prefix}, ${key.hash}, null, ${agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`);
    expect(called).toEqual(['gateway.api_send_with_key', 'gateway.enqueue_message', 'private.notify_message_wake', 'private.wake_connectors', 'realtime.send']);
  });
});
