// Message content at rest end to end (README "Message content at rest"): an encrypted tenant's
// send goes in through the API, out through the connector's real Baileys socket to the simulated
// contact, and no table in the database ever holds its text; inbound content likewise, while the
// webhook receiver and the API listings get plaintext. Content this connector cannot open is never
// sent; discard_after_delivery leaves no content once delivered.
import { randomBytes, randomUUID } from 'node:crypto';
import { normalizeMessageContent, type WASocket } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { createMessaging, type Messaging } from '../../connector/messages/messaging.ts';
import { sealContent } from '../../kernel/content-box.ts';
import { associatedData, createKeyring, type Keyring } from '../../kernel/secret-box.ts';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';
import { claim, createRunningAgent, registerConnector } from '../helpers/fixtures.ts';
import { directoryOf, liveSession } from '../helpers/messages-pipeline.ts';
import { createEndpoint, type Receiver, startReceiver, testKeyring } from '../helpers/messages-webhooks.ts';
import { testEnv } from '../../scripts/harness/connector.ts';
import { endAllClients, linkAccount } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNT = '15550007777';
const CONTACT = '447700900777';

let sock: WASocket;
let receiver: Receiver;
let contentKeyring: Keyring;
let messaging: Messaging;
let api: ApiHarness;
let token: string;
let agent: string;

const stack = useSimulatorStack({ simulator: { deliveredAfterMs: 30, readAfterMs: 80 }, database: true, scrubConsole: true });
beforeAll(async () => {
  stack.sim.addContact(CONTACT, { pushName: 'Dana' });
  ({ sock } = await linkAccount(stack.sim, ACCOUNT));
  const contentKey = { version: 4, key: new Uint8Array(randomBytes(32)) };
  contentKeyring = await createKeyring(contentKey);
  const webhookKeyring = await testKeyring();
  agent = await createRunningAgent(stack.db.sql, stack.owner);
  const connectorId = await registerConnector(stack.db.sql, randomUUID());
  const epoch = (await claim(stack.db.sql, connectorId, agent, 3600))!;
  let secret = '';
  receiver = await startReceiver(() => secret);
  secret = (await createEndpoint(stack.db.sql, webhookKeyring, { owner: stack.owner, agent, url: `${receiver.url}/hook` })).secret;
  const logger = pino({ level: 'silent' });
  const session = liveSession({ agentId: agent, connectorId, epoch, sql: stack.db.sql, logger, sock: () => sock, leaseFresh: () => true });
  const { messaging: config } = await loadConfig({
    ...testEnv(stack.db.url),
    MESSAGES_MIN_INTERVAL_MS: '0',
    MESSAGES_JITTER_MS: '0',
    MESSAGES_RECIPIENT_INTERVAL_MS: '0',
    MESSAGES_POLL_INTERVAL_MS: '100',
    MESSAGES_RETRY_BASE_MS: '200',
    WA_SEND_TIMEOUT_MS: '4000',
    MESSAGES_VISIBILITY_SECONDS: '20',
    WEBHOOK_POLL_INTERVAL_MS: '100',
    WEBHOOK_ALLOW_HTTP: 'true',
  });
  messaging = createMessaging({
    sql: stack.db.sql,
    connectorId,
    directory: directoryOf([session]),
    webhookKeyring,
    contentKeyring,
    config,
    logger,
    addressPolicy: { allowLoopbackForTests: true },
  });
  messaging.start();
  messaging.onSocketOpen(session);
  // The API against the same database, holding the same content key (as the edge function would).
  api = await createApiHarness({}, { db: stack.db, contentKey });
  token = await api.token(stack.owner);
});

afterAll(async () => {
  await messaging?.drain();
  await messaging?.stop();
  endAllClients();
  await receiver?.close();
  await api?.close();
});

/** Every row of every table of the schemas that hold data, as text: what the SQL editor can see. */
async function wholeDatabase(): Promise<string> {
  const { sql } = stack.db;
  const tables = await sql`select schemaname, tablename from pg_tables where schemaname in ('public', 'private', 'auth', 'ops') order by 1, 2`;
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await sql`select t::text as row from ${sql(t.schemaname)}.${sql(t.tablename)} t`;
    parts.push(...rows.map((r) => r.row as string));
  }
  return parts.join('\n');
}

const row = async (id: string) => (await stack.db.sql`select * from public.messages where id = ${id}`)[0]!;
const received = async (waId: string) => {
  await expect.poll(() => stack.sim.received(CONTACT).some((m) => m.id === waId), { timeout: 15_000 }).toBe(true);
  return normalizeMessageContent(stack.sim.received(CONTACT).find((m) => m.id === waId)!.content)!;
};
const setPolicy = async (policy: string) => {
  const res = await api.call('PUT', '/v1/account/content-policy', { token, body: { policy } });
  expect(res.status).toBe(200);
};
const send = async (body: Record<string, unknown>) => {
  const res = await api.call('POST', `/v1/agents/${agent}/messages`, { token, body: { to: CONTACT, ...body } });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; waMessageId: string };
};
const get = async (path: string) => (await (await api.call('GET', `/v1/agents/${agent}${path}`, { token })).json()) as { data: Array<Record<string, any>> };

