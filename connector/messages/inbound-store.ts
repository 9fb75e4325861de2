// Writes inbound messages (gateway.record_inbound) and only then lets their receipts go out.
//
// A write is retried with backoff until it commits or the lease is gone (stale_lease: the new
// owner's socket gets the message again, since its receipt was never sent). A database outage
// therefore holds the receipts; the socket stalls and ends, and WhatsApp offers the messages again.
// A batch refused for its data (SQLSTATE classes 22, 23, 54, or invalid_argument) is written again
// one message at a time, so one bad message never takes its neighbours down; a message that still
// cannot be stored raises a critical `alert.inbound_unstorable` event and its receipt is then
// released, or WhatsApp would offer it forever (README, known gaps).
// Writes in flight are tracked so a graceful stop (or a hand-over, for its sessions) waits for
// them before leases are released.
// One socket's writes go one at a time (its held Signal key writes must reach the database in
// order, held-key-writes.ts); messages that arrive while one is being written wait for it and are
// then written together, in one transaction (group commit: no timer, a batch is whatever queued
// up meanwhile, at most MAX_BATCH). Each message's receipt still follows its own commit.
// The Signal key writes Baileys made while decrypting the messages are written in the same
// transaction (the gate's key-write hold, auth-state/held-key-writes.ts): message and key change
// are durable together or not at all.
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { isStaleLease, type LiveSession } from '../sessions/context.ts';
import { recordInbound } from '../sql/inbound.ts';
import { raiseSessionAlert } from '../sql/sessions.ts';
import type { InboundRecord } from './inbound.ts';
import type { InboundAckGate } from './inbound-acks.ts';
import { inboundRecordsToStore } from './content-at-rest.ts';
import type { Keyring } from '../../kernel/secret-box.ts';

const BACKOFF_START_MS = 200;
const BACKOFF_MAX_MS = 5_000;
/** Most messages written in one transaction (an offline backlog arrives by the hundred). */
const MAX_BATCH = 200;

interface Waiting {
  records: InboundRecord[];
  done(stored: boolean): void;
}

/** One socket's (or, without an ack gate, one session's) writes: the one in progress and those waiting for it. */
interface Lane {
  writing: boolean;
  waiting: Waiting[];
}

export interface InboundStore {
  /** Resolves true once stored (false: lease lost, or not storable). Never rejects. */
  store(session: LiveSession, records: InboundRecord[], gate?: InboundAckGate): Promise<boolean>;
  /** Waits for writes in flight (of `agentIds` only, when given), at most `timeoutMs`; true if none is left. */
  drain(timeoutMs: number, agentIds?: readonly string[]): Promise<boolean>;
  inFlight(): number;
}

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^(22|23|54)/.test(code) || code === 'WG005');
}

