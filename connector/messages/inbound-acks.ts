// Inbound messages are stored before WhatsApp is told they arrived.
//
// WhatsApp keeps a message until the client acknowledges it (a delivery receipt, or an ack) and
// offers it again at the next login otherwise. Baileys sends that receipt inside its message
// handler, before `messages.upsert` reaches us, so a crash, a database outage or a stop between
// the two used to lose the message for good. This gate sits in the socket's send path: the
// receipt (or ack) for an inbound message is held until gateway.record_inbound has committed it
// (`release`), and is never sent if the socket ends first; WhatsApp then delivers it again.
//
// How a frame is recognised: Baileys encrypts every frame (Noise) right after building it, so the
// plaintext is not visible at the socket. Baileys logs each receipt and ack at debug level with
// its ids, synchronously right before writing it ('sending receipt for messages', 'sent ack');
// a hook on its logger notes those ids and the very next write on the socket carries them. A
// Baileys upgrade that renames those log lines makes nothing held (the old behaviour), which
// tests/connector/messages-inbound-durable.test.ts catches.
//
// Holding does not block Baileys (it awaits the write, and the upsert only comes after it): the
// write is reported done at once and the bytes wait in a queue. The Noise cipher numbers frames,
// so every later frame waits behind a held one (pings, sends); that lasts one commit normally.
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
import { keyHoldOf } from '../whatsapp/decrypt-scope.ts';

const NO_UPSERT_MS = 10_000;
/** Baileys buffers events (offline queue, initial sync); a held id's upsert is flushed out after this. */
const FLUSH_AFTER_MS = 100;
const NOT_HELD_RECEIPTS = new Set(['read', 'read-self', 'played', 'retry', 'server-error']);
/** Receipts that are not part of handling a message as it arrives (sent later, for stored ones). */
const LATER_RECEIPTS = new Set(['read', 'read-self', 'played']);
const RECENT_LIMIT = 5_000;

/**
 * The frame Baileys is about to write, noted by its logger (synchronous, one write): the inbound
 * messages it answers, and whether it acknowledges them (held) or refuses them (a nack or retry).
 */
interface NextFrame {
  ids: string[];
  hold: boolean;
}
let nextFrame: NextFrame | undefined;
const hookedLoggers = new WeakSet<object>();
const gates = new WeakMap<WASocket, InboundAckGate>();

interface HeldFrame {
  args: unknown[];
  waitFor: string[];
}

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

function noteFrame(obj: unknown, msg: unknown): void {
  if (msg === 'sending receipt for messages') {
    const { attrs, messageIds } = obj as { attrs?: { type?: string }; messageIds?: string[] };
    const type = attrs?.type ?? '';
    if (Array.isArray(messageIds) && !LATER_RECEIPTS.has(type)) setNext({ ids: messageIds, hold: !NOT_HELD_RECEIPTS.has(type) });
  } else if (msg === 'sent ack') {
    const { recv, sent } = obj as { recv?: { tag?: string; attrs?: { id?: string } }; sent?: { error?: string } };
    if (recv?.tag === 'message' && recv.attrs?.id) setNext({ ids: [recv.attrs.id], hold: !sent?.error });
  }
}

function setNext(frame: NextFrame): void {
  nextFrame = frame;
  // The write follows synchronously; a write that never happens (socket closed) must not leave
  // the ids to a later, unrelated frame.
  queueMicrotask(() => {
    if (nextFrame === frame) nextFrame = undefined;
  });
}

function hookLogger(logger: Logger): void {
  if (hookedLoggers.has(logger)) return;
  hookedLoggers.add(logger);
  const debug = logger.debug;
  logger.debug = function (this: Logger, ...args: unknown[]) {
    noteFrame(args[0], args[1]);
    return (debug as (...a: unknown[]) => void).apply(this, args);
  } as Logger['debug'];
}

/** The gate of `sock`, if installed. */
export function ackGateOf(sock: WASocket | undefined): InboundAckGate | undefined {
  return sock ? gates.get(sock) : undefined;
}

/** Installs the gate on a new socket (synchronously after it is made, before it sends anything). */
export function holdInboundAcks(sock: WASocket, logger: Logger): InboundAckGate {
  const client = sock.ws as unknown as { config: { logger: Logger }; socket: { send: (...args: unknown[]) => void; readyState: number; OPEN: number } | null };
  const raw = client.socket;
  const gate: InboundAckGate = { seen() {}, release() {}, held: () => 0 };
  if (!raw) return gate;
  hookLogger(client.config.logger);
  const keys = keyHoldOf(sock);
  keys?.enable();
  gate.keys = keys;
  const send = raw.send.bind(raw);
  const queue: HeldFrame[] = [];
  const waiting = new Map<string, Waiting>();
  const recent = new Set<string>();
  let closed = false;
  let flushTimer: NodeJS.Timeout | undefined;

  const remember = (id: string) => {
    recent.add(id);
    if (recent.size > RECENT_LIMIT) recent.delete(recent.values().next().value as string);
  };

  const drain = () => {
    while (queue.length > 0 && !closed) {
      const head = queue[0]!;
      if (head.waitFor.some((id) => waiting.has(id))) return;
      queue.shift();
      if (raw.readyState !== raw.OPEN) return close();
      send(...head.args);
    }
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
      drain();
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

  function close(): void {
    if (closed) return;
    closed = true;
    // Never sent: WhatsApp offers these messages again at the next login.
    queue.length = 0;
    keys?.drop();
    for (const w of waiting.values()) clearTimeout(w.timer);
    waiting.clear();
    if (flushTimer) clearTimeout(flushTimer);
  }

  raw.send = (...args: unknown[]) => {
    const frame = nextFrame;
    nextFrame = undefined;
    const waitFor = closed || !frame?.hold ? [] : frame.ids.filter((id) => !recent.has(id));
    if (frame && !closed && keys) {
      // Baileys answers the message it just decrypted: the key writes since the last answer are its.
      keys.claim(frame.ids);
      const unheld = frame.ids.filter((id) => !waitFor.includes(id));
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
    if (queue.length === 0 && waitFor.length === 0) return send(...args);
    queue.push({ args: args.map((a) => (typeof a === 'function' ? undefined : a)).filter((a) => a !== undefined), waitFor });
    // Reported written now, or Baileys' handler would wait for a release that needs its upsert.
    const cb = args.find((a) => typeof a === 'function') as ((error?: Error) => void) | undefined;
    if (cb) queueMicrotask(() => cb());
  };

  sock.ev.on('connection.update', (u) => {
    if (u.connection === 'close') close();
  });
  sock.ws.on('close', close);

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
  gate.held = () => queue.length;
  gates.set(sock, gate);
  sock.ev.on('messages.upsert', ({ messages }) => gate.seen(messages.map((m) => m.key.id).filter((id): id is string => !!id)));
  return gate;
}
