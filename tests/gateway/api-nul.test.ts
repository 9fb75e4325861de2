/**
 * U+0000 in any string a request brings in: Postgres cannot store it (text 22021, jsonb 22P05),
 * so it must be a 400 with the one error shape and no row written, never a 500.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sqlToHttp } from '../../edge-functions/_shared/http/sql-errors.ts';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';

let api: ApiHarness;
let token: string;
let agent: string;
let hook: string;

beforeAll(async () => {
  api = await createApiHarness();
  token = (await api.user()).token;
  agent = await api.agent(token);
  hook = ((await (await api.call('POST', '/v1/webhooks', { token, body: { url: 'https://h.example.com/x' } })).json()) as { id: string }).id;
});
afterAll(async () => {
  await api?.close();
});

const NUL = 'a\u0000b';
const to = '+4915123456789';
const send = (body: Record<string, unknown>) => ({ method: 'POST', path: () => `/v1/agents/${agent}/messages`, body: { to, ...body } });
const cases: Record<string, { method: string; path: () => string; body: unknown }> = {
  text: send({ type: 'text', text: NUL }),
  caption: send({ type: 'image', media: { url: 'https://c.example.com/a.jpg', mimetype: 'image/jpeg' }, caption: NUL }),
  'media url': send({ type: 'image', media: { url: `https://c.example.com/${NUL}.jpg`, mimetype: 'image/jpeg' } }),
  'location name': send({ type: 'location', latitude: 1, longitude: 2, name: NUL }),
  'location address': send({ type: 'location', latitude: 1, longitude: 2, address: NUL }),
  'contact name': send({ type: 'contact', contacts: [{ name: NUL, phone: '+14155550100' }] }),
  'contact organization': send({ type: 'contact', contacts: [{ name: 'A', phone: '+14155550100', organization: NUL }] }),
  'poll name': send({ type: 'poll', name: NUL, options: ['a', 'b'] }),
  'poll option': send({ type: 'poll', name: 'q', options: ['a', NUL] }),
  'reaction emoji': send({ type: 'reaction', messageId: '3EB0AAAA', emoji: '\u0000' }),
  'edit text': send({ type: 'edit', messageId: '3EB0AAAA', text: NUL }),
  'agent name': { method: 'POST', path: () => '/v1/agents', body: { name: NUL } },
  'key name': { method: 'POST', path: () => '/v1/keys', body: { name: NUL, scopes: ['messages:send'] } },
  'webhook description': { method: 'POST', path: () => '/v1/webhooks', body: { url: 'https://h.example.com/y', description: NUL } },
  'webhook url': { method: 'POST', path: () => '/v1/webhooks', body: { url: `https://h.example.com/${NUL}` } },
  'webhook update description': { method: 'PATCH', path: () => `/v1/webhooks/${hook}`, body: { description: NUL } },
};

const rows = async () => {
  const [r] = await api.db.sql`select (select count(*) from public.agents) + (select count(*) from public.messages)
    + (select count(*) from private.api_keys) + (select count(*) from public.webhook_endpoints)
    + (select count(*) from public.webhook_endpoints where description is not null) as n`;
  return Number(r!.n);
};

test.each(Object.keys(cases))('NUL in %s: 400 with the error shape, nothing written', async (name) => {
  const c = cases[name]!;
  const before = await rows();
  const res = await api.call(c.method, c.path(), { token, body: c.body });
  const body = (await res.json()) as { error?: { code?: string; requestId?: string } };
  expect({ status: res.status, code: body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
  expect(body.error?.requestId).toBeTruthy();
  expect(await rows()).toBe(before);
});

test('a NUL that reaches Postgres anyway (22021 text, 22P05 jsonb) maps to 400, not 500', async () => {
  const text = await api.db.sql`select ${'a\u0000b'}::text`.catch((e: unknown) => e);
  const json = await api.db.sql`select '{"a":"x\\u0000y"}'::jsonb`.catch((e: unknown) => e);
  expect((text as { code?: string }).code).toBe('22021');
  expect((json as { code?: string }).code).toBe('22P05');
  expect(sqlToHttp(text)?.status).toBe(400);
  expect(sqlToHttp(json)?.status).toBe(400);
});
