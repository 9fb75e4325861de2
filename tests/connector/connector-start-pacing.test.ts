// Start pacing (CONNECTOR_CONNECT_INTERVAL_MS): after a restart or takeover, new WhatsApp sockets
// leave one per interval, so WhatsApp sees an even stream of logins, not a burst.
import { afterEach, describe, expect, it } from 'vitest';
import { StartPacer } from '../../connector/sessions/start-pacer.ts';
import { waitFor } from '../../scripts/harness/connector.ts';
import { createRunningAgent } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack({ database: true });
afterEach(() => stack.stopConnectors());

describe('start pacer', () => {
  it('hands out start times at least one interval apart, and none to wait for after a quiet spell', () => {
    let now = 1_000;
    const pacer = new StartPacer(40, { monotonic: () => now });
    expect([pacer.reserve(), pacer.reserve(), pacer.reserve()]).toEqual([0, 40, 80]);
    now += 100; // the third start is at 1,080: the next one is due at 1,120
    expect(pacer.reserve()).toBe(20);
    now += 1_000;
    expect(pacer.reserve()).toBe(0);
  });

  it('with no interval, never makes anyone wait', () => {
    const pacer = new StartPacer(0, { monotonic: () => 5 });
    expect([pacer.reserve(), pacer.reserve()]).toEqual([0, 0]);
  });
});

describe('connector: sessions claimed together', () => {
  const statuses = async (agents: string[]) =>
    (await stack.db.sql`select status from public.whatsapp_sessions where agent_id = any(${agents}::uuid[]) order by status`).map((r) => r.status as string);

  it('open their sockets one per connect interval, not all at once', async () => {
    const agents = await Promise.all([1, 2, 3].map((i) => createRunningAgent(stack.db.sql, stack.owner, `paced-${i}`)));
    // Ten minutes between starts: the first session shows its QR, the other two wait their turn.
    const c = await stack.connector({ CONNECTOR_CONNECT_INTERVAL_MS: '600000', CONNECTOR_CAPACITY: '3' });
    await waitFor(() => c.connector.manager.starts.waiting === 2, 20_000, 'two sessions waiting for their start');
    await waitFor(async () => (await statuses(agents)).includes('qr'), 20_000, 'the first QR');
    expect(await statuses(agents)).toEqual(['connecting', 'connecting', 'qr']);
  });

  it('without pacing, open every socket at once', async () => {
    const agents = await Promise.all([1, 2, 3].map((i) => createRunningAgent(stack.db.sql, stack.owner, `unpaced-${i}`)));
    const c = await stack.connector({ CONNECTOR_CONNECT_INTERVAL_MS: '0', CONNECTOR_CAPACITY: '10' });
    await waitFor(async () => (await statuses(agents)).every((s) => s === 'qr'), 20_000, 'three QRs');
    expect(c.connector.manager.starts.waiting).toBe(0);
  });
});
