// Receipts for our messages are written before Baileys acknowledges them to WhatsApp.
//
// WhatsApp keeps a receipt (delivered, read) until the client acks it and sends it again at the
// next login otherwise. Baileys acks a receipt as soon as it has emitted messages.update, before
// anything can be committed, so a crash (kill -9) or a socket that ends while Baileys is
// buffering events loses receipts for good: the message would stay `sent` forever. This hook
// sits in front of Baileys' own handler (whatsapp/receipts-first.ts): each incoming receipt is
// recorded through the ordered writer and flushed, and only then handed to Baileys, which
// processes and acks it. A crash before the commit means no ack, so WhatsApp delivers the
// receipt again. Frames are handed on in the order they came.
//
// The status mapping follows Baileys (getStatusFromReceiptType): no type = delivered;
// read, read-self, played = read; other types (retry, sender, inactive ...) carry no status.
// A receipt with a `recipient` attribute is about someone else's message (our other device) and
// is left to Baileys.
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { LiveSession } from '../sessions/context.ts';
import { beforeBaileysHandlesReceipts, type IncomingReceipt } from '../whatsapp/receipts-first.ts';
import type { MessageWriter, StatusUpdate } from './writer.ts';

export function receiptStatuses(receipt: IncomingReceipt): StatusUpdate[] {
  const { ids, type, recipient } = receipt;
  if (ids.length === 0 || recipient) return [];
  const status: StatusUpdate['status'] | undefined = type === undefined ? 'delivered' : type === 'read' || type === 'read-self' || type === 'played' ? 'read' : undefined;
  if (!status) return [];
  return ids.map((wa_message_id) => ({ wa_message_id, status }));
}

/** Installs the hook on a new socket (before it receives anything). */
export function persistReceiptsFirst(session: LiveSession, sock: WASocket, writer: MessageWriter, logger: Logger): void {
  beforeBaileysHandlesReceipts(
    sock,
    (receipt) => {
      const updates = receiptStatuses(receipt);
      for (const u of updates) writer.status(session.agentId, session.epoch(), u);
      return updates.length > 0 ? writer.written() : undefined;
    },
    (error) => logger.error({ err: error, agentId: session.agentId }, 'handing a receipt to Baileys failed'),
  );
}
