/** Webhook endpoints (URL rules, sealed secret, rotation, update, delete, test, deliveries, redeliver) and number checks. */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { associatedData, openText } from '../../kernel/secret-box.ts';
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

const create = (body: unknown, token = me.token) => api.call('POST', '/v1/webhooks', { token, body });

test('create: secret shown once, stored sealed and bound to the endpoint', async () => {
  const res = await create({ url: 'https://hooks.example.com/wa', agentId: agent, eventTypes: ['message.*', 'session.status'], description: 'prod' });
  expect(res.status).toBe(201);
  const hook = (await res.json()) as { id: string; secret: string; eventTypes: string[] };
  // Standard Webhooks: whsec_ + base64 of the key (32 bytes), which the library accepts as is.
  expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(Buffer.from(hook.secret.slice(6), 'base64')).toHaveLength(32);
  expect(() => new Webhook(hook.secret)).not.toThrow();
  expect(hook.eventTypes).toEqual(['message.*', 'session.status']);
  const [row] = await api.db.sql`select ciphertext, key_version from private.webhook_secrets where endpoint_id = ${hook.id}`;
  expect(Buffer.from(row!.ciphertext).toString('latin1')).not.toContain(hook.secret);
  expect(await openText(api.keyring, new Uint8Array(row!.ciphertext), row!.key_version, associatedData.webhookSecret(hook.id))).toBe(hook.secret);
  const list = await (await api.call('GET', '/v1/webhooks', { token: me.token })).text();
  expect(list).toContain(hook.id);
  expect(list).not.toContain(hook.secret);
});

test.each([
  ['http', 'http://hooks.example.com/x'],
  ['loopback', 'https://127.0.0.1/x'],
  ['localhost', 'https://localhost:8443/x'],
  ['private 10/8', 'https://10.1.2.3/x'],
  ['private 192.168', 'https://192.168.0.10/x'],
  ['link-local metadata', 'https://169.254.169.254/latest/meta-data'],
  ['ipv6 loopback', 'https://[::1]/x'],
  ['ipv4-mapped ipv6', 'https://[::ffff:127.0.0.1]/x'],
  ['decimal ip', 'https://2130706433/x'],
  ['credentials', 'https://user:pass@hooks.example.com/x'],
  ['name resolving to a private address', 'https://svc.internal.test/x'],
  ['unresolvable name', 'https://nothing.nxdomain.test/x'],
  ['not a url', 'hooks.example.com'],
  // The connector's delivery guard refuses these; creation must too, or every delivery fails.
  ['documentation TEST-NET-1', 'https://192.0.2.10/x'],
  ['documentation TEST-NET-2', 'https://198.51.100.7/x'],
  ['documentation TEST-NET-3', 'https://203.0.113.5/x'],
  ['Teredo', 'https://[2001::1]/x'],
  ['6to4 of a private address', 'https://[2002:a00:1::1]/x'],
  ['IPv4-compatible loopback', 'https://[::7f00:1]/x'],
  ['site-local', 'https://[fec0::1]/x'],
])('refuses %s with 422 and stores nothing', async (_name, url) => {
  const res = await create({ url });
  expect(res.status).toBe(422);
  expect((await errorOf(res)).code).toBe('invalid_url');
  const [n] = await api.db.sql`select count(*)::int as n from public.webhook_endpoints where url = ${url}`;
  expect(n!.n).toBe(0);
});

test.each([
  ['a misspelt type', ['message.recieved']],
  ['an unknown family', ['messages.*']],
  ['a wildcard below a family', ['message.status.*']],
  ['one unknown among known ones', ['session.status', 'alert.lost_phone']],
  ['not an event type at all', ['Bad Type']],
])('refuses %s as a subscription with 400 and stores nothing', async (_name, eventTypes) => {
  const url = `https://hooks.example.com/${crypto.randomUUID()}`;
  const res = await create({ url, eventTypes });
  expect(res.status).toBe(400);
  const err = await errorOf(res);
  expect(err.code).toBe('invalid_request');
  expect(JSON.stringify(err.details)).toContain('unknown event type');
  const [n] = await api.db.sql`select count(*)::int as n from public.webhook_endpoints where url = ${url}`;
  expect(n!.n).toBe(0);
});

