/**
 * POST /v1/data-requests/export and /erase: one contact's data across the account's agents, for a
 * signed-in user only; erase needs confirm: true, deletes the contact's media from the store,
 * keeps statistics and other contacts' rows, is idempotent and records no number. Bad input is a
 * 400 that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

const PHONE = '447700900111';
const LID = '98765432101234@lid';
const OTHER = '447700900222';
const png = (n: number) => Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.from([n])]).toString('base64');

let api: ApiHarness;
let me: { id: string; token: string };
let a1: string;
let a2: string;
let stranger: { id: string; token: string };
let strangerAgent: string;

const post = (path: string, body: unknown, token = me.token) => api.call('POST', path, { token, body });
const send = async (agent: string, body: Record<string, unknown>, token = me.token) => {
  const res = await post(`/v1/agents/${agent}/messages`, body, token);
  if (res.status !== 202) throw new Error(`send failed: ${res.status} ${await res.text()}`);
};
const mediaKeyOf = async (recipient: string, agent: string) =>
  (await api.db.sql`select content -> 'media' ->> 'key' as key from public.messages where agent_id = ${agent} and recipient = ${recipient} and type = 'image'`)[0]!.key as string;


beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
  stranger = await api.user();
  await api.db.sql`update public.accounts set plan_id = 'max' where user_id in (${me.id}, ${stranger.id})`;
  a1 = await api.agent(me.token, 'one');
  a2 = await api.agent(me.token, 'two');
  strangerAgent = await api.agent(stranger.token, 'theirs');

  await send(a1, { to: '+44 7700 900111', type: 'image', media: { data: png(1), mimetype: 'image/png' }, caption: 'only yours' });
  await send(a1, { to: '+44 7700 900111', type: 'image', media: { data: png(2), mimetype: 'image/png' } });
  await send(a1, { to: `+${OTHER}`, type: 'image', media: { data: png(2), mimetype: 'image/png' } }); // the same bytes: one object
  await send(a2, { to: `+${PHONE}`, type: 'text', text: 'hello from two' });
  await send(strangerAgent, { to: `+${PHONE}`, type: 'text', text: 'another account' }, stranger.token);

  const { sql } = api.db;
  await sql`insert into public.inbound_messages (agent_id, owner_id, wa_message_id, chat_jid, sender_phone, sender_lid, type, content) values
    (${a2}, ${me.id}, 'IN1', ${LID}, ${PHONE}, ${LID}, 'text', '{"text": "hi, by lid"}'),
    (${a1}, ${me.id}, 'IN2', ${`${OTHER}@s.whatsapp.net`}, ${OTHER}, null, 'text', '{"text": "not them"}'),
    (${strangerAgent}, ${stranger.id}, 'IN3', ${`${PHONE}@s.whatsapp.net`}, ${PHONE}, null, 'text', '{"text": "other account"}')`;
  await sql`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version) values
    (${a1}, 'session', ${`${PHONE}.0`}, '\\xdeadbeef', 1), (${a2}, 'session', '98765432101234_1.0', '\\xdeadbeef', 1),
    (${a1}, 'session', ${`${OTHER}.0`}, '\\xdeadbeef', 1)`;
});
afterAll(async () => {
  await api?.close();
});

const requestCount = async () => Number((await api.db.sql`select count(*) as n from private.data_requests`)[0]!.n);
const messageCount = async () => Number((await api.db.sql`select count(*) as n from public.messages`)[0]!.n);

describe('POST /v1/data-requests/export', () => {
  test("finds the contact across both agents under number and LID, nothing of another contact or account, no key material", async () => {
    const res = await post('/v1/data-requests/export', { contact: '+44 7700 900111' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, any>;
    expect(body.contact).toEqual({ phones: [PHONE], lids: [LID] });
    expect(body.outboundMessages).toHaveLength(3);
    expect(new Set(body.outboundMessages.map((m: any) => m.agentId))).toEqual(new Set([a1, a2]));
    expect(body.outboundMessages.every((m: any) => m.recipient === PHONE)).toBe(true);
    expect(body.outboundMessages.find((m: any) => m.type === 'text').content).toEqual({ text: 'hello from two' });
    expect(body.inboundMessages.map((m: any) => [m.waMessageId, m.content.text])).toEqual([['IN1', 'hi, by lid']]);
    expect(body.signalKeys).toEqual(expect.arrayContaining([{ agentId: a1, keyType: 'session', count: 1 }, { agentId: a2, keyType: 'session', count: 1 }]));
    expect(body.mediaObjects).toHaveLength(2);
    expect(body.counts).toMatchObject({ outboundMessages: 3, inboundMessages: 1, signalKeys: 2, mediaObjects: 2 });
    const text = JSON.stringify(body);
    expect(text).not.toContain('deadbeef');
    expect(text).not.toContain(OTHER);
    expect(text).not.toContain('another account');

    // The LID finds the same person; one agent limits it.
    const byLid = (await (await post('/v1/data-requests/export', { contact: LID })).json()) as Record<string, any>;
    expect(byLid.counts).toEqual(body.counts);
    const one = (await (await post('/v1/data-requests/export', { contact: PHONE, agentId: a2 })).json()) as Record<string, any>;
    expect(one.outboundMessages.map((m: any) => m.agentId)).toEqual([a2]);
  });

  test("an API key (even with every scope) is refused; another account's agent is a 404", async () => {
    const key = await api.apiKey(me.token, { name: 'all', scopes: ['*'] });
    const viaKey = await post('/v1/data-requests/export', { contact: PHONE }, key.key);
    expect(viaKey.status).toBe(403);
    expect((await post('/v1/data-requests/erase', { contact: PHONE, confirm: true }, key.key)).status).toBe(403);
    const foreign = await post('/v1/data-requests/export', { contact: PHONE, agentId: strangerAgent });
    expect(foreign.status).toBe(404);
    expect((await errorOf(foreign)).code).toBe('not_found');
  });

  test('a contact with nothing stored is an empty export', async () => {
    const res = await post('/v1/data-requests/export', { contact: '+1 555 010 9999' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(Object.values(body.counts).every((n) => n === 0)).toBe(true);
    expect(body.contact).toEqual({ phones: ['15550109999'], lids: [] });
  });
});

describe('bad input', () => {
  test.each([
    ['export', { contact: 'not a number' }],
    ['export', { contact: '12' }],
    ['export', { contact: 'abc@lid' }],
    ['export', {}],
    ['export', { contact: PHONE, extra: 1 }],
    ['export', { contact: PHONE, agentId: 'nope' }],
    ['erase', { contact: PHONE }],
    ['erase', { contact: PHONE, confirm: false }],
    ['erase', { contact: PHONE, confirm: 'yes' }],
    ['erase', { contact: '+44 7700 9001 11 11 11 11', confirm: true }],
  ])('%s %j is a 400 that changes nothing', async (kind, body) => {
    const [requests, messages] = [await requestCount(), await messageCount()];
    const res = await post(`/v1/data-requests/${kind}`, body);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: 'invalid_request' });
    expect([await requestCount(), await messageCount()]).toEqual([requests, messages]);
  });

  test('the confirmation is named in the error', async () => {
    const err = await errorOf(await post('/v1/data-requests/erase', { contact: PHONE }));
    expect(err.details).toEqual([expect.objectContaining({ path: 'confirm', message: expect.stringContaining('must be true') })]);
  });
});

describe('POST /v1/data-requests/erase', () => {
  test('a media store that fails rolls the whole erase back: a 503, nothing erased, nothing recorded', async () => {
    const store = api.mediaStore;
    const working = store.delete;
    store.delete = async () => {
      throw new Error('store down');
    };
    try {
      const [requests, messages] = [await requestCount(), await messageCount()];
      const res = await post('/v1/data-requests/erase', { contact: PHONE, confirm: true });
      expect(res.status).toBe(503);
      expect(await errorOf(res)).toMatchObject({ code: 'unavailable' });
      expect([await requestCount(), await messageCount()]).toEqual([requests, messages]);
      expect(Number((await api.db.sql`select count(*) as n from private.media_objects where owner_id = ${me.id}`)[0]!.n)).toBe(2);
    } finally {
      store.delete = working;
    }
  });

  test("erases the contact's rows and media only they used, keeps statistics and everyone else's, is idempotent and records no number", async () => {
    const { sql } = api.db;
    const ownKey = (await sql`select content -> 'media' ->> 'key' as key from public.messages where recipient = ${PHONE} and content ->> 'caption' = 'only yours'`)[0]!.key as string;
    const sharedKey = await mediaKeyOf(OTHER, a1);
    expect(ownKey).not.toBe(sharedKey);
    expect(await api.mediaStore.get(ownKey)).toBeDefined();
    const stats = () => sql`select agent_id, day, queued, sent, delivered, read, failed, received, api_calls from public.daily_stats order by agent_id, day`;
    const statsBefore = await stats();
    const strangerBefore = await sql`select id from public.messages where owner_id = ${stranger.id} union all select id from public.inbound_messages where owner_id = ${stranger.id}`;

    const res = await post('/v1/data-requests/erase', { contact: `${PHONE}@s.whatsapp.net`, confirm: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { requestId: string; counts: Record<string, number> };
    expect(body.counts).toMatchObject({ outboundMessages: 3, inboundMessages: 1, signalKeys: 2, mediaObjects: 1 });
    expect(res.headers.get('ratelimit-limit')).toBe('20');

    expect(await api.mediaStore.get(ownKey)).toBeUndefined();
    expect(await api.mediaStore.get(sharedKey)).toBeDefined();
    expect((await sql`select key from private.media_objects where owner_id = ${me.id}`).map((r) => r.key)).toEqual([sharedKey]);
    expect((await sql`select recipient from public.messages where owner_id = ${me.id}`).map((r) => r.recipient)).toEqual([OTHER]);
    expect((await sql`select wa_message_id from public.inbound_messages where owner_id = ${me.id}`).map((r) => r.wa_message_id)).toEqual(['IN2']);
    expect((await sql`select key_id from private.signal_keys where agent_id in (${a1}, ${a2})`).map((r) => r.key_id)).toEqual([`${OTHER}.0`]);
    expect(await stats()).toEqual(statsBefore);
    expect(await sql`select id from public.messages where owner_id = ${stranger.id} union all select id from public.inbound_messages where owner_id = ${stranger.id}`).toEqual(strangerBefore);

    const again = await post('/v1/data-requests/erase', { contact: PHONE, confirm: true });
    expect(again.status).toBe(200);
    expect(Object.values(((await again.json()) as { counts: Record<string, number> }).counts).every((n) => n === 0)).toBe(true);

    const [record] = await sql`select * from private.data_requests where id = ${body.requestId}`;
    expect(record).toMatchObject({ kind: 'erase', owner_id: me.id, requested_by: me.id, agent_id: null });
    const records = JSON.stringify(await sql`select * from private.data_requests where owner_id = ${me.id}`);
    expect(records).not.toContain(PHONE);
    expect(JSON.stringify(api.logs)).not.toContain(PHONE);
  });
});
