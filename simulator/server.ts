// The simulator's public API: a loopback WebSocket server speaking enough of WhatsApp Web for an
// unmodified Baileys socket, plus the handles a test uses to play the phone and the contacts.
import type { AddressInfo } from 'node:net';
import { type AuthenticationCreds, type BinaryNode, configureSuccessfulPairing, generateOrGetPreKeys, type KeyPair } from '@whiskeysockets/baileys';
import { WebSocketServer } from 'ws';
import { createCertificates } from './cert-chain.ts';
import { Connection, type ConnectionHost, type FaultKind } from './connection.ts';
import { type Contact, type ContactOptions, Directory, lidJid, pnJid, type ReceivedMessage, type StanzaLogEntry } from './directory.ts';
import { pairSuccessStanza, parseQr } from './pairing.ts';
import { type InboundContent, type InboundState, Relay, sendInitialHistory } from './relay.ts';

export type { FaultKind } from './connection.ts';
export type { Contact, ContactOptions, ReceivedMessage, StanzaLogEntry } from './directory.ts';
export type { InboundContent, InboundState } from './relay.ts';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Delay before the delivered receipt for an outbound message (default 50 ms). */
  deliveredAfterMs?: number;
  /** Delay before the read receipt, from the message (default 100 ms). */
  readAfterMs?: number;
  /** Sign the certificate chain with a key other than `rootPublicKey`: a verifying client must refuse it. */
  untrustedRoot?: boolean;
  /** How long to wait for the client to close after a stream error before closing ourselves. */
  closeGraceMs?: number;
}

export interface LinkedAccount {
  phone: string;
  /** Phone-number jid without device, e.g. `15550000001@s.whatsapp.net`. */
  jid: string;
  lid: string;
  deviceId: number;
}

export interface Simulator {
  url: string;
  port: number;
  rootPublicKey: Uint8Array;
  stop(): Promise<void>;
  addContact(phoneE164Digits: string, opts?: ContactOptions): Contact;
  scan(qrText: string, opts?: { phone?: string }): Promise<LinkedAccount>;
  /**
   * A link as a scan makes it, without a client socket: the account, its companion device (past
   * its initial history sync) with `preKeys` (default 30) one-time pre-keys on the server, and
   * what the client would hold afterwards — `creds` (the fresh `creds` given, paired) and the
   * pre-keys' private halves, to store as its `pre-key` keys. Benchmarks seed N stored sessions
   * with it instead of N QR links; the next login with these creds is accepted as a reconnect.
   */
  linkWithoutSocket(
    creds: AuthenticationCreds,
    opts?: { phone?: string; preKeys?: number },
  ): { account: LinkedAccount; creds: AuthenticationCreds; preKeys: Record<number, KeyPair> };
  completePairingCode(phone: string, code: string): Promise<LinkedAccount>;
  inject(account: string, message: InboundContent): Promise<{ id: string }>;
  /** As inject, but encrypted now and sent by deliver() (benchmarks: time the client, not the phone). */
  prepareInject(account: string, message: InboundContent): Promise<{ id: string; deliver(): void }>;
  inboundState(messageId: string): InboundState | undefined;
  /**
   * conflict/device_removed/close/silence_pings act on the account's live connections now and
   * return how many; nack_next_463 (next outbound message) and refuse_login_401 (next login) are
   * armed on the account and return 0.
   */
  fault(account: string, kind: FaultKind): number;
  received(contactPhone: string): ReceivedMessage[];
  /**
   * live/maxLive: logged-in connections now / most ever at once. preKeys: one-time pre-keys the
   * server still holds for the account's devices (peers consume them); uploadedPreKeys: how many
   * the devices uploaded in total (812 after a first login, unchanged by a reconnect).
   */
  observe(account: string): { live: number; maxLive: number; preKeys: number; uploadedPreKeys: number };
  /** One account's stanzas (summarised), or every account's plus protocol errors, oldest first. */
  stanzaLog(account?: string): StanzaLogEntry[];
  /** When each accepted login happened (Date.now()), oldest first: how bursty reconnects look to WhatsApp. */
  loginTimes(): readonly number[];
}

