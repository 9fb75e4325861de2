/**
 * Property test: thousands of generated and mutated bodies, paths and queries at every route.
 * Whatever arrives, the answer is never a 5xx, always the one error shape for a 4xx, and an
 * invalid request (any 4xx) writes no row.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';

let api: ApiHarness;
let token: string;
let agent: string;
let hook: string;

beforeAll(async () => {
  api = await createApiHarness({ numberCheckWaitMs: 0 });
  const u = await api.user();
  token = u.token;
  await api.db.sql`update public.plans set messages_per_minute = 1000000, max_agents = 1000000 where id = 'max'`;
  await api.db.sql`update public.accounts set plan_id = 'max' where user_id = ${u.id}`;
  agent = await api.agent(token);
  hook = ((await (await api.call('POST', '/v1/webhooks', { token, body: { url: 'https://h.example.com/x' } })).json()) as { id: string }).id;
});
afterAll(async () => {
  await api?.close();
});

const rowCount = async () => {
  const [r] = await api.db.sql`select (select count(*) from public.agents) + (select count(*) from public.messages)
    + (select count(*) from private.api_keys) + (select count(*) from public.webhook_endpoints)
    + (select count(*) from public.number_checks) + (select count(*) from public.events) as n`;
  return Number(r!.n);
};

const valid = {
  text: { to: '+4915123456789', type: 'text', text: 'hi', replyTo: '3EB0AAAA', mentions: ['+4915111111111'] },
  image: { to: '+4915123456789', type: 'image', media: { url: 'https://c.example.com/a.jpg', mimetype: 'image/jpeg' }, caption: 'c' },
  location: { to: '+4915123456789', type: 'location', latitude: 1.5, longitude: 2.5 },
  poll: { to: '+4915123456789', type: 'poll', name: 'q', options: ['a', 'b'], selectableCount: 1 },
  contact: { to: '+4915123456789', type: 'contact', contacts: [{ name: 'A', phone: '+14155550100' }] },
  link: { method: 'pairing_code', phone: '+4915123456789' },
  key: { name: 'k', scopes: ['messages:send'] },
  webhook: { url: 'https://h.example.com/y', eventTypes: ['message.*'] },
  numbers: { numbers: ['+4915123456789'] },
  agent: { name: 'a' },
};

/** Replaces, deletes or adds one key somewhere in a JSON value. */
const mutate = (base: unknown) =>
  fc.tuple(fc.jsonValue(), fc.nat(), fc.constantFrom('replace', 'delete', 'add'), fc.string({ maxLength: 8 })).map(([junk, pick, op, key]) => {
    const copy = structuredClone(base) as Record<string, unknown>;
    const objects: Array<Record<string, unknown>> = [];
    const walk = (v: unknown) => {
      if (v && typeof v === 'object') {
        objects.push(v as Record<string, unknown>);
        for (const x of Object.values(v)) walk(x);
      }
    };
    walk(copy);
    const target = objects[pick % objects.length]!;
    const keys = Object.keys(target);
    const k = keys.length ? keys[pick % keys.length]! : key;
    if (op === 'replace') target[k] = junk;
    else if (op === 'delete') delete target[k];
    // An array gets an element (setting e.g. `length` to junk throws in the generator itself).
    else if (Array.isArray(target)) target.push(junk);
    else target[key && key !== '__proto__' ? key : 'x'] = junk;
    return copy;
  });

const anyBody = (base: unknown) =>
  fc.oneof(
    { weight: 5, arbitrary: mutate(base) },
    { weight: 1, arbitrary: fc.jsonValue() },
    { weight: 1, arbitrary: fc.string().map((s) => ({ raw: s })) },
  );

const idLike = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constant('00000000-0000-0000-0000-000000000000'));

type Case = { method: string; path: string; body?: unknown };

const cases: fc.Arbitrary<Case> = fc.oneof(
  anyBody(valid.text).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/messages`, body })),
  anyBody(valid.image).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/messages`, body })),
  anyBody(valid.location).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/messages`, body })),
  anyBody(valid.poll).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/messages`, body })),
  anyBody(valid.contact).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/messages`, body })),
  fc.tuple(idLike, anyBody(valid.text)).map(([id, body]) => ({ method: 'POST', path: `/v1/agents/${encodeURIComponent(id)}/messages`, body })),
  anyBody(valid.link).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/session/link`, body })),
  fc.tuple(fc.constantFrom('restart', 'disconnect', 'logout'), anyBody({ force: true })).map(([cmd, body]) => ({ method: 'POST', path: `/v1/agents/${agent}/session/${cmd}`, body })),
  anyBody(valid.key).map((body) => ({ method: 'POST', path: '/v1/keys', body })),
  anyBody(valid.webhook).map((body) => ({ method: 'POST', path: '/v1/webhooks', body })),
  anyBody({ url: 'https://h.example.com/z', enabled: true }).map((body) => ({ method: 'PATCH', path: `/v1/webhooks/${hook}`, body })),
  anyBody(valid.numbers).map((body) => ({ method: 'POST', path: `/v1/agents/${agent}/number-checks`, body })),
  anyBody(valid.agent).map((body) => ({ method: 'POST', path: '/v1/agents', body })),
  fc.tuple(fc.constantFrom('status', 'type', 'to', 'since', 'until', 'limit', 'cursor'), fc.string({ maxLength: 30 })).map(([k, v]) => ({ method: 'GET', path: `/v1/agents/${agent}/messages?${k}=${encodeURIComponent(v)}` })),
  fc.tuple(fc.constantFrom('from', 'to'), fc.string({ maxLength: 12 })).map(([k, v]) => ({ method: 'GET', path: `/v1/agents/${agent}/stats?${k}=${encodeURIComponent(v)}` })),
  fc.tuple(idLike, fc.constantFrom('messages/', 'number-checks/', '')).map(([id, p]) => ({ method: 'GET', path: `/v1/agents/${agent}/${p}${encodeURIComponent(id)}` })),
  idLike.map((id) => ({ method: 'DELETE', path: `/v1/keys/${encodeURIComponent(id)}` })),
  idLike.map((id) => ({ method: 'POST', path: `/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(id)}/redeliver` })),
);

test('no 5xx, one error shape, and no row written for any rejected request', async () => {
  let rejected = 0;
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      const before = await rowCount();
      const body = c.body as { raw?: unknown } | undefined;
      const raw = body && typeof body === 'object' && !Array.isArray(body) && typeof body.raw === 'string' && Object.keys(body).length === 1 ? body.raw : undefined;
      const res = await api.call(c.method, c.path, { token, ...(raw !== undefined ? { raw } : c.body !== undefined ? { body: c.body } : {}) });
      expect(res.status, `${c.method} ${c.path} ${JSON.stringify(c.body)?.slice(0, 300)}`).toBeLessThan(500);
      if (res.status >= 400) {
        rejected++;
        const err = ((await res.json()) as { error: Record<string, unknown> }).error;
        expect(typeof err.code).toBe('string');
        expect(typeof err.message).toBe('string');
        expect(typeof err.requestId).toBe('string');
        expect(JSON.stringify(err)).not.toMatch(/\n\s+at /);
        // Rate-limit buckets are not rows of the tenant's data; everything else must be untouched.
        expect(await rowCount(), `${c.method} ${c.path} wrote a row but answered ${res.status}`).toBe(before);
      } else {
        accepted++;
      }
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) },
  );
  expect(rejected).toBeGreaterThan(100);
  expect(accepted).toBeGreaterThan(0);
  expect(api.logs.filter((l) => l.level === 'error')).toEqual([]);
}, 300_000);
