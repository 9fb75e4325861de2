// Message traffic: a client's outbound <message> is acked (or nacked on request), decrypted as
// each recipient device, recorded per contact, and answered with delivered and read receipts after
// configurable delays; an injected inbound message is encrypted by the contact's phone to every
// linked companion of the account.
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { type BinaryNode, encodeBigEndian, getBinaryNodeChild, getBinaryNodeChildren, jidNormalizedUser, proto } from '@whiskeysockets/baileys';
import { type Connection, unixNow } from './connection.ts';
import { type Contact, type Directory, lidJid } from './directory.ts';
import type { SignalDevice } from './signal-device.ts';

/** WhatsApp phones stop asking for a message again after this many retry receipts. */
const MAX_RETRY_RECEIPTS = 5;

export interface ReceiptTiming {
  deliveredAfterMs: number;
  readAfterMs: number;
}

export type InboundContent =
  | { from: string; text: string; id?: string }
  | { from: string; image: Partial<proto.Message.IImageMessage> & { mimetype: string }; id?: string };

export interface InboundState {
  /** The client acknowledged it as processed (a non-retry receipt, or a plain ack). */
  acked: boolean;
  /** The client refused it (an ack with an error): WhatsApp drops it then. */
  nacked?: boolean;
  /** Receipt types the client sent for it ('delivery' when untyped). */
  receipts: string[];
}

export class Relay {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Retry receipts a contact device sent per message and sending device, as its phone counts them. */
  private readonly retriesAsked = new Map<string, number>();
  readonly inbound = new Map<string, InboundState>();

