// The connector's message-content keyring (MESSAGE_CONTENT_*): optional until a tenant keeps
// content encrypted, then required at start with an error naming the variable; never the same
// bytes as the credentials key (the edge function holds it).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../connector/config.ts';
import { startTestConnector, TEST_KEY_HEX, testEnv } from '../../scripts/harness/connector.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createUser } from '../helpers/fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

async function configError(env: Record<string, string>): Promise<ConfigError> {
  const error = await loadConfig(env).then(() => undefined, (e: unknown) => e);
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

/** Starts a connector (no message path) and stops it again; resolves to the start's error, if any. */
async function startError(env: Record<string, string>): Promise<unknown> {
  const c = await startTestConnector(env, { start: false });
  try {
    await c.connector.start();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await c.stop();
  }
}

describe('MESSAGE_CONTENT_* in the connector config', () => {
  it('unset: no content keyring; set: a keyring of the configured version', async () => {
    expect((await loadConfig(testEnv(db.url))).contentKeyring).toBeUndefined();
    const config = await loadConfig(testEnv(db.url, undefined, { MESSAGE_CONTENT_KEY: randomBytes(32).toString('hex'), MESSAGE_CONTENT_KEY_VERSION: '3' }));
    expect(config.contentKeyring?.currentVersion).toBe(3);
  });

  it('a malformed key, or the credentials key reused, is refused naming MESSAGE_CONTENT_KEY', async () => {
    const malformed = await configError(testEnv(db.url, undefined, { MESSAGE_CONTENT_KEY: 'short' }));
    expect(malformed.variable).toBe('MESSAGE_CONTENT_KEY');
    const reused = await configError(testEnv(db.url, undefined, { MESSAGE_CONTENT_KEY: TEST_KEY_HEX }));
    expect(reused.variable).toBe('MESSAGE_CONTENT_KEY');
    expect(reused.message).toContain('CREDENTIALS_ENCRYPTION_KEY');
  });
});

describe('start', () => {
  it('without the key: starts while no tenant chose encrypted, refuses naming MESSAGE_CONTENT_KEY once one did; with the key it starts', async () => {
    expect(await startError(testEnv(db.url))).toBeUndefined();
    const owner = await createUser(db.sql);
    await db.sql`select * from gateway.api_set_content_policy(${owner}, 'encrypted')`;
    const refused = await startError(testEnv(db.url));
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).variable).toBe('MESSAGE_CONTENT_KEY');
    // Switching back does not help: content sealed meanwhile still needs the key.
    await db.sql`select * from gateway.api_set_content_policy(${owner}, 'plain')`;
    expect(await startError(testEnv(db.url))).toBeInstanceOf(ConfigError);
    expect(await startError(testEnv(db.url, undefined, { MESSAGE_CONTENT_KEY: randomBytes(32).toString('hex') }))).toBeUndefined();
  });
});
