// Re-encrypts every stored secret under the current key of its keyring: creds and Signal keys
// under the credentials keyring, webhook signing secrets under the webhook keyring (a separate key,
// the only one the edge function holds). Safe while connectors run: each row is rewritten only if it still holds
// the ciphertext that was read (compare-and-set), so a concurrent write — which already used the
// current key — is never overwritten with older content. Rows that cannot be opened are counted
// and left alone (they would be reported by the connector as corrupt).
import type { Sql } from 'postgres';
import { associatedData, type Keyring, open, seal } from '../../kernel/secret-box.ts';
import {
  credsNotUnder,
  dropExpiredPreviousSecrets,
  previousSecretsNotUnder,
  resealCreds,
  resealPreviousSecret,
  resealSignalKey,
  resealWebhookSecret,
  signalKeysNotUnder,
  webhookSecretsNotUnder,
} from '../sql/rotation.ts';

export interface RotationReport {
  creds: number;
  signalKeys: number;
  webhookSecrets: number;
  failed: number;
  skippedConcurrent: number;
}

export interface RotationKeyrings {
  /** CREDENTIALS_ENCRYPTION_*: creds and Signal keys. */
  credentials: Keyring;
  /** WEBHOOK_SECRETS_*: webhook signing secrets. */
  webhookSecrets: Keyring;
}

export async function rotateKeys(sql: Sql, keyrings: RotationKeyrings, options: { batchSize?: number } = {}): Promise<RotationReport> {
  const batch = options.batchSize ?? 500;
  const report: RotationReport = { creds: 0, signalKeys: 0, webhookSecrets: 0, failed: 0, skippedConcurrent: 0 };

  async function reseal(keyring: Keyring, ciphertext: Uint8Array, version: number, ad: string): Promise<Buffer | undefined> {
    try {
      const plain = await open(keyring, ciphertext, version, ad);
      return Buffer.from((await seal(keyring, plain, ad)).ciphertext);
    } catch {
      report.failed++;
      return undefined;
    }
  }

  const keyring = keyrings.credentials;
  const current = keyring.currentVersion;
  // Creds.
  for (let after = '00000000-0000-0000-0000-000000000000'; ; ) {
    const rows = await credsNotUnder(sql, current, after, batch);
    if (rows.length === 0) break;
    for (const r of rows) {
      const next = await reseal(keyring, r.ciphertext, r.key_version, associatedData.creds(r.agent_id));
      if (!next) continue;
      if (await resealCreds(sql, r, next, current)) report.creds++;
      else report.skippedConcurrent++;
    }
    after = rows[rows.length - 1]!.agent_id;
  }

  // Signal keys, keyset pagination on the primary key.
  let cursor: [string, string, string] = ['00000000-0000-0000-0000-000000000000', '', ''];
  for (;;) {
    const rows = await signalKeysNotUnder(sql, current, cursor, batch);
    if (rows.length === 0) break;
    for (const r of rows) {
      const next = await reseal(keyring, r.ciphertext, r.key_version, associatedData.signalKey(r.agent_id, r.key_type, r.key_id));
      if (!next) continue;
      if (await resealSignalKey(sql, r, next, current)) report.signalKeys++;
      else report.skippedConcurrent++;
    }
    const last = rows[rows.length - 1]!;
    cursor = [last.agent_id, last.key_type, last.key_id];
  }

  // Webhook signing secrets, under their own keyring (same secret-box, bound to the endpoint).
  // Before the keyrings were split they were sealed with the credentials key: a deployment moving
  // off it lists that key in WEBHOOK_SECRETS_OLD_KEYS under its old version, so they open here.
  const webhookKeyring = keyrings.webhookSecrets;
  const webhookCurrent = webhookKeyring.currentVersion;
  const secrets = await webhookSecretsNotUnder(sql, webhookCurrent);
  for (const r of secrets) {
    const next = await reseal(webhookKeyring, r.ciphertext, r.key_version, associatedData.webhookSecret(r.endpoint_id));
    if (!next) continue;
    if (await resealWebhookSecret(sql, r, next, webhookCurrent)) report.webhookSecrets++;
    else report.skippedConcurrent++;
  }
  // The secret a rotation replaced, still signing during its overlap (expired ones are dropped).
  await dropExpiredPreviousSecrets(sql);
  for (const r of await previousSecretsNotUnder(sql, webhookCurrent)) {
    const next = await reseal(webhookKeyring, r.previous_ciphertext, r.previous_key_version, associatedData.webhookSecret(r.endpoint_id));
    if (!next) continue;
    if (await resealPreviousSecret(sql, r, next, webhookCurrent)) report.webhookSecrets++;
    else report.skippedConcurrent++;
  }
  return report;
}
