// Who exists on the simulated WhatsApp: contacts (numbers on WhatsApp, with a LID and Signal
// devices) and accounts (numbers linked by a scan, with their own phone and companion devices).
import { type BinaryNode, Curve, jidDecode, type proto } from '@whiskeysockets/baileys';
import type { Connection } from './connection.ts';
import type { UploadedBundle } from './signal-device.ts';
import { SignalDevice } from './signal-device.ts';

export const pnJid = (phone: string, device = 0) => `${phone}${device ? `:${device}` : ''}@s.whatsapp.net`;
export const lidJid = (lid: string, device = 0) => `${lid}${device ? `:${device}` : ''}@lid`;

export interface ContactOptions {
  /** LID user part (digits); generated when omitted. */
  lid?: string;
  /** Device ids; 0 is the phone. Default [0]. */
  devices?: number[];
  pushName?: string;
}

export interface ReceivedMessage {
  id: string;
  content: proto.IMessage;
  /** The sending account's jid (phone jid, no device). */
  from: string;
  at: number;
}

export class Contact {
  readonly devices = new Map<number, SignalDevice>();
  readonly received: ReceivedMessage[] = [];
  constructor(
    readonly phone: string,
    readonly lid: string,
    readonly pushName: string,
    deviceIds: number[],
  ) {
    for (const id of deviceIds) this.devices.set(id, new SignalDevice());
  }
  get jid(): string {
    return pnJid(this.phone);
  }
}

export interface CompanionDevice {
  id: number;
  /** Filled by the client's pre-key upload; a peer needs it to message this device. */
  bundle?: UploadedBundle;
  /** Public identity key announced at registration (eIdent). */
  identityKey: Uint8Array;
  /** One-time pre-keys received in this device's uploads, in total. */
  uploadedPreKeys: number;
  /** True until the phone has sent this device its initial history sync. */
  awaitingInitialSync: boolean;
}

export interface StanzaLogEntry {
  at: number;
  direction: 'in' | 'out';
  summary: string;
}

const STANZA_LOG_LIMIT = 3000;

export class Account {
  /** The account's phone: device 0, whose identity key also signs ADV device identities. */
  readonly phoneDevice = new SignalDevice(Curve.generateKeyPair());
  readonly companions = new Map<number, CompanionDevice>();
  readonly stanzaLog: StanzaLogEntry[] = [];
  /** Logged-in connections now; a session connected twice shows up twice. */
  readonly live = new Set<Connection>();
  maxLiveConnections = 0;
  /** Stanzas for a companion that was offline, delivered at its next login. */
  private readonly offline = new Map<number, BinaryNode[]>();
  refuseNextLogin = false;
  nackNextMessageWith: number | undefined;
  /** The next message from a client vanishes: no ack, no delivery (a frame lost on a dying link). */
  loseNextMessage = false;
  /** The recipient device of the next message forgets its Signal session with the sender first. */
  recipientForgetsSession = false;
  /** The recipient device fails to decrypt this many next copies (Bad MAC), each answered with a retry receipt. */
  undecryptableCopies = 0;
  /** The next injected copy is corrupted on the way (its MAC fails): the client asks again. */
  corruptNextInbound = false;
  /** The connection that receives the next nack from the client dies right after reading it. */
  closeOnNextNack = false;
  private nextDeviceId = 1;

  constructor(
    readonly phone: string,
    readonly lid: string,
  ) {}

  get jid(): string {
    return pnJid(this.phone);
  }

  addCompanion(identityKey: Uint8Array): CompanionDevice {
    const device: CompanionDevice = { id: this.nextDeviceId++, identityKey, uploadedPreKeys: 0, awaitingInitialSync: true };
    this.companions.set(device.id, device);
    return device;
  }

  queueOffline(deviceId: number, node: BinaryNode): void {
    const queue = this.offline.get(deviceId) ?? [];
    queue.push(node);
    this.offline.set(deviceId, queue);
  }

  takeOffline(deviceId: number): BinaryNode[] {
    const queue = this.offline.get(deviceId) ?? [];
    this.offline.delete(deviceId);
    return queue;
  }

