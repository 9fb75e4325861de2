/**
 * The send's round trips to the database (issue 12 item 7): a valid send checks its caller in the
 * statement that sends (gateway.api_send_with_key, gateway.api_send_as_member), one round trip
 * where there were three (the key or the member's role, the content policy, api_send). An
 * encrypted organisation's send takes two (the statement answers 'seal', the sealed content goes
 * to api_send), and once the caller is known to need sealing its plaintext is not sent to the
 * database again. Whatever the statement refuses is answered the regular way, unchanged.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

const SECRET = 'the merger closes on friday';
let api: ApiHarness;

beforeAll(async () => {
  api = await createApiHarness({}, { contentKey: { version: 1, key: new Uint8Array(randomBytes(32)) }, recordStatements: true });
});
afterAll(async () => api?.close());
beforeEach(() => {
  api.statements.length = 0;
});

/** The gateway function each statement of the request called, in order. */
const called = () => api.statements.map((s) => /gateway\.(\w+)/.exec(s.query)?.[1] ?? s.query.trim().slice(0, 40));
const send = (token: string, agent: string, text: string, headers: Record<string, string> = {}) =>
  api.call('POST', `/v1/agents/${agent}/messages`, { token, body: { to: '+49 151 23456789', type: 'text', text }, headers });

async function setup() {
  const owner = await api.user();
  const agent = await api.agent(owner.token);
  const key = await api.apiKey(owner.token, { name: 'sender', scopes: ['messages:send'] });
  api.statements.length = 0;
  return { owner, agent, key: key.key };
}

describe('a plain organisation', () => {
  test('an API key send is one statement, and answers as before (202, Location, rate headers, replay)', async () => {
    const { agent, key } = await setup();
    const res = await send(key, agent, 'hello', { 'idempotency-key': 'once' });
    expect(res.status).toBe(202);
    expect(called()).toEqual(['api_send_with_key']);
    const body = (await res.json()) as { id: string; replayed: boolean; status: string };
    expect(body).toMatchObject({ status: 'queued', replayed: false });
    expect(res.headers.get('location')).toBe(`/gateway/v1/agents/${agent}/messages/${body.id}`);
    expect(res.headers.get('ratelimit-limit')).toBeTruthy();

    api.statements.length = 0;
    const replay = await send(key, agent, 'hello', { 'idempotency-key': 'once' });
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { id: string }).id).toBe(body.id);
    expect(called()).toEqual(['api_send_with_key']);
    const stored = await api.db.sql`select content, request_hash from public.messages where id = ${body.id}`;
    expect(stored[0]!.content).toEqual({ text: 'hello' });
    expect(stored[0]!.request_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a signed-in developer send is one statement, also naming their organisation', async () => {
    const { owner, agent } = await setup();
    expect((await send(owner.token, agent, 'hi')).status).toBe(202);
    expect(called()).toEqual(['api_send_as_member']);
    api.statements.length = 0;
    expect((await send(owner.token, agent, 'hi', { 'X-Organisation-Id': owner.id.toUpperCase() })).status).toBe(202);
    expect(called()).toEqual(['api_send_as_member']);
  });

  test('a refused caller gets the regular answer and nothing is written', async () => {
    const { owner, agent, key } = await setup();
    const readOnly = (await api.apiKey(owner.token, { name: 'reader', scopes: ['messages:read'] })).key;
    const viewer = await api.user();
    await api.db.sql`insert into public.organisation_members (organisation_id, user_id, role) values (${owner.id}, ${viewer.id}, 'viewer')`;
    const stranger = await api.user();
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['wrong key', `${key.slice(0, -4)}AAAA`, {}, 401, 'unauthenticated'],
      ['no scope', readOnly, {}, 403, 'forbidden'],
      ['another organisation for the key', key, { 'X-Organisation-Id': stranger.id }, 404, 'not_found'],
      ['a viewer', viewer.token, { 'X-Organisation-Id': owner.id }, 403, 'forbidden'],
      ['not a member', stranger.token, { 'X-Organisation-Id': owner.id }, 404, 'not_found'],
    ];
    for (const [name, credential, headers, status, code] of cases) {
      const res = await send(credential, agent, 'nope', headers);
      expect({ name, status: res.status, code: (await errorOf(res)).code }).toEqual({ name, status, code });
    }
    expect((await api.db.sql`select count(*)::int as n from public.messages where agent_id = ${agent}`)[0]!.n).toBe(0);
  });

  test('an upload goes the regular way (the store key needs the organisation first)', async () => {
    const { agent, key } = await setup();
    const res = await api.call('POST', `/v1/agents/${agent}/messages`, {
      token: key, body: { to: '+49 151 23456789', type: 'image', media: { data: Buffer.from('png bytes').toString('base64'), mimetype: 'image/png' } },
    });
    expect(res.status).toBe(202);
    expect(called()).toEqual(['api_key_for_prefix', 'register_media', 'api_content_policy', 'api_send']);
  });
});

describe('an encrypted organisation', () => {
  test('two statements; after the first, the plaintext is not sent to the database; back to plain, plain again', async () => {
    const { owner, agent, key } = await setup();
    expect((await api.call('PUT', '/v1/account/content-policy', { token: owner.token, body: { policy: 'encrypted' } })).status).toBe(200);
    const plaintextSent = () => api.statements.some((s) => JSON.stringify(s.parameters).includes(SECRET));

    api.statements.length = 0;
    expect((await send(key, agent, SECRET, { 'idempotency-key': 'e1' })).status).toBe(202);
    expect(called()).toEqual(['api_send_with_key', 'api_send']);

    api.statements.length = 0;
    const second = await send(key, agent, SECRET, { 'idempotency-key': 'e2' });
    expect(second.status).toBe(202);
    expect(called()).toEqual(['api_send_with_key', 'api_send']);
    expect(plaintextSent()).toBe(false);
    const { id } = (await second.json()) as { id: string };

    api.statements.length = 0;
    const replay = await send(key, agent, SECRET, { 'idempotency-key': 'e2' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { id: string }).id).toBe(id);
    expect(plaintextSent()).toBe(false);

    const stored = await api.db.sql`select m::text as row from public.messages m where agent_id = ${agent}`;
    expect(stored.map((r) => r.row).join('\n')).not.toContain(SECRET);
    const read = (await (await api.call('GET', `/v1/agents/${agent}/messages/${id}`, { token: owner.token })).json()) as { content: { text: string } };
    expect(read.content.text).toBe(SECRET);

    expect((await api.call('PUT', '/v1/account/content-policy', { token: owner.token, body: { policy: 'plain' } })).status).toBe(200);
    api.statements.length = 0;
    const plain = await send(key, agent, 'plain again');
    expect(plain.status).toBe(202);
    expect(called()).toEqual(['api_send_with_key', 'api_send']);
    const { id: plainId } = (await plain.json()) as { id: string };
    expect((await api.db.sql`select content from public.messages where id = ${plainId}`)[0]!.content).toEqual({ text: 'plain again' });
    api.statements.length = 0;
    expect((await send(key, agent, 'and again')).status).toBe(202);
    expect(called()).toEqual(['api_send_with_key']);
  });
});
