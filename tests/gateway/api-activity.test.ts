/** An agent's inbound messages and events over the API: ownership, pagination, filters, bad cursors. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };
let agent: string;

beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
  agent = await api.agent(me.token);
  const { sql } = api.db;
  await sql`
    insert into public.inbound_messages (agent_id, owner_id, wa_message_id, chat_jid, sender_phone, type, content, created_at)
    select ${agent}, ${me.id}, 'IN' || g, '447700900123@s.whatsapp.net', '447700900123', 'text', jsonb_build_object('text', 'hi ' || g),
           now() - make_interval(secs => 10 - g)
    from generate_series(1, 5) g`;
  await sql`
    insert into public.events (owner_id, agent_id, type, severity, payload, created_at)
    select ${me.id}, ${agent}, case when g % 2 = 0 then 'message.status' else 'session.status' end, 'info', jsonb_build_object('n', g),
           now() - make_interval(secs => 10 - g)
    from generate_series(1, 6) g`;
});
afterAll(async () => {
  await api?.close();
});

const get = async (path: string, token = me.token) => {
  const res = await api.call('GET', path, { token });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('GET /v1/agents/{id}/inbound', () => {
  test('newest first, paginated by cursor to the end', async () => {
    const first = await get(`/v1/agents/${agent}/inbound?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.data.map((m: any) => m.waMessageId)).toEqual(['IN5', 'IN4']);
    expect(first.body.data[0]).toMatchObject({ chatJid: '447700900123@s.whatsapp.net', senderPhone: '447700900123', fromMe: false, type: 'text', content: { text: 'hi 5' } });
    const second = await get(`/v1/agents/${agent}/inbound?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((m: any) => m.waMessageId)).toEqual(['IN3', 'IN2']);
    const last = await get(`/v1/agents/${agent}/inbound?limit=2&cursor=${second.body.nextCursor}`);
    expect(last.body.data.map((m: any) => m.waMessageId)).toEqual(['IN1']);
    expect(last.body.nextCursor).toBeNull();
  });

  test("another user's agent is a 404; a malformed cursor is a 400 JSON error", async () => {
    const other = await api.user();
    const foreign = await get(`/v1/agents/${agent}/inbound`, other.token);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const bad = await get(`/v1/agents/${agent}/inbound?cursor=not-a-cursor`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request' });
  });
});

describe('GET /v1/agents/{id}/events', () => {
  test('newest first, filtered by type, paginated', async () => {
    const all = await get(`/v1/agents/${agent}/events?limit=50`);
    const ours = all.body.data.filter((e: any) => typeof e.payload.n === 'number');
    expect(ours.map((e: any) => e.payload.n)).toEqual([6, 5, 4, 3, 2, 1]);
    const status = await get(`/v1/agents/${agent}/events?type=message.status&limit=2`);
    expect(status.body.data.map((e: any) => e.payload.n)).toEqual([6, 4]);
    const next = await get(`/v1/agents/${agent}/events?type=message.status&limit=2&cursor=${status.body.nextCursor}`);
    expect(next.body.data.map((e: any) => e.payload.n)).toEqual([2]);
    expect(next.body.nextCursor).toBeNull();
  });

  test('a bad type filter is a 400; an API key bound to another agent sees a 404', async () => {
    const bad = await get(`/v1/agents/${agent}/events?type=DROP TABLE`);
    expect(bad.status).toBe(400);
    const otherAgent = await api.agent(me.token, 'second');
    const key = await api.apiKey(me.token, { name: 'bound', agentId: otherAgent, scopes: ['agents:read', 'messages:read'] });
    expect((await get(`/v1/agents/${agent}/events`, key.key)).status).toBe(404);
    expect((await get(`/v1/agents/${otherAgent}/events`, key.key)).status).toBe(200);
  });

  test('message events (bodies, sender numbers) need messages:read: left out without it, a 403 when asked for by type', async () => {
    const key = await api.apiKey(me.token, { name: 'status only', scopes: ['agents:read'] });
    const listed = await get(`/v1/agents/${agent}/events?limit=50`, key.key);
    expect(listed.status).toBe(200);
    const types = listed.body.data.map((e: any) => e.type);
    expect(types).toContain('session.status');
    expect(types.filter((t: string) => t.startsWith('message.'))).toEqual([]);
    const asked = await get(`/v1/agents/${agent}/events?type=message.status`, key.key);
    expect(asked.status).toBe(403);
    expect(asked.body.error.code).toBe('forbidden');
    const reader = await api.apiKey(me.token, { name: 'reader', scopes: ['agents:read', 'messages:read'] });
    const full = await get(`/v1/agents/${agent}/events?limit=50`, reader.key);
    expect(full.body.data.map((e: any) => e.type)).toContain('message.status');
  });
});
