// What one open socket tells us about messages, turned into database writes:
//   - status of our own messages, from messages.upsert (Baileys merges receipts that arrive
//     within ~100 ms of the send into the upsert) and messages.update, mapped
//     0 → failed, 1/2 → sent, 3 → delivered, 4/5 → read; SQL keeps only forward moves, so the
//     order in which these arrive does not matter. A negative ack (status 0) carries WhatsApp's
//     code in messageStubParameters: the message fails with that code, and a 463 also raises a
//     session event and slows the session down (onRestricted);
//   - messages of other parties (and our own sent from the phone) recorded once per WhatsApp id
//     by gateway.record_inbound, fenced by the session's epoch (inbound-store.ts); delivery
//     receipts are sent by Baileys itself but held until the commit (inbound-acks.ts), read
//     receipts only when configured.
// Events from before this is attached (between login and the session manager's onSocketOpen)
// are replayed first (the extension's onSocketCreated started recording them).
import type { WAMessage, WAMessageUpdate, WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { LiveSession } from '../sessions/context.ts';
import { ACK_ERRORS } from './errors.ts';
import { takeCapturedEvents } from '../whatsapp/event-capture.ts';
import { type InboundRecord, toInboundRecord } from './inbound.ts';
import { ackGateOf } from './inbound-acks.ts';
import type { InboundStore } from './inbound-store.ts';
import type { MessageWriter, StatusUpdate } from './writer.ts';

export interface MessageEventDeps {
  writer: MessageWriter;
  logger: Logger;
  /** True when this connector sent `waId` (its own upsert is not a "sent from the phone"). */
  isOurs(agentId: string, waId: string): boolean;
  /** A 463 negative ack for one of the session's messages. */
  onRestricted(session: LiveSession, waId: string): void;
  /** Stores inbound messages (retrying) and then releases their receipts. */
  inbound: InboundStore;
  sendReadReceipts: boolean;
  /** Delivered/read receipts are already written by durable-receipts.ts before Baileys sees them. */
  receiptsPersisted?: boolean;
}

export function statusOf(code: number | null | undefined): StatusUpdate['status'] | undefined {
  switch (code) {
    case 0:
      return 'failed';
    // 1 is PENDING: Baileys' own upsert of a message it has only written to the socket. Only
    // WhatsApp's ack makes it `sent`; mapping PENDING to `sent` hid a message lost in transit
    // (the worker's retry then found the row no longer `sending` and left it).
    case 2:
      return 'sent';
    case 3:
      return 'delivered';
    case 4:
    case 5:
      return 'read';
    default:
      return undefined;
  }
}

export function attachMessageEvents(session: LiveSession, deps: MessageEventDeps, sock: WASocket | undefined = session.socket()): () => void {
  if (!sock) return () => {};
  const log = deps.logger.child({ agentId: session.agentId });

  const noteStatus = (id: string | null | undefined, code: number | null | undefined, params: string[] | null | undefined) => {
    const status = statusOf(code);
    if (!id || !status) return;
    if (status === 'failed') {
      const ackCode = params?.[0] ?? 'error';
      deps.writer.status(session.agentId, session.epoch(), {
        wa_message_id: id,
        status,
        error_code: ackCode,
        error_message: ACK_ERRORS[ackCode] ?? `WhatsApp refused the message (${ackCode})`,
      });
      if (ackCode === '463') deps.onRestricted(session, id);
      return;
    }
    deps.writer.status(session.agentId, session.epoch(), { wa_message_id: id, status });
  };

  const gate = ackGateOf(sock);
  const store = (records: InboundRecord[]) => deps.inbound.store(session, records, gate);

  const onUpsert = ({ messages, type }: { messages: WAMessage[]; type: string }) => {
    const inbound: InboundRecord[] = [];
    const nothingToStore: string[] = [];
    for (const m of messages) {
      if (m.key.fromMe) {
        noteStatus(m.key.id, m.status as number | null | undefined, m.messageStubParameters);
        // Our own message that this connector did not send: sent from the phone (or another
        // linked device). Only `notify` upserts are real traffic; `append` is our own echo.
        const rec = type === 'notify' && m.key.id && !deps.isOurs(session.agentId, m.key.id) ? toInboundRecord(m) : undefined;
        if (rec) inbound.push(rec);
        else if (m.key.id) nothingToStore.push(m.key.id);
        continue;
      }
      const rec = toInboundRecord(m);
      if (rec) inbound.push(rec);
      else if (m.key.id) nothingToStore.push(m.key.id);
    }
    // Receipts of messages that are not stored (protocol noise, our own echoes) go out at once;
    // the others after their commit (inbound-store.ts).
    gate?.release(nothingToStore);
    if (inbound.length > 0) {
      const read = deps.sendReadReceipts && type === 'notify' ? messages.filter((m) => !m.key.fromMe).map((m) => m.key) : [];
      // A read receipt acknowledges the message too: only after the commit.
      void store(inbound).then((stored) => {
        if (stored && read.length > 0) return sock.readMessages(read).catch((error) => log.warn({ err: error }, 'sending read receipts failed'));
      });
    }
  };

  const onUpdate = (updates: WAMessageUpdate[]) => {
    for (const u of updates) {
      if (u.key.fromMe === false) continue;
      const status = statusOf(u.update.status as number | null | undefined);
      if (deps.receiptsPersisted && (status === 'delivered' || status === 'read')) continue;
      noteStatus(u.key.id, u.update.status as number | null | undefined, u.update.messageStubParameters);
    }
  };

  sock.ev.on('messages.upsert', onUpsert);
  sock.ev.on('messages.update', onUpdate);
  // Events since the socket was made (the offline queue after login), in order, before any new one.
  for (const captured of takeCapturedEvents(sock)) {
    if (captured.event === 'messages.upsert') onUpsert(captured.payload);
    else onUpdate(captured.payload);
  }
  return () => {
    sock.ev.off('messages.upsert', onUpsert);
    sock.ev.off('messages.update', onUpdate);
  };
}
