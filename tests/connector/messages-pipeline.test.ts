// The message path end to end: rows enqueued in Postgres, sent by the outbound worker over a real
// Baileys socket linked to the simulator, decrypted by the simulated contact; receipts back to the
// rows; inbound messages stored once with a signed webhook a local receiver verifies.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { normalizeMessageContent, proto, type WASocket } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { deleteUnusedMedia } from '../../connector/messages/media-retention.ts';
import { createMessaging, type Messaging } from '../../connector/messages/messaging.ts';
import { createFolderMediaStore } from '../../kernel/node/media-folder-store.ts';
import type { MediaStore } from '../../kernel/media/store.ts';
import { storeInlineMedia } from '../../edge-functions/gateway/media.ts';
import type { Keyring } from '../../kernel/secret-box.ts';
import { claim, createRunningAgent, registerConnector } from '../helpers/fixtures.ts';
import { startTestServer } from '../helpers/messages-http.ts';
import { directoryOf, enqueue, liveSession, type MediaHost, startMediaHost } from '../helpers/messages-pipeline.ts';
import { createEndpoint, type Receiver, startReceiver, testKeyring } from '../helpers/messages-webhooks.ts';
import { testEnv } from '../../scripts/harness/connector.ts';
import { endAllClients, linkAccount } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNT = '15550004444';
const CONTACT = '447700900321';
const OTHER = '447700900654';
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

let sock: WASocket;
let media: MediaHost;
let receiver: Receiver;
let keyring: Keyring;
let messaging: Messaging;
let agent: string;
let session: ReturnType<typeof liveSession>;
let mediaDir: string;
let mediaStore: MediaStore;
/** The session's own-clock view of its lease; false stands in for a stall longer than the lease. */
let fresh = true;
let freshnessChecks = 0;

// What the connector does first: libsignal prints session records (key material) with console.*.
const stack = useSimulatorStack({ simulator: { deliveredAfterMs: 30, readAfterMs: 80 }, database: true, scrubConsole: true });
beforeAll(async () => {
  stack.sim.addContact(CONTACT, { pushName: 'Carol' });
  stack.sim.addContact(OTHER);
  ({ sock } = await linkAccount(stack.sim, ACCOUNT));
  media = await startMediaHost();
  mediaDir = mkdtempSync(path.join(tmpdir(), 'wg-e2e-media-'));
  mediaStore = createFolderMediaStore(mediaDir);
  keyring = await testKeyring();
  agent = await createRunningAgent(stack.db.sql, stack.owner);
  const connectorId = await registerConnector(stack.db.sql, randomUUID());
  const epoch = (await claim(stack.db.sql, connectorId, agent, 3600))!;
  let secret = '';
  receiver = await startReceiver(() => secret);
  secret = (await createEndpoint(stack.db.sql, keyring, { owner: stack.owner, agent, url: `${receiver.url}/hook` })).secret;
  const logger = pino({ level: 'silent' });
  session = liveSession({
    agentId: agent,
    connectorId,
    epoch,
    sql: stack.db.sql,
    logger,
    sock: () => sock,
    leaseFresh: () => {
      freshnessChecks++;
      return fresh;
    },
  });
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
    MEDIA_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
  });
  messaging = createMessaging({
    sql: stack.db.sql,
    connectorId,
    directory: directoryOf([session]),
    webhookKeyring: keyring,
    config,
    logger,
    addressPolicy: { allowLoopbackForTests: true },
    upload: media.upload,
    mediaStore,
  });
  messaging.start();
  messaging.onSocketOpen(session);
});

afterAll(async () => {
  await messaging?.drain();
  await messaging?.stop();
  endAllClients();
  await media?.server.close();
  await receiver?.close();
  if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
});

