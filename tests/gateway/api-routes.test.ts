/**
 * Every route of the gateway against the same four expectations: a success, 401 without (or with
 * bad) credentials, 404 for another tenant's ids, and 400 for invalid input — each with the one
 * error shape and a request id, never a stack trace.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };
let other: { id: string; token: string };
let myAgent: string;
let theirAgent: string;
let myHook: string;
let theirHook: string;
let myMessage: string;
let myKey: string;
let theirKey: string;
let myCheck: string;
let myDelivery: string;

interface Route {
  name: string;
  method: string;
  path: (ids: { agent: string; hook: string; message: string; key: string; check: string; delivery: string }) => string;
  body?: unknown;
  invalid?: { path?: (ids: { agent: string }) => string; body?: unknown };
  ok: number;
}

const routes: Route[] = [
  { name: 'create agent', method: 'POST', path: () => '/v1/agents', body: { name: 'x' }, invalid: { body: { name: '' } }, ok: 201 },
  { name: 'list agents', method: 'GET', path: () => '/v1/agents', ok: 200 },
  { name: 'get agent', method: 'GET', path: (i) => `/v1/agents/${i.agent}`, invalid: { path: () => '/v1/agents/not-a-uuid' }, ok: 200 },
  { name: 'stats', method: 'GET', path: (i) => `/v1/agents/${i.agent}/stats`, invalid: { path: (i) => `/v1/agents/${i.agent}/stats?from=yesterday` }, ok: 200 },
  { name: 'link', method: 'POST', path: (i) => `/v1/agents/${i.agent}/session/link`, body: { method: 'qr' }, invalid: { body: { method: 'pairing_code', phone: '12' } }, ok: 202 },
  { name: 'session status', method: 'GET', path: (i) => `/v1/agents/${i.agent}/session`, invalid: { path: () => `/v1/agents/${'1'.repeat(36)}/session` }, ok: 200 },
  { name: 'sending status', method: 'GET', path: (i) => `/v1/agents/${i.agent}/session/sending-status`, invalid: { path: () => '/v1/agents/x/session/sending-status' }, ok: 200 },
  { name: 'restart', method: 'POST', path: (i) => `/v1/agents/${i.agent}/session/restart`, body: { force: false }, invalid: { body: { force: 'yes' } }, ok: 202 },
  { name: 'disconnect', method: 'POST', path: (i) => `/v1/agents/${i.agent}/session/disconnect`, body: {}, invalid: { body: { force: 1 } }, ok: 202 },
  { name: 'logout', method: 'POST', path: (i) => `/v1/agents/${i.agent}/session/logout`, body: {}, invalid: { body: { extra: true } }, ok: 202 },
  { name: 'send', method: 'POST', path: (i) => `/v1/agents/${i.agent}/messages`, body: { to: '+4915123456789', type: 'text', text: 'hi' }, invalid: { body: { to: 'abc', type: 'text', text: 'hi' } }, ok: 202 },
  { name: 'list messages', method: 'GET', path: (i) => `/v1/agents/${i.agent}/messages`, invalid: { path: (i) => `/v1/agents/${i.agent}/messages?limit=0` }, ok: 200 },
  { name: 'get message', method: 'GET', path: (i) => `/v1/agents/${i.agent}/messages/${i.message}`, invalid: { path: (i) => `/v1/agents/${i.agent}/messages/123` }, ok: 200 },
  { name: 'number check', method: 'POST', path: (i) => `/v1/agents/${i.agent}/number-checks`, body: { numbers: ['+4915123456789'] }, invalid: { body: { numbers: [] } }, ok: 202 },
  { name: 'poll number check', method: 'GET', path: (i) => `/v1/agents/${i.agent}/number-checks/${i.check}`, invalid: { path: (i) => `/v1/agents/${i.agent}/number-checks/zz` }, ok: 200 },
  { name: 'create key', method: 'POST', path: () => '/v1/keys', body: { name: 'k', scopes: ['messages:send'] }, invalid: { body: { name: 'k', scopes: ['root'] } }, ok: 201 },
  { name: 'list keys', method: 'GET', path: () => '/v1/keys', ok: 200 },
  { name: 'revoke key', method: 'DELETE', path: (i) => `/v1/keys/${i.key}`, invalid: { path: () => '/v1/keys/nope' }, ok: 204 },
  { name: 'create webhook', method: 'POST', path: () => '/v1/webhooks', body: { url: 'https://hooks.example.com/wa' }, invalid: { body: { url: 'https://hooks.example.com', eventTypes: ['Bad Type'] } }, ok: 201 },
  { name: 'list webhooks', method: 'GET', path: () => '/v1/webhooks', ok: 200 },
  { name: 'update webhook', method: 'PATCH', path: (i) => `/v1/webhooks/${i.hook}`, body: { enabled: true }, invalid: { body: {} }, ok: 200 },
  { name: 'test webhook', method: 'POST', path: (i) => `/v1/webhooks/${i.hook}/test`, body: {}, invalid: { path: () => '/v1/webhooks/1/test' }, ok: 202 },
  { name: 'deliveries', method: 'GET', path: (i) => `/v1/webhooks/${i.hook}/deliveries`, invalid: { path: () => `/v1/webhooks/${randomUUID()}/deliveries?cursor=!!` }, ok: 200 },
  { name: 'redeliver', method: 'POST', path: (i) => `/v1/webhooks/${i.hook}/deliveries/${i.delivery}/redeliver`, body: {}, invalid: { path: (i) => `/v1/webhooks/x/deliveries/${i.agent}/redeliver` }, ok: 202 },
  { name: 'delete webhook', method: 'DELETE', path: (i) => `/v1/webhooks/${i.hook}`, invalid: { path: () => '/v1/webhooks/x' }, ok: 204 },
  { name: 'rename agent', method: 'PATCH', path: (i) => `/v1/agents/${i.agent}`, body: { name: 'renamed' }, invalid: { body: { name: ' ' } }, ok: 200 },
  { name: 'delete agent', method: 'DELETE', path: (i) => `/v1/agents/${i.agent}`, invalid: { path: () => '/v1/agents/x' }, ok: 204 },
];

beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
  other = await api.user();
  myAgent = await api.agent(me.token);
  theirAgent = await api.agent(other.token);
  const hook = async (t: string) => {
    const res = await api.call('POST', '/v1/webhooks', { token: t, body: { url: 'https://hooks.example.com/x' } });
    return ((await res.json()) as { id: string }).id;
  };
  myHook = await hook(me.token);
  theirHook = await hook(other.token);
  const sent = await api.call('POST', `/v1/agents/${myAgent}/messages`, { token: me.token, body: { to: '4915123456789', type: 'text', text: 'a' } });
  myMessage = ((await sent.json()) as { id: string }).id;
  myKey = (await api.apiKey(me.token)).id;
  theirKey = (await api.apiKey(other.token)).id;
  const check = await api.call('POST', `/v1/agents/${myAgent}/number-checks`, { token: me.token, body: { numbers: ['4915123456789'] } });
  myCheck = ((await check.json()) as { id: string }).id;
  const test = await api.call('POST', `/v1/webhooks/${myHook}/test`, { token: me.token });
  myDelivery = ((await test.json()) as { deliveryId: string }).deliveryId;
});

afterAll(async () => {
  await api?.close();
});

const mine = () => ({ agent: myAgent, hook: myHook, message: myMessage, key: myKey, check: myCheck, delivery: myDelivery });

describe.each(routes)('$method $name', (route) => {
  test('401 without credentials and with a bad token, same body', async () => {
    // A fresh client address per route: the failed-auth bucket is tested in api-auth.test.ts.
    const headers = { 'x-forwarded-for': `203.0.113.${routes.indexOf(route)}` };
    const none = await api.call(route.method, route.path(mine()), { body: route.body, headers });
    expect(none.status).toBe(401);
    const bad = await api.call(route.method, route.path(mine()), { body: route.body, token: 'wag_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', headers });
    expect(bad.status).toBe(401);
    const [a, b] = [await errorOf(none), await errorOf(bad)];
    expect(a.code).toBe('unauthenticated');
    expect(b.message).toBe(a.message);
    expect(a.requestId).toMatch(/.{8,}/);
  });

  test('invalid input is a 4xx with field details and changes nothing', async () => {
    if (!route.invalid) return expect(route.method).toBe('GET'); // list routes take no input
    const before = await api.db.sql`select (select count(*) from public.agents) + (select count(*) from public.messages) + (select count(*) from private.api_keys) + (select count(*) from public.webhook_endpoints) + (select count(*) from public.number_checks) as n`;
    const res = await api.call(route.method, (route.invalid.path ?? route.path)(mine() as never), { token: me.token, body: route.invalid.body ?? route.body });
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.code).toBe('invalid_request');
    expect(JSON.stringify(err)).not.toMatch(/at .*\.ts:\d+/);
    const after = await api.db.sql`select (select count(*) from public.agents) + (select count(*) from public.messages) + (select count(*) from private.api_keys) + (select count(*) from public.webhook_endpoints) + (select count(*) from public.number_checks) as n`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  test("another tenant's ids are 404", async () => {
    const theirs = { agent: theirAgent, hook: theirHook, message: myMessage, key: theirKey, check: myCheck, delivery: myDelivery };
    const path = route.path(theirs);
    if (path === route.path(mine())) return expect(path).not.toContain('{'); // account-level route: nothing foreign to name
    const res = await api.call(route.method, path, { token: me.token, body: route.body });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('not_found');
  });

  test('success', async () => {
    const res = await api.call(route.method, route.path(mine()), { token: me.token, body: route.body });
    expect(res.status, await res.clone().text()).toBe(route.ok);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});

test('unknown routes are 404 in the same shape', async () => {
  const res = await api.call('GET', '/v1/nothing', { token: me.token });
  expect(res.status).toBe(404);
  expect((await errorOf(res)).code).toBe('not_found');
});
