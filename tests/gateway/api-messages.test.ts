/** Sending every message type, idempotency, the plan's per-minute limit, media rules, reading and listing. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readAll } from '../../kernel/media/store.ts';
import { type ApiHarness, createApiHarness, errorOf } from '../helpers/api.ts';

let api: ApiHarness;
let me: { id: string; token: string };
let agent: string;

beforeAll(async () => {
  api = await createApiHarness();
  me = await api.user();
  await api.db.sql`update public.plans set messages_per_minute = 10000 where id = 'max'`;
  await api.db.sql`update public.accounts set plan_id = 'max' where user_id = ${me.id}`;
  agent = await api.agent(me.token);
});
afterAll(async () => {
  await api?.close();
});

const send = (body: unknown, headers: Record<string, string> = {}, a = agent) => api.call('POST', `/v1/agents/${a}/messages`, { token: me.token, body, headers });
const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
const pngSha = createHash('sha256').update(Buffer.from(png, 'base64')).digest('hex');
/** A base64 upload is queued as a reference to the media store. */
const storedRef = (mimetype: string) => ({ key: expect.stringMatching(new RegExp(`^[0-9a-f-]{36}/${pngSha}$`)), sha256: pngSha, size: 16, mimetype });

const valid: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
  ['text', { text: 'hello @4915111111111', mentions: ['+49 151 11111111'], replyTo: '3EB0ABCDEF012345' }, { text: 'hello @4915111111111', mentions: ['4915111111111'], replyTo: '3EB0ABCDEF012345' }],
  ['image', { media: { url: 'https://cdn.example.com/a.jpg', mimetype: 'image/jpeg' }, caption: 'look' }, { media: { url: 'https://cdn.example.com/a.jpg', mimetype: 'image/jpeg' }, caption: 'look' }],
  ['image', { media: { data: png, mimetype: 'image/png' } }, { media: storedRef('image/png') }],
  ['video', { media: { url: 'https://cdn.example.com/v.mp4' }, gifPlayback: true }, { media: { url: 'https://cdn.example.com/v.mp4' }, gifPlayback: true }],
  ['audio', { media: { url: 'https://cdn.example.com/a.mp3', mimetype: 'audio/mpeg' } }, { media: { url: 'https://cdn.example.com/a.mp3', mimetype: 'audio/mpeg' } }],
  ['voice', { media: { data: png, mimetype: 'audio/ogg; codecs=opus' } }, { media: storedRef('audio/ogg; codecs=opus') }],
  ['document', { media: { url: 'https://cdn.example.com/r.pdf', mimetype: 'application/pdf', filename: 'report.pdf' }, caption: 'Q3' }, { media: { url: 'https://cdn.example.com/r.pdf', mimetype: 'application/pdf', filename: 'report.pdf' }, caption: 'Q3' }],
  ['location', { latitude: 52.52, longitude: 13.405, name: 'Berlin' }, { latitude: 52.52, longitude: 13.405, name: 'Berlin' }],
  ['contact', { contacts: [{ name: 'Ann', phone: '+1 (415) 555-0100' }] }, { contacts: [{ name: 'Ann', phone: '14155550100' }] }],
  ['reaction', { messageId: '3EB0ABCDEF012345', emoji: '👍' }, { messageId: '3EB0ABCDEF012345', emoji: '👍' }],
  ['poll', { name: 'Lunch?', options: ['Pizza', 'Sushi'] }, { name: 'Lunch?', options: ['Pizza', 'Sushi'], selectableCount: 1 }],
  ['edit', { messageId: '3EB0ABCDEF012345', text: 'fixed' }, { messageId: '3EB0ABCDEF012345', text: 'fixed' }],
  ['delete', { messageId: '3EB0ABCDEF012345' }, { messageId: '3EB0ABCDEF012345', forEveryone: true }],
];

