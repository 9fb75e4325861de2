// The signal-warning monitor on a real Baileys socket linked to the simulator: a contact's device
// that lost its session asks again (retry receipt), Baileys starts a new outgoing session over the
// stale open one, libsignal prints "Closing session:", and the close is counted for the session
// whose socket did it (the simulator's own libsignal prints in this process too, outside any scope).
import type { proto } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { createMetrics } from '../../connector/metrics.ts';
import { createSignalWarningMonitor } from '../../connector/signal-warning-monitor.ts';
import { scopeSignalWarnings } from '../../connector/whatsapp/signal-warnings.ts';
import { endAllClients, linkAccount, trackStatuses } from '../../scripts/harness/simulator-client.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createUser } from '../helpers/fixtures.ts';

const ACCOUNT = '15550007777';
const CONTACT = '447700900777';
const READ = 4;

let db: TestDatabase;
let sim: Simulator;
let untrust: () => void;
let unscrub: () => void;

beforeAll(async () => {
  unscrub = installConsoleScrub(pino({ level: 'silent' }));
  db = await createTestDatabase();
  sim = await startSimulator({ deliveredAfterMs: 30, readAfterMs: 80 });
  untrust = trustSimulatorRoot(sim);
  sim.addContact(CONTACT);
});
afterAll(async () => {
  endAllClients();
  await sim?.stop();
  untrust?.();
  unscrub?.();
  await db?.drop();
});

describe('signal warnings from a real socket', () => {
  it("a retry receipt that replaces a stale open session is counted for the socket's session", async () => {
    const agent = await createAgent(db.sql, await createUser(db.sql), 'sim');
    const metrics = createMetrics();
    const monitor = createSignalWarningMonitor({
      sql: db.sql,
      logger: pino({ level: 'silent' }),
      metrics,
      thresholds: { warnPerHour: 10, criticalPerHour: 30 },
      holds: (id) => id === agent,
      flushDelayMs: 3_600_000,
    });
    try {
      const sent = new Map<string, proto.IMessage>();
      const { sock } = await linkAccount(sim, ACCOUNT, { getMessage: async (key) => (key.id ? sent.get(key.id) : undefined) });
      scopeSignalWarnings(sock, agent);
      const statuses = trackStatuses(sock);
      const send = async (id: string, text: string) => {
        sent.set(id, { conversation: text });
        await sock.sendMessage(`${CONTACT}@s.whatsapp.net`, { text }, { messageId: id });
        await expect.poll(() => statuses.status(id), { timeout: 10_000 }).toBe(READ);
      };
      await send('SIMWARN00000000000001', 'sets up the session');
      await monitor.flush();
      const before = (await db.sql`select coalesce(sum(count), 0)::int as n from ops.signal_warnings where agent_id = ${agent}`)[0]!.n;

      sim.fault(ACCOUNT, 'recipient_forgets_session');
      await send('SIMWARN00000000000002', 'asked for again');
      await monitor.flush();
      const [after] = await db.sql`select kind, count from ops.signal_warnings where agent_id = ${agent}`;
      expect(after).toMatchObject({ kind: 'closing_open_session' });
      expect(after!.count - before).toBeGreaterThanOrEqual(1);
    } finally {
      await monitor.stop();
    }
  });
});
