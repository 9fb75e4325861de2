/** Authentication: JWTs (issuer, audience, expiry, algorithm), API keys (scopes, agent, revoke, expiry), failed-auth limit. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };
let agent: string;

beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
  agent = await api.agent(me.token);
});
afterAll(async () => {
  await api?.close();
});

const get = (token: string | undefined, ip = '192.0.2.1') => api.call('GET', `/v1/agents/${agent}`, { token, headers: { 'x-forwarded-for': ip } });

test('a valid user JWT is accepted; expired, wrong issuer, wrong audience, HS256 and garbage are the same 401', async () => {
  expect((await get(me.token)).status).toBe(200);
  const bad = [
    await api.token(me.id, {}, { expiresIn: '-1m' }),
    await api.token(me.id, {}, { issuer: 'https://evil.test/auth/v1' }),
    await api.token(me.id, {}, { audience: 'anon' }),
    // HS256 with a guessable secret: refused because no legacy secret is configured.
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
    'not-a-jwt',
    `${me.token.slice(0, -4)}AAAA`,
  ];
  const messages = new Set<string>();
  for (const [i, token] of bad.entries()) {
    const res = await get(token, `192.0.2.${10 + i}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    messages.add((await errorOf(res)).message);
  }
  expect(messages.size).toBe(1);
});

test('a token without role authenticated is the same 401; an anonymous sign-in is a 403 in the one error shape, and changes nothing', async () => {
  for (const [i, claims] of [{ role: 'anon' }, { role: 'service_role' }, { role: undefined }].entries()) {
    const res = await get(await api.token(me.id, claims), `192.0.2.${40 + i}`);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('unauthenticated');
  }
  const anonymous = await api.token(me.id, { is_anonymous: true });
  const read = await get(anonymous, '192.0.2.50');
  expect(read.status).toBe(403);
  const error = await errorOf(read);
  expect(error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/anonymous/i), requestId: expect.any(String) });
  const [before] = await api.db.sql`select count(*)::int as n from public.agents`;
  const create = await api.call('POST', '/v1/agents', { token: anonymous, body: { name: 'anon' }, headers: { 'x-forwarded-for': '192.0.2.51' } });
  expect(create.status).toBe(403);
  const [after] = await api.db.sql`select count(*)::int as n from public.agents`;
  expect(after!.n).toBe(before!.n);
});

test('the injected clock enforces exp', async () => {
  const token = await api.token(me.id, {}, { expiresIn: '2m' });
  expect((await get(token)).status).toBe(200);
  api.clock.offsetMs = 5 * 60_000;
  try {
    expect((await get(token, '192.0.2.30')).status).toBe(401);
  } finally {
    api.clock.offsetMs = 0;
  }
});

test('API keys: shown once, stored hashed, scoped, revocable, expiring; last_used_at kept', async () => {
  const created = await api.apiKey(me.token, { name: 'sender', scopes: ['messages:send'], agentId: agent });
  expect(created.key).toMatch(/^wag_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  const [row] = await api.db.sql`select key_hash, prefix, last_used_at from private.api_keys where id = ${created.id}`;
  expect(Buffer.from(row!.key_hash).toString('hex')).not.toContain(Buffer.from(created.key).toString('hex'));
  expect(row!.last_used_at).toBeNull();

  const send = await api.call('POST', `/v1/agents/${agent}/messages`, { token: created.key, body: { to: '+4915123456789', type: 'text', text: 'hi' } });
  expect(send.status).toBe(202);
  const [used] = await api.db.sql`select last_used_at from private.api_keys where id = ${created.id}`;
  expect(used!.last_used_at).not.toBeNull();

  // Scope: send-only key cannot read the session.
  const read = await api.call('GET', `/v1/agents/${agent}/session`, { token: created.key });
  expect(read.status).toBe(403);
  expect((await errorOf(read)).code).toBe('forbidden');
  // Agent-bound: another of my agents looks unknown.
  const second = await api.agent(me.token, 'second');
  expect((await api.call('POST', `/v1/agents/${second}/messages`, { token: created.key, body: { to: '+4915123456789', type: 'text', text: 'x' } })).status).toBe(404);
  // Keys cannot manage keys or agents.
  expect((await api.call('POST', '/v1/keys', { token: created.key, body: { name: 'escalate' } })).status).toBe(403);

  // A wrong secret with a real prefix, then revoked: both the generic 401.
  const wrong = `${created.key.slice(0, 18)}${'A'.repeat(43)}`;
  const w = await api.call('GET', '/v1/agents', { token: wrong, headers: { 'x-forwarded-for': '192.0.2.40' } });
  expect(w.status).toBe(401);
  expect((await api.call('DELETE', `/v1/keys/${created.id}`, { token: me.token })).status).toBe(204);
  const revoked = await api.call('POST', `/v1/agents/${agent}/messages`, { token: created.key, body: { to: '+4915123456789', type: 'text', text: 'hi' }, headers: { 'x-forwarded-for': '192.0.2.41' } });
  expect(revoked.status).toBe(401);
  expect((await errorOf(revoked)).message).toBe((await errorOf(w)).message);

  const expiring = await api.apiKey(me.token, { name: 'short', expiresAt: new Date(Date.now() + 60_000).toISOString() });
  expect((await api.call('GET', '/v1/agents', { token: expiring.key })).status).toBe(200);
  await api.db.sql`update private.api_keys set expires_at = now() - interval '1 second' where id = ${expiring.id}`;
  expect((await api.call('GET', '/v1/agents', { token: expiring.key, headers: { 'x-forwarded-for': '192.0.2.42' } })).status).toBe(401);
});

test('listing keys shows prefix, name, scopes and last use, never the key or its hash', async () => {
  const k = await api.apiKey(me.token, { name: 'listed', scopes: ['messages:read', 'stats:read'] });
  const res = await api.call('GET', '/v1/keys', { token: me.token });
  const text = await res.text();
  expect(text).not.toContain(k.key);
  expect(text).not.toContain('hash');
  const listed = (JSON.parse(text) as { data: Array<{ id: string; prefix: string; scopes: string[] }> }).data.find((x) => x.id === k.id)!;
  expect(k.key).toContain(`wag_${listed.prefix}_`);
  expect(listed.scopes).toEqual(['messages:read', 'stats:read']);
});

test('failed authentications are limited per client address: 429 with Retry-After and RateLimit headers', async () => {
  const ip = '192.0.2.99';
  const statuses: number[] = [];
  for (let i = 0; i < 22; i++) statuses.push((await get('wag_zzzzzzzzzzzz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', ip)).status);
  expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
  expect(statuses[20]).toBe(429);
  const limited = await get('bad', ip);
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(limited.headers.get('ratelimit-limit')).toBe('20');
  expect(limited.headers.get('ratelimit-remaining')).toBe('0');
  expect(limited.headers.get('ratelimit-reset')).toMatch(/^\d+$/);
  // Another address is unaffected; the limited one is refused before its credential is checked,
  // so even a right guess gets 429 until the bucket refills.
  expect((await get('bad', '192.0.2.100')).status).toBe(401);
  expect((await get(me.token, ip)).status).toBe(429);
});

test('the limit keys on the address the proxy appended (rightmost X-Forwarded-For), not a spoofable leftmost one', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 21; i++) statuses.push((await get('bad', `10.9.${i}.1, 192.0.2.120`)).status);
  expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
  expect(statuses[20]).toBe(429);
});

test('a flood of failures from one address stops writing to the database once its bucket is empty', async () => {
  const ip = '192.0.2.130';
  const version = async () => (await api.db.sql`select xmin::text as v from private.rate_limit_buckets where key = ${`authfail:${ip}`}`)[0]?.v as string | undefined;
  for (let i = 0; i < 20; i++) expect((await get('bad', ip)).status).toBe(401);
  const filled = await version();
  expect(filled).toBeDefined();
  for (let i = 0; i < 30; i++) expect((await get('bad', ip)).status).toBe(429);
  expect(await version()).toBe(filled);
});

test('API key creation is rate limited (10 per hour) with headers', async () => {
  const u = await api.user();
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 11; i++) {
    last = await api.call('POST', '/v1/keys', { token: u.token, body: { name: `k${i}` } });
    statuses.push(last.status);
  }
  expect(statuses.slice(0, 10)).toEqual(Array(10).fill(201));
  expect(statuses[10]).toBe(429);
  expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(last!.headers.get('ratelimit-limit')).toBe('10');
  const [count] = await api.db.sql`select count(*)::int as n from private.api_keys where owner_id = ${u.id}`;
  expect(count!.n).toBe(10);
});
