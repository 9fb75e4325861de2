// Webhook endpoints for tests: a sealed secret exactly as the control plane stores it, and a
// receiver built only from the `standardwebhooks` npm package (what a customer's Node receiver
// uses), independent of connector/webhooks.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { createKeyring, type Keyring } from '../../kernel/secret-box.ts';
import { type RecordedRequest, startTestServer, type TestServer } from './messages-http.ts';

export async function testKeyring(): Promise<Keyring> {
  return createKeyring({ version: 1, key: randomBytes(32) });
}

export { createEndpoint, legacySecret, standardSecret } from '../../scripts/harness/webhook-endpoints.ts';

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
