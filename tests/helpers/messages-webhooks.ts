// Webhook endpoints for tests: a sealed secret exactly as the control plane stores it, and a
// receiver built only from the `standardwebhooks` npm package (what a customer's Node receiver
// uses), independent of connector/webhooks.
import { randomBytes, randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { associatedData, createKeyring, type Keyring, sealText } from '../../kernel/secret-box.ts';
import { type RecordedRequest, startTestServer, type TestServer } from './messages-http.ts';

export async function testKeyring(): Promise<Keyring> {
  return createKeyring({ version: 1, key: randomBytes(32) });
}

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

const headersOf = (req: RecordedRequest): Record<string, string> =>
  Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));

/** `new Webhook(secret).verify(body, headers)` from the standardwebhooks package, as a boolean. */
export function signatureIsValid(req: RecordedRequest, secret: string): boolean {
  try {
    new Webhook(secret).verify(req.body, headersOf(req));
    return true;
  } catch {
    return false;
  }
}

export interface Receiver extends TestServer {
  /** Requests whose signature verified, parsed. */
  verified(): Array<{ id: string; type: string; data: Record<string, unknown>; headers: RecordedRequest['headers'] }>;
}

export async function startReceiver(secret: () => string): Promise<Receiver> {
  const server = await startTestServer();
  return Object.assign(server, {
    verified() {
      return server.requests.filter((r) => signatureIsValid(r, secret())).map((r) => ({ ...JSON.parse(r.body), headers: r.headers }));
    },
  });
}
