/**
 * Message content at rest over the API (README "Message content at rest"): the account's content
 * policy, sends of an encrypted tenant sealed before the insert (the database holds no plaintext),
 * listings opening them for the owner, and content that cannot be opened failing closed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sealContent } from '../../kernel/content-box.ts';
import { associatedData, type Keyring } from '../../kernel/secret-box.ts';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

const SECRET = 'the merger closes on friday';
let api: ApiHarness;
let keyless: ApiHarness;
let contentKeyring: Keyring;

beforeAll(async () => {
  api = await createApiHarness({}, { contentKey: { version: 2, key: new Uint8Array(randomBytes(32)) } });
  contentKeyring = api.contentKeyring!;
  keyless = await createApiHarness();
});
afterAll(async () => {
  await api?.close();
  await keyless?.close();
});

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, any> });
const setPolicy = (h: ApiHarness, token: string, policy: unknown) => h.call('PUT', '/v1/account/content-policy', { token, body: { policy } });

/** Every column of every row that could hold content, as text: what the Data API and the SQL editor see. */
async function everythingStored(h: ApiHarness, owner: string): Promise<string> {
  const { sql } = h.db;
  const rows = await Promise.all([
    sql`select m::text as t from public.messages m where owner_id = ${owner}`,
    sql`select i::text as t from public.inbound_messages i where owner_id = ${owner}`,
    sql`select e::text as t from public.events e where owner_id = ${owner}`,
  ]);
  return rows.flat().map((r) => r.t).join('\n');
}

describe('GET/PUT /v1/account/content-policy', () => {
  test('plain until changed; a change is returned and kept; another account is untouched', async () => {
    const me = await api.user();
    const other = await api.user();
    expect(await json(await api.call('GET', '/v1/account/content-policy', { token: me.token }))).toEqual({ status: 200, body: { policy: 'plain', updatedAt: null } });
    const set = await json(await setPolicy(api, me.token, 'discard_after_delivery'));
    expect(set.status).toBe(200);
    expect(set.body.policy).toBe('discard_after_delivery');
    expect(typeof set.body.updatedAt).toBe('string');
    expect((await json(await api.call('GET', '/v1/account/content-policy', { token: me.token }))).body.policy).toBe('discard_after_delivery');
    expect((await json(await api.call('GET', '/v1/account/content-policy', { token: other.token }))).body.policy).toBe('plain');
  });

  test('bad input is a 400 that changes nothing; an API key is refused (account setting)', async () => {
    const me = await api.user();
    for (const body of [{ policy: 'shredded' }, {}, { policy: 'plain', extra: 1 }]) {
      const res = await api.call('PUT', '/v1/account/content-policy', { token: me.token, body });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBeTruthy();
    }
    const key = await api.apiKey(me.token);
    expect((await setPolicy(api, key.key, 'plain')).status).toBe(403);
    expect((await json(await api.call('GET', '/v1/account/content-policy', { token: me.token }))).body.policy).toBe('plain');
  });

  test('encrypted without MESSAGE_CONTENT_KEY is a 409 naming the problem, and changes nothing', async () => {
    const me = await keyless.user();
    const res = await setPolicy(keyless, me.token, 'encrypted');
    expect(res.status).toBe(409);
    const error = await errorOf(res);
    expect(error.code).toBe('content_key_unavailable');
    expect(error.message).toContain('MESSAGE_CONTENT_KEY');
    expect((await json(await keyless.call('GET', '/v1/account/content-policy', { token: me.token }))).body.policy).toBe('plain');
  });
});