describe('every message type is queued with the documented content', () => {
  test.each(valid)('%s', async (type, fields, content) => {
    const res = await send({ to: '+49 (151) 2345-6789', type, ...fields });
    expect(res.status, await res.clone().text()).toBe(202);
    const body = (await res.json()) as { id: string; status: string; waMessageId: string };
    expect(body.status).toBe('queued');
    const [row] = await api.db.sql`select recipient, type, content, wa_message_id from public.messages where id = ${body.id}`;
    expect(row).toMatchObject({ recipient: '4915123456789', type, content, wa_message_id: body.waMessageId });
  });
});

test('group recipients are accepted as jids', async () => {
  expect((await send({ to: '120363025246125888@g.us', type: 'text', text: 'hi group' })).status).toBe(202);
});

const invalid: Array<[string, Record<string, unknown>]> = [
  ['impossible phone', { to: '+0123', type: 'text', text: 'x' }],
  ['letters in phone', { to: '+49abc12345678', type: 'text', text: 'x' }],
  ['unknown type', { to: '+4915123456789', type: 'sticker', text: 'x' }],
  ['empty text', { to: '+4915123456789', type: 'text', text: '' }],
  ['unknown field', { to: '+4915123456789', type: 'text', text: 'x', bold: true }],
  ['http media', { to: '+4915123456789', type: 'image', media: { url: 'http://cdn.example.com/a.jpg' } }],
  ['ftp media', { to: '+4915123456789', type: 'image', media: { url: 'ftp://cdn.example.com/a.jpg' } }],
  ['file media', { to: '+4915123456789', type: 'document', media: { url: 'file:///etc/passwd' } }],
  ['loopback media', { to: '+4915123456789', type: 'image', media: { url: 'https://127.0.0.1/a.jpg' } }],
  ['documentation-range media', { to: '+4915123456789', type: 'image', media: { url: 'https://203.0.113.5/a.jpg' } }],
  ['TEST-NET-1 media', { to: '+4915123456789', type: 'image', media: { url: 'https://192.0.2.10/a.jpg' } }],
  ['TEST-NET-2 media', { to: '+4915123456789', type: 'image', media: { url: 'https://198.51.100.7/a.jpg' } }],
  ['Teredo media', { to: '+4915123456789', type: 'image', media: { url: 'https://[2001::1]/a.jpg' } }],
  ['6to4-private media', { to: '+4915123456789', type: 'image', media: { url: 'https://[2002:a00:1::1]/a.jpg' } }],
  ['IPv4-compatible media', { to: '+4915123456789', type: 'image', media: { url: 'https://[::7f00:1]/a.jpg' } }],
  ['site-local media', { to: '+4915123456789', type: 'image', media: { url: 'https://[fec0::1]/a.jpg' } }],
  ['mime not allowed', { to: '+4915123456789', type: 'image', media: { data: png, mimetype: 'image/svg+xml' } }],
  ['executable document', { to: '+4915123456789', type: 'document', media: { data: png, mimetype: 'application/x-msdownload' } }],
  ['base64 without mimetype', { to: '+4915123456789', type: 'image', media: { data: png } }],
  ['not base64', { to: '+4915123456789', type: 'image', media: { data: '@@@@', mimetype: 'image/png' } }],
  ['url and data', { to: '+4915123456789', type: 'image', media: { url: 'https://x.example.com/a.png', data: png, mimetype: 'image/png' } }],
  ['latitude out of range', { to: '+4915123456789', type: 'location', latitude: 91, longitude: 0 }],
  ['poll with one option', { to: '+4915123456789', type: 'poll', name: 'q', options: ['a'] }],
  ['poll selectable > options', { to: '+4915123456789', type: 'poll', name: 'q', options: ['a', 'b'], selectableCount: 3 }],
  ['reaction without target', { to: '+4915123456789', type: 'reaction', emoji: '👍' }],
  ['bad reply id', { to: '+4915123456789', type: 'text', text: 'x', replyTo: '../../etc' }],
];

test.each(invalid)('rejects %s with 400 and writes nothing', async (_name, body) => {
  const [before] = await api.db.sql`select count(*)::int as n from public.messages`;
  const res = await send(body);
  expect(res.status).toBe(400);
  const err = await errorOf(res);
  expect(err.code).toBe('invalid_request');
  expect(Array.isArray(err.details)).toBe(true);
  const [after] = await api.db.sql`select count(*)::int as n from public.messages`;
  expect(after!.n).toBe(before!.n);
});

