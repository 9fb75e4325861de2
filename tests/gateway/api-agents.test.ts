/** Renaming an agent: PATCH /v1/agents/{agentId}, the owner's signed-in user only, limited per agent. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEFAULT_CONFIG } from '../../edge-functions/gateway/types.ts';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };
let other: { id: string; token: string };

beforeAll(async () => {
  api = await createApiHarness({ limits: { ...DEFAULT_CONFIG.limits, agentRenames: { capacity: 3, windowSeconds: 3600 } } });
  me = await api.user();
  other = await api.user();
  await api.db.sql`update public.accounts set plan_id = 'max' where user_id = ${me.id}`;
});
afterAll(async () => {
  await api?.close();
});

const rename = (agent: string, body: unknown, token = me.token) => api.call('PATCH', `/v1/agents/${agent}`, { token, body });
const nameOf = async (agent: string) => ((await api.db.sql`select name from public.agents where id = ${agent}`)[0]?.name as string | undefined);

test('renames with the create rules (trimmed), shows the new name, counts the call and takes from the agent\'s bucket', async () => {
  const agent = await api.agent(me.token, 'before');
  const res = await rename(agent, { name: '  Support desk  ' });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.json()).toMatchObject({ id: agent, name: 'Support desk', status: 'disconnected', disabled: false });
  expect(res.headers.get('ratelimit-limit')).toBe('3');
  expect(res.headers.get('ratelimit-remaining')).toBe('2');
  const read = await api.call('GET', `/v1/agents/${agent}`, { token: me.token });
  expect(((await read.json()) as { name: string }).name).toBe('Support desk');
  const [stats] = await api.db.sql`select sum(api_calls)::int as calls from public.daily_stats where agent_id = ${agent}`;
  expect(stats!.calls).toBe(1);
});

test.each([
  ['an empty name', { name: '' }],
  ['only spaces', { name: '   ' }],
  ['101 characters', { name: 'x'.repeat(101) }],
  ['no name', {}],
  ['an unknown field', { name: 'ok', owner: 'me' }],
  ['a NUL character', { name: 'a\u0000b' }],
])('refuses %s with 400 and keeps the name', async (_what, body) => {
  const agent = await api.agent(me.token, 'kept');
  const res = await rename(agent, body);
  expect(res.status).toBe(400);
  expect((await errorOf(res)).code).toBe('invalid_request');
  expect(await nameOf(agent)).toBe('kept');
});

test('SQL refuses a blank name as well (invalid_argument), whoever calls it', async () => {
  const agent = await api.agent(me.token, 'kept');
  await expect(api.db.sql`select * from gateway.api_rename_agent(${me.id}, ${agent}, ${'  '})`).rejects.toMatchObject({ code: 'WG005' });
  expect(await nameOf(agent)).toBe('kept');
});

test("another user's agent and an unknown id are 404 and change nothing", async () => {
  const theirs = await api.agent(other.token, 'theirs');
  for (const id of [theirs, randomUUID()]) {
    const res = await rename(id, { name: 'mine now' });
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'No such agent' });
  }
  expect(await nameOf(theirs)).toBe('theirs');
});

test('an API key, even with every scope, cannot rename (403)', async () => {
  const agent = await api.agent(me.token, 'kept');
  const { key } = await api.apiKey(me.token, { name: 'all', scopes: ['*'] });
  const res = await rename(agent, { name: 'renamed by a key' }, key);
  expect(res.status).toBe(403);
  expect((await errorOf(res)).code).toBe('forbidden');
  expect(await nameOf(agent)).toBe('kept');
});

test('renames are limited per agent: 429 with headers once the bucket is empty, other agents unaffected', async () => {
  const agent = await api.agent(me.token, 'n0');
  for (let i = 1; i <= 3; i++) expect((await rename(agent, { name: `n${i}` })).status).toBe(200);
  const limited = await rename(agent, { name: 'n4' });
  expect(limited.status).toBe(429);
  expect(limited.headers.get('ratelimit-limit')).toBe('3');
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  expect((await errorOf(limited)).code).toBe('rate_limited');
  expect(await nameOf(agent)).toBe('n3');
  expect((await rename(await api.agent(me.token), { name: 'fresh' })).status).toBe(200);
});

test('is in the OpenAPI document with its request body', async () => {
  const doc = (await (await api.call('GET', '/openapi.json')).json()) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
  const path = Object.keys(doc.paths).find((p) => p.endsWith('/v1/agents/{agentId}'))!;
  expect(doc.paths[path]!.patch?.requestBody).toBeDefined();
});
