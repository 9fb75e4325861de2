// Least privilege for the internet-facing edge function: it seals webhook signing secrets with
// their own keyring (WEBHOOK_SECRETS_*) and never reads, let alone requires, the credentials key
// that opens every session's creds and Signal keys.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { depsFromEnv } from '../../edge-functions/gateway/deps.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const webhookKey = randomBytes(32);
const env = {
  SUPABASE_DB_URL: 'postgresql://gateway_api@127.0.0.1:1/none',
  SUPABASE_URL: 'https://project.supabase.test',
  SUPABASE_JWKS: '{"keys":[]}',
  MEDIA_STORE: 'folder',
  MEDIA_STORE_DIR: '/nonexistent/wg-media',
  WEBHOOK_SECRETS_KEY: webhookKey.toString('hex'),
};

describe('gateway keyring', () => {
  it('starts with only the webhook key, and never reads a CREDENTIALS_ENCRYPTION_* variable', async () => {
    const read = new Set<string>();
    const watched = new Proxy({ ...env, CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('hex') } as Record<string, string | undefined>, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
      ownKeys() {
        throw new Error('the gateway enumerated its environment');
      },
    });
    const deps = await depsFromEnv(watched, { logger: quiet });
    try {
      expect(read).toContain('WEBHOOK_SECRETS_KEY');
      expect([...read].filter((name) => name.startsWith('CREDENTIALS_ENCRYPTION'))).toEqual([]);
      expect(deps.keyring.currentVersion).toBe(1);
    } finally {
      await deps.sql.end();
    }
  });

  it('refuses to start without WEBHOOK_SECRETS_KEY, naming it (a credentials key does not stand in)', async () => {
    const { WEBHOOK_SECRETS_KEY: _omitted, ...rest } = env;
    await expect(depsFromEnv({ ...rest, CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('hex') }, { logger: quiet })).rejects.toThrow(/^WEBHOOK_SECRETS_KEY: is required/);
    await expect(depsFromEnv({ ...env, WEBHOOK_SECRETS_KEY: 'short' }, { logger: quiet })).rejects.toThrow(/^WEBHOOK_SECRETS_KEY: must be 32/);
  });

  it('holds a content keyring only when MESSAGE_CONTENT_KEY is set, of its version; a malformed one is refused naming it', async () => {
    const without = await depsFromEnv(env, { logger: quiet });
    const withKey = await depsFromEnv({ ...env, MESSAGE_CONTENT_KEY: randomBytes(32).toString('base64'), MESSAGE_CONTENT_KEY_VERSION: '6' }, { logger: quiet });
    try {
      expect(without.contentKeyring).toBeUndefined();
      expect(withKey.contentKeyring?.currentVersion).toBe(6);
      expect(withKey.requestHashKey).toBeDefined();
      expect(without.requestHashKey).toBeUndefined();
    } finally {
      await without.sql.end();
      await withKey.sql.end();
    }
    await expect(depsFromEnv({ ...env, MESSAGE_CONTENT_KEY: 'short' }, { logger: quiet })).rejects.toThrow(/^MESSAGE_CONTENT_KEY: must be 32/);
  });
});
