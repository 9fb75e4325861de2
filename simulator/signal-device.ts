// One simulated Signal device (a contact's phone or companion, or an account's own phone), played
// with Baileys' own libsignal repository so its sessions agree byte for byte with the client's.
import {
  type AuthenticationCreds,
  type BinaryNode,
  Curve,
  encodeBigEndian,
  encodeWAMessage,
  generateRegistrationId,
  KEY_BUNDLE_TYPE,
  type KeyPair,
  proto,
  type SignedKeyPair,
  signedKeyPair,
  unpadRandomMax16,
} from '@whiskeysockets/baileys';
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js';
import { pino } from 'pino';
import { makeMemoryKeyStore } from './memory-key-store.ts';

const silentLogger = pino({ level: 'silent' });

/** What a client uploaded for one of its devices: enough for a peer to start a session with it. */
export interface UploadedBundle {
  registrationId: number;
  identityKey: Uint8Array;
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
  preKeys: Map<number, Uint8Array>;
}

export class SignalDevice {
  readonly registrationId: number;
  readonly identityKeyPair: KeyPair;
  private readonly keys = makeMemoryKeyStore();
  private readonly repository;
  private nextPreKeyId = 1;

  /** @param identityKeyPair reuse a key (an account's phone signs the ADV identity with it). */
  constructor(identityKeyPair: KeyPair = Curve.generateKeyPair()) {
    this.registrationId = generateRegistrationId();
    this.identityKeyPair = identityKeyPair;
    // The signed pre-key is made when first needed (a peer fetches this device's bundle, or a
    // pre-key message to it is decrypted): signing is pure-JavaScript curve25519 (tens of ms
    // here), and most simulated phones — one per linked account — are never messaged, so
    // linking 500 accounts spent seconds signing keys nobody read. libsignal reads the creds at
    // each call, so a getter serves it.
    let signed: SignedKeyPair | undefined;
    this.signedPreKey = () => (signed ??= signedKeyPair(identityKeyPair, 1));
    const signedPreKey = this.signedPreKey;
    const creds = {
      registrationId: this.registrationId,
      signedIdentityKey: identityKeyPair,
      get signedPreKey() {
        return signedPreKey();
      },
    } as Pick<AuthenticationCreds, 'registrationId' | 'signedIdentityKey' | 'signedPreKey'> as AuthenticationCreds;
    // No PN→LID lookups: the simulator addresses every peer by an explicit LID device jid.
    this.repository = makeLibSignalRepository({ creds, keys: this.keys }, silentLogger, async () => []);
  }

  private readonly signedPreKey: () => SignedKeyPair;

  /** A `<user jid>` node for an `encrypt` iq result, with a fresh one-time pre-key each time. */
  async bundleNode(jid: string): Promise<BinaryNode> {
    const preKeyId = this.nextPreKeyId++;
    const preKey = Curve.generateKeyPair();
    await this.keys.set({ 'pre-key': { [String(preKeyId)]: preKey } });
    const bytes = (content: Uint8Array, tag: string): BinaryNode => ({ tag, attrs: {}, content });
    return {
      tag: 'user',
      attrs: { jid },
      content: [
        bytes(encodeBigEndian(this.registrationId), 'registration'),
        bytes(KEY_BUNDLE_TYPE, 'type'),
        bytes(this.identityKeyPair.public, 'identity'),
        {
          tag: 'skey',
          attrs: {},
          content: [
            bytes(encodeBigEndian(this.signedPreKey().keyId, 3), 'id'),
            bytes(this.signedPreKey().keyPair.public, 'value'),
            bytes(this.signedPreKey().signature, 'signature'),
          ],
        },
        { tag: 'key', attrs: {}, content: [bytes(encodeBigEndian(preKeyId, 3), 'id'), bytes(preKey.public, 'value')] },
      ],
    };
  }

  /** Decrypts what the peer `senderJid` sent to this device; unwraps a device-sent message. */
  async decrypt(senderJid: string, type: 'pkmsg' | 'msg', ciphertext: Uint8Array): Promise<proto.IMessage> {
    const padded = await this.repository.decryptMessage({ jid: senderJid, type, ciphertext });
    const message = proto.Message.decode(unpadRandomMax16(padded));
    return message.deviceSentMessage?.message ?? message;
  }

  /** Drops the session with `peerJid`, as a reinstalled or restored phone would have none. */
  async forgetSession(peerJid: string): Promise<void> {
    await this.keys.set({ session: { [this.repository.jidToSignalProtocolAddress(peerJid)]: null } });
  }

  /** Encrypts to `peerJid`, starting a session from its uploaded bundle if there is none yet. */
  async encrypt(
    peerJid: string,
    peerBundle: () => UploadedBundle | undefined,
    message: proto.IMessage,
  ): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Uint8Array }> {
    const { exists } = await this.repository.validateSession(peerJid);
    if (!exists) {
      const bundle = peerBundle();
      if (!bundle) throw new Error(`no pre-key bundle uploaded for ${peerJid}`);
      const oneTime = bundle.preKeys.entries().next().value;
      if (oneTime) bundle.preKeys.delete(oneTime[0]);
      await this.repository.injectE2ESession({
        jid: peerJid,
        session: {
          registrationId: bundle.registrationId,
          identityKey: withKeyType(bundle.identityKey),
          signedPreKey: {
            keyId: bundle.signedPreKey.keyId,
            publicKey: withKeyType(bundle.signedPreKey.publicKey),
            signature: bundle.signedPreKey.signature,
          },
          preKey: oneTime ? { keyId: oneTime[0], publicKey: withKeyType(oneTime[1]) } : undefined!,
        },
      });
    }
    return this.repository.encryptMessage({ jid: peerJid, data: encodeWAMessage(message) });
  }
}

function withKeyType(key: Uint8Array): Buffer {
  return key.length === 33 ? Buffer.from(key) : Buffer.concat([KEY_BUNDLE_TYPE, key]);
}
