// What the primary phone does when it links a companion: parse the QR, build <pair-success>, and
// play the phone's side of the pairing-code exchange (companion_hello → notification →
// companion_finish). Mirrors Baileys' validate-connection.js and messages-recv.js.
import { createCipheriv, randomBytes } from 'node:crypto';
import {
  aesDecryptCTR,
  aesDecryptGCM,
  type BinaryNode,
  Curve,
  derivePairingCodeKey,
  hkdf,
  hmacSign,
  type KeyPair,
  proto,
  WA_ADV_ACCOUNT_SIG_PREFIX,
} from '@whiskeysockets/baileys';

export interface ScannedQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
  platform: string;
}

/** QR text is `[https://wa.me/settings/linked_devices#]ref,noiseKey,identityKey,advSecret,platform`. */
export function parseQr(qrText: string): ScannedQr {
  const body = qrText.includes('#') ? qrText.slice(qrText.indexOf('#') + 1) : qrText;
  const [ref, noiseKey, identityKey, advSecret, platform] = body.split(',');
  if (!ref || !noiseKey || !identityKey || !advSecret) throw new Error('not a WhatsApp pairing QR');
  return {
    ref,
    noiseKey: Buffer.from(noiseKey, 'base64'),
    identityKey: Buffer.from(identityKey, 'base64'),
    advSecret: Buffer.from(advSecret, 'base64'),
    platform: platform ?? '',
  };
}

/** The <iq><pair-success> the phone's server sends once the phone approved the link. */
export function pairSuccessStanza(opts: {
  id: string;
  phoneIdentity: KeyPair;
  companionIdentityKey: Uint8Array;
  advSecret: Uint8Array;
  deviceJid: string;
  deviceLid: string;
  deviceId: number;
}): BinaryNode {
  const deviceDetails = proto.ADVDeviceIdentity.encode({
    rawId: Math.floor(Math.random() * 2 ** 31),
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex: opts.deviceId,
  }).finish();
  const accountSignature = Curve.sign(
    opts.phoneIdentity.private,
    Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, deviceDetails, opts.companionIdentityKey]),
  );
  const signedIdentity = proto.ADVSignedDeviceIdentity.encode({
    details: deviceDetails,
    accountSignatureKey: opts.phoneIdentity.public,
    accountSignature,
  }).finish();
  const hmac = hmacSign(signedIdentity, opts.advSecret);
  return {
    tag: 'iq',
    attrs: { id: opts.id, type: 'set', from: 's.whatsapp.net', t: String(Math.floor(Date.now() / 1000)) },
    content: [
      {
        tag: 'pair-success',
        attrs: {},
        content: [
          {
            tag: 'device-identity',
            attrs: {},
            content: proto.ADVSignedDeviceIdentityHMAC.encode({ details: signedIdentity, hmac }).finish(),
          },
          { tag: 'platform', attrs: { name: 'smba' } },
          { tag: 'device', attrs: { jid: opts.deviceJid, lid: opts.deviceLid } },
        ],
      },
    ],
  };
}

/** Layout Baileys uses for a code-wrapped ephemeral key: salt(32) | iv(16) | AES-CTR(key). */
async function unwrapWithCode(code: string, wrapped: Uint8Array): Promise<Buffer> {
  const buffer = Buffer.from(wrapped);
  const key = await derivePairingCodeKey(code, buffer.subarray(0, 32));
  return aesDecryptCTR(buffer.subarray(48, 80), key, buffer.subarray(32, 48));
}

async function wrapWithCode(code: string, publicKey: Uint8Array): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await derivePairingCodeKey(code, salt);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([salt, iv, cipher.update(publicKey), cipher.final()]);
}

/** The phone's state for one pairing-code attempt, from the companion's hello to its finish. */
export class PairingCodeExchange {
  readonly ref = randomBytes(16).toString('base64');
  private readonly primaryEphemeral = Curve.generateKeyPair();
  private companionEphemeralPublic: Buffer | undefined;

  constructor(
    private readonly wrappedCompanionEphemeral: Uint8Array,
    private readonly phoneIdentity: KeyPair,
  ) {}

  /** The phone user typed `code`: returns the notification that carries the phone's keys. */
  async primaryHello(code: string, notificationId: string): Promise<BinaryNode> {
    this.companionEphemeralPublic = await unwrapWithCode(code, this.wrappedCompanionEphemeral);
    const wrappedPrimary = await wrapWithCode(code, this.primaryEphemeral.public);
    const child = (tag: string, content: Uint8Array): BinaryNode => ({ tag, attrs: {}, content });
    return {
      tag: 'notification',
      attrs: { id: notificationId, type: 'link_code_companion_reg', from: 's.whatsapp.net' },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: {},
          content: [
            child('link_code_pairing_ref', Buffer.from(this.ref)),
            child('primary_identity_pub', this.phoneIdentity.public),
            child('link_code_pairing_wrapped_primary_ephemeral_pub', wrappedPrimary),
          ],
        },
      ],
    };
  }

  /**
   * Opens the companion's key bundle (salt(32) | iv(12) | AES-GCM(companionIdentity | primaryIdentity
   * | random)) and derives the adv secret both sides now share.
   */
  finish(wrappedKeyBundle: Uint8Array): { advSecret: Buffer; companionIdentityKey: Buffer } {
    if (!this.companionEphemeralPublic) throw new Error('pairing code not entered yet');
    const companionShared = Curve.sharedKey(this.primaryEphemeral.private, this.companionEphemeralPublic);
    const bundle = Buffer.from(wrappedKeyBundle);
    const key = hkdf(companionShared, 32, {
      salt: bundle.subarray(0, 32),
      info: 'link_code_pairing_key_bundle_encryption_key',
    });
    let plain: Buffer;
    try {
      plain = aesDecryptGCM(bundle.subarray(44), key, bundle.subarray(32, 44), Buffer.alloc(0));
    } catch {
      throw new Error('pairing code mismatch: the companion key bundle does not open');
    }
    const companionIdentityKey = plain.subarray(0, 32);
    const random = plain.subarray(64, 96);
    const identityShared = Curve.sharedKey(this.phoneIdentity.private, companionIdentityKey);
    const advSecret = Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' }));
    return { advSecret, companionIdentityKey };
  }
}
