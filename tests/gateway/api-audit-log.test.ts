/**
 * The audit log through the API (issue 13): actions over HTTP record the actor (the user, or the
 * API key by prefix) with the client address and user agent; GET /v1/audit-log lists an
 * account's entries with filters and cursor pagination, to signed-in users only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };

beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
});
afterAll(async () => {
  await api?.close();
});

interface Entry {
  id: string;
  createdAt: string;
  action: string;
  agentId: string | null;
  targetId: string | null;
  actor: { type: string; id: string };
  clientIp: string | null;
  userAgent: string | null;
  requestId: string | null;
  changes: Record<string, unknown>;
}

const headers = { 'user-agent': 'audit-client/2.0', 'x-forwarded-for': '10.9.9.9, 203.0.113.50' };

async function list(query = '', token = me.token): Promise<{ data: Entry[]; nextCursor: string | null }> {
  const res = await api.call('GET', `/v1/audit-log${query}`, { token });
  expect(res.status).toBe(200);
  return (await res.json()) as { data: Entry[]; nextCursor: string | null };
}

describe('actions over HTTP', () => {
  it('a signed-in user\'s actions name the user, the proxy-reported address, the user agent and the request id', async () => {
    const created = await api.call('POST', '/v1/agents', { token: me.token, body: { name: 'desk' }, headers: { ...headers, 'x-request-id': 'audit-request-0001' } });
    expect(created.status).toBe(201);
    const agent = ((await created.json()) as { id: string }).id;
    const calls: [string, string, string, unknown][] = [
      ['agent.renamed', 'PATCH', `/v1/agents/${agent}`, { name: 'front desk' }],
      ['session.link_requested', 'POST', `/v1/agents/${agent}/session/link`, { method: 'qr' }],
      ['session.restart_requested', 'POST', `/v1/agents/${agent}/session/restart`, {}],
      ['session.disconnect_requested', 'POST', `/v1/agents/${agent}/session/disconnect`, {}],
      ['session.logout_requested', 'POST', `/v1/agents/${agent}/session/logout`, {}],
    ];
    for (const [, method, path, body] of calls) {
      const res = await api.call(method, path, { token: me.token, body, headers });
      expect({ path, status: res.status }).toEqual({ path, status: res.status < 300 ? res.status : 'failed' });
    }
    const { data } = await list(`?agentId=${agent}`);
    expect(data.map((e) => e.action)).toEqual([...calls.map((c) => c[0])].reverse().concat('agent.created'));
    for (const entry of data) {
      expect(entry).toMatchObject({ agentId: agent, actor: { type: 'user', id: me.id }, clientIp: '203.0.113.50', userAgent: 'audit-client/2.0' });
    }
    expect(data.at(-1)).toMatchObject({ requestId: 'audit-request-0001', changes: { name: 'desk' } });
    expect(data.at(-2)!.changes).toEqual({ name: { from: 'desk', to: 'front desk' } });
  });

  it('API key and webhook actions record no secret: neither the key nor the signing secret is anywhere in the log', async () => {
    const key = await api.call('POST', '/v1/keys', { token: me.token, body: { name: 'ci', scopes: ['webhooks:manage'] }, headers });
    expect(key.status).toBe(201);
    const { id: keyId, key: plainKey, prefix } = (await key.json()) as { id: string; key: string; prefix: string };
    const hook = await api.call('POST', '/v1/webhooks', { token: plainKey, body: { url: 'https://hooks.example.com/in/t0ken?sig=abc', eventTypes: ['*'] }, headers });
    expect(hook.status).toBe(201);
    const { id: hookId, secret } = (await hook.json()) as { id: string; secret: string };
    const rotated = await api.call('POST', `/v1/webhooks/${hookId}/rotate-secret`, { token: plainKey, body: {}, headers });
    expect(rotated.status).toBe(200);
    const { secret: newSecret } = (await rotated.json()) as { secret: string };
    expect((await api.call('PATCH', `/v1/webhooks/${hookId}`, { token: plainKey, body: { enabled: false }, headers })).status).toBe(200);
    expect((await api.call('DELETE', `/v1/webhooks/${hookId}`, { token: plainKey, headers })).status).toBe(204);
    expect((await api.call('DELETE', `/v1/keys/${keyId}`, { token: me.token, headers })).status).toBe(204);

    const { data } = await list('?limit=6');
    expect(data.map((e) => [e.action, e.actor.type, e.actor.id, e.targetId])).toEqual([
      ['api_key.revoked', 'user', me.id, keyId],
      ['webhook.deleted', 'api_key', prefix, hookId],
      ['webhook.updated', 'api_key', prefix, hookId],
      ['webhook.secret_rotated', 'api_key', prefix, hookId],
      ['webhook.created', 'api_key', prefix, hookId],
      ['api_key.created', 'user', me.id, keyId],
    ]);
    expect(data[4]!.changes).toMatchObject({ url_origin: 'https://hooks.example.com' });

    const [{ text }] = await api.db.sql<[{ text: string }]>`select string_agg(l::text, ' ') as text from public.audit_log l`;
    for (const s of [plainKey, plainKey.slice(prefix.length + 5), secret, secret.slice(6), newSecret, newSecret.slice(6), 't0ken']) {
      expect(text).not.toContain(s);
    }
  });
});

describe('GET /v1/audit-log', () => {
  it('filters by action, actor type and time, and pages through every entry once', async () => {
    const user = await api.user();
    const agents = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) agents.push(await api.agent(user.token, name));
    await api.db.sql`update public.accounts set plan_id = 'pro' where user_id = ${user.id}`;

    const all = await list('', user.token);
    // Newest first; the oldest two are the sign-up's (its personal organisation and its owner).
    expect(all.data.map((e) => e.action).slice(0, 6)).toEqual(['plan.changed', ...Array(5).fill('agent.created')]);
    expect(all.data.map((e) => e.action).slice(6).sort()).toEqual(['member.added', 'organisation.created']);
    expect(all.data[0]).toMatchObject({ actor: { type: 'operator', id: 'postgres' }, clientIp: null, changes: { plan: { from: 'basic', to: 'pro' } } });

    expect((await list('?action=plan.changed', user.token)).data).toHaveLength(1);
    expect((await list('?actorType=user', user.token)).data).toHaveLength(5);
    expect((await list(`?agentId=${agents[2]}`, user.token)).data.map((e) => e.agentId)).toEqual([agents[2]]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await list(`?since=${encodeURIComponent(future)}`, user.token)).data).toEqual([]);
    expect((await list(`?until=${encodeURIComponent(future)}`, user.token)).data).toHaveLength(8);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`, user.token);
      seen.push(...page.data.map((e) => e.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toEqual(all.data.map((e) => e.id));
  });

  it('bad filters are a 400, an API key is a 403, another account\'s agent is a 404 and its entries are invisible', async () => {
    const other = await api.user();
    const theirs = await api.agent(other.token, 'theirs');
    for (const query of ['?action=agent.exploded', '?actorType=robot', '?since=yesterday', '?limit=0', '?cursor=!!']) {
      const res = await api.call('GET', `/v1/audit-log${query}`, { token: me.token });
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect((await errorOf(res)).code).toBe('invalid_request');
    }
    const { key } = await api.apiKey(me.token, { name: 'reader', scopes: ['*'] });
    const byKey = await api.call('GET', '/v1/audit-log', { token: key });
    expect(byKey.status).toBe(403);
    expect((await errorOf(byKey)).code).toBe('forbidden');
    const foreign = await api.call('GET', `/v1/audit-log?agentId=${theirs}`, { token: me.token });
    expect(foreign.status).toBe(404);
    expect((await list('', me.token)).data.some((e) => e.agentId === theirs || e.actor.id === other.id)).toBe(false);
    expect((await list('', other.token)).data.map((e) => e.action).sort()).toEqual(['agent.created', 'member.added', 'organisation.created']);
  });

  it('a deleted agent\'s entries stay listed under its id', async () => {
    const user = await api.user();
    const agent = await api.agent(user.token, 'short-lived');
    expect((await api.call('DELETE', `/v1/agents/${agent}`, { token: user.token })).status).toBe(204);
    expect((await list(`?agentId=${agent}`, user.token)).data.map((e) => e.action)).toEqual(['agent.deleted', 'agent.created']);
  });
});