  constructor(
    private readonly directory: Directory,
    private readonly timing: ReceiptTiming,
  ) {}

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  async fromClient(connection: Connection, node: BinaryNode): Promise<void> {
    const account = connection.account;
    const companion = connection.companion;
    const { id, to } = node.attrs;
    if (!account || !companion || !id || !to) return;
    if (account.loseNextMessage) {
      account.loseNextMessage = false;
      account.log('in', { tag: 'sim-lost', attrs: { id } });
      return;
    }
    const nackCode = account.nackNextMessageWith;
    if (nackCode !== undefined) {
      account.nackNextMessageWith = undefined;
      connection.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: unixNow(), error: String(nackCode) } });
      return;
    }
    connection.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: unixNow() } });
    const senderAddress = lidJid(account.lid, companion.id);
    // A first send lists every device under <participants>; a resend answering a retry receipt
    // is addressed to the one device and carries its <enc> directly.
    const direct = getBinaryNodeChild(node, 'enc');
    const targets = direct
      ? [{ jid: to, enc: direct }]
      : getBinaryNodeChildren(getBinaryNodeChild(node, 'participants'), 'to').map((target) => ({ jid: target.attrs.jid ?? '', enc: getBinaryNodeChild(target, 'enc') }));
    const recipients = new Set<Contact>();
    for (const { jid, enc } of targets) {
      const resolved = this.directory.resolve(jid);
      if (resolved?.kind === 'account') continue; // a copy for the sender's own devices
      const device = resolved?.kind === 'contact' ? resolved.contact.devices.get(resolved.device) : undefined;
      const type = enc?.attrs.type;
      if (resolved?.kind !== 'contact' || !device || !enc || !(enc.content instanceof Uint8Array) || (type !== 'pkmsg' && type !== 'msg')) {
        // Recorded so a test can tell "never addressed to the contact" from "lost".
        account.log('in', { tag: 'sim-undeliverable', attrs: { id, jid, type: type ?? '', device: String(Boolean(device)) } });
        continue;
      }
      if (account.recipientForgetsSession) {
        account.recipientForgetsSession = false;
        await device.forgetSession(senderAddress);
      }
      try {
        if (account.undecryptableCopies > 0) {
          account.undecryptableCopies--;
          throw new Error('Bad MAC (simulated: the copy cannot be decrypted)');
        }
        const content = await device.decrypt(senderAddress, type, enc.content);
        if (!recipients.has(resolved.contact)) {
          recipients.add(resolved.contact);
          resolved.contact.received.push({ id, content, from: account.jid, at: Date.now() });
        }
      } catch (err) {
        account.log('in', { tag: 'sim-decrypt-failed', attrs: { id, jid, error: String(err) } });
        // The phone counts its own requests per message: a resend to every device carries no
        // count, so the copy's `count` attribute cannot say how often it asked already.
        const asked = `${id}:${jid}:${senderAddress}`;
        const count = (this.retriesAsked.get(asked) ?? 0) + 1;
        this.retriesAsked.set(asked, count);
        if (count <= MAX_RETRY_RECEIPTS) account.deliver(companion.id, retryReceipt({ id, jid, registrationId: device.registrationId, count }), connection);
      }
    }
    if (recipients.size === 0) {
      account.log('in', { tag: 'sim-no-recipient', attrs: { id, to, participants: String(targets.length) } });
      return;
    }
    const receipt = (extra: Record<string, string>): BinaryNode => ({
      tag: 'receipt',
      attrs: { id, from: jidNormalizedUser(to), t: unixNow(), ...extra },
    });
    this.later(this.timing.deliveredAfterMs, () => account.deliver(companion.id, receipt({}), connection));
    this.later(Math.max(this.timing.readAfterMs, this.timing.deliveredAfterMs), () =>
      account.deliver(companion.id, receipt({ type: 'read' }), connection),
    );
  }

  /** The client acked or receipted something; remember it if it is one of our injected messages. */
  onClientAck(node: BinaryNode, connection?: Connection): void {
    const state = node.attrs.id ? this.inbound.get(node.attrs.id) : undefined;
    if (!state) return;
    if (node.tag === 'receipt' && node.attrs.type === 'retry' && connection) void this.resend(node, connection);
    // Baileys acknowledges a decrypted message with a receipt (untyped, or 'inactive' when not
    // online) and a failed one with a nack or a 'retry' receipt.
    if (node.tag === 'ack' && node.attrs.class === 'message' && !node.attrs.error) state.acked = true;
    if (node.tag === 'ack' && node.attrs.class === 'message' && node.attrs.error) state.nacked = true;
    if (node.tag === 'receipt') {
      const type = node.attrs.type ?? 'delivery';
      state.receipts.push(type);
      if (type !== 'retry') state.acked = true;
    }
  }

  /**
   * The client could not decrypt an injected message and asked again (a retry receipt): as a
   * WhatsApp phone does, the contact encrypts it again on a fresh session and sends it once more,
   * at most MAX_RETRY_RECEIPTS times.
   */
  private async resend(receipt: BinaryNode, connection: Connection): Promise<void> {
    const id = receipt.attrs.id!;
    const sent = this.sentInbound.get(id);
    const account = connection.account;
    const companion = connection.companion;
    const count = Number(getBinaryNodeChild(receipt, 'retry')?.attrs.count ?? 1);
    if (!sent || !account || !companion?.bundle || count > MAX_RETRY_RECEIPTS) return;
    const address = lidJid(account.lid, companion.id);
    await sent.sender.forgetSession(address);
    const enc = await sent.sender.encrypt(address, () => companion.bundle, sent.content);
    account.deliver(companion.id, { ...sent.node, content: [{ tag: 'enc', attrs: { v: '2', type: enc.type, count: String(count) }, content: enc.ciphertext }] }, connection);
  }

  private readonly sentInbound = new Map<string, { sender: SignalDevice; content: proto.IMessage; node: BinaryNode }>();

  async inject(accountRef: string, message: InboundContent): Promise<{ id: string }> {
    const prepared = await this.prepare(accountRef, message);
    prepared.deliver();
    return { id: prepared.id };
  }

  /**
   * An injected message encrypted now and put on the wire by `deliver()`: benchmarks encrypt a
   * burst first, so what they time is the client, not the contact's phone encrypting. Deliver in
   * the order prepared (each copy advances the contact's Signal session).
   */
  async prepare(accountRef: string, message: InboundContent): Promise<{ id: string; deliver(): void }> {
    const account = this.directory.account(accountRef);
    if (!account) throw new Error(`no account ${accountRef}`);
    const contact = this.directory.contact(message.from) ?? this.directory.addContact(message.from);
    const sender = contact.devices.get(0) ?? [...contact.devices.values()][0];
    if (!sender) throw new Error(`contact ${contact.phone} has no devices`);
    const id = message.id ?? `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
    const content = 'text' in message ? { conversation: message.text } : { imageMessage: imageMetadata(message.image) };
    this.inbound.set(id, { acked: false, receipts: [] });
    const companions = [...account.companions.values()].filter((c) => c.bundle);
    if (companions.length === 0) throw new Error(`account ${account.phone} has no device with uploaded keys`);
    const copies: Array<{ companion: number; node: BinaryNode }> = [];
    for (const companion of companions) {
      const enc = await sender.encrypt(lidJid(account.lid, companion.id), () => companion.bundle, content);
      if (account.corruptNextInbound) {
        account.corruptNextInbound = false;
        enc.ciphertext = Buffer.from(enc.ciphertext);
        enc.ciphertext[enc.ciphertext.length - 1]! ^= 0xff; // the MAC's last byte
      }
      const node: BinaryNode = {
        tag: 'message',
        attrs: {
          id,
          from: lidJid(contact.lid),
          sender_pn: contact.jid,
          addressing_mode: 'lid',
          t: unixNow(),
          type: 'text' in message ? 'text' : 'media',
          notify: contact.pushName,
        },
        content: [{ tag: 'enc', attrs: { v: '2', type: enc.type }, content: enc.ciphertext }],
      };
      this.sentInbound.set(id, { sender, content, node });
      copies.push({ companion: companion.id, node });
    }
    return {
      id,
      deliver: () => {
        for (const c of copies) account.deliver(c.companion, c.node);
      },
    };
  }
}

/**
 * What a phone sends when it cannot decrypt a message (a sender whose Signal session went back in
 * time after a crash, or a device that lost its session): a `retry` receipt from that device, with
 * its registration id, asking the sender to encrypt the message again on a fresh session.
 */
function retryReceipt(ask: { id: string; jid: string; registrationId: number; count: number }): BinaryNode {
  const t = unixNow();
  return {
    tag: 'receipt',
    attrs: { id: ask.id, type: 'retry', from: ask.jid, t },
    content: [
      { tag: 'retry', attrs: { count: String(ask.count), id: ask.id, t, v: '1' } },
      { tag: 'registration', attrs: {}, content: encodeBigEndian(ask.registrationId) },
    ],
  };
}

/** The phone's initial history sync for a new device: empty, inline, complete. */
export async function sendInitialHistory(connection: Connection): Promise<void> {
  const account = connection.account;
  const companion = connection.companion;
  if (!account || !companion?.bundle) return;
  const bootstrap = proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP;
  const payload = deflateSync(proto.HistorySync.encode({ syncType: bootstrap, conversations: [], progress: 100 }).finish());
  const content: proto.IMessage = {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: { syncType: bootstrap, chunkOrder: 0, progress: 100, initialHistBootstrapInlinePayload: payload },
    },
  };
  const enc = await account.phoneDevice.encrypt(lidJid(account.lid, companion.id), () => companion.bundle, content);
  account.deliver(
    companion.id,
    {
      tag: 'message',
      attrs: { id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}`, from: account.jid, t: unixNow(), type: 'text', category: 'peer' },
      content: [{ tag: 'enc', attrs: { v: '2', type: enc.type }, content: enc.ciphertext }],
    },
    connection,
  );
}

function imageMetadata(image: Partial<proto.Message.IImageMessage> & { mimetype: string }): proto.Message.IImageMessage {
  const path = `/v/t62.7118-24/sim-${randomBytes(6).toString('hex')}.enc`;
  return {
    url: `https://mmg.whatsapp.net${path}`,
    directPath: path,
    fileSha256: randomBytes(32),
    fileEncSha256: randomBytes(32),
    mediaKey: randomBytes(32),
    fileLength: 1024,
    height: 640,
    width: 480,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    ...image,
  };
}
