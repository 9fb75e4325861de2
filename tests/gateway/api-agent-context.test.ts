/** Seed 004: an agent-bound API key works in its agent's context without naming it (/v1/agent/…). */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
let owner: { id: string; token: string };
let agent: string;
let other: string;

beforeAll(async () => {
  api = await createApiHarness();
  owner = await api.user();
  agent = await api.agent(owner.token, 'bound');
  other = await api.agent(owner.token, 'other');
});
afterAll(() => api?.close());

test('a bound key sends, reads and lists messages and reads its session without the agent in the URL', async () => {
  const { key } = await api.apiKey(owner.token, { name: 'bound', scopes: ['messages:send', 'messages:read', 'sessions:read'], agentId: agent });
  const sent = await api.call('POST', '/v1/agent/messages', { token: key, body: { to: '+447700900123', type: 'text', text: 'hello' } });
  expect(sent.status).toBe(202);
  const { id } = (await sent.json()) as { id: string };
  expect(sent.headers.get('location')).toBe(`/gateway/v1/agents/${agent}/messages/${id}`);

  const [row] = await api.db.sql<{ agent_id: string }[]>`select agent_id from public.messages where id = ${id}`;
  expect(row?.agent_id).toBe(agent);
  expect((await api.call('GET', `/v1/agent/messages/${id}`, { token: key })).status).toBe(200);
  const listed = (await (await api.call('GET', '/v1/agent/messages', { token: key })).json()) as { data: Array<{ id: string }> };
  expect(listed.data.map((m) => m.id)).toEqual([id]);
  const session = await api.call('GET', '/v1/agent/session', { token: key });
  expect(session.status).toBe(200);
});

test('every rule of the named route still applies: scopes, validation, the one error shape', async () => {
  const { key } = await api.apiKey(owner.token, { name: 'reader', scopes: ['messages:read'], agentId: agent });
  const refused = await api.call('POST', '/v1/agent/messages', { token: key, body: { to: '+447700900123', type: 'text', text: 'x' } });
  expect(refused.status).toBe(403);
  const { key: sender } = await api.apiKey(owner.token, { name: 'sender', scopes: ['messages:send'], agentId: agent });
  const invalid = await api.call('POST', '/v1/agent/messages', { token: sender, body: { to: 'nobody', type: 'text', text: 'x' } });
  expect(invalid.status).toBe(400);
  expect((await errorOf(invalid)).code).toBe('invalid_request');
});

test('a key of the whole account or a signed-in user must name the agent: 400 agent_required, nothing written', async () => {
  const { key } = await api.apiKey(owner.token, { name: 'account-wide', scopes: ['messages:send'] });
  for (const token of [key, owner.token]) {
    const res = await api.call('POST', '/v1/agent/messages', { token, body: { to: '+447700900123', type: 'text', text: 'x' } });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('agent_required');
  }
  const [row] = await api.db.sql<{ n: number }[]>`select count(*)::int as n from public.messages where agent_id = ${other}`;
  expect(row?.n).toBe(0);
});

test('without credentials it is a 401 like any route', async () => {
  expect((await api.call('GET', '/v1/agent/messages')).status).toBe(401);
});
