// One ordered, batched writer for everything the message path records: send outcomes
// (gateway.complete_messages), unattempted claims given back (gateway.release_messages) and
// receipts (gateway.advance_message_status). Every one is fenced: it names the session and the
// lease epoch the row was claimed (or the receipt received) under, and SQL refuses it when that
// lease is gone, so one statement per session in a batch.
//
// Order matters: a receipt for a message must not be written before the message's own send
// outcome, or complete_messages would find the row already `sent` and skip it (leaving its claim
// and its base64 media behind). Operations are therefore queued in the order they happen and
// flushed in that order, consecutive operations of one kind in one statement. A flush runs when
// `batchSize` operations are waiting or `flushIntervalMs` after the first; flushes never overlap.
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { isStaleLease } from '../sessions/context.ts';
import { advanceMessageStatus, completeMessages, releaseMessages } from '../sql/messages.ts';

export interface Completion {
  id: string;
  outcome: 'sent' | 'retry' | 'failed';
  error_code?: string;
  error_message?: string;
  retry_in_seconds?: number;
  strip_media?: boolean;
}

export interface StatusUpdate {
  wa_message_id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  error_code?: string;
  error_message?: string;
}

type Op =
  | { kind: 'complete'; agentId: string; epoch: bigint; value: Completion }
  | { kind: 'release'; agentId: string; epoch: bigint; value: string }
  | { kind: 'status'; agentId: string; epoch: bigint; value: StatusUpdate };

export interface MessageWriter {
  /** The outcome of a row claimed for `agentId` under lease `epoch`. */
  complete(agentId: string, epoch: bigint, c: Completion): void;
  /** Gives back a row claimed for `agentId` under lease `epoch`, its attempt not counted. */
  release(agentId: string, epoch: bigint, id: string): void;
  status(agentId: string, epoch: bigint, u: StatusUpdate): void;
  /** Resolves when everything queued so far is written (or given up). */
  flush(): Promise<void>;
  /** Like flush, but waits for the regular batch instead of writing early (no extra statements). */
  written(): Promise<void>;
}

export function createMessageWriter(opts: {
  sql: Sql;
  connectorId: string;
  logger: Logger;
  batchSize?: number;
  flushIntervalMs?: number;
  /** After a flush that wrote something (events may now wait in the outbox). */
  onWritten?: () => void;
}): MessageWriter {
  const { sql, connectorId, logger } = opts;
  const batchSize = opts.batchSize ?? 100;
  const interval = opts.flushIntervalMs ?? 20;
  let queue: Op[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  async function attempt(what: string, fn: () => Promise<unknown>): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await fn();
        return;
      } catch (error) {
        if (isStaleLease(error)) {
          // The session moved to another connector: these writes are no longer ours to make. Its
          // claimed rows come back to the new owner when their visibility timeout ends.
          logger.debug({ what }, 'stale lease; dropping writes of a session we no longer hold');
          return;
        }
        if (i >= 3) {
          // Claimed rows stay locked until their visibility timeout and are then sent again
          // with the same WhatsApp id: at least once, never lost.
          logger.error({ err: error, what }, 'message write failed; giving up on this batch');
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * i));
      }
    }
  }

  /** Consecutive ops of one kind, one group per session and epoch, in first-seen order. */
  function bySession<T>(run: Op[]): Array<{ agentId: string; epoch: bigint; values: T[] }> {
    const groups = new Map<string, { agentId: string; epoch: bigint; values: T[] }>();
    for (const o of run) {
      const key = `${o.agentId}:${o.epoch}`;
      const group = groups.get(key) ?? { agentId: o.agentId, epoch: o.epoch, values: [] };
      group.values.push(o.value as T);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  async function write(ops: Op[]): Promise<void> {
    let i = 0;
    while (i < ops.length) {
      const kind = ops[i]!.kind;
      let j = i;
      while (j < ops.length && ops[j]!.kind === kind) j++;
      const run = ops.slice(i, j);
      i = j;
      if (kind === 'complete') {
        for (const { agentId, epoch, values } of bySession<Completion>(run)) {
          await attempt('complete_messages', () =>
            completeMessages(sql, { agent: agentId, connector: connectorId, epoch, results: values }),
          );
        }
      } else if (kind === 'release') {
        for (const { agentId, epoch, values } of bySession<string>(run)) {
          await attempt('release_messages', () => releaseMessages(sql, { agent: agentId, connector: connectorId, epoch, ids: values }));
        }
      } else {
        const byAgent = new Map<string, { epoch: bigint; values: StatusUpdate[] }>();
        for (const o of run as Array<Extract<Op, { kind: 'status' }>>) {
          const entry = byAgent.get(o.agentId) ?? { epoch: o.epoch, values: [] };
          entry.epoch = o.epoch;
          entry.values.push(o.value);
          byAgent.set(o.agentId, entry);
        }
        for (const [agentId, { epoch, values }] of byAgent) {
          await attempt('advance_message_status', () =>
            advanceMessageStatus(sql, { agent: agentId, connector: connectorId, epoch, updates: values }),
          );
        }
      }
    }
  }

  let waiters: Array<() => void> = [];

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const ops = queue;
    const done = waiters;
    queue = [];
    waiters = [];
    if (ops.length > 0) {
      chain = chain
        .then(() => write(ops))
        .then(() => opts.onWritten?.())
        .finally(() => {
          for (const resolve of done) resolve();
        });
    } else for (const resolve of done) void chain.finally(resolve);
    return chain;
  }

  function written(): Promise<void> {
    if (queue.length === 0) return chain;
    return new Promise<void>((resolve) => waiters.push(resolve));
  }

  function push(op: Op): void {
    queue.push(op);
    if (queue.length >= batchSize) void flush();
    else timer ??= setTimeout(() => void flush(), interval);
  }

  return {
    complete: (agentId, epoch, value) => push({ kind: 'complete', agentId, epoch, value }),
    release: (agentId, epoch, id) => push({ kind: 'release', agentId, epoch, value: id }),
    status: (agentId, epoch, value) => push({ kind: 'status', agentId, epoch, value }),
    flush,
    written,
  };
}