describe('an encrypted tenant', () => {
  test('a send is stored sealed (no plaintext in any row) and read back as plaintext by get and list', async () => {
    const me = await api.user();
    const agent = await api.agent(me.token);
    expect((await setPolicy(api, me.token, 'encrypted')).status).toBe(200);
    const sent = await json(await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body: { to: '447700900123', type: 'text', text: SECRET } }));
    expect(sent.status).toBe(202);
    const [row] = await api.db.sql`select content from public.messages where id = ${sent.body.id}`;
    expect(row!.content.sealed.v).toBe(2);
    expect(await everythingStored(api, me.id)).not.toContain('merger');
    const one = await json(await api.call('GET', `/v1/agents/${agent}/messages/${sent.body.id}`, { token: me.token }));
    expect(one.body.content).toEqual({ text: SECRET });
    const list = await json(await api.call('GET', `/v1/agents/${agent}/messages`, { token: me.token }));
    expect(list.body.data.map((m: any) => m.content)).toEqual([{ text: SECRET }]);
  });

  test('a replayed Idempotency-Key answers with the first row, whose content still opens', async () => {
    const me = await api.user();
    const agent = await api.agent(me.token);
    await setPolicy(api, me.token, 'encrypted');
    const body = { to: '447700900123', type: 'text', text: SECRET };
    const headers = { 'idempotency-key': 'same-key' };
    const first = await json(await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body, headers }));
    const again = await json(await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body, headers }));
    expect(again.body).toMatchObject({ id: first.body.id, replayed: true });
    expect((await json(await api.call('GET', `/v1/agents/${agent}/messages/${first.body.id}`, { token: me.token }))).body.content).toEqual({ text: SECRET });
    const changed = await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body: { ...body, text: 'other' }, headers });
    expect(changed.status).toBe(409);
    // The stored hash is keyed: the SHA-256 of a guessed body does not confirm it.
    const [row] = await api.db.sql`select request_hash from public.messages where id = ${first.body.id}`;
    expect(row!.request_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.request_hash).not.toBe(createHash('sha256').update(JSON.stringify(body)).digest('hex'));
  });

  test('inbound content and its event, sealed by the connector, are listed as plaintext', async () => {
    const me = await api.user();
    const agent = await api.agent(me.token);
    await setPolicy(api, me.token, 'encrypted');
    const content = await sealContent(contentKeyring, { text: SECRET }, associatedData.inboundContent(agent, 'IN-SEALED'));
    const { sql } = api.db;
    const [inbound] = await sql`
      insert into public.inbound_messages (agent_id, owner_id, wa_message_id, chat_jid, type, content)
      values (${agent}, ${me.id}, 'IN-SEALED', '447700900123@s.whatsapp.net', 'text', ${sql.json(content as never)}) returning id`;
    await sql`insert into public.events (owner_id, agent_id, type, payload)
      values (${me.id}, ${agent}, 'message.received', ${sql.json({ id: inbound!.id, wa_message_id: 'IN-SEALED', content } as never)})`;
    expect(await everythingStored(api, me.id)).not.toContain('merger');
    const listed = await json(await api.call('GET', `/v1/agents/${agent}/inbound`, { token: me.token }));
    expect(listed.body.data[0].content).toEqual({ text: SECRET });
    const events = await json(await api.call('GET', `/v1/agents/${agent}/events?type=message.received`, { token: me.token }));
    expect(events.body.data[0].payload.content).toEqual({ text: SECRET });
  });

  test('fails closed: tampered, moved to another row, or sealed with an unknown key version shows as unreadable, never as ciphertext or a 500', async () => {
    const me = await api.user();
    const agent = await api.agent(me.token);
    await setPolicy(api, me.token, 'encrypted');
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three', 'four']) {
      const res = await json(await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body: { to: '447700900123', type: 'text', text } }));
      ids.push(res.body.id);
    }
    const { sql } = api.db;
    const [a, b, c] = ids as [string, string, string, string];
    // A flipped byte of the first; the second's ciphertext copied onto the third; the fourth is left alone.
    const [rowA] = await sql`select content from public.messages where id = ${a}`;
    const bytes = Buffer.from(rowA!.content.sealed.ct, 'base64');
    bytes[20]! ^= 1;
    await sql`update public.messages set content = jsonb_set(content, '{sealed,ct}', to_jsonb(${bytes.toString('base64')}::text)) where id = ${a}`;
    await sql`update public.messages set content = (select content from public.messages where id = ${b}) where id = ${c}`;
    const list = await json(await api.call('GET', `/v1/agents/${agent}/messages`, { token: me.token }));
    expect(list.status).toBe(200);
    const byId = new Map(list.body.data.map((m: any) => [m.id, m.content]));
    expect(byId.get(a)).toEqual({ content_unreadable: true });
    expect(byId.get(b)).toEqual({ text: 'two' });
    expect(byId.get(c)).toEqual({ content_unreadable: true });
    expect(byId.get(ids[3])).toEqual({ text: 'four' });
    await sql`update public.messages set content = jsonb_set(content, '{sealed,v}', '7') where id = ${b}`;
    expect((await json(await api.call('GET', `/v1/agents/${agent}/messages/${b}`, { token: me.token }))).body.content).toEqual({ content_unreadable: true });
    expect(api.logs.some((l) => l.msg === 'stored message content cannot be opened')).toBe(true);
  });

  test('plaintext for an encrypted tenant is refused by SQL; a gateway without the key answers 409 and stores nothing', async () => {
    const me = await keyless.user();
    const agent = await keyless.agent(me.token);
    await keyless.db.sql`select * from gateway.api_set_content_policy(${me.id}, 'encrypted')`;
    const res = await keyless.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body: { to: '447700900123', type: 'text', text: SECRET } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe('content_key_unavailable');
    const direct = await keyless.db.sql`select * from gateway.enqueue_message(${me.id}, ${agent}, '447700900123', 'text', '{"text":"x"}'::jsonb)`.catch((e) => e);
    expect(direct.code).toBe('WG008');
    expect((await keyless.db.sql`select count(*)::int as n from public.messages where agent_id = ${agent}`)[0]!.n).toBe(0);
  });
});

describe('a plain tenant', () => {
  test('nothing changes: content stored and listed as sent', async () => {
    const me = await api.user();
    const agent = await api.agent(me.token);
    const body = { to: '447700900123', type: 'text', text: 'hello' };
    const sent = await json(await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body, headers: { 'idempotency-key': 'k1' } }));
    const [row] = await api.db.sql`select content, request_hash from public.messages where id = ${sent.body.id}`;
    expect(row!.content).toEqual({ text: 'hello' });
    expect(row!.request_hash).toBe(createHash('sha256').update(JSON.stringify(body)).digest('hex'));
  });
});