const PAIRING_WAIT_MS = 10_000;

async function waitUntil<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let value = probe(); ; value = probe()) {
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type PendingCode = { connection: Connection; settle?: { resolve: (a: LinkedAccount) => void; reject: (e: Error) => void } };

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const certificates = createCertificates({ untrustedRoot: options.untrustedRoot });
  const directory = new Directory();
  const relay = new Relay(directory, {
    deliveredAfterMs: options.deliveredAfterMs ?? 50,
    readAfterMs: options.readAfterMs ?? 100,
  });
  const refs = new Map<string, Connection>();
  const pendingCodes = new Map<string, PendingCode>();
  const connections = new Set<Connection>();
  const serverLog: StanzaLogEntry[] = [];
  const logins: number[] = [];

  const linked = (phone: string, deviceId: number): LinkedAccount => {
    const account = directory.getOrCreateAccount(phone);
    return { phone, jid: account.jid, lid: lidJid(account.lid), deviceId };
  };

  const host: ConnectionHost = {
    directory,
    certificates,
    closeGraceMs: options.closeGraceMs ?? 500,
    registerRefs: (connection, newRefs) => {
      for (const ref of newRefs) refs.set(ref, connection);
    },
    registerPairingCode: (phone, connection, exchange) => {
      connection.pairingCodeExchange = exchange;
      pendingCodes.set(phone, { connection });
    },
    pairingCodeFinished: (phone, outcome) => {
      const pending = pendingCodes.get(phone);
      pendingCodes.delete(phone);
      if (!pending?.settle) return;
      if (outcome instanceof Error) pending.settle.reject(outcome);
      else pending.settle.resolve(linked(phone, outcome.id));
    },
    onMessageFromClient: (connection, node) => relay.fromClient(connection, node),
    onAckOrReceipt: (connection, node: BinaryNode) => relay.onClientAck(node, connection),
    onInitialSyncDue: (connection) => sendInitialHistory(connection),
    onLogin: () => {
      logins.push(Date.now());
    },
    onProtocolError: (connection, error) => {
      const entry: StanzaLogEntry = {
        at: Date.now(),
        direction: 'in',
        summary: `<sim-protocol-error state="${connection.state}">${String(error)}</sim-protocol-error>`,
      };
      if (connection.account) connection.account.stanzaLog.push(entry);
      serverLog.push(entry);
      if (serverLog.length > 100) serverLog.shift();
    },
  };

  const wss = new WebSocketServer({ host: options.host ?? '127.0.0.1', port: options.port ?? 0, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    const connection = new Connection(ws, host);
    connections.add(connection);
    ws.on('close', () => {
      connections.delete(connection);
      for (const [ref, owner] of refs) if (owner === connection) refs.delete(ref);
    });
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const { port, address } = wss.address() as AddressInfo;

  const requireAccount = (ref: string) => {
    const account = directory.account(ref);
    if (!account) throw new Error(`simulator: no account ${ref}`);
    return account;
  };

  return {
    url: `ws://${address}:${port}`,
    port,
    rootPublicKey: certificates.rootPublicKey,

    async stop() {
      relay.stop();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },

    addContact: (phone, opts) => directory.addContact(phone, opts),

    async scan(qrText, opts = {}) {
      const qr = parseQr(qrText);
      const connection = refs.get(qr.ref);
      if (connection?.state !== 'registering') throw new Error('simulator: no client is showing this QR');
      const phone = opts.phone?.replace(/\D/g, '') ?? directory.newPhone();
      const companion = await connection.completePairing(directory.getOrCreateAccount(phone), qr.identityKey, qr.advSecret);
      return linked(phone, companion.id);
    },

    linkWithoutSocket(creds, opts = {}) {
      const phone = opts.phone?.replace(/\D/g, '') ?? directory.newPhone();
      const account = directory.getOrCreateAccount(phone);
      const companion = account.addCompanion(creds.signedIdentityKey.public);
      companion.awaitingInitialSync = false;
      // The client's own code reads the pair-success, so the creds are the ones a scan leaves.
      const paired = configureSuccessfulPairing(
        pairSuccessStanza({
          id: 'sim-seed',
          phoneIdentity: account.phoneDevice.identityKeyPair,
          companionIdentityKey: creds.signedIdentityKey.public,
          advSecret: Buffer.from(creds.advSecretKey, 'base64'),
          deviceJid: pnJid(phone, companion.id),
          deviceLid: lidJid(account.lid, companion.id),
          deviceId: companion.id,
        }),
        creds,
      ).creds;
      const { newPreKeys, lastPreKeyId } = generateOrGetPreKeys(creds, opts.preKeys ?? 30);
      companion.bundle = {
        registrationId: creds.registrationId,
        identityKey: creds.signedIdentityKey.public,
        signedPreKey: { keyId: creds.signedPreKey.keyId, publicKey: creds.signedPreKey.keyPair.public, signature: creds.signedPreKey.signature },
        preKeys: new Map(Object.entries(newPreKeys).map(([id, pair]) => [Number(id), pair.public])),
      };
      companion.uploadedPreKeys = companion.bundle.preKeys.size;
      return {
        account: linked(phone, companion.id),
        creds: { ...creds, ...paired, nextPreKeyId: lastPreKeyId + 1, firstUnuploadedPreKeyId: lastPreKeyId + 1 } as AuthenticationCreds,
        preKeys: newPreKeys,
      };
    },

    async completePairingCode(phone, code) {
      const digits = phone.replace(/\D/g, '');
      // requestPairingCode resolves once its frame is written, so the request may still be in flight.
      const pending = await waitUntil(() => pendingCodes.get(digits), PAIRING_WAIT_MS);
      const exchange = pending?.connection.pairingCodeExchange;
      if (!pending || !exchange) throw new Error(`simulator: no pairing-code request for ${digits}`);
      const done = new Promise<LinkedAccount>((resolve, reject) => {
        pending.settle = { resolve, reject };
        setTimeout(() => reject(new Error(`simulator: pairing code for ${digits} was not completed`)), PAIRING_WAIT_MS).unref();
      });
      pending.connection.send(await exchange.primaryHello(code.replace(/-/g, ''), pending.connection.nextId()));
      return done;
    },

    inject: (account, message) => relay.inject(account, message),
    prepareInject: (account, message) => relay.prepare(account, message),
    inboundState: (id) => relay.inbound.get(id),

    fault(accountRef, kind) {
      const account = requireAccount(accountRef);
      if (kind === 'nack_next_463') account.nackNextMessageWith = 463;
      else if (kind === 'lose_next_message') account.loseNextMessage = true;
      else if (kind === 'recipient_forgets_session') account.recipientForgetsSession = true;
      else if (kind === 'recipient_fails_next_3') account.undecryptableCopies = 3;
      else if (kind === 'corrupt_next_inbound') account.corruptNextInbound = true;
      else if (kind === 'close_on_next_nack') account.closeOnNextNack = true;
      else if (kind === 'refuse_login_401') account.refuseNextLogin = true;
      else {
        const live = [...account.live];
        for (const connection of live) connection.fault(kind);
        return live.length;
      }
      return 0;
    },

    received: (phone) => directory.contact(phone)?.received ?? [],

    observe(accountRef) {
      const account = directory.account(accountRef);
      const companions = [...(account?.companions.values() ?? [])];
      const preKeys = companions.reduce((n, c) => n + (c.bundle?.preKeys.size ?? 0), 0);
      const uploadedPreKeys = companions.reduce((n, c) => n + c.uploadedPreKeys, 0);
      return { live: account?.live.size ?? 0, maxLive: account?.maxLiveConnections ?? 0, preKeys, uploadedPreKeys };
    },

    loginTimes: () => logins,

    stanzaLog(accountRef) {
      if (accountRef) return requireAccount(accountRef).stanzaLog;
      const all = [...serverLog, ...[...directory.accountsByPhone.values()].flatMap((a) => a.stanzaLog)];
      return [...new Set(all)].sort((a, b) => a.at - b.at);
    },
  };
}