export function createInboundStore(deps: { logger: Logger; onStored?(records: InboundRecord[]): void; sleep?: (ms: number) => Promise<void>; contentKeyring?: Keyring }): InboundStore {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  /** Writes in flight, with their session. */
  const pending = new Map<Promise<boolean>, string>();
  const lanes = new WeakMap<object, Lane>();

  async function write(session: LiveSession, records: InboundRecord[], gate: InboundAckGate | undefined): Promise<void> {
    // The policy is read, and content sealed for an encrypted owner, by the statement that stores it.
    const statement = async (q: Sql) =>
      recordInbound(q, { agent: session.agentId, connector: session.connectorId, epoch: session.epoch(), messages: await inboundRecordsToStore(q, deps.contentKeyring, session.agentId, records) });
    if (gate?.keys)
      await gate.keys.commit(
        records.map((r) => r.wa_message_id),
        statement,
      );
    else await statement(session.sql);
  }

  async function unstorable(session: LiveSession, record: InboundRecord, error: unknown, log: Logger): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    log.error({ err: error, waId: record.wa_message_id, type: record.type }, 'an inbound message cannot be stored; acknowledging it to WhatsApp anyway');
    const payload = { wa_message_id: record.wa_message_id, chat_jid: record.chat_jid, type: record.type, reason };
    await raiseSessionAlert(session.sql, { agent: session.agentId, connector: session.connectorId, epoch: session.epoch(), type: 'alert.inbound_unstorable', severity: 'critical', payload }).catch(
      (e) => log.error({ err: e, waId: record.wa_message_id }, 'raising alert.inbound_unstorable failed'),
    );
  }

  /** Writes `records` until committed; returns the ids whose receipts may go out. */
  async function persist(session: LiveSession, records: InboundRecord[], log: Logger, gate: InboundAckGate | undefined): Promise<{ stored: InboundRecord[]; release: string[] } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write(session, records, gate);
        return { stored: records, release: records.map((r) => r.wa_message_id) };
      } catch (error) {
        // Lease gone, or our pool closed (stop, crash tests): the receipt was never sent.
        if (isStaleLease(error) || (error as { code?: string }).code === 'CONNECTION_ENDED') return undefined;
        if (isDataError(error)) {
          if (records.length === 1) {
            await unstorable(session, records[0]!, error, log);
            return { stored: [], release: [records[0]!.wa_message_id] };
          }
          log.warn({ err: error, count: records.length }, 'an inbound batch was refused; storing its messages one by one');
          const stored: InboundRecord[] = [];
          const release: string[] = [];
          for (const record of records) {
            const one = await persist(session, [record], log, gate);
            if (!one) return stored.length > 0 ? { stored, release } : undefined;
            stored.push(...one.stored);
            release.push(...one.release);
          }
          return { stored, release };
        }
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.min(attempt - 1, 10));
        if (attempt === 3 || attempt % 20 === 0) log.error({ err: error, count: records.length, attempt }, 'storing inbound messages failed; retrying (their receipts are held)');
        await sleep(delay * (0.75 + Math.random() * 0.5));
      }
    }
  }

  /** Writes what waits in `lane`, a batch at a time, until nothing does. */
  async function work(lane: Lane, session: LiveSession, gate: InboundAckGate | undefined): Promise<void> {
    const log = deps.logger.child({ agentId: session.agentId });
    while (lane.waiting.length > 0) {
      const batch: Waiting[] = [];
      let size = 0;
      while (lane.waiting.length > 0 && (batch.length === 0 || size + lane.waiting[0]!.records.length <= MAX_BATCH)) {
        const next = lane.waiting.shift()!;
        batch.push(next);
        size += next.records.length;
      }
      const records = batch.flatMap((w) => w.records);
      let stored = new Set<InboundRecord>();
      try {
        const outcome = await persist(session, records, log, gate);
        if (outcome) {
          stored = new Set(outcome.stored);
          if (outcome.stored.length > 0) deps.onStored?.(outcome.stored);
          gate?.release(outcome.release);
        }
      } catch (error) {
        log.error({ err: error }, 'storing inbound messages failed unexpectedly');
      }
      for (const w of batch) w.done(w.records.every((r) => stored.has(r)));
    }
    lane.writing = false;
  }

  return {
    store(session, records, gate) {
      // One lane per socket (its ack gate), else per session object.
      const key: object = gate ?? session;
      let lane = lanes.get(key);
      if (!lane) {
        lane = { writing: false, waiting: [] };
        lanes.set(key, lane);
      }
      const done = new Promise<boolean>((resolve) => lane.waiting.push({ records, done: resolve }));
      if (!lane.writing) {
        lane.writing = true;
        void work(lane, session, gate);
      }
      pending.set(done, session.agentId);
      void done.finally(() => pending.delete(done));
      return done;
    },
    async drain(timeoutMs, agentIds) {
      const deadline = Date.now() + timeoutMs;
      const waitedFor = () => [...pending].filter(([, agentId]) => !agentIds || agentIds.includes(agentId)).map(([write]) => write);
      for (let writes = waitedFor(); writes.length > 0; writes = waitedFor()) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled(writes), new Promise((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
      }
      return true;
    },
    inFlight: () => pending.size,
  };
}
