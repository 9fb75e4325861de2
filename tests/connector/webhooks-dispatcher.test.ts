// The webhook dispatcher against real Postgres and real local HTTP receivers.
import { createHmac, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { associatedData, type Keyring, sealText } from '../../kernel/secret-box.ts';
import { createUrlGuard } from '../../connector/net/guard.ts';
import { createWebhookDispatcher, type WebhookDispatcher, type WebhookDispatcherConfig } from '../../connector/webhooks/dispatcher.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createUser } from '../helpers/fixtures.ts';
import type { RecordedRequest } from '../helpers/messages-http.ts';
import { createEndpoint, legacySecret, type Receiver, signatureIsValid, standardSecret, startReceiver, testKeyring } from '../helpers/messages-webhooks.ts';

const logger = pino({ level: 'silent' });
const testGuard = () => createUrlGuard({ allowHttp: true, addressPolicy: { allowLoopbackForTests: true } });

let db: TestDatabase;
let keyring: Keyring;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  keyring = await testKeyring();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await db.drop();
});

/** A fresh owner, agent, receiver and endpoint; every delivery of the owner goes to the receiver. */
async function setup(opts: { eventTypes?: string[]; secret?: string } = {}) {
  const owner = await createUser(db.sql);
  const agent = await createAgent(db.sql, owner);
  let secret = '';
  const receiver: Receiver = await startReceiver(() => secret);
  cleanups.push(() => receiver.close());
  const endpoint = await createEndpoint(db.sql, keyring, { owner, agent, url: `${receiver.url}/hook`, eventTypes: opts.eventTypes, secret: opts.secret });
  secret = endpoint.secret;
  const emit = async (type = 'message.received', payload: Record<string, unknown> = { text: 'hi' }) => {
    const [row] = await db.sql`select gateway.emit_event(${owner}, ${agent}, ${type}, 'info', ${db.sql.json(payload as never)}) as id`;
    return row!.id as string;
  };
  const delivery = async (eventId: string) => {
    const [row] = await db.sql`select * from public.webhook_deliveries where event_id = ${eventId} and endpoint_id = ${endpoint.id}`;
    return row!;
  };
  return { owner, agent, receiver, endpoint, emit, delivery };
}

const plain = (req: RecordedRequest): Record<string, string> =>
  Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));

function dispatcher(config: Partial<WebhookDispatcherConfig> = {}, guard = testGuard()): WebhookDispatcher {
  const d = createWebhookDispatcher({
    sql: db.sql,
    connectorId: randomUUID(),
    keyring,
    guard,
    logger,
    config: { pollIntervalMs: 50, baseMs: 50, maxMs: 200, ...config },
  });
  cleanups.push(() => d.stop());
  return d;
}

