import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  associatedData, ConfigError, createKeyring, DecryptionError, keyringFromEnv, open, openText, seal, sealText,
} from '../../edge-functions/_shared/secret-box.ts';

const key = () => new Uint8Array(randomBytes(32));

describe('secret box (AES-256-GCM)', () => {
  it('round-trips any bytes and uses a fresh nonce every time', async () => {
    const ring = await createKeyring({ version: 1, key: key() });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.string(), async (plain, aad) => {
        const a = await seal(ring, plain, aad);
        const b = await seal(ring, plain, aad);
        expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
        expect(Buffer.from(await open(ring, a.ciphertext, a.keyVersion, aad))).toEqual(Buffer.from(plain));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a flipped bit anywhere, another row, and a wrong key', async () => {
    const ring = await createKeyring({ version: 1, key: key() });
    const aad = associatedData.signalKey('agent-1', 'session', '123.0');
    const { ciphertext } = await sealText(ring, 'secret ratchet', aad);
    for (let i = 0; i < ciphertext.length; i++) {
      const tampered = Uint8Array.from(ciphertext);
      tampered[i]! ^= 0x01;
      await expect(open(ring, tampered, 1, aad)).rejects.toBeInstanceOf(DecryptionError);
    }
    await expect(open(ring, ciphertext, 1, associatedData.signalKey('agent-2', 'session', '123.0'))).rejects.toBeInstanceOf(DecryptionError);
    await expect(open(ring, ciphertext, 1, associatedData.signalKey('agent-1', 'pre-key', '123.0'))).rejects.toBeInstanceOf(DecryptionError);
    const other = await createKeyring({ version: 1, key: key() });
    await expect(open(other, ciphertext, 1, aad)).rejects.toBeInstanceOf(DecryptionError);
    await expect(open(ring, ciphertext, 2, aad)).rejects.toThrow(/no key configured for version 2/);
  });

  it('reads old versions and seals with the current one (rotation)', async () => {
    const oldKey = key();
    const v1 = await createKeyring({ version: 1, key: oldKey });
    const sealed = await sealText(v1, 'creds', 'aad');
    const v2 = await createKeyring({ version: 2, key: key() }, [{ version: 1, key: oldKey }]);
    expect(await openText(v2, sealed.ciphertext, sealed.keyVersion, 'aad')).toBe('creds');
    expect((await sealText(v2, 'creds', 'aad')).keyVersion).toBe(2);
  });

  it('refuses to start without a valid key, naming the variable; never falls back', async () => {
    await expect(keyringFromEnv({})).rejects.toThrow(/^CREDENTIALS_ENCRYPTION_KEY: is required/);
    await expect(keyringFromEnv({ CREDENTIALS_ENCRYPTION_KEY: 'short' })).rejects.toBeInstanceOf(ConfigError);
    await expect(keyringFromEnv({ CREDENTIALS_ENCRYPTION_KEY: 'ab'.repeat(31) })).rejects.toThrow(/64 hex characters or base64/);
    const hex = Buffer.from(key()).toString('hex');
    await expect(keyringFromEnv({ CREDENTIALS_ENCRYPTION_KEY: hex, CREDENTIALS_ENCRYPTION_KEY_VERSION: '0' })).rejects.toThrow(/CREDENTIALS_ENCRYPTION_KEY_VERSION/);
    await expect(keyringFromEnv({ CREDENTIALS_ENCRYPTION_KEY: hex, CREDENTIALS_ENCRYPTION_OLD_KEYS: 'nonsense' })).rejects.toThrow(/CREDENTIALS_ENCRYPTION_OLD_KEYS/);
    const b64 = Buffer.from(key()).toString('base64');
    const ring = await keyringFromEnv({ CREDENTIALS_ENCRYPTION_KEY: hex, CREDENTIALS_ENCRYPTION_KEY_VERSION: '3', CREDENTIALS_ENCRYPTION_OLD_KEYS: `1:${b64}` });
    expect(ring.currentVersion).toBe(3);
    expect([...ring.keys.keys()].sort()).toEqual([1, 3]);
  });

  it('never puts key or plaintext into its error messages', async () => {
    const raw = key();
    const ring = await createKeyring({ version: 1, key: raw });
    const { ciphertext } = await sealText(ring, 'PLAINTEXT-MARKER', 'a');
    const error = await open(ring, ciphertext, 1, 'b').catch((e: Error) => e);
    const text = `${(error as Error).message} ${(error as Error).stack}`;
    expect(text).not.toContain('PLAINTEXT-MARKER');
    expect(text).not.toContain(Buffer.from(raw).toString('hex'));
    expect(text).not.toContain(Buffer.from(raw).toString('base64'));
  });
});
