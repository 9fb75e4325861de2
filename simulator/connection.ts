/**
 * One client WebSocket on the simulator.
 *
 * States: `noise-hello` → `noise-finish` → then, by the ClientPayload,
 *   `registering` (refs sent, QR shown; a scan or pairing code sends <pair-success>, the client
 *   signs, we send 515 and close) or
 *   `live` (login accepted with <success>; iqs answered, messages relayed) or refused (<failure 401>)
 *   → `closed`.
 * A fault moves a live connection to `closed` the way WhatsApp would (stream error, abrupt close),
 * or makes it `silent` (nothing is sent any more, so the client's pings go unanswered).
 */
import { randomBytes } from 'node:crypto';
import {
  type BinaryNode,
  decodeBinaryNode,
  encodeBinaryNode,
  getBinaryNodeChild,
  getBinaryNodeChildBuffer,
  type proto,
} from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import type { SimulatorCertificates } from './cert-chain.ts';
import { type Account, type CompanionDevice, type Directory, lidJid, pnJid } from './directory.ts';
import { answerKeyFetch, answerUsync, isKeyUpload, storeUploadedKeys } from './iq-answers.ts';
import { FrameReader, frameForWire, NoiseServerSession } from './noise-server.ts';
import { PairingCodeExchange, pairSuccessStanza } from './pairing.ts';

export type FaultKind = 'conflict' | 'device_removed' | 'close' | 'restart_required' | 'silence_pings' | 'nack_next_463' | 'lose_next_message' | 'recipient_forgets_session' | 'recipient_fails_next_3' | 'corrupt_next_inbound' | 'close_on_next_nack' | 'refuse_login_401';

type State = 'noise-hello' | 'noise-finish' | 'registering' | 'live' | 'closing' | 'closed';

/** What a connection needs from the server around it. */
export interface ConnectionHost {
  directory: Directory;
  certificates: SimulatorCertificates;
  registerRefs(connection: Connection, refs: string[]): void;
  registerPairingCode(phone: string, connection: Connection, exchange: PairingCodeExchange): void;
  pairingCodeFinished(phone: string, outcome: CompanionDevice | Error): void;
  onMessageFromClient(connection: Connection, node: BinaryNode): Promise<void>;
  onAckOrReceipt(connection: Connection, node: BinaryNode): void;
  /** Something the client sent made no sense to us; the connection is dropped. */
  onProtocolError(connection: Connection, error: unknown): void;
  /** A login was accepted (the connection is live now). */
  onLogin?(connection: Connection): void;
  /** After a new device's first offline batch: the phone sends it the initial history sync. */
  onInitialSyncDue(connection: Connection): Promise<void>;
  closeGraceMs: number;
}

const REF_COUNT = 6;
/** Receipts that do not answer a message's arrival (a retry asks for another copy; read comes later). */
const LATER_RECEIPTS = new Set(['retry', 'read', 'read-self', 'played']);
const SERVER = 's.whatsapp.net';
export const unixNow = () => String(Math.floor(Date.now() / 1000));

/** Every requested app-state collection, unchanged and complete (else Baileys asks again forever). */
function emptyAppStateSync(iq: BinaryNode): BinaryNode {
  const requested = getBinaryNodeChild(iq, 'sync')?.content;
  const collections = (Array.isArray(requested) ? requested : [])
    .filter((node) => node.tag === 'collection')
    .map((node): BinaryNode => ({ tag: 'collection', attrs: { name: node.attrs.name ?? '', version: node.attrs.version ?? '0' } }));
  return { tag: 'sync', attrs: {}, content: collections };
}