describe('webhook dispatcher', () => {
  it('POSTs the event with Standard Webhooks headers that the standardwebhooks library verifies', async () => {
    const { receiver, endpoint, emit, delivery, agent } = await setup();
    const eventId = await emit('message.received', { text: 'hello', wa_message_id: 'ABC' });
    const d = dispatcher();
    expect(await d.runOnce()).toBeGreaterThanOrEqual(1);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['webhook-id']).toBe(eventId);
    expect(req.headers['webhook-timestamp']).toMatch(/^\d+$/);
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(req.headers['x-webhook-event']).toBe('message.received');
    expect(req.headers['x-webhook-delivery']).toBe((await delivery(eventId)).id);
    expect(req.headers['x-webhook-attempt']).toBe('1');
    // A standard secret gets none of the pre-standard headers.
    expect(req.headers['x-webhook-signature']).toBeUndefined();
    expect(req.headers['x-webhook-id']).toBeUndefined();
    expect(receiver.verified()).toHaveLength(1);
    // A tampered body, another secret, another id or an old timestamp fail.
    expect(signatureIsValid({ ...req, body: req.body.replace('hello', 'hellO') }, endpoint.secret)).toBe(false);
    expect(signatureIsValid(req, standardSecret())).toBe(false);
    expect(signatureIsValid({ ...req, headers: { ...req.headers, 'webhook-id': randomUUID() } }, endpoint.secret)).toBe(false);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime((Number(req.headers['webhook-timestamp']) + 301) * 1000);
      expect(signatureIsValid(req, endpoint.secret)).toBe(false);
    } finally {
      vi.useRealTimers();
    }
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ id: eventId, type: 'message.received', agentId: agent, data: { text: 'hello', wa_message_id: 'ABC' } });
    const row = await delivery(eventId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200, locked_by: null });
    expect(row.delivered_at).not.toBeNull();
  });

  it('an endpoint with a pre-standard secret keeps its legacy header, and the standard one verifies with the raw secret', async () => {
    const secret = legacySecret();
    const { receiver, emit } = await setup({ secret });
    const eventId = await emit();
    await dispatcher().runOnce();
    const req = receiver.requests[0]!;
    // The scheme those receivers were told to check: v1=hex(HMAC-SHA256(whole secret, `${t}.${body}`)).
    const t = req.headers['x-webhook-timestamp'] as string;
    expect(req.headers['x-webhook-id']).toBe(eventId);
    expect(req.headers['x-webhook-signature']).toBe(`v1=${createHmac('sha256', secret).update(`${t}.${req.body}`).digest('hex')}`);
    // Such a secret is no Standard Webhooks key (the library refuses it or decodes other bytes);
    // its raw form verifies.
    expect(signatureIsValid(req, secret)).toBe(false);
    expect(new Webhook(new Uint8Array(Buffer.from(secret)), { format: 'raw' }).verify(req.body, plain(req))).toMatchObject({ id: eventId });
  });

  it('during a rotation overlap every delivery verifies with the old and with the new secret; afterwards with the new one only', async () => {
    const { owner, receiver, endpoint, emit } = await setup();
    const oldSecret = endpoint.secret;
    const newSecret = standardSecret();
    const sealed = await sealText(keyring, newSecret, associatedData.webhookSecret(endpoint.id));
    const [rotated] = await db.sql`select * from gateway.api_rotate_webhook_secret(${owner}, ${endpoint.id}, ${sealed.ciphertext}, ${sealed.keyVersion}, 3600)`;
    expect(new Date(rotated!.previous_expires_at).getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    const d = dispatcher();
    const during = await emit('message.status', { n: 1 });
    await d.runOnce();
    const overlap = receiver.requests.filter((r) => JSON.parse(r.body).id === during);
    expect(overlap).toHaveLength(1);
    expect((overlap[0]!.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(signatureIsValid(overlap[0]!, oldSecret)).toBe(true);
    expect(signatureIsValid(overlap[0]!, newSecret)).toBe(true);
    // The rotation is on the audit trail (and was delivered like any event, under both secrets).
    const audit = receiver.requests.filter((r) => JSON.parse(r.body).type === 'webhook.secret_rotated');
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.body).data).toMatchObject({ endpoint_id: endpoint.id, overlap_seconds: 3600 });
    expect(signatureIsValid(audit[0]!, oldSecret) && signatureIsValid(audit[0]!, newSecret)).toBe(true);

    await db.sql`update private.webhook_secrets set previous_expires_at = now() - interval '1 second' where endpoint_id = ${endpoint.id}`;
    const after = await emit('message.status', { n: 2 });
    await d.runOnce();
    const late = receiver.requests.find((r) => JSON.parse(r.body).id === after)!;
    expect((late.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    expect(signatureIsValid(late, newSecret)).toBe(true);
    expect(signatureIsValid(late, oldSecret)).toBe(false);
  });

  it('a receiver that answers 500 then 200 gets the event exactly once more, with the same event id', async () => {
    const { receiver, emit, delivery } = await setup();
    let calls = 0;
    receiver.handle((_req, res) => {
      calls++;
      res.writeHead(calls === 1 ? 500 : 200);
      res.end(calls === 1 ? 'boom' : 'ok');
    });
    const eventId = await emit();
    dispatcher().start();
    await expect.poll(async () => (await delivery(eventId)).status, { timeout: 10_000 }).toBe('delivered');
    await new Promise((r) => setTimeout(r, 500)); // nothing further may arrive
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.verified().map((v) => v.id)).toEqual([eventId, eventId]);
    expect(receiver.requests.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2']);
    expect(await delivery(eventId)).toMatchObject({ attempts: 2, last_status_code: 200 });
  });

  it('a dead receiver ends in a dead delivery after the configured attempts, with the last error visible', async () => {
    const { receiver, emit, delivery } = await setup();
    receiver.handle((_req, res) => {
      res.writeHead(503);
      res.end('down');
    });
    const eventId = await emit();
    await db.sql`update public.webhook_deliveries set max_attempts = 4 where event_id = ${eventId}`;
    dispatcher().start();
    await expect.poll(async () => (await delivery(eventId)).status, { timeout: 10_000 }).toBe('dead');
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.requests).toHaveLength(4);
    const row = await delivery(eventId);
    expect(row).toMatchObject({ attempts: 4, last_status_code: 503, locked_by: null });
    expect(row.last_error).toContain('HTTP 503');
    // Backoff grows: gaps between attempts are not shrinking to zero.
    const at = receiver.requests.map((r) => r.at);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(20);
  });

  it('does not retry other 4xx: one attempt, dead', async () => {
    const { receiver, emit, delivery } = await setup();
    receiver.handle((_req, res) => {
      res.writeHead(410);
      res.end('gone');
    });
    const eventId = await emit();
    dispatcher().start();
    await expect.poll(async () => (await delivery(eventId)).status, { timeout: 10_000 }).toBe('dead');
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toHaveLength(1);
    expect(await delivery(eventId)).toMatchObject({ attempts: 1, last_status_code: 410 });
  });

  it('retries 408 and honours 429 Retry-After over its own (much longer) backoff', async () => {
    const { receiver, emit, delivery } = await setup();
    let calls = 0;
    receiver.handle((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '1' });
      else if (calls === 2) res.writeHead(408);
      else res.writeHead(204);
      res.end();
    });
    const eventId = await emit();
    // Backoff alone would wait 30-60 s; Retry-After says 1 s. The 408 then waits ~0.5-1 s (maxMs).
    dispatcher({ baseMs: 60_000, maxMs: 1_000 }).start();
    await expect.poll(async () => (await delivery(eventId)).status, { timeout: 10_000 }).toBe('delivered');
    const at = receiver.requests.map((r) => r.at);
    expect(receiver.requests).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(900);
    expect(at[1]! - at[0]!).toBeLessThan(4_000);
    expect(await delivery(eventId)).toMatchObject({ attempts: 3, last_status_code: 204 });
  });

  it('redelivers on request: a dead or delivered delivery goes out again with the same event id', async () => {
    const { owner, receiver, emit, delivery } = await setup();
    const eventId = await emit();
    const d = dispatcher();
    await d.runOnce();
    const first = await delivery(eventId);
    expect(first.status).toBe('delivered');
    await db.sql`select 1 from gateway.redeliver(${owner}, ${first.id})`;
    expect((await delivery(eventId)).status).toBe('pending');
    await d.runOnce();
    expect(receiver.verified().map((v) => v.id)).toEqual([eventId, eventId]);
    expect(await delivery(eventId)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('the default address policy refuses a loopback endpoint: dead, nothing sent', async () => {
    const { receiver, emit, delivery } = await setup();
    const eventId = await emit();
    await dispatcher({}, createUrlGuard({ allowHttp: true })).runOnce();
    const row = await delivery(eventId);
    expect(row.status).toBe('dead');
    expect(row.last_error).toMatch(/refused: .*loopback/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('a connection refused is retried later, not lost', async () => {
    const { receiver, emit, delivery } = await setup();
    await receiver.close();
    const eventId = await emit();
    await dispatcher({ baseMs: 60_000, maxMs: 60_000 }).runOnce();
    const row = await delivery(eventId);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, locked_by: null });
    expect(row.last_error).toMatch(/ECONNREFUSED/);
    expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 20_000);
  });

  it('two dispatchers share 200 events: each delivered exactly once', async () => {
    const { receiver, emit } = await setup();
    receiver.handle((_req, res) => setTimeout(() => res.end('ok'), 2));
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add(await emit('message.status', { i }));
    const a = dispatcher({ concurrency: 8 });
    const b = dispatcher({ concurrency: 8 });
    a.start();
    b.start();
    await expect.poll(() => receiver.requests.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(200);
    await new Promise((r) => setTimeout(r, 300));
    const got = receiver.verified().map((v) => v.id);
    expect(got).toHaveLength(200);
    expect(new Set(got)).toEqual(ids);
    const [row] = await db.sql`
      select count(*) filter (where d.status = 'delivered')::int as delivered, count(*)::int as total
      from public.webhook_deliveries d where d.event_id = any(${[...ids]}::uuid[])`;
    expect(row).toEqual({ delivered: 200, total: 200 });
  });

  it('writes an outcome as soon as its delivery ends, not after a timer: the endpoint\'s slot is free at once', async () => {
    // A delivering row holds one of its endpoint's fleet-wide slots until its outcome is
    // written; with setTimeout frozen, only an outcome written without waiting for a timer
    // reaches the database (the loop's first claim needs no timer either).
    const { receiver, emit, delivery } = await setup();
    const eventId = await emit();
    // One connection, opened before the clock stops (a new one would wait on a timer).
    const one = db.connect({ max: 1 });
    cleanups.push(() => one.end());
    await one`select 1`;
    const realSetTimeout = globalThis.setTimeout;
    const pause = () => new Promise((resolve) => realSetTimeout(resolve, 50));
    const status = async () => (await one`select status from public.webhook_deliveries where event_id = ${eventId}`)[0]!.status as string;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const d = createWebhookDispatcher({ sql: one, connectorId: randomUUID(), keyring, guard: testGuard(), logger, config: { perEndpoint: 1, concurrency: 1, pollIntervalMs: 60_000 } });
      cleanups.push(() => d.stop());
      d.start();
      for (let i = 0; i < 200 && (await status()) !== 'delivered'; i++) await pause();
    } finally {
      vi.useRealTimers();
    }
    expect(receiver.requests).toHaveLength(1);
    expect((await delivery(eventId)).status).toBe('delivered');
  });

  it('endpoints receive only the event types they subscribed to', async () => {
    const { receiver, emit } = await setup({ eventTypes: ['session.*'] });
    await emit('message.received');
    const sessionEvent = await emit('session.status', { status: 'connected' });
    await dispatcher().runOnce();
    expect(receiver.verified().map((v) => v.id)).toEqual([sessionEvent]);
  });
});
