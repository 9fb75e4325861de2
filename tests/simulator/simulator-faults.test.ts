// Each fault the simulator injects closes a real Baileys socket with the code WhatsApp would cause.
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import {
  connectClient,
  endAllClients,
  linkAccount,
  trackStatuses,
  waitForClose,
  waitForOpen,
} from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

let nextPhone = 15550100000;
const phone = () => String(nextPhone++);

const stack = useSimulatorStack({ simulator: { closeGraceMs: 300 } });
afterEach(() => endAllClients());

describe('simulator: faults', () => {
  it('conflict (replaced) closes with 440', async () => {
    const { sock, account } = await linkAccount(stack.sim, phone());
    const closed = waitForClose(sock);
    expect(stack.sim.fault(account.phone, 'conflict')).toBe(1);
    expect((await closed).statusCode).toBe(440);
    await expect.poll(() => stack.sim.observe(account.phone).live).toBe(0);
  });

  it('device_removed closes with 401, and the device can no longer log in', async () => {
    const { sock, auth, account } = await linkAccount(stack.sim, phone());
    const closed = waitForClose(sock);
    stack.sim.fault(account.phone, 'device_removed');
    expect((await closed).statusCode).toBe(401);
    const again = connectClient(stack.sim, auth);
    expect((await waitForClose(again)).statusCode).toBe(401);
  });

  it('an abrupt close gives 428, and the session can reconnect', async () => {
    const { sock, auth, account } = await linkAccount(stack.sim, phone());
    const closed = waitForClose(sock);
    stack.sim.fault(account.phone, 'close');
    expect((await closed).statusCode).toBe(428);
    await waitForOpen(connectClient(stack.sim, auth));
    expect(stack.sim.observe(account.phone).live).toBe(1);
  });

  it('keeps receipts for a device that dropped and delivers them when it logs in again', async () => {
    const slow = await startSimulator({ deliveredAfterMs: 400, readAfterMs: 500 });
    const untrustSlow = trustSimulatorRoot(slow);
    try {
      slow.addContact('447700900555');
      const { sock, auth, account } = await linkAccount(slow, phone());
      const sent = await sock.sendMessage('447700900555@s.whatsapp.net', { text: 'then I dropped' });
      const id = sent?.key.id ?? '';
      await expect.poll(() => slow.received('447700900555').some((m) => m.id === id)).toBe(true);
      const closed = waitForClose(sock);
      slow.fault(account.phone, 'close'); // before the receipts are due
      expect((await closed).statusCode).toBe(428);
      await new Promise((resolve) => setTimeout(resolve, 600)); // both receipts are now due, and queued
      const again = connectClient(slow, auth);
      const statuses = trackStatuses(again);
      await waitForOpen(again);
      await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(4); // READ
    } finally {
      endAllClients();
      untrustSlow();
      await slow.stop();
    }
  });

  it('unanswered pings give 408 after keepalive + 5 s', async () => {
    const { sock, account } = await linkAccount(stack.sim, phone(), { keepAliveIntervalMs: 1000 });
    const closed = waitForClose(sock, 15_000);
    const silencedAt = Date.now();
    stack.sim.fault(account.phone, 'silence_pings');
    expect((await closed).statusCode).toBe(408);
    expect(Date.now() - silencedAt).toBeGreaterThanOrEqual(5000);
  });

  it('refuse_login_401 refuses the next login with 401, once', async () => {
    const { sock, auth, account } = await linkAccount(stack.sim, phone());
    sock.end(undefined);
    await expect.poll(() => stack.sim.observe(account.phone).live).toBe(0);
    stack.sim.fault(account.phone, 'refuse_login_401');
    expect((await waitForClose(connectClient(stack.sim, auth))).statusCode).toBe(401);
    await waitForOpen(connectClient(stack.sim, auth));
  });
});
