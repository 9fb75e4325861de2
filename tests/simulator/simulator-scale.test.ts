// Many accounts against one simulator: 50 real Baileys sockets linked, then all 50 reconnected at
// once from their stored creds (the thundering herd after a restart) and used at the same time.
//
// At most 10 links are in progress at once: a first login makes Baileys generate and upload 812 one-time
// pre-keys (about half a second of CPU per account, measured), so 50 links at once are ~25 CPU
// seconds competing for two shared cores, and on a loaded machine some waited past Baileys'
// own QR and login timeouts. Reconnecting uploads nothing, so that part is all at once.
import { afterAll, describe, expect, it } from 'vitest';
import { connectClient, endAllClients, linkAccount, waitForClose, waitForOpen } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNTS = 50;
const LINKING_AT_ONCE = 10;

const stack = useSimulatorStack();
afterAll(() => endAllClients());

describe('simulator: scale', () => {
  it(`links ${ACCOUNTS} accounts, reconnects all of them at once, and each is usable`, { timeout: 120_000 }, async () => {
    const phones = Array.from({ length: ACCOUNTS }, (_, i) => String(15551000000 + i));
    const linked: Awaited<ReturnType<typeof linkAccount>>[] = [];
    const queue = [...phones];
    const linker = async () => {
      for (let phone = queue.shift(); phone; phone = queue.shift()) linked.push(await linkAccount(stack.sim, phone, { connectTimeoutMs: 60_000 }));
    };
    await Promise.all(Array.from({ length: LINKING_AT_ONCE }, linker));
    expect(new Set(linked.map((l) => l.account.jid)).size).toBe(ACCOUNTS);
    for (const phone of phones) expect(stack.sim.observe(phone)).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });

    const closed = linked.map(({ sock }) => waitForClose(sock));
    for (const { sock } of linked) sock.end(undefined);
    await Promise.all(closed);
    const again = linked.map(({ auth }) => connectClient(stack.sim, auth, { connectTimeoutMs: 60_000 }));
    await Promise.all(again.map((sock) => waitForOpen(sock, 60_000)));
    // Never two logins of one account at once; a reconnect uploads no new pre-keys.
    for (const phone of phones) expect(stack.sim.observe(phone)).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
    // Every one of them is really usable: each asks the directory at the same time.
    stack.sim.addContact('447700900999');
    const answers = await Promise.all(again.map((sock) => sock.onWhatsApp('447700900999')));
    expect(answers.every((a) => a?.[0]?.exists === true)).toBe(true);
  });
});
