/** Linking (QR, pairing code, 5 per 15 minutes), status with QR image, commands refused while sends are in flight. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';
import { claim, registerConnector } from '../helpers/fixtures.ts';

let api: ApiHarness;
let me: { id: string; token: string };

beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
  await api.db.sql`update public.accounts set plan_id = 'max' where user_id = ${me.id}`;
});
afterAll(async () => {
  await api?.close();
});

const link = (agent: string, body: unknown) => api.call('POST', `/v1/agents/${agent}/session/link`, { token: me.token, body });

test('link by QR, then by pairing code with a normalised phone', async () => {
  const agent = await api.agent(me.token);
  const qr = await link(agent, { method: 'qr' });
  expect(qr.status).toBe(202);
  expect(qr.headers.get('ratelimit-limit')).toBe('5');
  expect(qr.headers.get('ratelimit-remaining')).toBe('4');
  const pairing = await link(agent, { method: 'pairing_code', phone: '+49 151 2345 6789' });
  expect(pairing.status).toBe(202);
  const [s] = await api.db.sql`select desired_state, link_method, link_phone from public.whatsapp_sessions where agent_id = ${agent}`;
  expect(s).toEqual({ desired_state: 'connected', link_method: 'pairing_code', link_phone: '4915123456789' });
});

test('link attempts: 5 per 15 minutes per agent, then 429 with headers; other agents unaffected', async () => {
  const agent = await api.agent(me.token);
  for (let i = 0; i < 5; i++) expect((await link(agent, { method: 'qr' })).status).toBe(202);
  const limited = await link(agent, { method: 'qr' });
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(100); // one token per 180 s
  expect(limited.headers.get('ratelimit-limit')).toBe('5');
  expect(limited.headers.get('ratelimit-remaining')).toBe('0');
  expect((await errorOf(limited)).code).toBe('rate_limited');
  const another = await api.agent(me.token);
  expect((await link(another, { method: 'qr' })).status).toBe(202);
});

test('status shows QR text and a PNG, pairing code, phone, last error, that a connector holds it and heartbeat age', async () => {
  const agent = await api.agent(me.token);
  await link(agent, { method: 'qr' });
  const connector = await registerConnector(api.db.sql, undefined, 'edge-test-host');
  await claim(api.db.sql, connector, agent);
  await api.db.sql`update public.whatsapp_sessions set status = 'qr', qr_code = '2@abc,def,ghi', qr_expires_at = now() + interval '20 seconds',
    last_disconnect_code = 428, last_disconnect_reason = 'connection closed', last_disconnected_at = now(),
    last_heartbeat_at = now() - interval '7 seconds' where agent_id = ${agent}`;
  const res = await api.call('GET', `/v1/agents/${agent}/session`, { token: me.token });
  expect(res.status).toBe(200);
  const s = (await res.json()) as Record<string, any>;
  expect(s.status).toBe('qr');
  expect(s.qr.text).toBe('2@abc,def,ghi');
  expect(s.qr.image).toMatch(/^data:image\/png;base64,/);
  expect(Buffer.from(s.qr.image.split(',')[1], 'base64').subarray(1, 4).toString()).toBe('PNG');
  expect(s.lastError).toMatchObject({ code: 428, reason: 'connection closed' });
  // Held, but which connector, on which host, with which PID is for operators only.
  expect(s.ownerConnector).toEqual({ leaseUntil: expect.any(String) });
  const text = JSON.stringify(s);
  expect(text).not.toContain(connector);
  expect(text).not.toContain('edge-test-host');
  expect(text).not.toContain(String(process.pid));
  expect(s.heartbeatAgeSeconds).toBeGreaterThanOrEqual(6);
  expect(s.heartbeatAgeSeconds).toBeLessThan(60);
});

test('restart is refused with 409 while sends are in flight, accepted with force; sending-status agrees', async () => {
  const agent = await api.agent(me.token);
  await link(agent, { method: 'qr' });
  await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, body: { to: '+4915123456789', type: 'text', text: 'x' } });
  await api.db.sql`update public.messages set status = 'sending' where agent_id = ${agent}`;
  const status = (await (await api.call('GET', `/v1/agents/${agent}/session/sending-status`, { token: me.token })).json()) as Record<string, unknown>;
  expect(status).toMatchObject({ inFlight: 1, queued: 0, canRestart: false });
  const refused = await api.call('POST', `/v1/agents/${agent}/session/restart`, { token: me.token });
  expect(refused.status).toBe(409);
  expect((await errorOf(refused)).details).toEqual({ in_flight: 1 });
  const [before] = await api.db.sql`select pending_command from public.whatsapp_sessions where agent_id = ${agent}`;
  expect(before!.pending_command).toBeNull();
  const forced = await api.call('POST', `/v1/agents/${agent}/session/restart`, { token: me.token, body: { force: true } });
  expect(forced.status).toBe(202);
  expect(((await forced.json()) as { pendingCommand: string }).pendingCommand).toBe('restart');
});

test('disconnect and logout record the wish; repeating them is harmless', async () => {
  const agent = await api.agent(me.token);
  await link(agent, { method: 'qr' });
  for (let i = 0; i < 2; i++) {
    const res = await api.call('POST', `/v1/agents/${agent}/session/disconnect`, { token: me.token });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { desiredState: string }).desiredState).toBe('disconnected');
  }
  const out = await api.call('POST', `/v1/agents/${agent}/session/logout`, { token: me.token });
  expect(out.status).toBe(202);
  expect(((await out.json()) as { status: string }).status).toBe('logged_out');
});

test('a connected session refuses a new link with 409 and the bucket is not charged', async () => {
  const agent = await api.agent(me.token);
  await api.db.sql`update public.whatsapp_sessions set status = 'connected' where agent_id = ${agent}`;
  const res = await link(agent, { method: 'qr' });
  expect(res.status).toBe(409);
  const [bucket] = await api.db.sql`select count(*)::int as n from private.rate_limit_buckets where key = ${`link:${agent}`}`;
  expect(bucket!.n).toBe(0);
});

test('agents: plan limit is 403 plan_limit; delete ends the session and wipes secrets; repeat delete is 404', async () => {
  const u = await api.user();
  for (let i = 0; i < 5; i++) await api.agent(u.token, `a${i}`);
  const over = await api.call('POST', '/v1/agents', { token: u.token, body: { name: 'sixth' } });
  expect(over.status).toBe(403);
  expect((await errorOf(over)).code).toBe('plan_limit');
  const list = (await (await api.call('GET', '/v1/agents', { token: u.token })).json()) as { data: Array<{ id: string }> };
  expect(list.data.length).toBe(5);
  const victim = list.data[0]!.id;
  await api.db.sql`insert into private.session_credentials (agent_id, ciphertext, key_version) values (${victim}, '\\x00', 1)`;
  const [had] = await api.db.sql`select count(*)::int as n from private.session_credentials where agent_id = ${victim}`;
  expect(had!.n).toBe(1);
  expect((await api.call('DELETE', `/v1/agents/${victim}`, { token: u.token })).status).toBe(204);
  const [left] = await api.db.sql`select (select count(*) from public.whatsapp_sessions where agent_id = ${victim})::int +
    (select count(*) from private.session_credentials where agent_id = ${victim})::int as n`;
  expect(left!.n).toBe(0);
  expect((await api.call('DELETE', `/v1/agents/${victim}`, { token: u.token })).status).toBe(404);
  expect((await api.call('POST', '/v1/agents', { token: u.token, body: { name: 'room again' } })).status).toBe(201);
});
