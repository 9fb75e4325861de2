// The inbound store's batching, without a database: the socket's key-write hold is a stand-in
// whose commit records which messages each transaction carried (the SQL is covered by
// messages-inbound-durable.test.ts and the pipeline tests).
import { pino } from 'pino';
import type { Sql } from 'postgres';
import { describe, expect, it } from 'vitest';
import type { KeyWriteHold } from '../../connector/auth-state/held-key-writes.ts';
import type { InboundRecord } from '../../connector/messages/inbound.ts';
import type { InboundAckGate } from '../../connector/messages/inbound-acks.ts';
import { createInboundStore } from '../../connector/messages/inbound-store.ts';
import type { LiveSession } from '../../connector/sessions/context.ts';

const logger = pino({ level: 'silent' });
const session = { agentId: 'a', connectorId: 'c', epoch: () => 1n, sql: {} as Sql } as unknown as LiveSession;
const record = (id: string): InboundRecord => ({ wa_message_id: id, chat_jid: '447700900777@s.whatsapp.net', from_me: false, type: 'text', content: { text: id } });

/** A gate whose transactions are recorded; the first one waits until `open()`. */
function blockingGate() {
  const transactions: string[][] = [];
  const released: string[] = [];
  let open = () => {};
  const firstMayCommit = new Promise<void>((resolve) => {
    open = resolve;
  });
  const keys = {
    async commit(ids: string[]) {
      transactions.push(ids);
      if (transactions.length === 1) await firstMayCommit;
    },
  } as unknown as KeyWriteHold;
  const gate: InboundAckGate = { seen() {}, release: (ids) => released.push(...ids), held: () => 0, keys };
  return { gate, transactions, released, open: () => open() };
}

describe('inbound store', () => {
  it('messages that arrive while a write is in progress are written together in the next transaction, and each caller learns its own outcome', async () => {
    const { gate, transactions, released, open } = blockingGate();
    const store = createInboundStore({ logger });
    const first = store.store(session, [record('A')], gate);
    const later = [store.store(session, [record('B')], gate), store.store(session, [record('C'), record('D')], gate)];
    open();
    expect(await Promise.all([first, ...later])).toEqual([true, true, true]);
    expect(transactions).toEqual([['A'], ['B', 'C', 'D']]);
    // Every receipt went out, each after the commit that stored its message.
    expect(released).toEqual(['A', 'B', 'C', 'D']);
    expect(store.inFlight()).toBe(0);
  });

  it('a receipt is not released before its own transaction commits', async () => {
    const { gate, transactions, released, open } = blockingGate();
    const store = createInboundStore({ logger });
    const first = store.store(session, [record('A')], gate);
    const second = store.store(session, [record('B')], gate);
    await new Promise((resolve) => setImmediate(resolve));
    expect(transactions.length).toBeGreaterThan(0);
    expect(released).toEqual([]);
    open();
    await Promise.all([first, second]);
    expect(released).toEqual(['A', 'B']);
  });
});