test('subscriptions: *, a known family with .*, or known types; an update to an unknown type changes nothing', async () => {
  for (const eventTypes of [['*'], ['message.*', 'alert.*'], ['session.status', 'alert.inbound_unstorable', 'webhook.test']]) {
    const res = await create({ url: 'https://hooks.example.com/ok', eventTypes });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { eventTypes: string[] }).eventTypes).toEqual(eventTypes);
  }
  const hook = (await (await create({ url: 'https://hooks.example.com/upd', eventTypes: ['message.*'] })).json()) as { id: string };
  const upd = await api.call('PATCH', `/v1/webhooks/${hook.id}`, { token: me.token, body: { eventTypes: ['message.sent'] } });
  expect(upd.status).toBe(400);
  const [row] = await api.db.sql`select event_types from public.webhook_endpoints where id = ${hook.id}`;
  expect(row!.event_types).toEqual(['message.*']);
});

test('http is accepted only when the dev flag allows it', async () => {
  const dev = await createApiHarness({ allowHttpWebhooks: true });
  try {
    const u = await dev.user();
    const res = await dev.call('POST', '/v1/webhooks', { token: u.token, body: { url: 'http://hooks.example.com/x' } });
    expect(res.status).toBe(201);
  } finally {
    await dev.close();
  }
});

test('update, test event to this endpoint only, deliveries, redeliver, delete', async () => {
  const a = (await (await create({ url: 'https://a.example.com/x' })).json()) as { id: string };
  const b = (await (await create({ url: 'https://b.example.com/x' })).json()) as { id: string };
  const upd = await api.call('PATCH', `/v1/webhooks/${a.id}`, { token: me.token, body: { url: 'https://a2.example.com/x', description: null, eventTypes: ['*'] } });
  expect(upd.status).toBe(200);
  expect(((await upd.json()) as { url: string }).url).toBe('https://a2.example.com/x');
  expect((await api.call('PATCH', `/v1/webhooks/${a.id}`, { token: me.token, body: { url: 'https://10.0.0.1/x' } })).status).toBe(422);

  const t = await api.call('POST', `/v1/webhooks/${a.id}/test`, { token: me.token });
  expect(t.status).toBe(202);
  const { deliveryId, eventId } = (await t.json()) as { deliveryId: string; eventId: string };
  const targets = await api.db.sql`select endpoint_id from public.webhook_deliveries where event_id = ${eventId}`;
  expect(targets.map((r) => r.endpoint_id)).toEqual([a.id]);
  void b;

  const deliveries = (await (await api.call('GET', `/v1/webhooks/${a.id}/deliveries`, { token: me.token })).json()) as { data: Array<{ id: string; eventType: string; status: string }> };
  expect(deliveries.data).toMatchObject([{ id: deliveryId, eventType: 'webhook.test', status: 'pending' }]);

  await api.db.sql`update public.webhook_deliveries set status = 'dead', attempts = 8 where id = ${deliveryId}`;
  const again = await api.call('POST', `/v1/webhooks/${a.id}/deliveries/${deliveryId}/redeliver`, { token: me.token });
  expect(again.status).toBe(202);
  const [d] = await api.db.sql`select status, attempts from public.webhook_deliveries where id = ${deliveryId}`;
  expect(d).toEqual({ status: 'pending', attempts: 0 });
  await api.db.sql`update public.webhook_deliveries set status = 'delivering' where id = ${deliveryId}`;
  expect((await api.call('POST', `/v1/webhooks/${a.id}/deliveries/${deliveryId}/redeliver`, { token: me.token })).status).toBe(409);

  await api.call('PATCH', `/v1/webhooks/${a.id}`, { token: me.token, body: { enabled: false } });
  expect((await api.call('POST', `/v1/webhooks/${a.id}/test`, { token: me.token })).status).toBe(409);
  expect((await api.call('DELETE', `/v1/webhooks/${a.id}`, { token: me.token })).status).toBe(204);
  expect((await api.call('DELETE', `/v1/webhooks/${a.id}`, { token: me.token })).status).toBe(404);
  const [secrets] = await api.db.sql`select count(*)::int as n from private.webhook_secrets where endpoint_id = ${a.id}`;
  expect(secrets!.n).toBe(0);
});

