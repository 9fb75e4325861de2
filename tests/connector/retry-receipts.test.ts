// Retry receipts against the connector's own Baileys socket (connector/whatsapp/make-socket.ts):
// a contact's phone that cannot decrypt a copy asks again, up to five times per message, and each
// request must be answered with a copy on a fresh session. The crash test's stuck `sent` rows were
// messages whose third request was acknowledged and never answered.
import { proto, type WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { createSocketFactory } from '../../connector/whatsapp/make-socket.ts';
import { testEnv } from '../../scripts/harness/connector.ts';
import { endAllClients, linkAccount, trackStatuses } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNT = '15550007771';
const CONTACT = '447700900771';
const READ = proto.WebMessageInfo.Status.READ;

const stack = useSimulatorStack({ simulator: { deliveredAfterMs: 30, readAfterMs: 80 }, scrubConsole: true });
const sent = new Map<string, proto.IMessage>();
let sock: WASocket;
let statuses: ReturnType<typeof trackStatuses>;

beforeAll(async () => {
  stack.sim.addContact(CONTACT);
  // The connector's socket factory with its default settings; no database is opened.
  const config = await loadConfig(testEnv('postgresql://unused@127.0.0.1:1/unused', stack.sim.url));
  ({ sock } = await linkAccount(stack.sim, ACCOUNT, {
    makeSocket: createSocketFactory(config.whatsapp),
    getMessage: async (key) => (key.id ? sent.get(key.id) : undefined),
  }));
  statuses = trackStatuses(sock);
});
afterAll(() => endAllClients());

const send = async (id: string, text: string) => {
  sent.set(id, { conversation: text });
  await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text }, { messageId: id });
};

describe('retry receipts on the connector socket', () => {
  it('a copy the phone fails to decrypt three times in a row is answered each time and arrives once', async () => {
    await send('RETRYRCPT0000000000001', 'sets up the session');
    await expect.poll(() => statuses.status('RETRYRCPT0000000000001'), { timeout: 10_000 }).toBe(READ);

    stack.sim.fault(ACCOUNT, 'recipient_fails_next_3');
    const id = 'RETRYRCPT0000000000002';
    await send(id, 'asked for three times');
    await expect.poll(() => stack.sim.received(CONTACT).some((m) => m.id === id), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(READ);

    const log = stack.sim.stanzaLog(ACCOUNT).map((e) => e.summary);
    const asked = log.filter((s) => s.startsWith('<receipt') && s.includes('type="retry"') && s.includes(id));
    expect(asked.map((s) => /<retry count="(\d+)"/.exec(s)?.[1])).toEqual(['1', '2', '3']);
    expect(log.filter((s) => s.startsWith('<sim-decrypt-failed') && s.includes(id))).toHaveLength(3);
    const copies = log.filter((s) => s.startsWith('<message') && s.includes(`id="${id}"`));
    expect(copies).toHaveLength(4); // the first try and one answer per retry receipt
    expect(stack.sim.received(CONTACT).filter((m) => m.id === id).map((m) => m.content.conversation ?? m.content.extendedTextMessage?.text)).toEqual(['asked for three times']);
  });
});