describe('encrypted', () => {
  it('a send reaches the contact as plaintext; no table holds its text; the API lists it as plaintext', async () => {
    await setPolicy('encrypted');
    const text = 'ENCRYPTED-OUTBOUND-7f3a';
    const sent = await send({ type: 'text', text });
    const got = await received(sent.waMessageId);
    expect(got.conversation ?? got.extendedTextMessage?.text).toBe(text);
    await expect.poll(async () => (await row(sent.id)).status, { timeout: 10_000 }).toBe('read');
    expect((await row(sent.id)).content.sealed.v).toBe(4);
    const everything = await wholeDatabase();
    expect(everything).toContain(sent.waMessageId); // the search reads the messages table
    expect(everything).not.toContain(text);
    expect((await get('/messages')).data.find((m) => m.id === sent.id)?.content).toEqual({ text });
  });

  it('inbound content is stored sealed (in its row and its event); the webhook and the API get plaintext; a reply quotes it', async () => {
    await setPolicy('encrypted');
    const text = 'ENCRYPTED-INBOUND-91c2';
    const inbound = await stack.sim.inject(ACCOUNT, { from: CONTACT, text });
    await expect
      .poll(() => receiver.verified().find((v) => v.type === 'message.received' && v.data.wa_message_id === inbound.id)?.data.content, { timeout: 10_000 })
      .toEqual({ text });
    const [stored] = await stack.db.sql`select content from public.inbound_messages where agent_id = ${agent} and wa_message_id = ${inbound.id}`;
    expect(stored!.content.sealed.v).toBe(4);
    expect(await wholeDatabase()).not.toContain(text);
    expect((await get('/inbound')).data.find((m) => m.waMessageId === inbound.id)?.content).toEqual({ text });
    expect((await get('/events?type=message.received')).data.find((e) => e.payload.wa_message_id === inbound.id)?.payload.content).toEqual({ text });

    const reply = await send({ type: 'text', text: 'REPLY-5d1e', replyTo: inbound.id });
    const got = await received(reply.waMessageId);
    expect(got.extendedTextMessage?.contextInfo?.quotedMessage?.conversation).toBe(text);
  });

  it('fails closed: content sealed for another row is never sent; the row waits with content_unreadable', async () => {
    await setPolicy('encrypted');
    // A ciphertext moved onto another row (or sealed by another key): the associated data does not match.
    const id = randomUUID();
    const content = await sealContent(contentKeyring, { text: 'MOVED-ROW-0b7c' }, associatedData.messageContent(agent, randomUUID()));
    const [m] = await stack.db.sql`select id, wa_message_id from gateway.enqueue_message(${stack.owner}, ${agent}, ${CONTACT}, 'text', ${stack.db.sql.json(content as never)}, null, null, ${id})`;
    messaging.worker.nudge();
    await expect.poll(async () => (await row(m!.id)).error_code, { timeout: 10_000 }).toBe('content_unreadable');
    expect((await row(m!.id)).status).not.toBe('sent');
    expect(stack.sim.received(CONTACT).some((r) => r.id === m!.wa_message_id)).toBe(false);
    await stack.db.sql`update public.messages set status = 'failed', failed_at = now() where id = ${m!.id}`;
  });
});

describe('discard_after_delivery', () => {
  it('a sent message keeps no content; inbound content goes once its webhook is delivered, which got it in full', async () => {
    await setPolicy('discard_after_delivery');
    const text = 'DISCARD-OUTBOUND-44e0';
    const sent = await send({ type: 'text', text });
    const got = await received(sent.waMessageId);
    expect(got.conversation ?? got.extendedTextMessage?.text).toBe(text);
    await expect.poll(async () => (await row(sent.id)).content, { timeout: 10_000 }).toEqual({ content_removed: true });

    const inText = 'DISCARD-INBOUND-a61f';
    const inbound = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: inText });
    await expect
      .poll(() => receiver.verified().find((v) => v.type === 'message.received' && v.data.wa_message_id === inbound.id)?.data.content, { timeout: 10_000 })
      .toEqual({ text: inText });
    await expect
      .poll(async () => (await stack.db.sql`select content from public.inbound_messages where agent_id = ${agent} and wa_message_id = ${inbound.id}`)[0]?.content, { timeout: 10_000 })
      .toEqual({ content_removed: true });
    const everything = await wholeDatabase();
    expect(everything).not.toContain(text);
    expect(everything).not.toContain(inText);
  });
});