const secretsOf = async (id: string) => {
  const [row] = await api.db.sql`select * from private.webhook_secrets where endpoint_id = ${id}`;
  const open = (c: Uint8Array | null, v: number | null) => (c && v !== null ? openText(api.keyring, new Uint8Array(c), v, associatedData.webhookSecret(id)) : null);
  return { current: await open(row!.ciphertext, row!.key_version), previous: await open(row!.previous_ciphertext, row!.previous_key_version), previousExpiresAt: row!.previous_expires_at as Date | null };
};
const rotate = (id: string, body?: unknown, token = me.token) => api.call('POST', `/v1/webhooks/${id}/rotate-secret`, { token, body });

test('rotate-secret: a new standard secret shown once; the old one kept for the overlap (24 h by default); audited', async () => {
  const hook = (await (await create({ url: 'https://rotate.example.com/x' })).json()) as { id: string; secret: string };
  const res = await rotate(hook.id);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { id: string; secret: string; previousSecretExpiresAt: string };
  expect(body.id).toBe(hook.id);
  expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(body.secret).not.toBe(hook.secret);
  const stored = await secretsOf(hook.id);
  expect(stored).toMatchObject({ current: body.secret, previous: hook.secret });
  expect(stored.previousExpiresAt!.toISOString()).toBe(body.previousSecretExpiresAt);
  expect(new Date(body.previousSecretExpiresAt).getTime() - Date.now()).toBeGreaterThan(24 * 3600_000 - 60_000);
  expect(new Date(body.previousSecretExpiresAt).getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
  const [event] = await api.db.sql`select type, payload from public.events where type = 'webhook.secret_rotated' and payload ->> 'endpoint_id' = ${hook.id}`;
  expect(event!.payload).toMatchObject({ endpoint_id: hook.id, overlap_seconds: 86400 });
  expect(JSON.stringify(event)).not.toContain(body.secret.slice(6, 20));
  expect(await (await api.call('GET', '/v1/webhooks', { token: me.token })).text()).not.toContain(body.secret);

  // Again with an overlap of 0: only the newest secret signs, at once.
  const now = (await (await rotate(hook.id, { overlapSeconds: 0 })).json()) as { secret: string; previousSecretExpiresAt: string | null };
  expect(now.previousSecretExpiresAt).toBeNull();
  expect(await secretsOf(hook.id)).toEqual({ current: now.secret, previous: null, previousExpiresAt: null });
});

test('rotate-secret: overlap bounded, unknown or foreign endpoint 404, agent-bound key 403, nothing changed', async () => {
  const hook = (await (await create({ url: 'https://rotate2.example.com/x' })).json()) as { id: string; secret: string };
  for (const overlapSeconds of [-1, 604801, 1.5, '60']) expect((await rotate(hook.id, { overlapSeconds })).status).toBe(400);
  expect((await rotate(hook.id, { overlap: 60 })).status).toBe(400);
  expect((await rotate(crypto.randomUUID())).status).toBe(404);
  const other = await api.user();
  expect((await rotate(hook.id, undefined, other.token)).status).toBe(404);
  const bound = await api.apiKey(me.token, { name: 'bound-rotate', agentId: agent });
  expect((await rotate(hook.id, undefined, bound.key)).status).toBe(403);
  expect(await secretsOf(hook.id)).toEqual({ current: hook.secret, previous: null, previousExpiresAt: null });
  expect((await rotate(hook.id, { overlapSeconds: 604800 })).status).toBe(200);
});

test('rotate-secret is limited per owner; a refused rotation changes nothing', async () => {
  const limited = await createApiHarness({ limits: { webhookRotations: { capacity: 2, windowSeconds: 3600 } } as never });
  try {
    const u = await limited.user();
    const hook = (await (await limited.call('POST', '/v1/webhooks', { token: u.token, body: { url: 'https://limit.example.com/x' } })).json()) as { id: string };
    const call = () => limited.call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { token: u.token, body: { overlapSeconds: 60 } });
    const first = await call();
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    const second = (await (await call()).json()) as { secret: string };
    const third = await call();
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    const [row] = await limited.db.sql`select ciphertext, key_version from private.webhook_secrets where endpoint_id = ${hook.id}`;
    expect(await openText(limited.keyring, new Uint8Array(row!.ciphertext), row!.key_version, associatedData.webhookSecret(hook.id))).toBe(second.secret);
  } finally {
    await limited.close();
  }
});

