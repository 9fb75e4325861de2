// `npm start` on a data directory made before webhook secrets had their own key: the local stack
// gives it a webhook key (version 2) and re-seals the stored webhook secrets, which were sealed
// with the credentials key (version 1) — the move README "Rotating the encryption keys" describes
// for a deployment — and a second start has nothing left to move.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../scripts/dev/stack.ts';
import { associatedData, createKeyring, DecryptionError, openText } from '../../kernel/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createUser } from '../helpers/fixtures.ts';
import { createEndpoint } from '../helpers/messages-webhooks.ts';

let db: TestDatabase;
const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-stack-'));
const secretsFile = path.join(dataDir, 'dev-secrets.json');

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local stack, data directory from before the webhook key', () => {
  it('re-seals webhook secrets under a new webhook key and remembers it', async () => {
    const userId = await createUser(db.sql);
    const encryptionKey = randomBytes(32).toString('hex');
    writeFileSync(secretsFile, JSON.stringify({ userId, encryptionKey, jwtSecret: randomBytes(32).toString('hex') }));
    const credentialsRing = await createKeyring({ version: 1, key: Buffer.from(encryptionKey, 'hex') });
    const endpoint = await createEndpoint(db.sql, credentialsRing, { owner: userId, url: 'https://hooks.example.com/dev' });
    const ad = associatedData.webhookSecret(endpoint.id);
    const row = async () => (await db.sql`select ciphertext, key_version from private.webhook_secrets where endpoint_id = ${endpoint.id}`)[0]!;

    const first = await startLocalStack({ dataDir, databaseUrl: db.url, port: 0, logLevel: 'silent', env: { JOBS_ENABLED: 'false' } });
    try {
      const moved = await row();
      expect(moved.key_version).toBe(2);
      expect(await openText(first.webhookKeyring, moved.ciphertext, moved.key_version, ad)).toBe(endpoint.secret);
      await expect(openText(credentialsRing, moved.ciphertext, 1, ad)).rejects.toBeInstanceOf(DecryptionError);
    } finally {
      await first.stop();
    }
    const saved = JSON.parse(readFileSync(secretsFile, 'utf8'));
    expect(saved).toMatchObject({ encryptionKey, webhookSecretsKeyVersion: 2 });
    expect(saved.webhookSecretsKey).not.toBe(encryptionKey);

    const second = await startLocalStack({ dataDir, databaseUrl: db.url, port: 0, logLevel: 'silent', env: { JOBS_ENABLED: 'false' } });
    try {
      const kept = await row();
      expect(kept.key_version).toBe(2);
      expect(await openText(second.webhookKeyring, kept.ciphertext, kept.key_version, ad)).toBe(endpoint.secret);
    } finally {
      await second.stop();
    }
  });
});
