// Message events from the moment a socket exists, not from the moment it is reported open.
//
// The session manager calls extensions' onSocketOpen after it has written status `connected`
// (a database round trip after Baileys' `open`). WhatsApp pushes the offline queue (messages
// received and receipts for our sends while we were away) right after login, so without this a
// reconnect would drop exactly those: inbound messages never stored, statuses stuck at `sent`.
// The connector calls the extension's onSocketCreated as each socket is made; from then on the
// socket records its messages.upsert / messages.update events until attachMessageEvents takes them (in the same
// synchronous step that subscribes the live handlers, so nothing falls in between). A socket
// that never opens stops recording when it closes.
// Nothing is dropped: the events are bounded by what WhatsApp pushes before the socket opens (its
// offline queue), and the receipts of inbound messages are held until they are stored
// (messages/inbound-acks.ts), so a dropped upsert would have stalled the socket rather than lost
// a message.
// Public Baileys API only (`sock.ev`): it sits in the adapter because it adapts Baileys' event
// timing (the offline queue before `open`) to the session lifecycle.
import type { BaileysEventMap, WASocket } from '@whiskeysockets/baileys';

export type CapturedEvent =
  | { event: 'messages.upsert'; payload: BaileysEventMap['messages.upsert'] }
  | { event: 'messages.update'; payload: BaileysEventMap['messages.update'] };

const recorders = new WeakMap<WASocket, { events: CapturedEvent[]; stop(): void }>();

/** Starts recording `sock`'s message events; call it synchronously right after the socket is made. */
export function captureMessageEvents(sock: WASocket): void {
  const events: CapturedEvent[] = [];
  const push = (e: CapturedEvent) => {
    events.push(e);
  };
  const onUpsert = (payload: BaileysEventMap['messages.upsert']) => push({ event: 'messages.upsert', payload });
  const onUpdate = (payload: BaileysEventMap['messages.update']) => push({ event: 'messages.update', payload });
  const onConnection = (u: BaileysEventMap['connection.update']) => {
    if (u.connection === 'close') stop();
  };
  const stop = () => {
    sock.ev.off('messages.upsert', onUpsert);
    sock.ev.off('messages.update', onUpdate);
    sock.ev.off('connection.update', onConnection);
  };
  sock.ev.on('messages.upsert', onUpsert);
  sock.ev.on('messages.update', onUpdate);
  sock.ev.on('connection.update', onConnection);
  recorders.set(sock, { events, stop });
}

/** The events recorded for `sock` so far (empty if it was not made by a capturing factory); recording stops. */
export function takeCapturedEvents(sock: WASocket): CapturedEvent[] {
  const rec = recorders.get(sock);
  if (!rec) return [];
  recorders.delete(sock);
  rec.stop();
  return rec.events;
}
