/**
 * Limits on requests that make the gateway act outside the database: session commands per agent
 * (socket teardowns; reconnect loops risk a ban) and webhook tests plus redeliveries per owner
 * (signed POSTs to the tenant's host). A refused request is a 429 with Retry-After and the
 * RateLimit headers, and changes nothing.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };

beforeAll(async () => {
  api = await createApiHarness({ limits: { sessionCommands: { capacity: 2, windowSeconds: 3600 }, webhookSends: { capacity: 2, windowSeconds: 3600 } } as never });
  me = await api.user();
});
afterAll(async () => {
  await api?.close();
});

function expectLimited(res: Response) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.headers.get('ratelimit-limit')).toBe('2');
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
}

test('restart, disconnect and logout share a bucket per agent; the refused command changes nothing', async () => {
  const agent = await api.agent(me.token);
  const other = await api.agent(me.token, 'other');
  const first = await api.call('POST', `/v1/agents/${agent}/session/disconnect`, { token: me.token });
  expect(first.status).toBe(202);
  expect(first.headers.get('ratelimit-limit')).toBe('2');
  expect(first.headers.get('ratelimit-remaining')).toBe('1');
  expect((await api.call('POST', `/v1/agents/${agent}/session/logout`, { token: me.token })).status).toBe(202);

  await api.db.sql`update public.whatsapp_sessions set desired_state = 'connected', status = 'connected' where agent_id = ${agent}`;
  const refused = await api.call('POST', `/v1/agents/${agent}/session/restart`, { token: me.token });
  expectLimited(refused);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
  const [session] = await api.db.sql`select pending_command from public.whatsapp_sessions where agent_id = ${agent}`;
  expect(session!.pending_command).toBeNull();

  // Another agent has its own bucket.
  expect((await api.call('POST', `/v1/agents/${other}/session/disconnect`, { token: me.token })).status).toBe(202);
});

test('webhook tests and redeliveries share a bucket per owner; unknown ids stay 404', async () => {
  const hook = ((await (await api.call('POST', '/v1/webhooks', { token: me.token, body: { url: 'https://h.example.com/x' } })).json()) as { id: string }).id;
  const t = await api.call('POST', `/v1/webhooks/${hook}/test`, { token: me.token });
  expect(t.status).toBe(202);
  expect(t.headers.get('ratelimit-remaining')).toBe('1');
  const { deliveryId } = (await t.json()) as { deliveryId: string };
  await api.db.sql`update public.webhook_deliveries set status = 'dead' where id = ${deliveryId}`;
  expect((await api.call('POST', `/v1/webhooks/${hook}/deliveries/${deliveryId}/redeliver`, { token: me.token })).status).toBe(202);

  const [events] = await api.db.sql`select count(*)::int as n from public.events where owner_id = ${me.id}`;
  expectLimited(await api.call('POST', `/v1/webhooks/${hook}/test`, { token: me.token }));
  const [after] = await api.db.sql`select count(*)::int as n from public.events where owner_id = ${me.id}`;
  expect(after!.n).toBe(events!.n);

  await api.db.sql`update public.webhook_deliveries set status = 'dead' where id = ${deliveryId}`;
  expectLimited(await api.call('POST', `/v1/webhooks/${hook}/deliveries/${deliveryId}/redeliver`, { token: me.token }));
  const [still] = await api.db.sql`select status from public.webhook_deliveries where id = ${deliveryId}`;
  expect(still!.status).toBe('dead');
  const unknown = '00000000-0000-4000-8000-000000000000';
  expect((await api.call('POST', `/v1/webhooks/${hook}/deliveries/${unknown}/redeliver`, { token: me.token })).status).toBe(404);
});