const row = async (id: string) => (await stack.db.sql`select * from public.messages where id = ${id}`)[0]!;
const received = async (waId: string, contact = CONTACT) => {
  await expect.poll(() => stack.sim.received(contact).some((m) => m.id === waId), { timeout: 15_000 }).toBe(true);
  const copies = stack.sim.received(contact).filter((m) => m.id === waId);
  expect(copies).toHaveLength(1);
  return normalizeMessageContent(copies[0]!.content)!;
};
const send = (type: string, content: Record<string, unknown>, to = CONTACT) => enqueue(stack.db.sql, stack.owner, agent, to, type, content);

describe('outbound: every type reaches the contact decrypted, as sent', () => {
  it('text reaches read, with timestamps, statistics and a message.status webhook per milestone', async () => {
    const { id, waId } = await send('text', { text: 'hello from the queue' });
    const got = await received(waId);
    expect(got.conversation ?? got.extendedTextMessage?.text).toBe('hello from the queue');
    await expect.poll(async () => (await row(id)).status, { timeout: 10_000 }).toBe('read');
    const r = await row(id);
    expect(r.wa_message_id).toBe(waId);
    expect(r.sent_at && r.delivered_at && r.read_at).toBeTruthy();
    expect(r.locked_by).toBeNull();
    await expect
      .poll(() => receiver.verified().filter((v) => v.type === 'message.status' && v.data.wa_message_id === waId).map((v) => v.data.status), { timeout: 10_000 })
      .toEqual(expect.arrayContaining(['sent', 'read']));
    const [stats] = await stack.db.sql`select sent, read from public.daily_stats where agent_id = ${agent}`;
    expect(stats!.sent).toBeGreaterThanOrEqual(1);
    expect(stats!.read).toBeGreaterThanOrEqual(1);
  });

  it('the first message to a new contact asks WhatsApp once for the number and its LID, and goes to the LID', async () => {
    const phone = '447700900987';
    const contact = stack.sim.addContact(phone);
    const since = Date.now();
    const { waId } = await send('text', { text: 'hello, new contact' }, phone);
    await received(waId, phone);
    const asked = stack.sim.stanzaLog(ACCOUNT).filter((e) => e.direction === 'in' && e.at >= since);
    // Lookups of the number (the device query of the send itself has context "message"): the
    // number check carries the lid protocol, and no second usync asks for the number's LID.
    const lookups = asked.filter((e) => e.summary.includes('xmlns="usync"') && !e.summary.includes('context="message"'));
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.summary).toMatch(/<query><contact><\/contact><lid><\/lid><\/query>/);
    expect(asked.some((e) => e.summary.startsWith(`<message id="${waId}"`) && e.summary.includes(`to="${contact.lid}@lid"`))).toBe(true);
  });

  it('a claim with several new contacts looks them up together: one number lookup, one device query, one pre-key fetch', async () => {
    const phones = ['447700900801', '447700900802', '447700900803'];
    for (const phone of phones) stack.sim.addContact(phone);
    const since = Date.now();
    // One transaction, so that one claim takes all three.
    const sent = await stack.db.sql.begin((tx) => Promise.all(phones.map((phone) => enqueue(tx as unknown as typeof stack.db.sql, stack.owner, agent, phone, 'text', { text: `hello ${phone}` }))));
    for (const [i, phone] of phones.entries()) await received(sent[i]!.waId, phone);
    const asked = stack.sim.stanzaLog(ACCOUNT).filter((e) => e.direction === 'in' && e.at >= since);
    const lookups = asked.filter((e) => e.summary.includes('xmlns="usync"') && !e.summary.includes('context="message"'));
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.summary.match(/<contact>\[/g)).toHaveLength(3);
    expect(asked.filter((e) => e.summary.includes('xmlns="usync"') && e.summary.includes('context="message"'))).toHaveLength(1);
    expect(asked.filter((e) => e.summary.includes('xmlns="encrypt"') && e.summary.includes('<key>'))).toHaveLength(1);
  });

  it('image from base64, through the media store: the contact decrypts the same bytes; the row holds only the reference; retention deletes the object once sent', async () => {
    // What the API does with a base64 upload (edge-functions/gateway/media.ts), then the enqueue.
    const silent = { info: () => {}, warn: () => {}, error: () => {} };
    const content = await storeInlineMedia({ sql: stack.db.sql, mediaStore, logger: silent }, stack.owner, { media: { data: PNG.toString('base64'), mimetype: 'image/png' }, caption: 'a pixel' });
    const ref = content.media as { key: string };
    const { id, waId } = await send('image', content);
    const got = await received(waId);
    expect(got.imageMessage?.caption).toBe('a pixel');
    expect(got.imageMessage?.mimetype).toBe('image/png');
    expect(await media.download(got.imageMessage!, 'image')).toEqual(PNG);
    await expect.poll(async () => (await row(id)).status, { timeout: 10_000 }).not.toMatch(/^(queued|sending)$/);
    expect((await row(id)).content.media).toEqual({ key: ref.key, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: PNG.length, mimetype: 'image/png' });
    expect(await mediaStore.get(ref.key)).toBeDefined();
    expect(await deleteUnusedMedia(stack.db.sql, mediaStore, { graceSeconds: 0, limit: 100 })).toEqual({ ran: true, deleted: 1 });
    expect(await mediaStore.get(ref.key)).toBeUndefined();
  });

  it('image, document, audio, voice and video from URLs fetched through the guard', async () => {
    const pdf = Buffer.from('%PDF-1.4 gateway test');
    media.files.set('p.png', { body: PNG, type: 'image/png' });
    media.files.set('r.pdf', { body: pdf, type: 'application/pdf' });
    media.files.set('a.mp3', { body: Buffer.from('ID3 audio'), type: 'audio/mpeg' });
    media.files.set('v.ogg', { body: Buffer.from('OggS voice'), type: 'audio/ogg' });
    media.files.set('m.mp4', { body: Buffer.from('ftypmp42 video'), type: 'video/mp4' });
    const base = media.server.url;
    const img = await send('image', { media: { url: `${base}/files/p.png` } });
    const doc = await send('document', { media: { url: `${base}/files/r.pdf` }, filename: 'report.pdf', caption: 'Q3' });
    const aud = await send('audio', { media: { url: `${base}/files/a.mp3` } });
    const voi = await send('voice', { media: { url: `${base}/files/v.ogg` } });
    const vid = await send('video', { media: { url: `${base}/files/m.mp4` }, caption: 'clip', gifPlayback: true });
    expect(await media.download((await received(img.waId)).imageMessage!, 'image')).toEqual(PNG);
    const d = (await received(doc.waId)).documentMessage!;
    expect([d.fileName, d.caption, d.mimetype]).toEqual(['report.pdf', 'Q3', 'application/pdf']);
    expect(await media.download(d, 'document')).toEqual(pdf);
    const a = (await received(aud.waId)).audioMessage!;
    expect([a.ptt ?? false, a.mimetype]).toEqual([false, 'audio/mpeg']);
    const v = (await received(voi.waId)).audioMessage!;
    expect([v.ptt, v.mimetype]).toEqual([true, 'audio/ogg']);
    expect(await media.download(v, 'audio')).toEqual(Buffer.from('OggS voice'));
    const m = (await received(vid.waId)).videoMessage!;
    expect([m.caption, m.gifPlayback, m.mimetype]).toEqual(['clip', true, 'video/mp4']);
  });

  it('location, contact card and poll', async () => {
    const loc = await send('location', { latitude: 52.52, longitude: 13.405, name: 'Berlin', address: 'Mitte' });
    const card = await send('contact', { contacts: [{ name: 'Dana', phone: '4915123456789', organization: 'ACME' }] });
    const poll = await send('poll', { name: 'Lunch?', options: ['pizza', 'salad'], selectableCount: 1 });
    expect((await received(loc.waId)).locationMessage).toMatchObject({ degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin', address: 'Mitte' });
    const c = (await received(card.waId)).contactMessage!;
    expect(c.displayName).toBe('Dana');
    expect(c.vcard).toContain('waid=4915123456789:+4915123456789');
    const p = await received(poll.waId);
    const pm = p.pollCreationMessage ?? p.pollCreationMessageV2 ?? p.pollCreationMessageV3;
    expect(pm?.name).toBe('Lunch?');
    expect(pm?.options?.map((o) => o.optionName)).toEqual(['pizza', 'salad']);
  });

  it('a reply quotes the stored message; a reaction, an edit and a delete target it', async () => {
    const first = await send('text', { text: 'original text' });
    await received(first.waId);
    const reply = await send('text', { text: 'replying', replyTo: first.waId });
    const r = (await received(reply.waId)).extendedTextMessage!;
    expect(r.text).toBe('replying');
    expect(r.contextInfo?.stanzaId).toBe(first.waId);
    expect(r.contextInfo?.quotedMessage?.conversation).toBe('original text');
    const react = await send('reaction', { messageId: first.waId, emoji: '👍' });
    expect((await received(react.waId)).reactionMessage).toMatchObject({ text: '👍', key: { id: first.waId, fromMe: true } });
    const edit = await send('edit', { messageId: first.waId, text: 'edited text' });
    const e = (await received(edit.waId)).protocolMessage!;
    expect(e.type).toBe(proto.Message.ProtocolMessage.Type.MESSAGE_EDIT);
    expect(e.key?.id).toBe(first.waId);
    expect(normalizeMessageContent(e.editedMessage)?.conversation ?? normalizeMessageContent(e.editedMessage)?.extendedTextMessage?.text).toBe('edited text');
    const del = await send('delete', { messageId: first.waId, forEveryone: true });
    const dm = (await received(del.waId)).protocolMessage!;
    expect(dm.type).toBe(proto.Message.ProtocolMessage.Type.REVOKE);
    expect(dm.key?.id).toBe(first.waId);
  });

  it('permanent problems fail with a code: number not on WhatsApp (once a second check agrees), refused media URL, unknown target', async () => {
    const nobody = await send('text', { text: 'hello?' }, '15559990000');
    const loopbackOnly = await send('image', { media: { url: 'http://169.254.169.254/latest/meta-data' } });
    const missing = await send('reaction', { messageId: '3EB0DOESNOTEXIST', emoji: 'x' });
    for (const [m, code] of [[nobody, 'invalid_number'], [loopbackOnly, 'media_refused'], [missing, 'target_not_found']] as const) {
      await expect.poll(async () => (await row(m.id)).status, { timeout: 10_000 }).toBe('failed');
      const r = await row(m.id);
      expect(r.error_code).toBe(code);
      expect(r.error_message).toBeTruthy();
      // "Not on WhatsApp" is believed on the second answer (recipients.ts); the others at once.
      expect(r.attempts).toBe(code === 'invalid_number' ? 2 : 1);
    }
  });

  it('a message WhatsApp never acknowledged (lost in transit) is not `sent`: it is sent again under its id and arrives', async () => {
    stack.sim.fault(ACCOUNT, 'lose_next_message');
    const { id, waId } = await send('text', { text: 'lost once' });
    await expect.poll(async () => (await row(id)).status, { timeout: 20_000 }).toBe('read');
    const r = await row(id);
    expect(r.attempts).toBe(2);
    expect(stack.sim.received(CONTACT).filter((m) => m.id === waId)).toHaveLength(1);
  });

  it("a message the contact's device cannot decrypt is sent again on its retry receipt and arrives once", async () => {
    // The fault hits the next message the simulator sees: let the first one through before it.
    await received((await send('text', { text: 'sets up the session' })).waId);
    stack.sim.fault(ACCOUNT, 'recipient_forgets_session');
    const { id, waId } = await send('text', { text: 'asked for again' });
    await expect.poll(async () => (await row(id)).status, { timeout: 20_000 }).toBe('read');
    const r = await row(id);
    expect(r.attempts).toBe(1); // answered by Baileys on the receipt, not by the queue
    expect(r.error_code).toBeNull();
    const got = await received(waId); // exactly one copy
    expect(got.conversation ?? got.extendedTextMessage?.text).toBe('asked for again');
    expect(stack.sim.stanzaLog(ACCOUNT).some((e) => e.summary.includes('type="retry"') && e.summary.includes(waId))).toBe(true);
  });

  it('a 463 fails the message with its code, raises a session event and slows the session down', async () => {
    stack.sim.fault(ACCOUNT, 'nack_next_463');
    const { id, waId } = await send('text', { text: 'restricted?' }, OTHER);
    await expect.poll(async () => (await row(id)).status, { timeout: 10_000 }).toBe('failed');
    const r = await row(id);
    expect(r.error_code).toBe('463');
    expect(r.error_message).toMatch(/restricted/);
    // The row fails on the negative ack itself; the session event follows from Baileys' update.
    const restricted = () => stack.db.sql`select payload from public.events where agent_id = ${agent} and type = 'session.restricted'`;
    await expect.poll(async () => (await restricted()).length, { timeout: 10_000 }).toBe(1);
    const events = await restricted();
    expect(events[0]!.payload).toMatchObject({ code: 463, wa_message_id: waId });
    expect(messaging.worker.slowed(agent)).toBe(true);
    await expect.poll(() => receiver.verified().some((v) => v.type === 'session.restricted'), { timeout: 10_000 }).toBe(true);
  });
});

describe('self-fencing before the send', () => {
  it('a session whose own clock says the lease may be gone sends nothing: the row goes back unattempted and leaves once the lease is fresh', async () => {
    fresh = false;
    const checksBefore = freshnessChecks;
    let sent: { id: string; waId: string };
    try {
      sent = await send('text', { text: 'after a stall' });
      // The worker claimed the row (the lease in the database is still live) and reached the send.
      await expect.poll(() => freshnessChecks > checksBefore, { timeout: 10_000 }).toBe(true);
      await messaging.writer.flush();
      expect(stack.sim.received(CONTACT).some((m) => m.id === sent.waId)).toBe(false);
      expect((await row(sent.id)).attempts).toBeLessThanOrEqual(1); // given back: the attempt not counted
    } finally {
      fresh = true;
    }
    await received(sent.waId);
    await expect.poll(async () => (await row(sent.id)).status, { timeout: 10_000 }).toBe('read');
    expect((await row(sent.id)).attempts).toBe(1);
  });
});

describe('inbound', () => {
  it('text and image arrive once (even when delivered twice) and produce one verified webhook each', async () => {
    const text = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'hi gateway', id: '3EB0INBOUNDTEXT0001' });
    await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'hi gateway', id: '3EB0INBOUNDTEXT0001' });
    const image = await stack.sim.inject(ACCOUNT, { from: CONTACT, image: { mimetype: 'image/jpeg', caption: 'look', fileLength: 2048 } });
    await expect.poll(async () => (await stack.db.sql`select count(*)::int as n from public.inbound_messages where agent_id = ${agent}`)[0]!.n, { timeout: 10_000 }).toBe(2);
    const rows = await stack.db.sql`select * from public.inbound_messages where agent_id = ${agent} order by created_at`;
    const t = rows.find((x) => x.wa_message_id === text.id)!;
    expect(t).toMatchObject({ type: 'text', from_me: false, sender_phone: CONTACT, content: { text: 'hi gateway' } });
    expect(t.sender_lid).toMatch(/@lid$/);
    const i = rows.find((x) => x.wa_message_id === image.id)!;
    expect(i).toMatchObject({ type: 'image', content: { mimetype: 'image/jpeg', caption: 'look', size: 2048 } });
    await expect.poll(() => receiver.verified().filter((v) => v.type === 'message.received').length, { timeout: 10_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    const hooks = receiver.verified().filter((v) => v.type === 'message.received');
    expect(hooks.map((h) => h.data.wa_message_id).sort()).toEqual([text.id, image.id].sort());
    expect(hooks.find((h) => h.data.wa_message_id === text.id)?.data).toMatchObject({ sender_phone: CONTACT, content: { text: 'hi gateway' } });
    const [stats] = await stack.db.sql`select received from public.daily_stats where agent_id = ${agent}`;
    expect(stats!.received).toBe(2);
  });
});

