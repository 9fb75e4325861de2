// A webhook endpoint with a sealed secret exactly as the control plane stores it, for tests and
// benches (gateway.create_webhook_endpoint, the secret sealed with the webhook keyring).
import { randomBytes, randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { associatedData, type Keyring, sealText } from '../../kernel/secret-box.ts';

/** A secret as the API issues it: `whsec_` + base64 of 32 random bytes. */
export const standardSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
/** A secret as the API issued it before Standard Webhooks: `whsec_` + base64url, no padding. */
export const legacySecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

export async function createEndpoint(
  sql: postgres.Sql,
  keyring: Keyring,
  opts: { owner: string; agent?: string | null; url: string; eventTypes?: string[]; secret?: string },
): Promise<{ id: string; secret: string }> {
  const id = randomUUID();
  const secret = opts.secret ?? standardSecret();
  const sealed = await sealText(keyring, secret, associatedData.webhookSecret(id));
  await sql`select 1 from gateway.create_webhook_endpoint(${opts.owner}, ${id}, ${opts.agent ?? null}, ${opts.url},
    ${opts.eventTypes ?? ['*']}::text[], 'test', ${sealed.ciphertext}, ${sealed.keyVersion})`;
  return { id, secret };
}
