// Key rotation: rows sealed under an old key are re-encrypted under the newest key of their own
// keyring (creds and Signal keys: credentials; webhook secrets: webhook) and still open; the
// script refuses to run without either key; a second run has nothing to do. Also the move of an
// existing deployment's webhook secrets off the credentials key (README "Rotating the encryption
// keys").
import { execFileSync, spawnSync } from 'node:child_process';
import { initAuthCreds } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresAuthState } from '../../connector/auth-state/postgres-auth-state.ts';
import { loadConfig } from '../../connector/config.ts';
import { associatedData, createKeyring, DecryptionError, openText, sealText } from '../../kernel/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';
import { createEndpoint, standardSecret } from '../helpers/messages-webhooks.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const oldHex = '11'.repeat(32);
const newHex = '22'.repeat(32);
const webhookHex = '33'.repeat(32);
const rotate = (env: NodeJS.ProcessEnv) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], { env, encoding: 'utf8' }).trim());
const secretRow = async (endpointId: string) =>
  (await db.sql`select ciphertext, key_version from private.webhook_secrets where endpoint_id = ${endpointId}`)[0]!;

describe('npm run keys:rotate', () => {
  it('re-encrypts creds and Signal keys under the newest key; they still open; a second run is a no-op', async () => {
    const connector = await registerConnector(db.sql);
    const owner = await createUser(db.sql);
    const agentId = await createRunningAgent(db.sql, owner);
    const epoch = (await claim(db.sql, connector, agentId))!;
    const oldRing = await createKeyring({ version: 1, key: Buffer.from(oldHex, 'hex') });
    const s1 = createPostgresAuthState({ sql: db.sql, keyring: oldRing, agentId, connectorId: connector, epoch: () => epoch });
    const creds = initAuthCreds();
    await s1.saveCreds(creds);
    await s1.keys.set({ 'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } }, session: { 'x.0': Buffer.from('rec') as never } });

    const env = { ...process.env, DATABASE_URL: db.url, CREDENTIALS_ENCRYPTION_KEY: newHex, CREDENTIALS_ENCRYPTION_KEY_VERSION: '2', CREDENTIALS_ENCRYPTION_OLD_KEYS: `1:${oldHex}`, WEBHOOK_SECRETS_KEY: webhookHex };
    const out = rotate(env);
    expect(out).toMatchObject({ currentVersion: 2, creds: 1, signalKeys: 2, failed: 0 });
    const versions = await db.sql`select key_version from private.signal_keys where agent_id = ${agentId} union all select key_version from private.session_credentials where agent_id = ${agentId}`;
    expect(versions.map((v) => v.key_version)).toEqual([2, 2, 2]);

    // Only the new key is needed now.
    const newOnly = await createKeyring({ version: 2, key: Buffer.from(newHex, 'hex') });
    const s2 = createPostgresAuthState({ sql: db.sql, keyring: newOnly, agentId, connectorId: connector, epoch: () => epoch });
    expect(Buffer.from((await s2.loadCreds()).creds.noiseKey.private)).toEqual(Buffer.from(creds.noiseKey.private));
    expect(Buffer.from((await s2.keys.get('pre-key', ['1']))['1']!.private)).toEqual(Buffer.alloc(32, 2));

    const again = rotate(env);
    expect(again).toMatchObject({ creds: 0, signalKeys: 0, failed: 0 });
  });

  it('moves webhook secrets sealed with the credentials key to the webhook key: readable through WEBHOOK_SECRETS_OLD_KEYS, re-sealed by rotation', async () => {
    const owner = await createUser(db.sql);
    // As the gateway sealed them before the keyrings were split: the current credentials key (v2).
    const credentialsRing = await createKeyring({ version: 2, key: Buffer.from(newHex, 'hex') });
    const endpoint = await createEndpoint(db.sql, credentialsRing, { owner, url: 'https://hooks.example.com/moved' });
    expect((await secretRow(endpoint.id)).key_version).toBe(2);

    // The documented move: a new webhook key above the credentials version, the credentials key as
    // the old entry under its version. The credentials keyring is unchanged.
    const env = {
      ...process.env, DATABASE_URL: db.url, CREDENTIALS_ENCRYPTION_KEY: newHex, CREDENTIALS_ENCRYPTION_KEY_VERSION: '2', CREDENTIALS_ENCRYPTION_OLD_KEYS: '',
      WEBHOOK_SECRETS_KEY: webhookHex, WEBHOOK_SECRETS_KEY_VERSION: '3', WEBHOOK_SECRETS_OLD_KEYS: `2:${newHex}`,
    };
    const ad = associatedData.webhookSecret(endpoint.id);
    const during = await loadConfig(env);
    const before = await secretRow(endpoint.id);
    expect(await openText(during.webhookKeyring, before.ciphertext, before.key_version, ad)).toBe(endpoint.secret);

    expect(rotate(env)).toMatchObject({ webhookCurrentVersion: 3, webhookSecrets: 1, creds: 0, signalKeys: 0, failed: 0 });
    const after = await secretRow(endpoint.id);
    expect(after.key_version).toBe(3);

    // The old entry is dropped: the webhook key alone opens it, the credentials key no longer does.
    const finished = await loadConfig({ ...env, WEBHOOK_SECRETS_OLD_KEYS: '' });
    expect(await openText(finished.webhookKeyring, after.ciphertext, after.key_version, ad)).toBe(endpoint.secret);
    await expect(openText(credentialsRing, after.ciphertext, 2, ad)).rejects.toBeInstanceOf(DecryptionError);
    expect(rotate({ ...env, WEBHOOK_SECRETS_OLD_KEYS: '' })).toMatchObject({ webhookSecrets: 0, failed: 0 });
  });

  it('re-seals the previous signing secret of an endpoint in a rotation overlap too', async () => {
    const owner = await createUser(db.sql);
    const v1 = await createKeyring({ version: 1, key: Buffer.from(oldHex, 'hex') });
    const endpoint = await createEndpoint(db.sql, v1, { owner, url: 'https://hooks.example.com/overlap' });
    const ad = associatedData.webhookSecret(endpoint.id);
    const next = standardSecret();
    const sealed = await sealText(v1, next, ad);
    await db.sql`select * from gateway.api_rotate_webhook_secret(${owner}, ${endpoint.id}, ${sealed.ciphertext}, ${sealed.keyVersion}, 3600)`;
    const env = {
      ...process.env, DATABASE_URL: db.url, CREDENTIALS_ENCRYPTION_KEY: newHex, CREDENTIALS_ENCRYPTION_KEY_VERSION: '2', CREDENTIALS_ENCRYPTION_OLD_KEYS: `1:${oldHex}`,
      // Earlier tests left secrets under webhook key version 3.
      WEBHOOK_SECRETS_KEY: '44'.repeat(32), WEBHOOK_SECRETS_KEY_VERSION: '4', WEBHOOK_SECRETS_OLD_KEYS: `1:${oldHex},3:${webhookHex}`,
    };
    expect(rotate(env)).toMatchObject({ failed: 0 });
    const [row] = await db.sql`select * from private.webhook_secrets where endpoint_id = ${endpoint.id}`;
    expect({ current: row!.key_version, previous: row!.previous_key_version }).toEqual({ current: 4, previous: 4 });
    const ring = (await loadConfig({ ...env, WEBHOOK_SECRETS_OLD_KEYS: '' })).webhookKeyring;
    expect(await openText(ring, row!.ciphertext, 4, ad)).toBe(next);
    expect(await openText(ring, row!.previous_ciphertext, 4, ad)).toBe(endpoint.secret);
  });

  it.each(['CREDENTIALS_ENCRYPTION_KEY', 'WEBHOOK_SECRETS_KEY'])('refuses to run without %s, naming it', (variable) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], {
      env: { ...process.env, DATABASE_URL: db.url, CREDENTIALS_ENCRYPTION_KEY: newHex, WEBHOOK_SECRETS_KEY: webhookHex, [variable]: '' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`${variable}: is required`));
  });
});