  /** Sends to the live connection of `deviceId`, or keeps the stanza until it logs in. */
  deliver(deviceId: number, node: BinaryNode, preferred?: Connection): void {
    const target =
      preferred?.isLive && preferred.companion?.id === deviceId
        ? preferred
        : [...this.live].find((c) => c.isLive && c.companion?.id === deviceId);
    if (target) target.sendReliably(node);
    else this.queueOffline(deviceId, node);
  }

  log(direction: 'in' | 'out', node: BinaryNode): void {
    this.stanzaLog.push({ at: Date.now(), direction, summary: summarize(node) });
    if (this.stanzaLog.length > STANZA_LOG_LIMIT) this.stanzaLog.splice(0, this.stanzaLog.length - STANZA_LOG_LIMIT);
  }
}

export function summarize(node: BinaryNode): string {
  const attrs = Object.entries(node.attrs)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  // Long lists (812 pre-keys) are cut: the log is for reading.
  const list = Array.isArray(node.content) ? node.content : [];
  const children = list.slice(0, 8).map(summarize).join('') + (list.length > 8 ? `…(+${list.length - 8})` : '');
  const bytes = node.content instanceof Uint8Array ? `[${node.content.length} bytes]` : '';
  const text = typeof node.content === 'string' ? node.content : '';
  return `<${node.tag}${attrs}>${children}${bytes}${text}</${node.tag}>`;
}

export type ResolvedUser =
  | { kind: 'contact'; contact: Contact; device: number }
  | { kind: 'account'; account: Account; device: number };

export class Directory {
  private readonly contactsByPhone = new Map<string, Contact>();
  private readonly contactsByLid = new Map<string, Contact>();
  readonly accountsByPhone = new Map<string, Account>();
  private readonly accountsByLid = new Map<string, Account>();
  private lidCounter = 0;
  private phoneCounter = 0;

  newLid(): string {
    // 15 digits, like real LIDs, unique within this simulator.
    return `${100_000_000_000_000 + Date.now() % 1_000_000 * 1000 + this.lidCounter++}`;
  }

  newPhone(): string {
    let phone: string;
    do phone = `1555${String(1_000_000 + this.phoneCounter++).slice(1)}`;
    while (this.contactsByPhone.has(phone) || this.accountsByPhone.has(phone));
    return phone;
  }

  addContact(phone: string, opts: ContactOptions = {}): Contact {
    const digits = phone.replace(/\D/g, '');
    const existing = this.contactsByPhone.get(digits);
    if (existing) return existing;
    const contact = new Contact(digits, opts.lid ?? this.newLid(), opts.pushName ?? `Contact ${digits}`, opts.devices ?? [0]);
    this.contactsByPhone.set(digits, contact);
    this.contactsByLid.set(contact.lid, contact);
    return contact;
  }

  contact(phone: string): Contact | undefined {
    return this.contactsByPhone.get(phone.replace(/\D/g, ''));
  }

  account(phoneOrJid: string): Account | undefined {
    const user = phoneOrJid.includes('@') ? jidDecode(phoneOrJid)?.user : phoneOrJid.replace(/\D/g, '');
    if (!user) return undefined;
    return this.accountsByPhone.get(user) ?? this.accountsByLid.get(user);
  }

  getOrCreateAccount(phone: string): Account {
    const existing = this.accountsByPhone.get(phone);
    if (existing) return existing;
    const account = new Account(phone, this.newLid());
    this.accountsByPhone.set(phone, account);
    this.accountsByLid.set(account.lid, account);
    return account;
  }

  /** Resolves a PN or LID jid (with optional device) to a contact or account device. */
  resolve(jid: string): ResolvedUser | undefined {
    const decoded = jidDecode(jid);
    if (!decoded?.user) return undefined;
    const device = decoded.device ?? 0;
    const isLid = decoded.server === 'lid';
    const contact = isLid ? this.contactsByLid.get(decoded.user) : this.contactsByPhone.get(decoded.user);
    if (contact) return { kind: 'contact', contact, device };
    const account = isLid ? this.accountsByLid.get(decoded.user) : this.accountsByPhone.get(decoded.user);
    if (account) return { kind: 'account', account, device };
    return undefined;
  }
}
