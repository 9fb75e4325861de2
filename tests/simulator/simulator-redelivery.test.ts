// What the simulated WhatsApp keeps for a device until the device answers it: every copy of a
// message on its own. A copy the client cannot decrypt is answered with a retry receipt and a
// nack; the phone's resend (same id) must stay pending until the client answers that copy too,
// or a link that dies in between loses the message (the crash test's inbound 399/400).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, endAllClients, linkAccount, waitForClose, waitForOpen } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNT = '15550008881';
const CONTACT = '447700900881';

const stack = useSimulatorStack({ scrubConsole: true });
let linked: Awaited<ReturnType<typeof linkAccount>>;

beforeAll(async () => {
  stack.sim.addContact(CONTACT);
  linked = await linkAccount(stack.sim, ACCOUNT);
});
afterAll(() => endAllClients());

describe('simulator: redelivery of unanswered copies', () => {
  it("the nack of an undecryptable copy does not settle the phone's resend: a link lost before the resend is answered offers it again at the next login", async () => {
    const first = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'sets up the session' });
    await expect.poll(() => stack.sim.inboundState(first.id)?.acked, { timeout: 10_000 }).toBe(true);

    stack.sim.fault(ACCOUNT, 'corrupt_next_inbound');
    stack.sim.fault(ACCOUNT, 'close_on_next_nack');
    const closed = waitForClose(linked.sock);
    const { id } = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'asked for again' });
    await closed;
    const state = stack.sim.inboundState(id)!;
    expect(state.receipts).toContain('retry');
    expect(state.nacked).toBe(true);
    expect(state.acked).toBe(false);

    const copies = () => stack.sim.stanzaLog(ACCOUNT).filter((e) => e.direction === 'out' && e.summary.startsWith(`<message id="${id}"`)).length;
    expect(copies()).toBe(2); // the corrupted copy and the phone's resend

    // This test client decrypted the resend before it saw the close, so it may refuse the copy
    // now (its state moved on; the connector holds its key writes until a message is stored):
    // what matters here is that WhatsApp offers it again.
    const again = connectClient(stack.sim, linked.auth);
    await waitForOpen(again);
    await expect.poll(copies, { timeout: 15_000 }).toBe(3);
  });
});
