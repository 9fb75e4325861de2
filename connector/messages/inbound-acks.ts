// Inbound messages are stored before WhatsApp is told they arrived.
//
// WhatsApp keeps a message until the client acknowledges it (a delivery receipt, or an ack) and
// offers it again at the next login otherwise. Baileys sends that receipt inside its message
// handler, before `messages.upsert` reaches us, so a crash, a database outage or a stop between
// the two used to lose the message for good. This gate sits in the socket's send path: the
// receipt (or ack) for an inbound message is held until gateway.record_inbound has committed it
// (`release`), and is never sent if the socket ends first; WhatsApp then delivers it again.
//
// How a frame is recognised and held is Baileys-specific (whatsapp/ack-frames.ts): Baileys' own
// receipt and ack writes are noted as they happen and queued on demand. Holding does not block
// Baileys (it awaits the write, and the upsert only comes after it): the write is reported done at
// once. The Noise cipher numbers frames, so every later frame waits behind a held one (pings,
// sends); that lasts one commit normally.
//
// Which frames are held: positive receipts (delivery, inactive, sender, peer) and plain acks of
// class message. A nack (ack with an error) or a retry receipt is sent at once: Baileys could not
// decrypt the message, there is nothing to store, and the sender re-encrypts on the retry.
// A held id is released when its upsert yields nothing to store, or when its row is committed.
// If no upsert comes at all (Baileys failed after sending the receipt), the id is released after
// NO_UPSERT_MS with a warning: holding longer would stall the socket and the same message would
// fail the same way when redelivered.
//
// The Signal key writes Baileys made while decrypting the message are held with its receipt
// (auth-state/held-key-writes.ts): each receipt or ack of an inbound message claims them, the
// message's commit writes them, a message with nothing to store writes them before its receipt
// goes out, and they are dropped with the held frames when the socket ends.
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { KeyWriteHold } from '../auth-state/held-key-writes.ts';
import { type AckFrame, holdAckFrames } from '../whatsapp/ack-frames.ts';
import { keyHoldOf } from '../whatsapp/decrypt-scope.ts';

const NO_UPSERT_MS = 10_000;
/** Baileys buffers events (offline queue, initial sync); a held id's upsert is flushed out after this. */
const FLUSH_AFTER_MS = 100;
const NOT_HELD_RECEIPTS = new Set(['read', 'read-self', 'played', 'retry', 'server-error']);
/** Receipts that are not part of handling a message as it arrives (sent later, for stored ones). */
const LATER_RECEIPTS = new Set(['read', 'read-self', 'played']);
const RECENT_LIMIT = 5_000;

const gates = new WeakMap<WASocket, InboundAckGate>();

interface Waiting {
  since: number;
  upsert: boolean;
  timer: NodeJS.Timeout;
}

export interface InboundAckGate {
  /** The upsert for these ids was seen: they wait for release(), no longer for the upsert. */
  seen(ids: string[]): void;
  /** Stored (or nothing to store): their receipts go out. */
  release(ids: string[]): void;
  /** Frames held right now (tests, metrics). */
  held(): number;
  /** The socket's held Signal key writes, written with the messages they belong to. */
  keys?: KeyWriteHold;
}

/**
 * Whether a frame answers messages as they arrive, and if so whether it acknowledges them (held)
 * or refuses them (a nack or retry receipt, sent at once). Undefined: not about arrival.
 */
function arrivalAnswer(frame: AckFrame): { ids: string[]; hold: boolean } | undefined {
  if (frame.kind === 'ack') return { ids: frame.ids, hold: !frame.error };
  if (LATER_RECEIPTS.has(frame.type)) return undefined;
  return { ids: frame.ids, hold: !NOT_HELD_RECEIPTS.has(frame.type) };
}

/** The gate of `sock`, if installed. */
export function ackGateOf(sock: WASocket | undefined): InboundAckGate | undefined {
  return sock ? gates.get(sock) : undefined;
}

/** Installs the gate on a new socket (synchronously after it is made, before it sends anything). */
export function holdInboundAcks(sock: WASocket, logger: Logger): InboundAckGate {
  const gate: InboundAckGate = { seen() {}, release() {}, held: () => 0 };
  const keys = keyHoldOf(sock);
  const waiting = new Map<string, Waiting>();
  const recent = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const remember = (id: string) => {
    recent.add(id);
    if (recent.size > RECENT_LIMIT) recent.delete(recent.values().next().value as string);
  };

  const settle = (id: string) => {
    const w = waiting.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    waiting.delete(id);
    remember(id);
  };

  /** Lets these messages' receipts go, after the key writes they allow (a no-op when stored). */
  const release = (ids: string[]) => {
    const go = () => {
      for (const id of ids) settle(id);
      frames?.release();
    };
    if (!keys || keys.held() === 0) return go();
    void keys.settle(ids).then(go, go);
  };

  const flushSoon = () => {
    if (flushTimer || closed) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      // The upsert may sit in Baileys' event buffer (offline queue) until an end-of-batch marker
      // that real WhatsApp sends only after our held frames: hand the buffered events on now.
      if ([...waiting.values()].some((w) => !w.upsert) && sock.ev.isBuffering()) sock.ev.flush();
    }, FLUSH_AFTER_MS);
  };

  const frames = holdAckFrames(sock, {
    onAckFrame(frame) {
      const answer = arrivalAnswer(frame);
      if (!answer) return [];
      const waitFor = answer.hold ? answer.ids.filter((id) => !recent.has(id)) : [];
      if (keys) {
        // Baileys answers the message it just decrypted: the key writes since the last answer are its.
        keys.claim(answer.ids);
        const unheld = answer.ids.filter((id) => !waitFor.includes(id));
        if (unheld.length > 0) void keys.settle(unheld);
      }
      for (const id of waitFor) {
        if (waiting.has(id)) continue;
        const timer = setTimeout(() => {
          if (waiting.get(id)?.upsert) return;
          logger.warn({ waId: id }, 'no upsert for an inbound message within 10 s of its receipt; acknowledging it unstored');
          release([id]);
        }, NO_UPSERT_MS);
        timer.unref();
        waiting.set(id, { since: Date.now(), upsert: false, timer });
        flushSoon();
      }
      return waitFor;
    },
    waiting: (id) => waiting.has(id),
    onClose() {
      // Never sent: WhatsApp offers these messages again at the next login.
      closed = true;
      keys?.drop();
      for (const w of waiting.values()) clearTimeout(w.timer);
      waiting.clear();
      if (flushTimer) clearTimeout(flushTimer);
    },
  });
  if (!frames) return gate;
  keys?.enable();
  gate.keys = keys;

  gate.seen = (ids) => {
    for (const id of ids) {
      const w = waiting.get(id);
      if (w) {
        w.upsert = true;
        clearTimeout(w.timer);
      }
    }
  };
  gate.release = release;
  gate.held = frames.held;
  gates.set(sock, gate);
  sock.ev.on('messages.upsert', ({ messages }) => gate.seen(messages.map((m) => m.key.id).filter((id): id is string => !!id)));
  return gate;
}