test('media over the size limit is refused (413 for the body, 400 for decoded size)', async () => {
  const small = await createApiHarness({ maxMediaBytes: 1024 });
  try {
    const u = await small.user();
    const a = await small.agent(u.token);
    const big = Buffer.alloc(1100).toString('base64');
    const res = await small.call('POST', `/v1/agents/${a}/messages`, { token: u.token, body: { to: '+4915123456789', type: 'image', media: { data: big, mimetype: 'image/png' } } });
    expect(res.status).toBe(400);
    const huge = await small.call('POST', `/v1/agents/${a}/messages`, { token: u.token, body: { to: '+4915123456789', type: 'image', media: { data: Buffer.alloc(200_000).toString('base64'), mimetype: 'image/png' } } });
    expect(huge.status).toBe(413);
    expect((await errorOf(huge)).code).toBe('payload_too_large');
  } finally {
    await small.close();
  }
});

test('malformed JSON is 400 malformed_json; a non-JSON content type is 415', async () => {
  const res = await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, raw: '{"to": "+4915123456789", "type": "text", "text": ' });
  expect(res.status).toBe(400);
  expect((await errorOf(res)).code).toBe('malformed_json');
  const form = await api.call('POST', `/v1/agents/${agent}/messages`, { token: me.token, raw: 'to=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(form.status).toBe(415);
});

test('Idempotency-Key: a repeat returns the first result with the same status; a different body is 409', async () => {
  const body = { to: '+4915123456789', type: 'text', text: 'once' };
  const first = await send(body, { 'idempotency-key': 'order-42' });
  const again = await send(body, { 'idempotency-key': 'order-42' });
  expect(first.status).toBe(202);
  expect(again.status).toBe(202);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  const [a, b] = [(await first.json()) as { id: string; waMessageId: string }, (await again.json()) as { id: string; waMessageId: string }];
  expect(b.id).toBe(a.id);
  expect(b.waMessageId).toBe(a.waMessageId);
  const conflict = await send({ ...body, text: 'twice' }, { 'idempotency-key': 'order-42' });
  expect(conflict.status).toBe(409);
  expect((await errorOf(conflict)).code).toBe('idempotency_conflict');
  const [n] = await api.db.sql`select count(*)::int as n from public.messages where idempotency_key = 'order-42'`;
  expect(n!.n).toBe(1);
  expect((await send(body, { 'idempotency-key': 'bad key with spaces' })).status).toBe(400);
});

test("the plan's per-minute send limit: 429 with Retry-After and RateLimit headers, nothing queued", async () => {
  const u = await api.user(); // basic plan: 30 per minute
  const a = await api.agent(u.token);
  let res: Response | undefined;
  for (let i = 0; i < 30; i++) {
    res = await api.call('POST', `/v1/agents/${a}/messages`, { token: u.token, body: { to: '+4915123456789', type: 'text', text: `m${i}` } });
    expect(res.status).toBe(202);
  }
  expect(res!.headers.get('ratelimit-limit')).toBe('30');
  expect(res!.headers.get('ratelimit-remaining')).toBe('0');
  const limited = await api.call('POST', `/v1/agents/${a}/messages`, { token: u.token, body: { to: '+4915123456789', type: 'text', text: 'one more' } });
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(limited.headers.get('ratelimit-limit')).toBe('30');
  expect((await errorOf(limited)).code).toBe('rate_limited');
  const [n] = await api.db.sql`select count(*)::int as n from public.messages where agent_id = ${a}`;
  expect(n!.n).toBe(30);
});

