/**
 * The server half of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake and the transport that follows.
 *
 * States: `awaiting-client-hello` → (serverHello sent) → `awaiting-client-finish` →
 * (client static key and ClientPayload decrypted) → `transport`. Every step mirrors, in reverse,
 * Baileys' Utils/noise-handler.js, so both sides hash and key the same bytes in the same order.
 */
import { aesDecryptGCM, aesEncryptGCM, Curve, hkdf, NOISE_MODE, NOISE_WA_HEADER, proto, sha256 } from '@whiskeysockets/baileys';

type KeyPair = { private: Uint8Array; public: Uint8Array };
type NoiseState = 'awaiting-client-hello' | 'awaiting-client-finish' | 'transport';

const EMPTY = Buffer.alloc(0);

function ivFor(counter: number): Uint8Array {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
}

export class NoiseServerSession {
  private state: NoiseState = 'awaiting-client-hello';
  private hash: Buffer;
  private salt: Buffer;
  private cipherKey: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = Curve.generateKeyPair();
  private writeKey: Buffer = EMPTY;
  private readKey: Buffer = EMPTY;
  private writeCounter = 0;
  private readCounter = 0;

  constructor(
    private readonly staticKeyPair: KeyPair,
    private readonly certChain: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.byteLength === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.cipherKey = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  get isTransport(): boolean {
    return this.state === 'transport';
  }

  /** Consumes the client's hello and returns the encoded HandshakeMessage{serverHello}. */
  acceptClientHello(frame: Uint8Array): Uint8Array {
    this.expectState('awaiting-client-hello');
    const clientEphemeral = proto.HandshakeMessage.decode(frame).clientHello?.ephemeral;
    if (clientEphemeral?.length !== 32) throw new Error('client hello without ephemeral key');
    this.authenticate(clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const encryptedStatic = this.encryptHandshake(this.staticKeyPair.public);
    this.mixIntoKey(Curve.sharedKey(this.staticKeyPair.private, clientEphemeral));
    const encryptedCertChain = this.encryptHandshake(this.certChain);
    this.state = 'awaiting-client-finish';
    return proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: encryptedStatic, payload: encryptedCertChain },
    }).finish();
  }

  /** Consumes the client's finish; returns its noise public key and decoded ClientPayload. */
  acceptClientFinish(frame: Uint8Array): { clientNoiseKey: Uint8Array; payload: proto.ClientPayload } {
    this.expectState('awaiting-client-finish');
    const finish = proto.HandshakeMessage.decode(frame).clientFinish;
    if (!finish?.static || !finish.payload) throw new Error('client finish incomplete');
    const clientNoiseKey = this.decryptHandshake(finish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientNoiseKey));
    const payload = proto.ClientPayload.decode(this.decryptHandshake(finish.payload));
    const keys = Buffer.from(hkdf(EMPTY, 64, { salt: this.salt, info: '' }));
    // The client encrypts with the first half and decrypts with the second; we do the opposite.
    this.readKey = keys.subarray(0, 32);
    this.writeKey = keys.subarray(32);
    this.state = 'transport';
    return { clientNoiseKey, payload };
  }

  encryptFrame(plaintext: Uint8Array): Buffer {
    this.expectState('transport');
    return aesEncryptGCM(plaintext, this.writeKey, ivFor(this.writeCounter++), EMPTY);
  }

  decryptFrame(ciphertext: Uint8Array): Buffer {
    this.expectState('transport');
    return aesDecryptGCM(ciphertext, this.readKey, ivFor(this.readCounter++), EMPTY);
  }

  private expectState(expected: NoiseState): void {
    if (this.state !== expected) throw new Error(`noise: expected ${expected}, in ${this.state}`);
  }

  private authenticate(data: Uint8Array): void {
    this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixIntoKey(data: Uint8Array): void {
    const key = Buffer.from(hkdf(Buffer.from(data), 64, { salt: this.salt, info: '' }));
    this.salt = key.subarray(0, 32);
    this.cipherKey = key.subarray(32);
    this.counter = 0;
  }

  private encryptHandshake(plaintext: Uint8Array): Buffer {
    const result = aesEncryptGCM(plaintext, this.cipherKey, ivFor(this.counter++), this.hash);
    this.authenticate(result);
    return result;
  }

  private decryptHandshake(ciphertext: Uint8Array): Buffer {
    const result = aesDecryptGCM(ciphertext, this.cipherKey, ivFor(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return result;
  }
}

/**
 * Splits the client's byte stream into frames: an optional 4-byte `WA 06 03` intro, then
 * 3-byte big-endian lengths, each followed by that many bytes.
 */
export class FrameReader {
  private buffer: Buffer = EMPTY;
  private introSeen = false;

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.introSeen) {
      if (this.buffer.length < NOISE_WA_HEADER.length) return [];
      if (!this.buffer.subarray(0, NOISE_WA_HEADER.length).equals(NOISE_WA_HEADER)) {
        throw new Error('client did not open with the WA noise header');
      }
      this.buffer = this.buffer.subarray(NOISE_WA_HEADER.length);
      this.introSeen = true;
    }
    const frames: Buffer[] = [];
    while (this.buffer.length >= 3) {
      const size = (this.buffer[0]! << 16) | (this.buffer[1]! << 8) | this.buffer[2]!;
      if (this.buffer.length < size + 3) break;
      frames.push(this.buffer.subarray(3, size + 3));
      this.buffer = this.buffer.subarray(size + 3);
    }
    return frames;
  }
}

export function frameForWire(payload: Uint8Array): Buffer {
  const frame = Buffer.alloc(payload.length + 3);
  frame.writeUIntBE(payload.length, 0, 3);
  frame.set(payload, 3);
  return frame;
}
