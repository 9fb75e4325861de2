// Seed 002's signal-warning monitor against real PostgreSQL and the real libsignal: Baileys' own
// signal repository closes stale open sessions (libsignal prints "Closing session:" with the
// record, through the console scrub), Baileys' logger warns "timed out waiting for message"; the
// counts land per session, alerts fire once at each threshold, and no key material goes anywhere.
import { Writable } from 'node:stream';
import { Curve, initAuthCreds, KEY_BUNDLE_TYPE, signedKeyPair, type WASocket } from '@whiskeysockets/baileys';
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { createMetrics } from '../../connector/metrics.ts';
import { createSignalWarningMonitor } from '../../connector/signal-warning-monitor.ts';
import { scopeSignalWarnings, watchBaileysLogger } from '../../connector/whatsapp/signal-warnings.ts';
import { makeMemoryKeyStore } from '../../simulator/memory-key-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createUser } from '../helpers/fixtures.ts';

let db: TestDatabase;
let owner: string;
const lines: string[] = [];
let uninstall: () => void;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = await createUser(db.sql);
  await db.sql`update public.accounts set plan_id = 'max' where user_id = ${owner}`;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  uninstall = installConsoleScrub(pino({ level: 'debug' }, sink));
});
afterAll(async () => {
  uninstall?.();
  await db?.drop();
});

const withType = (key: Uint8Array) => Buffer.concat([KEY_BUNDLE_TYPE, key]);

/** A contact's pre-key bundle, as Baileys parses it from WhatsApp's answer. */
function contactBundle() {
  const creds = initAuthCreds();
  const signed = signedKeyPair(creds.signedIdentityKey, 1);
  return {
    identity: creds.signedIdentityKey.public,
    next: (preKeyId: number) => ({
      registrationId: creds.registrationId,
      identityKey: withType(creds.signedIdentityKey.public),
      signedPreKey: { keyId: 1, publicKey: withType(signed.keyPair.public), signature: signed.signature },
      preKey: { keyId: preKeyId, publicKey: withType(Curve.generateKeyPair().public) },
    }),
  };
}

/** A socket of one session whose signal repository is Baileys' real one, scoped to the agent. */
function sessionSocket(agentId: string): WASocket {
  const repository = makeLibSignalRepository({ creds: initAuthCreds(), keys: makeMemoryKeyStore() }, pino({ level: 'silent' }), async () => []);
  const sock = { signalRepository: repository } as unknown as WASocket;
  scopeSignalWarnings(sock, agentId);
  return sock;
}

/** Starts a session with the contact `times` times: every start after the first closes a stale open session. */
async function restartSessions(sock: WASocket, jid: string, times: number): Promise<Uint8Array> {
  const contact = contactBundle();
  for (let i = 1; i <= times; i++) await sock.signalRepository.injectE2ESession({ jid, session: contact.next(i) });
  return contact.identity;
}

const alerts = async (agentId: string) =>
  (await db.sql`select type, severity, payload from public.events where agent_id = ${agentId} and type like 'alert.signal_warnings%' order by created_at, type = 'alert.signal_warnings_critical'`).map((e) => ({
    type: e.type,
    severity: e.severity,
    payload: e.payload,
  }));

describe('the signal-warning monitor', () => {
  it('counts libsignal and Baileys warnings per session and alerts once at each threshold, without key material', async () => {
    const a = await createAgent(db.sql, owner, 'a');
    const b = await createAgent(db.sql, owner, 'b');
    const metrics = createMetrics();
    const held = new Set([a, b]);
    const monitor = createSignalWarningMonitor({
      sql: db.sql,
      logger: pino({ level: 'silent' }),
      metrics,
      thresholds: { warnPerHour: 3, criticalPerHour: 5 },
      holds: (id) => held.has(id),
      flushDelayMs: 3_600_000, // flushed by hand below
    });
    try {
      const sockA = sessionSocket(a);
      const sockB = sessionSocket(b);
      // Both sessions at once, each with its own contact: every line goes to its own session.
      const [identityA] = await Promise.all([
        restartSessions(sockA, '15550000001@s.whatsapp.net', 4),
        restartSessions(sockB, '15550000002@s.whatsapp.net', 2),
      ]);
      watchBaileysLogger(pino({ level: 'silent' }), b).child({ class: 'baileys' }).warn({ msgId: '1' }, 'timed out waiting for message');
      // Printed outside any session's call: counted for the connector only.
      console.info('Closing session:', { indexInfo: { baseKey: Buffer.alloc(33, 7) } });

      expect(await monitor.flush()).toBe(1);
      const counts = await db.sql`select agent_id, kind, count from ops.signal_warnings where agent_id in (${a}, ${b}) order by agent_id = ${b}, kind`;
      expect(counts.map((c) => ({ ...c }))).toEqual([
        { agent_id: a, kind: 'closing_open_session', count: 3 },
        { agent_id: b, kind: 'closing_open_session', count: 1 },
        { agent_id: b, kind: 'waiting_for_message', count: 1 },
      ]);
      expect(await alerts(a)).toEqual([
        { type: 'alert.signal_warnings_high', severity: 'warning', payload: expect.objectContaining({ count: 3, kinds: { closing_open_session: 3 } }) },
      ]);
      expect(await alerts(b)).toEqual([]);

      await restartSessions(sockA, '15550000003@s.whatsapp.net', 3); // 2 more: 5, critical
      expect(await monitor.flush()).toBe(1);
      await restartSessions(sockA, '15550000004@s.whatsapp.net', 2); // 6: nothing new
      expect(await monitor.flush()).toBe(0);
      expect((await alerts(a)).map((e) => e.type)).toEqual(['alert.signal_warnings_high', 'alert.signal_warnings_critical']);

      const counter = (await metrics.registry.getSingleMetric('wa_gateway_signal_warnings_total')!.get()).values;
      const value = (kind: string, attributed: string) => counter.find((v) => v.labels.kind === kind && v.labels.attributed === attributed)?.value;
      expect(value('closing_open_session', 'session')).toBe(7);
      expect(value('waiting_for_message', 'session')).toBe(1);
      expect(value('closing_open_session', 'connector')).toBe(1);

      // libsignal printed whole session records; none of their keys reached the log or the database.
      expect(lines.some((line) => line.includes('Closing session:'))).toBe(true);
      const contactKey = Buffer.from(identityA).toString('base64');
      expect(lines.join('\n')).not.toContain(contactKey);
      const stored = JSON.stringify(await db.sql`select * from public.events where agent_id in (${a}, ${b})`);
      expect(stored).not.toContain(contactKey);
    } finally {
      await monitor.stop();
    }
  });
});
