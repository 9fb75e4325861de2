// Baileys internal: incoming receipt frames, seen before Baileys' own receipt handler.
//
// Baileys dispatches each decoded frame as events on its socket client (`sock.ws`), named from the
// frame (`CB:receipt` for a receipt), and acks a receipt to WhatsApp from its listener on that
// event. Replacing the client's `emit` puts a step in front of that listener: `first` runs as the
// frame arrives, and the frame reaches Baileys only after it settled (and after every earlier
// frame did), so Baileys acks nothing that `first` has not finished with. Self-check: the
// dispatch naming, the listener, and an `emit` looked up at call time (self-check.ts).
import type { BinaryNode, WASocket } from '@whiskeysockets/baileys';

/** A receipt WhatsApp sent us, as the frame carries it. */
export interface IncomingReceipt {
  /** The messages it is about (empty when the frame names none). */
  ids: string[];
  /** Its type attribute; none means delivered. */
  type?: string;
  /** Set when it is about a message another of our devices sent to `recipient`. */
  recipient?: string;
}

export const RECEIPT_EVENT = 'CB:receipt';

function readReceipt(node: BinaryNode): IncomingReceipt {
  const { id, type, recipient } = node.attrs;
  const ids = id ? [id] : [];
  const list = Array.isArray(node.content) ? node.content.find((c) => c.tag === 'list') : undefined;
  if (id && list && Array.isArray(list.content)) for (const item of list.content) if (item.tag === 'item' && item.attrs.id) ids.push(item.attrs.id);
  return { ids, ...(type !== undefined ? { type } : {}), ...(recipient !== undefined ? { recipient } : {}) };
}

/**
 * Installs the step on a new socket (before it receives anything). `first` runs synchronously for
 * each receipt; a rejected promise keeps that frame from Baileys (so it is never acked, and
 * WhatsApp sends it again) and is reported to `onError`.
 */
export function beforeBaileysHandlesReceipts(sock: WASocket, first: (receipt: IncomingReceipt) => Promise<unknown> | undefined, onError: (error: unknown) => void): void {
  const ws = sock.ws as unknown as { emit(event: string | symbol, ...args: unknown[]): boolean; listenerCount(event: string): number };
  const emit = ws.emit.bind(ws);
  let chain: Promise<unknown> = Promise.resolve();
  ws.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== RECEIPT_EVENT) return emit(event, ...args);
    const done = first(readReceipt(args[0] as BinaryNode)) ?? Promise.resolve();
    chain = Promise.all([chain, done])
      .then(() => emit(event, ...args))
      .catch(onError);
    return ws.listenerCount(RECEIPT_EVENT) > 0;
  };
}
