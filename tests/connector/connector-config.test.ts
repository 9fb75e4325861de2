import { DEFAULT_CONFIG } from '../../edge-functions/gateway/types.ts';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../connector/config.ts';

const base = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', CREDENTIALS_ENCRYPTION_KEY: 'ab'.repeat(32), WEBHOOK_SECRETS_KEY: 'cd'.repeat(32) };

async function problem(env: Record<string, string | undefined>): Promise<string> {
  try {
    await loadConfig(env);
    return 'no error';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('connector config', () => {
  it('applies the seeds\' defaults', async () => {
    const config = await loadConfig(base);
    expect(config.whatsapp).toMatchObject({ keepAliveMs: 20_000, connectTimeoutMs: 120_000, qrMax: 3, qrTimeoutMs: 180_000, retryRequestDelayMs: 250, version: [2, 3000, 1043857760] });
    expect(config.messaging.outbound.sendTimeoutMs).toBe(30_000);
    // Seed 004: 10 MB for media however it arrives (the API's base64 limit is the same).
    expect(config.messaging.media.maxBytes).toBe(10 * 1024 * 1024);
    expect(config.messaging.media.maxBytes).toBe(DEFAULT_CONFIG.maxMediaBytes);
    expect(config.backoff).toEqual({ baseMs: 1000, maxMs: 30_000, stableMs: 60_000 });
    expect(config.health).toEqual({ connectedMs: 60_000, connectingMs: 30_000 });
    expect(config.jobs.inactiveDays).toBe(7);
    expect(config.keyThresholds).toEqual({ warn: 120, prune: 150, critical: 180 });
    expect(config.renewIntervalMs).toBe(5000);
    expect(config.realtime).toBeUndefined();
    expect(config.keyring.currentVersion).toBe(1);
    expect(config.webhookKeyring.currentVersion).toBe(1);
  });

  it('refuses to start without either encryption key, naming it (no random fallback)', async () => {
    expect(await problem({ DATABASE_URL: base.DATABASE_URL, WEBHOOK_SECRETS_KEY: base.WEBHOOK_SECRETS_KEY })).toMatch(/^CREDENTIALS_ENCRYPTION_KEY: is required/);
    expect(await problem({ ...base, CREDENTIALS_ENCRYPTION_KEY: 'short' })).toMatch(/^CREDENTIALS_ENCRYPTION_KEY: must be 32/);
    expect(await problem({ DATABASE_URL: base.DATABASE_URL, CREDENTIALS_ENCRYPTION_KEY: base.CREDENTIALS_ENCRYPTION_KEY })).toMatch(/^WEBHOOK_SECRETS_KEY: is required/);
    expect(await problem({ ...base, WEBHOOK_SECRETS_KEY: 'ab'.repeat(31) })).toMatch(/^WEBHOOK_SECRETS_KEY: must be 32/);
    expect(await problem({ ...base, WEBHOOK_SECRETS_KEY_VERSION: '0' })).toMatch(/^WEBHOOK_SECRETS_KEY_VERSION:/);
    expect(await problem({ ...base, WEBHOOK_SECRETS_OLD_KEYS: 'nonsense' })).toMatch(/^WEBHOOK_SECRETS_OLD_KEYS:/);
  });

  it('opens webhook secrets with their own keyring, creds with the credentials keyring; the keys must differ', async () => {
    const config = await loadConfig({ ...base, WEBHOOK_SECRETS_KEY_VERSION: '3', WEBHOOK_SECRETS_OLD_KEYS: `1:${base.CREDENTIALS_ENCRYPTION_KEY}` });
    expect([...config.keyring.keys.keys()]).toEqual([1]);
    expect([...config.webhookKeyring.keys.keys()].sort()).toEqual([1, 3]);
    expect(config.webhookKeyring.currentVersion).toBe(3);
    // Hex and base64 of the same bytes are the same key.
    const sameAsCredentials = Buffer.from(base.CREDENTIALS_ENCRYPTION_KEY, 'hex').toString('base64');
    expect(await problem({ ...base, WEBHOOK_SECRETS_KEY: sameAsCredentials })).toMatch(/^WEBHOOK_SECRETS_KEY: must differ from CREDENTIALS_ENCRYPTION_KEY/);
  });

  it('names a missing or malformed variable', async () => {
    expect(await problem({ CREDENTIALS_ENCRYPTION_KEY: base.CREDENTIALS_ENCRYPTION_KEY, WEBHOOK_SECRETS_KEY: base.WEBHOOK_SECRETS_KEY })).toMatch(/^DATABASE_URL: is required/);
    expect(await problem({ ...base, DATABASE_URL: 'mysql://x' })).toMatch(/^DATABASE_URL:/);
    expect(await problem({ ...base, CONNECTOR_LEASE_SECONDS: 'ten' })).toMatch(/^CONNECTOR_LEASE_SECONDS:/);
    expect(await problem({ ...base, WA_VERSION: '2.3000' })).toMatch(/^WA_VERSION:/);
    expect(await problem({ ...base, WA_WEBSOCKET_URL: 'http://x' })).toMatch(/^WA_WEBSOCKET_URL:/);
    expect(await problem({ ...base, SUPABASE_URL: 'https://p.supabase.co' })).toMatch(/^SUPABASE_SECRET_KEY:/);
    expect(await problem({ ...base, CONNECTOR_LEASE_SECONDS: '10', CONNECTOR_RENEW_INTERVAL_MS: '6000' })).toMatch(/^CONNECTOR_RENEW_INTERVAL_MS:/);
    expect(await problem({ ...base, KEY_WARN_ROWS: '200' })).toMatch(/^KEY_PRUNE_ROWS:/);
    // The message path's variables are in the same schema, parsed once.
    expect(await problem({ ...base, MESSAGES_CLAIM_BATCH: '0' })).toMatch(/^MESSAGES_CLAIM_BATCH:/);
    expect(await problem({ ...base, WA_SEND_TIMEOUT_MS: '20000', MESSAGES_VISIBILITY_SECONDS: '20' })).toMatch(/^MESSAGES_VISIBILITY_SECONDS:/);
    expect(await problem({ ...base, WEBHOOK_TIMEOUT_MS: '10000', WEBHOOK_VISIBILITY_SECONDS: '10' })).toMatch(/^WEBHOOK_VISIBILITY_SECONDS:/);
    expect(await problem({ ...base, MEDIA_STORE: 'disk' })).toMatch(/^MEDIA_STORE: must be supabase or folder/);
  });

  it('accepts SUPABASE_DB_URL for the database and Supabase Realtime with a secret key', async () => {
    const config = await loadConfig({
      CREDENTIALS_ENCRYPTION_KEY: base.CREDENTIALS_ENCRYPTION_KEY,
      WEBHOOK_SECRETS_KEY: base.WEBHOOK_SECRETS_KEY,
      SUPABASE_DB_URL: base.DATABASE_URL,
      SUPABASE_URL: 'https://p.supabase.co',
      SUPABASE_SECRET_KEY: 'sb_secret_x',
    });
    expect(config.databaseUrl).toBe(base.DATABASE_URL);
    expect(config.realtime).toEqual({ url: 'https://p.supabase.co', key: 'sb_secret_x' });
  });
});
