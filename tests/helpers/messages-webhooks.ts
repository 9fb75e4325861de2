// Webhook endpoints for tests: a sealed secret exactly as the control plane stores it, and a
// receiver that verifies every request's signature independently of connector/webhooks.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { associatedData, createKeyring, type Keyring, sealText } from '../../kernel/secret-box.ts';
import { type RecordedRequest, startTestServer, type TestServer } from './messages-http.ts';

export async function testKeyring(): Promise<Keyring> {
  return createKeyring({ version: 1, key: randomBytes(32) });
}

export async function createEndpoint(
  sql: postgres.Sql,
  keyring: Keyring,
  opts: { owner: string; agent?: string | null; url: string; eventTypes?: string[] },
): Promise<{ id: string; secret: string }> {
  const id = randomUUID();
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const sealed = await sealText(keyring, secret, associatedData.webhookSecret(id));
  await sql`select 1 from gateway.create_webhook_endpoint(${opts.owner}, ${id}, ${opts.agent ?? null}, ${opts.url},
    ${opts.eventTypes ?? ['*']}::text[], 'test', ${sealed.ciphertext}, ${sealed.keyVersion})`;
  return { id, secret };
}

/** Independent check of the documented scheme: v1=hex(HMAC-SHA256(secret, `${t}.${body}`)). */
export function signatureIsValid(req: RecordedRequest, secret: string): boolean {
  const t = req.headers['x-webhook-timestamp'];
  const sig = req.headers['x-webhook-signature'];
  if (typeof t !== 'string' || typeof sig !== 'string') return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${t}.${req.body}`).digest('hex')}`;
  return sig === expected && Math.abs(Date.now() / 1000 - Number(t)) < 300;
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
