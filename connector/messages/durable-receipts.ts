// Receipts for our messages are written before Baileys acknowledges them to WhatsApp.
//
// WhatsApp keeps a receipt (delivered, read) until the client acks it and sends it again at the
// next login otherwise. Baileys acks a receipt as soon as it has emitted messages.update, before
// anything can be committed, so a crash (kill -9) or a socket that ends while Baileys is
// buffering events loses receipts for good: the message would stay `sent` forever. This hook
// sits in front of Baileys' own handler: each incoming receipt frame (`CB:receipt`, the event
// Baileys listens on) is recorded through the ordered writer and flushed, and only then handed
// to Baileys, which processes and acks it. A crash before the commit means no ack, so WhatsApp
// delivers the receipt again. Frames are handed on in the order they came.
//
// The status mapping follows Baileys (getStatusFromReceiptType): no type = delivered;
// read, read-self, played = read; other types (retry, sender, inactive ...) carry no status.
// A receipt with a `recipient` attribute is about someone else's message (our other device) and
// is left to Baileys.
import type { BinaryNode, WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { LiveSession } from '../sessions/context.ts';
import type { MessageWriter, StatusUpdate } from './writer.ts';

export function receiptStatuses(node: BinaryNode): StatusUpdate[] {
  const { id, type, recipient } = node.attrs;
  if (!id || recipient) return [];
  const status: StatusUpdate['status'] | undefined = type === undefined ? 'delivered' : type === 'read' || type === 'read-self' || type === 'played' ? 'read' : undefined;
  if (!status) return [];
  const ids = [id];
  const list = Array.isArray(node.content) ? node.content.find((c) => c.tag === 'list') : undefined;
  if (list && Array.isArray(list.content)) for (const item of list.content) if (item.tag === 'item' && item.attrs.id) ids.push(item.attrs.id);
  return ids.map((wa_message_id) => ({ wa_message_id, status }));
}

const RECEIPT_EVENT = 'CB:receipt';

/** Installs the hook on a new socket (before it receives anything). */
export function persistReceiptsFirst(session: LiveSession, sock: WASocket, writer: MessageWriter, logger: Logger): void {
  const ws = sock.ws as unknown as { emit(event: string | symbol, ...args: unknown[]): boolean; listenerCount(event: string): number };
  const emit = ws.emit.bind(ws);
  let chain: Promise<unknown> = Promise.resolve();
  ws.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== RECEIPT_EVENT) return emit(event, ...args);
    const node = args[0] as BinaryNode;
    const updates = receiptStatuses(node);
    for (const u of updates) writer.status(session.agentId, session.epoch(), u);
    const flushed = updates.length > 0 ? writer.written() : Promise.resolve();
    chain = Promise.all([chain, flushed])
      .then(() => emit(event, ...args))
      .catch((error) => logger.error({ err: error, agentId: session.agentId }, 'handing a receipt to Baileys failed'));
    return ws.listenerCount(RECEIPT_EVENT) > 0;
  };
}
