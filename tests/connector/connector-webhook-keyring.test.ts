// The connector opens webhook signing secrets with the webhook keyring (WEBHOOK_SECRETS_KEY) and
// nothing else: a connector built from its environment, as main.ts builds it, delivers a webhook
// sealed with the webhook key, signed with the right secret; one sealed with the credentials key
// (which the edge function no longer has) cannot be opened and is retried, never sent unsigned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessagingExtension } from '../../connector/messages/messaging.ts';
import { createKeyring } from '../../kernel/secret-box.ts';
import { startTestConnector, TEST_KEY_HEX, TEST_WEBHOOK_KEY_HEX, type TestConnector, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createUser } from '../helpers/fixtures.ts';
import { createEndpoint, type Receiver, startReceiver } from '../helpers/messages-webhooks.ts';

let db: TestDatabase;
let tc: TestConnector;
const receivers: Receiver[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const env = testEnv(db.url, undefined, { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_POLL_INTERVAL_MS: '100', WEBHOOK_BACKOFF_BASE_MS: '60000' });
  tc = await startTestConnector(env, { extensions: [createMessagingExtension({ addressPolicy: { allowLoopbackForTests: true } })] });
});
afterAll(async () => {
  await tc?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await db?.drop();
});

describe('connector webhook keyring', () => {
  it('delivers secrets sealed with WEBHOOK_SECRETS_KEY; a secret sealed with the credentials key is not opened', async () => {
    const owner = await createUser(db.sql);
    const [agent] = await db.sql`select id from gateway.create_agent(${owner}, 'idle')`;
    const webhookRing = await createKeyring({ version: 1, key: Buffer.from(TEST_WEBHOOK_KEY_HEX, 'hex') });
    const credentialsRing = await createKeyring({ version: 1, key: Buffer.from(TEST_KEY_HEX, 'hex') });
    let goodSecret = '';
    let wrongSecret = '';
    const good = await startReceiver(() => goodSecret);
    const wrong = await startReceiver(() => wrongSecret);
    receivers.push(good, wrong);
    const a = await createEndpoint(db.sql, webhookRing, { owner, url: `${good.url}/hook` });
    const b = await createEndpoint(db.sql, credentialsRing, { owner, url: `${wrong.url}/hook` });
    goodSecret = a.secret;
    wrongSecret = b.secret;

    await db.sql`select gateway.emit_event(${owner}, ${agent!.id}, 'session.status', 'info', '{"status":"qr"}'::jsonb)`;

    await waitFor(() => good.verified().length === 1, 10_000, 'a signed delivery to the webhook-key endpoint');
    const [failed] = await waitFor(async () => {
      const rows = await db.sql`select status, attempts, last_error from public.webhook_deliveries where endpoint_id = ${b.id} and last_error is not null`;
      return rows.length ? rows : undefined;
    }, 10_000, 'an attempt on the credentials-key endpoint');
    expect(failed).toMatchObject({ status: 'pending', last_error: 'signing secret cannot be opened by this connector' });
    expect(wrong.requests).toEqual([]);
  });
});
