// Key rotation: rows sealed under an old key are re-encrypted under the newest one and still open;
// the script refuses to run without a key; a second run has nothing to do.
import { execFileSync, spawnSync } from 'node:child_process';
import { initAuthCreds } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresAuthState } from '../../connector/auth-state/postgres-auth-state.ts';
import { createKeyring } from '../../edge-functions/_shared/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const oldHex = '11'.repeat(32);
const newHex = '22'.repeat(32);

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

    const env = { ...process.env, DATABASE_URL: db.url, CREDENTIALS_ENCRYPTION_KEY: newHex, CREDENTIALS_ENCRYPTION_KEY_VERSION: '2', CREDENTIALS_ENCRYPTION_OLD_KEYS: `1:${oldHex}` };
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], { env, encoding: 'utf8' }).trim());
    expect(out).toMatchObject({ currentVersion: 2, creds: 1, signalKeys: 2, failed: 0 });
    const versions = await db.sql`select key_version from private.signal_keys where agent_id = ${agentId} union all select key_version from private.session_credentials where agent_id = ${agentId}`;
    expect(versions.map((v) => v.key_version)).toEqual([2, 2, 2]);

    // Only the new key is needed now.
    const newOnly = await createKeyring({ version: 2, key: Buffer.from(newHex, 'hex') });
    const s2 = createPostgresAuthState({ sql: db.sql, keyring: newOnly, agentId, connectorId: connector, epoch: () => epoch });
    expect(Buffer.from((await s2.loadCreds()).creds.noiseKey.private)).toEqual(Buffer.from(creds.noiseKey.private));
    expect(Buffer.from((await s2.keys.get('pre-key', ['1']))['1']!.private)).toEqual(Buffer.alloc(32, 2));

    const again = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], { env, encoding: 'utf8' }).trim());
    expect(again).toMatchObject({ creds: 0, signalKeys: 0, failed: 0 });
  });

  it('refuses to run without the key, naming the variable', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], {
      env: { ...process.env, DATABASE_URL: db.url, CREDENTIALS_ENCRYPTION_KEY: '' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/CREDENTIALS_ENCRYPTION_KEY: is required/);
  });
});
