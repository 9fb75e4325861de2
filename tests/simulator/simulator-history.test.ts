// A newly linked device with Baileys' default history policy: the simulated phone sends an initial
// history sync, so the client completes its initial sync at once (history set, app state synced,
// accountSyncCounter raised) instead of sitting in AwaitingInitialSync until a 20 s timeout.
import { afterAll, describe, expect, it } from 'vitest';
import { endAllClients, linkAccount } from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack();
afterAll(() => endAllClients());

describe('simulator: initial history sync', () => {
  it('completes the initial sync on the first connection without the 20 s timeout', { timeout: 30_000 }, async () => {
    const { sock, auth } = await linkAccount(stack.sim, '15550400001', { syncHistory: true });
    let historySet = false;
    sock.ev.on('messaging-history.set', () => {
      historySet = true;
    });
    const upserted: string[] = [];
    sock.ev.on('messages.upsert', ({ messages }) => {
      for (const m of messages) if (m.message?.conversation) upserted.push(m.message.conversation);
    });
    const injectedAt = Date.now();
    await stack.sim.inject('15550400001', { from: '447700900777', text: 'first hello' });
    await expect.poll(() => upserted, { timeout: 8_000 }).toContain('first hello');
    expect(Date.now() - injectedAt).toBeLessThan(8_000);
    await expect.poll(() => auth.creds.accountSyncCounter ?? 0, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(historySet).toBe(true);
  });
});
