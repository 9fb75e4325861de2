import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  associatedData, ConfigError, createKeyring, DecryptionError, KEYRING_PREFIX, keyringFromEnv, open, openText, seal, sealText,
} from '../../kernel/secret-box.ts';

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

  it.each(Object.values(KEYRING_PREFIX))('refuses to start without a valid %s key, naming the variable; never falls back', async (p) => {
    await expect(keyringFromEnv({}, p)).rejects.toThrow(new RegExp(`^${p}_KEY: is required`));
    await expect(keyringFromEnv({ [`${p}_KEY`]: 'short' }, p)).rejects.toBeInstanceOf(ConfigError);
    await expect(keyringFromEnv({ [`${p}_KEY`]: 'ab'.repeat(31) }, p)).rejects.toThrow(new RegExp(`^${p}_KEY: must be 32 .*64 hex characters or base64`));
    const hex = Buffer.from(key()).toString('hex');
    await expect(keyringFromEnv({ [`${p}_KEY`]: hex, [`${p}_KEY_VERSION`]: '0' }, p)).rejects.toThrow(new RegExp(`^${p}_KEY_VERSION:`));
    await expect(keyringFromEnv({ [`${p}_KEY`]: hex, [`${p}_OLD_KEYS`]: 'nonsense' }, p)).rejects.toThrow(new RegExp(`^${p}_OLD_KEYS:`));
    const b64 = Buffer.from(key()).toString('base64');
    const ring = await keyringFromEnv({ [`${p}_KEY`]: hex, [`${p}_KEY_VERSION`]: '3', [`${p}_OLD_KEYS`]: `1:${b64}` }, p);
    expect(ring.currentVersion).toBe(3);
    expect([...ring.keys.keys()].sort()).toEqual([1, 3]);
  });

  it('builds each keyring from its own variables only (the edge function never needs the credentials key)', async () => {
    const credentials = key();
    const webhook = key();
    const env = {
      CREDENTIALS_ENCRYPTION_KEY: Buffer.from(credentials).toString('hex'),
      CREDENTIALS_ENCRYPTION_KEY_VERSION: '7',
      WEBHOOK_SECRETS_KEY: Buffer.from(webhook).toString('hex'),
    };
    const webhookRing = await keyringFromEnv(env, KEYRING_PREFIX.webhookSecrets);
    expect(webhookRing.currentVersion).toBe(1);
    expect([...webhookRing.keys.keys()]).toEqual([1]);
    const sealedForCreds = await sealText(await createKeyring({ version: 7, key: credentials }), 'creds', 'aad');
    await expect(openText(webhookRing, sealedForCreds.ciphertext, 7, 'aad')).rejects.toBeInstanceOf(DecryptionError);
    const { WEBHOOK_SECRETS_KEY: _omitted, ...withoutWebhookKey } = env;
    await expect(keyringFromEnv(withoutWebhookKey, KEYRING_PREFIX.webhookSecrets)).rejects.toThrow(/^WEBHOOK_SECRETS_KEY: is required/);
    expect((await keyringFromEnv({ WEBHOOK_SECRETS_KEY: env.WEBHOOK_SECRETS_KEY }, KEYRING_PREFIX.webhookSecrets)).currentVersion).toBe(1);
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