test('get one message hides base64 data; list filters and paginates without gaps or repeats', async () => {
  const u = await api.user();
  const a = await api.agent(u.token);
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await api.call('POST', `/v1/agents/${a}/messages`, { token: u.token, body: i === 0 ? { to: '+4915100000000', type: 'image', media: { data: png, mimetype: 'image/png' } } : { to: '+4915123456789', type: 'text', text: `n${i}` } });
    ids.push(((await res.json()) as { id: string }).id);
  }
  const one = await api.call('GET', `/v1/agents/${a}/messages/${ids[0]}`, { token: u.token });
  const view = (await one.json()) as { content: { media: Record<string, unknown> }; to: string };
  expect(view.to).toBe('4915100000000');
  expect(view.content.media.data).toBeUndefined();
  expect(view.content.media.dataBytes).toBeGreaterThan(0);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `?limit=3&type=text${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await (await api.call('GET', `/v1/agents/${a}/messages${q}`, { token: u.token })).json()) as { data: Array<{ id: string; type: string }>; nextCursor: string | null };
    expect(page.data.every((m) => m.type === 'text')).toBe(true);
    seen.push(...page.data.map((m) => m.id));
    cursor = page.nextCursor;
  } while (cursor);
  expect(seen.length).toBe(6);
  expect(new Set(seen).size).toBe(6);
  expect(new Set(seen)).toEqual(new Set(ids.slice(1)));
  const byTo = (await (await api.call('GET', `/v1/agents/${a}/messages?to=%2B4915100000000`, { token: u.token })).json()) as { data: unknown[] };
  expect(byTo.data.length).toBe(1);
  const bad = await api.call('GET', `/v1/agents/${a}/messages?cursor=Zm9v`, { token: u.token });
  expect(bad.status).toBe(400);
});

test('API writes are counted per agent and day; reads write nothing, not even the hot statistics row', async () => {
  const u = await api.user();
  const a = await api.agent(u.token);
  const reads = ['/session', '/session/sending-status', '/messages', '/inbound', '/events', '/stats', ''];
  for (const r of reads) expect((await api.call('GET', `/v1/agents/${a}${r}`, { token: u.token })).status).toBe(200);
  expect(await api.db.sql`select 1 from public.daily_stats where agent_id = ${a}`).toHaveLength(0);

  await api.call('POST', `/v1/agents/${a}/messages`, { token: u.token, body: { to: '+4915123456789', type: 'text', text: 'x' } });
  const version = async () => (await api.db.sql`select xmin::text as v from public.daily_stats where agent_id = ${a}`)[0]!.v as string;
  const before = await version();
  for (const r of reads) await api.call('GET', `/v1/agents/${a}${r}`, { token: u.token });
  expect(await version()).toBe(before);

  const stats = (await (await api.call('GET', `/v1/agents/${a}/stats`, { token: u.token })).json()) as { days: Array<{ day: string; queued: number; apiCalls: number }> };
  expect(stats.days.length).toBe(30);
  const today = stats.days[stats.days.length - 1]!;
  expect(today).toMatchObject({ queued: 1, apiCalls: 1 });
});

test('a 1 MB base64 upload goes to the media store: the row keeps a reference under 16 KB, the store the same bytes', async () => {
  const bytes = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
  const res = await send({ to: '+4915123456789', type: 'document', media: { data: bytes.toString('base64'), mimetype: 'application/pdf', filename: 'big.pdf' }, caption: 'one megabyte' });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const [row] = await api.db.sql`select octet_length(content::text) as size, content from public.messages where id = ${id}`;
  expect(Number(row!.size)).toBeLessThan(16 * 1024);
  const media = row!.content.media as { key: string; sha256: string; size: number; data?: string };
  expect(media.data).toBeUndefined();
  expect(media.size).toBe(bytes.length);
  expect(media.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  const stream = await api.mediaStore.get(media.key);
  expect(Buffer.from(await readAll(stream!, 2 * 1024 * 1024)).equals(bytes)).toBe(true);
  const view = (await (await api.call('GET', `/v1/agents/${agent}/messages/${id}`, { token: me.token })).json()) as { content: { media: Record<string, unknown> } };
  expect(view.content.media).toEqual({ mimetype: 'application/pdf', filename: 'big.pdf', dataBytes: bytes.length });
});