describe('number checks', () => {
  it('the connector answers a queued number check through WhatsApp: a contact exists, an unknown number does not', async () => {
    const unknown = '15559990000';
    const [job] = await stack.db.sql`select id from gateway.create_number_check(${stack.owner}, ${agent}, ${[CONTACT, unknown]}::text[])`;
    messaging.onWake({ agentId: agent, kind: 'number_check' });
    const check = async () => (await stack.db.sql`select status, result, error from public.number_checks where id = ${job!.id}`)[0]!;
    await expect.poll(async () => (await check()).status, { timeout: 10_000 }).toBe('done');
    expect((await check()).result).toEqual([
      { number: CONTACT, exists: true, jid: `${CONTACT}@s.whatsapp.net` },
      { number: unknown, exists: false, jid: null },
    ]);
  });
});

describe('restart and disconnect wait for the send in flight', () => {
  it('unforced: beforeSocketEnd resolves only after the send in flight is written; forced: at once', async () => {
    const slow = await startTestServer();
    let delayMs = 1_500;
    slow.handle((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG), delayMs);
    });
    try {
      const first = await send('image', { media: { url: `${slow.url}/a.png` }, caption: 'slow' });
      await expect.poll(() => slow.requests.length, { timeout: 10_000 }).toBe(1);
      expect((await row(first.id)).status).toBe('sending');
      await messaging.beforeSocketEnd(session, false);
      // Resolved only once the send in flight was written.
      expect(['sent', 'delivered', 'read']).toContain((await row(first.id)).status);

      // Paused until the socket opens again: nothing new starts.
      const queued = await send('text', { text: 'after the pause' });
      await new Promise((r) => setTimeout(r, 800));
      expect((await row(queued.id)).status).toBe('queued');
      messaging.onSocketOpen(session);
      await expect.poll(async () => (await row(queued.id)).status, { timeout: 10_000 }).toBe('read');

      delayMs = 3_000;
      const second = await send('image', { media: { url: `${slow.url}/b.png` }, caption: 'slow again' });
      await expect.poll(() => slow.requests.length, { timeout: 10_000 }).toBe(2);
      await messaging.beforeSocketEnd(session, true);
      // Forced: resolved while the send is still in flight.
      expect((await row(second.id)).status).toBe('sending');
      messaging.onSocketOpen(session);
      await expect.poll(async () => (await row(second.id)).status, { timeout: 10_000 }).toBe('read');
    } finally {
      await slow.close();
    }
  });
});

describe('webhooks of the whole run', () => {
  it('every delivery the receiver got verifies with the standardwebhooks package and the endpoint secret', async () => {
    // At least this send's status webhooks, whatever ran before in this file.
    const { waId } = await send('text', { text: 'webhooks check' });
    const isRead = (r: { body: string }) => {
      const e = JSON.parse(r.body);
      return e.type === 'message.status' && e.data.wa_message_id === waId && e.data.status === 'read';
    };
    await expect.poll(() => receiver.requests.some(isRead), { timeout: 15_000 }).toBe(true);
    expect(receiver.verified()).toHaveLength(receiver.requests.length);
  });
});
