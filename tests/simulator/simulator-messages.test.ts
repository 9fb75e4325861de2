// Contacts, sends and inbound messages through real Baileys and the simulator.
import { proto, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endAllClients, linkAccount, trackStatuses } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNT = '15550003333';
const CONTACT = '447700900123';
const TWO_DEVICE_CONTACT = '447700900456';
const RETRY_ACCOUNT = '15550003334';
const READ = proto.WebMessageInfo.Status.READ;
const textOf = (content: proto.IMessage | undefined) => content?.conversation ?? content?.extendedTextMessage?.text;

let sock: WASocket;
let statuses: ReturnType<typeof trackStatuses>;
const inbound: WAMessage[] = [];

const stack = useSimulatorStack({ simulator: { deliveredAfterMs: 30, readAfterMs: 80 } });
beforeAll(async () => {
  stack.sim.addContact(CONTACT, { pushName: 'Alice' });
  stack.sim.addContact(TWO_DEVICE_CONTACT, { devices: [0, 3] });
  ({ sock } = await linkAccount(stack.sim, ACCOUNT));
  statuses = trackStatuses(sock);
  sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (!m.key.fromMe) inbound.push(m);
  });
});
afterAll(() => endAllClients());

describe('simulator: contacts and messages', () => {
  it('answers onWhatsApp: present for a known number, absent for an unknown one', async () => {
    const result = await sock.onWhatsApp(CONTACT, '15559999999');
    expect(result).toEqual([{ jid: `${CONTACT}@s.whatsapp.net`, exists: true }]);
  });

  it('delivers a text with a caller-chosen id to the contact, exactly once, and its status reaches read', async () => {
    const id = 'SIMTEST0000000000000001';
    await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'hello from the gateway' }, { messageId: id });
    await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(READ);
    const received = stack.sim.received(CONTACT).filter((m) => m.id === id);
    expect(received).toHaveLength(1);
    expect(textOf(received[0]?.content)).toBe('hello from the gateway');
    expect(received[0]?.from).toBe(`${ACCOUNT}@s.whatsapp.net`);
  });

  it('records a re-send with the same id again, so a test can tell duplicates apart', async () => {
    const id = 'SIMTEST0000000000000DUP';
    await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'once' }, { messageId: id });
    await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'once' }, { messageId: id });
    await expect.poll(() => stack.sim.received(CONTACT).filter((m) => m.id === id).length).toBe(2);
  });

  it('keeps the session: a second message to the same contact is decrypted too', async () => {
    const sent = await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'second' });
    await expect.poll(() => stack.sim.received(CONTACT).map((m) => m.id)).toContain(sent?.key.id);
    expect(textOf(stack.sim.received(CONTACT).find((m) => m.id === sent?.key.id)?.content)).toBe('second');
  });

  it('delivers to a contact addressed by LID, with receipts from that LID', async () => {
    const lidContact = stack.sim.addContact('447700900789');
    const sent = await sock.sendMessage(`${lidContact.lid}@lid`, { text: 'by lid' });
    const id = sent?.key.id ?? '';
    await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(READ);
    expect(textOf(stack.sim.received('447700900789').find((m) => m.id === id)?.content)).toBe('by lid');
  });

  it('records a message once per contact even when the contact has two devices', async () => {
    const sent = await sock.sendMessage(`${TWO_DEVICE_CONTACT}@s.whatsapp.net`, { text: 'to both devices' });
    const id = sent?.key.id ?? '';
    await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(READ);
    expect(stack.sim.received(TWO_DEVICE_CONTACT).filter((m) => m.id === id)).toHaveLength(1);
    expect(stack.sim.stanzaLog(ACCOUNT).some((e) => e.summary.includes('sim-decrypt-failed'))).toBe(false);
  });

  it('injects an inbound text that the client decrypts and acknowledges', async () => {
    const { id } = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'hi gateway' });
    await expect.poll(() => inbound.find((m) => m.key.id === id)?.message?.conversation, { timeout: 10_000 }).toBe('hi gateway');
    await expect.poll(() => stack.sim.inboundState(id)?.acked).toBe(true);
    const receipts = stack.sim.inboundState(id)?.receipts ?? [];
    expect(receipts.length).toBeGreaterThan(0);
    expect(receipts).not.toContain('retry');
    const msg = inbound.find((m) => m.key.id === id);
    expect(msg?.pushName).toBe('Alice');
  });

  it('injects an inbound image as metadata', async () => {
    const { id } = await stack.sim.inject(ACCOUNT, { from: CONTACT, image: { mimetype: 'image/jpeg', caption: 'a cat' } });
    await expect.poll(() => inbound.find((m) => m.key.id === id)?.message?.imageMessage?.caption, { timeout: 10_000 }).toBe('a cat');
    expect(inbound.find((m) => m.key.id === id)?.message?.imageMessage?.mimetype).toBe('image/jpeg');
  });

  it('nacks the next message with 463 on request, and the client marks it failed', async () => {
    stack.sim.fault(ACCOUNT, 'nack_next_463');
    const sent = await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'restricted' });
    const id = sent?.key.id ?? '';
    await expect.poll(() => statuses.error(id)?.[0], { timeout: 10_000 }).toBe('463');
    expect(stack.sim.received(CONTACT).some((m) => m.id === id)).toBe(false);
    // Only the next message: the one after goes through.
    const after = await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'after' });
    await expect.poll(() => statuses.status(after?.key.id ?? ''), { timeout: 10_000 }).toBe(READ);
  });

  it('a device that cannot decrypt asks again with a retry receipt; the sender re-encrypts on a fresh session and it arrives once', async () => {
    const sent = new Map<string, proto.IMessage>();
    const { sock: sender } = await linkAccount(stack.sim, RETRY_ACCOUNT, { getMessage: async (key) => (key.id ? sent.get(key.id) : undefined) });
    const senderStatuses = trackStatuses(sender);
    const send = async (id: string, text: string) => {
      sent.set(id, { conversation: text });
      await sender.sendMessage(`${CONTACT}@s.whatsapp.net`, { text }, { messageId: id });
    };
    await send('SIMRETRY00000000000001', 'sets up the session');
    await expect.poll(() => stack.sim.received(CONTACT).some((m) => m.id === 'SIMRETRY00000000000001'), { timeout: 10_000 }).toBe(true);

    stack.sim.fault(RETRY_ACCOUNT, 'recipient_forgets_session');
    await send('SIMRETRY00000000000002', 'asked for again');
    await expect.poll(() => senderStatuses.status('SIMRETRY00000000000002'), { timeout: 10_000 }).toBe(READ);
    const got = stack.sim.received(CONTACT).filter((m) => m.id === 'SIMRETRY00000000000002');
    expect(got).toHaveLength(1);
    expect(textOf(got[0]?.content)).toBe('asked for again');
    const log = stack.sim.stanzaLog(RETRY_ACCOUNT).map((e) => e.summary);
    expect(log.filter((s) => s.startsWith('<sim-decrypt-failed') && s.includes('SIMRETRY00000000000002'))).toHaveLength(1);
    expect(log.some((s) => s.startsWith('<receipt') && s.includes('type="retry"') && s.includes('SIMRETRY00000000000002'))).toBe(true);
  });

  it('while the socket lives Baileys answers a retry from its own recent-message cache (getMessage is for after a restart)', async () => {
    stack.sim.fault(ACCOUNT, 'recipient_forgets_session');
    const id = 'SIMRETRY000000000CACHE';
    await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'from the cache' }, { messageId: id });
    await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(READ);
    const sentByClient = stack.sim.stanzaLog(ACCOUNT).filter((e) => e.direction === 'in' && e.summary.startsWith('<message') && e.summary.includes(id));
    expect(sentByClient).toHaveLength(2); // the first try and the answer to the retry receipt
    expect(stack.sim.received(CONTACT).filter((m) => m.id === id).map((m) => textOf(m.content))).toEqual(['from the cache']);
  });
});