export class Connection {
  state: State = 'noise-hello';
  account: Account | undefined;
  companion: CompanionDevice | undefined;
  /** Registration only: the identity key the client announced (eIdent). */
  registrationIdentityKey: Uint8Array | undefined;
  clientNoiseKey: Uint8Array | undefined;
  /** Pairing-code flow only: the phone's side of the exchange, set when the companion says hello. */
  pairingCodeExchange: PairingCodeExchange | undefined;
  private silent = false;
  private readonly noise: NoiseServerSession;
  private readonly reader = new FrameReader();
  private inbound: Promise<void> = Promise.resolve();
  private readonly awaitedReplies = new Map<string, (node: BinaryNode) => void>();
  private sentOffline = false;
  private iqCounter = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly host: ConnectionHost,
  ) {
    this.noise = new NoiseServerSession(host.certificates.staticKeyPair, host.certificates.certChain);
    ws.on('message', (data: Buffer) => {
      this.inbound = this.inbound.then(() => this.onBytes(data)).catch((err) => this.onProtocolError(err));
    });
    ws.on('close', () => this.onClosed());
    ws.on('error', () => this.onClosed());
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  nextId(): string {
    return `sim-${randomBytes(4).toString('hex')}-${this.iqCounter++}`;
  }

  /**
   * A message or receipt WhatsApp keeps until the client acks it: if this connection ends first,
   * it goes back to the device's offline queue and is delivered again at the next login (the
   * client may then see it twice; that is what real clients dedupe by id).
   */
  sendReliably(node: BinaryNode): void {
    const id = node.attrs.id;
    // A message's delivered and read receipts share its id; the ack repeats the type. Each copy
    // of a message is its own delivery: a phone's resend (answering a retry receipt) has the id
    // of the copy the client could not decrypt, and the client's nack of that first copy must
    // not settle the resend it has not processed yet.
    if (id) this.unacked.set(`${node.tag}:${id}:${node.attrs.type ?? ''}${node.tag === 'message' ? `#${this.copies++}` : ''}`, node);
    this.send(node);
  }

  private copies = 0;

  /** The client answered one copy of message `id` (an ack or nack, or its delivery receipt): the oldest one pending. */
  private settleCopy(id: string): void {
    for (const key of this.unacked.keys()) {
      if (key.startsWith(`message:${id}:`)) {
        this.unacked.delete(key);
        return;
      }
    }
  }

  private readonly unacked = new Map<string, BinaryNode>();

  send(node: BinaryNode): void {
    if (this.silent || this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) return;
    this.account?.log('out', node);
    this.ws.send(frameForWire(this.noise.encryptFrame(encodeBinaryNode(node))));
  }

  /** Sends an iq and resolves with the client's reply (same id). */
  request(node: BinaryNode): Promise<BinaryNode> {
    const id = node.attrs.id ?? this.nextId();
    node.attrs.id = id;
    return new Promise((resolve, reject) => {
      this.awaitedReplies.set(id, resolve);
      this.ws.once('close', () => reject(new Error('client closed before replying')));
      this.send(node);
    });
  }

  /** Ends the stream the way WhatsApp does: a stream error, then close if the client does not. */
  endWithStreamError(attrs: Record<string, string>, reason?: BinaryNode): void {
    this.send({ tag: 'stream:error', attrs, content: reason ? [reason] : undefined });
    this.closeAfterGrace();
  }

  fault(kind: FaultKind): void {
    switch (kind) {
      case 'conflict':
        this.endWithStreamError({}, { tag: 'conflict', attrs: { type: 'replaced' } });
        return;
      case 'device_removed':
        // The phone unlinked this device: its next login is refused too.
        if (this.account && this.companion) this.account.companions.delete(this.companion.id);
        this.endWithStreamError({ code: '401' }, { tag: 'conflict', attrs: { type: 'device_removed' } });
        return;
      case 'close':
        this.ws.terminate();
        return;
      case 'restart_required':
        // WhatsApp asks a live client to reconnect now (Baileys reports 515 restartRequired).
        this.endWithStreamError({ code: '515' });
        return;
      case 'silence_pings':
        this.silent = true;
        return;
      default:
        throw new Error(`fault ${kind} is not per connection`);
    }
  }

  /** The phone approved this companion (scan or pairing code): send pair-success, await the signature, restart. */
  async completePairing(account: Account, companionIdentityKey: Uint8Array, advSecret: Uint8Array): Promise<CompanionDevice> {
    if (this.state !== 'registering') throw new Error('connection is not waiting to be paired');
    const companion = account.addCompanion(companionIdentityKey);
    this.account = account;
    const reply = await this.request(
      pairSuccessStanza({
        id: this.nextId(),
        phoneIdentity: account.phoneDevice.identityKeyPair,
        companionIdentityKey,
        advSecret,
        deviceJid: pnJid(account.phone, companion.id),
        deviceLid: lidJid(account.lid, companion.id),
        deviceId: companion.id,
      }),
    );
    if (!getBinaryNodeChild(reply, 'pair-device-sign')) {
      account.companions.delete(companion.id);
      throw new Error('client refused pair-success');
    }
    this.endWithStreamError({ code: '515' });
    return companion;
  }

  private closeAfterGrace(): void {
    this.state = 'closing';
    // Give the client time to read the stream error; it usually closes first.
    setTimeout(() => this.ws.close(), this.host.closeGraceMs).unref();
  }

  private onProtocolError(err: unknown): void {
    this.host.onProtocolError(this, err);
    this.ws.terminate();
  }

  private onClosed(): void {
    this.state = 'closed';
    this.account?.live.delete(this);
    // Unacknowledged stanzas go to the device's live connection if it has another one already
    // (a new login can overtake the close of the old socket), else wait for its next login.
    if (this.account && this.companion) for (const node of this.unacked.values()) this.account.deliver(this.companion.id, node);
    this.unacked.clear();
  }

  private async onBytes(data: Buffer): Promise<void> {
    for (const frame of this.reader.push(data)) {
      if (this.state === 'noise-hello') {
        this.ws.send(frameForWire(this.noise.acceptClientHello(frame)));
        this.state = 'noise-finish';
      } else if (this.state === 'noise-finish') {
        const { clientNoiseKey, payload } = this.noise.acceptClientFinish(frame);
        this.clientNoiseKey = clientNoiseKey;
        this.onClientPayload(payload);
      } else if (this.state !== 'closed') {
        const node = await decodeBinaryNode(this.noise.decryptFrame(frame));
        this.account?.log('in', node);
        await this.onNode(node);
      }
    }
  }

  private onClientPayload(payload: proto.ClientPayload): void {
    if (payload.devicePairingData) {
      this.state = 'registering';
      this.registrationIdentityKey = payload.devicePairingData.eIdent ?? undefined;
      const refs = Array.from({ length: REF_COUNT }, () => `sim-ref-${randomBytes(12).toString('base64url')}`);
      this.host.registerRefs(this, refs);
      const refNodes = refs.map((ref): BinaryNode => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) }));
      this.send({
        tag: 'iq',
        attrs: { id: this.nextId(), type: 'set', xmlns: 'md', from: SERVER },
        content: [{ tag: 'pair-device', attrs: {}, content: refNodes }],
      });
      return;
    }
    this.login(String(payload.username ?? ''), payload.device ?? 0);
  }

  private login(phone: string, deviceId: number): void {
    const account = this.host.directory.account(phone);
    const companion = account?.companions.get(deviceId);
    if (!account || !companion || account.refuseNextLogin) {
      if (account) account.refuseNextLogin = false;
      this.state = 'closing';
      this.account = account;
      this.send({ tag: 'failure', attrs: { reason: '401', location: 'sim' } });
      this.closeAfterGrace();
      return;
    }
    this.account = account;
    this.companion = companion;
    this.state = 'live';
    account.live.add(this);
    account.maxLiveConnections = Math.max(account.maxLiveConnections, account.live.size);
    this.host.onLogin?.(this);
    this.send({
      tag: 'success',
      attrs: { t: unixNow(), lid: lidJid(account.lid, companion.id), location: 'sim', props: '1', abprops: '1' },
    });
  }

  private async onNode(node: BinaryNode): Promise<void> {
    switch (node.tag) {
      case 'iq':
        return this.onIq(node);
      case 'message':
        if (this.isLive) await this.host.onMessageFromClient(this, node);
        return;
      case 'ack':
      case 'receipt':
        // An ack names the class of what it acknowledges; a receipt for a message also takes it.
        if (node.tag === 'ack' && node.attrs.class === 'message') {
          this.settleCopy(node.attrs.id ?? '');
        } else if (node.tag === 'ack') {
          for (const key of this.unacked.keys()) if (key.startsWith(`${node.attrs.class}:${node.attrs.id}:`) && (node.attrs.class !== 'receipt' || key.endsWith(`:${node.attrs.type ?? ''}`))) this.unacked.delete(key);
        } else if (!LATER_RECEIPTS.has(node.attrs.type ?? '')) {
          this.settleCopy(node.attrs.id ?? '');
        }
        this.host.onAckOrReceipt(this, node);
        if (node.tag === 'ack' && node.attrs.error && this.account?.closeOnNextNack) {
          // The link dies right after the client refused a copy: nothing it sent later is read.
          this.account.closeOnNextNack = false;
          this.state = 'closed';
          this.ws.terminate();
        }
        return;
      default:
        // presence, ib (unified_session) and the like need no answer.
        return;
    }
  }

  private result(iq: BinaryNode, content?: BinaryNode[]): void {
    this.send({ tag: 'iq', attrs: { id: iq.attrs.id ?? '', type: 'result', from: SERVER }, content });
  }

  private async onIq(iq: BinaryNode): Promise<void> {
    const { type, xmlns, id } = iq.attrs;
    if (type === 'result' || type === 'error') {
      const awaited = id ? this.awaitedReplies.get(id) : undefined;
      if (awaited && id) {
        this.awaitedReplies.delete(id);
        awaited(iq);
      }
      return;
    }
    if (xmlns === 'md') return this.onMdIq(iq);
    // A stream that is closing answers nothing, as WhatsApp's: an empty result here read as
    // "nobody is on WhatsApp" to a usync that raced a dropped socket, and failed messages for good.
    if (this.state === 'closing' || this.state === 'closed') return;
    if (!this.isLive || !this.account || !this.companion) return this.result(iq);
    if (xmlns === 'w:p') return this.result(iq);
    if (xmlns === 'usync') return this.result(iq, answerUsync(this.host.directory, iq));
    if (xmlns === 'encrypt') {
      if (getBinaryNodeChild(iq, 'count')) {
        const count = this.companion.bundle?.preKeys.size ?? 0;
        return this.result(iq, [{ tag: 'count', attrs: { value: String(count) } }]);
      }
      if (isKeyUpload(iq)) {
        storeUploadedKeys(this.account, this.companion.id, iq);
        return this.result(iq);
      }
      if (getBinaryNodeChild(iq, 'digest')) return this.result(iq, [{ tag: 'digest', attrs: {} }]);
      if (getBinaryNodeChild(iq, 'key')) return this.result(iq, await answerKeyFetch(this.host.directory, iq));
      return this.result(iq);
    }
    if (xmlns === 'w:sync:app:state') return this.result(iq, [emptyAppStateSync(iq)]);
    if (xmlns === 'passive' && getBinaryNodeChild(iq, 'active')) {
      this.result(iq);
      this.sendOfflineBatch();
      return;
    }
    return this.result(iq);
  }

  /** Queued stanzas for this device, then the end-of-offline marker the client waits for. */
  private sendOfflineBatch(): void {
    if (this.sentOffline || !this.account || !this.companion) return;
    this.sentOffline = true;
    const queued = this.account.takeOffline(this.companion.id);
    for (const node of queued) this.sendReliably(node);
    this.send({ tag: 'ib', attrs: { from: SERVER }, content: [{ tag: 'offline', attrs: { count: String(queued.length) } }] });
    if (this.companion.awaitingInitialSync) {
      this.companion.awaitingInitialSync = false;
      // Without it a new device buffers every event for 20 s, waiting for history (Baileys' AwaitingInitialSync).
      void this.host.onInitialSyncDue(this).catch((err) =>
        this.account?.log('out', { tag: 'sim-history-sync-failed', attrs: { error: String(err) } }),
      );
    }
  }

  private async onMdIq(iq: BinaryNode): Promise<void> {
    const linkCode = getBinaryNodeChild(iq, 'link_code_companion_reg');
    if (linkCode?.attrs.stage === 'companion_hello') {
      const phone = (linkCode.attrs.jid ?? '').split('@')[0] ?? '';
      const wrapped = getBinaryNodeChildBuffer(linkCode, 'link_code_pairing_wrapped_companion_ephemeral_pub');
      this.result(iq);
      if (wrapped && this.state === 'registering') {
        const account = this.host.directory.getOrCreateAccount(phone);
        this.host.registerPairingCode(phone, this, new PairingCodeExchange(wrapped, account.phoneDevice.identityKeyPair));
      }
      return;
    }
    if (linkCode?.attrs.stage === 'companion_finish') {
      this.result(iq);
      // Not awaited: pairing waits for the client's next frame, which this inbound chain must be free to read.
      void this.onPairingCodeFinish(linkCode);
      return;
    }
    if (getBinaryNodeChild(iq, 'remove-companion-device') && this.account && this.companion) {
      this.account.companions.delete(this.companion.id);
    }
    return this.result(iq);
  }

  private async onPairingCodeFinish(linkCode: BinaryNode): Promise<void> {
    const exchange = this.pairingCodeExchange;
    const phone = (linkCode.attrs.jid ?? '').split('@')[0] ?? '';
    const bundle = getBinaryNodeChildBuffer(linkCode, 'link_code_pairing_wrapped_key_bundle');
    if (!exchange || !bundle) return;
    try {
      const { advSecret, companionIdentityKey } = exchange.finish(bundle);
      const account = this.host.directory.getOrCreateAccount(phone);
      this.host.pairingCodeFinished(phone, await this.completePairing(account, companionIdentityKey, advSecret));
    } catch (err) {
      this.host.pairingCodeFinished(phone, err instanceof Error ? err : new Error(String(err)));
    }
  }
}