test('an agent-bound key cannot manage webhooks; an account key with the scope can', async () => {
  const bound = await api.apiKey(me.token, { name: 'bound', agentId: agent });
  expect((await create({ url: 'https://x.example.com/x' }, bound.key)).status).toBe(403);
  const account = await api.apiKey(me.token, { name: 'hooks', scopes: ['webhooks:manage'] });
  expect((await create({ url: 'https://x.example.com/x' }, account.key)).status).toBe(201);
});

test('number check: answered within the wait when the connector completes the job', async () => {
  const answer = (async () => {
    for (let i = 0; i < 50; i++) {
      const rows = await api.db.sql`update public.number_checks set status = 'done', completed_at = now(),
        result = (select jsonb_agg(jsonb_build_object('number', n, 'exists', n like '49%', 'jid', case when n like '49%' then n || '@s.whatsapp.net' end)) from unnest(numbers) n)
        where agent_id = ${agent} and status = 'pending' returning id`;
      if (rows.length) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const res = await api.call('POST', `/v1/agents/${agent}/number-checks`, { token: me.token, body: { numbers: ['+49 151 23456789', '+1 415 555 0100', '+4915123456789'] } });
  await answer;
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: string; numbers: string[]; results: Array<{ number: string; exists: boolean; jid: string | null }> };
  expect(body.status).toBe('done');
  expect(body.numbers).toEqual(['4915123456789', '14155550100']); // normalised and de-duplicated
  expect(body.results).toEqual([
    { number: '4915123456789', exists: true, jid: '4915123456789@s.whatsapp.net' },
    { number: '14155550100', exists: false, jid: null },
  ]);
});

test('number check: 202 with a job to poll when nobody answers in time; more than 50 is 400; limited per agent', async () => {
  const res = await api.call('POST', `/v1/agents/${agent}/number-checks`, { token: me.token, body: { numbers: ['+4915123456789'] } });
  expect(res.status).toBe(202);
  const job = (await res.json()) as { id: string; status: string };
  expect(job.status).toBe('pending');
  expect(res.headers.get('location')).toBe(`/gateway/v1/agents/${agent}/number-checks/${job.id}`);
  const poll = await api.call('GET', `/v1/agents/${agent}/number-checks/${job.id}`, { token: me.token });
  expect(((await poll.json()) as { id: string }).id).toBe(job.id);

  const many = Array.from({ length: 51 }, (_, i) => `+4915100000${String(i).padStart(3, '0')}`);
  expect((await api.call('POST', `/v1/agents/${agent}/number-checks`, { token: me.token, body: { numbers: many } })).status).toBe(400);

  const limited = await createApiHarness({ limits: { numberChecks: { capacity: 3, windowSeconds: 60 } } as never, numberCheckWaitMs: 0 });
  try {
    const u = await limited.user();
    const a = await limited.agent(u.token);
    const ok = await limited.call('POST', `/v1/agents/${a}/number-checks`, { token: u.token, body: { numbers: ['+4915100000001', '+4915100000002'] } });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('ratelimit-remaining')).toBe('1');
    const no = await limited.call('POST', `/v1/agents/${a}/number-checks`, { token: u.token, body: { numbers: ['+4915100000003', '+4915100000004'] } });
    expect(no.status).toBe(429);
    expect(no.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(no.headers.get('ratelimit-limit')).toBe('3');
    const [n] = await limited.db.sql`select count(*)::int as n from public.number_checks`;
    expect(n!.n).toBe(1);
  } finally {
    await limited.close();
  }
});
