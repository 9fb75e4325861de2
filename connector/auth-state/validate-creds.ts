// Restored creds are checked before Baileys sees them: a truncated or hand-edited row must mark
// the session failed with a clear reason, not crash deep inside the noise handshake.
import type { AuthenticationCreds } from '@whiskeysockets/baileys';
import { z } from 'zod';

const bytes = (length?: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && (length === undefined || v.length === length), {
    message: length ? `must be ${length} bytes` : 'must be bytes',
  });
const keyPair = z.object({ public: bytes(32), private: bytes(32) });

const credsSchema = z.object({
  noiseKey: keyPair,
  pairingEphemeralKeyPair: keyPair,
  signedIdentityKey: keyPair,
  signedPreKey: z.object({ keyPair, signature: bytes(), keyId: z.number().int().nonnegative() }),
  registrationId: z.number().int().nonnegative(),
  advSecretKey: z.string().min(1),
  nextPreKeyId: z.number().int().nonnegative(),
  firstUnuploadedPreKeyId: z.number().int().nonnegative(),
  me: z.object({ id: z.string().regex(/^[^@]+@[a-z.]+$/) }).passthrough().optional(),
  account: z.object({}).passthrough().optional(),
});

export class CorruptAuthState extends Error {
  /**
   * True when the row could not be decrypted (a key version this connector lacks, or a key that
   * does not authenticate it): another connector may well read it, so it is handed back, not
   * failed. False when it decrypted but is malformed: that is corrupt for everybody.
   */
  readonly undecryptable: boolean;
  constructor(message: string, opts: { undecryptable?: boolean } = {}) {
    super(message);
    this.undecryptable = opts.undecryptable ?? false;
    this.name = 'CorruptAuthState';
  }
}

/** Throws CorruptAuthState naming the first field at fault. */
export function validateCreds(value: unknown): AuthenticationCreds {
  const result = credsSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CorruptAuthState(`stored creds are invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return value as AuthenticationCreds;
}

/** Linked means WhatsApp knows this device: an id and the signed account identity. */
export function isLinked(creds: AuthenticationCreds): boolean {
  return Boolean(creds.me?.id && creds.account);
}
