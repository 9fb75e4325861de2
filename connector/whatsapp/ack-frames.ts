// Baileys internal: the frames Baileys writes to acknowledge inbound messages, held back on demand.
//
// Baileys encrypts every frame (Noise) right after building it, so the plaintext is not visible at
// the socket. It logs each receipt and ack at debug level with its ids, synchronously right before
// writing it ('sending receipt for messages', 'sent ack'); a hook on its logger (the socket
// client's `config.logger`) notes those ids, and the very next write on the raw WebSocket
// (`sock.ws.socket.send`, which Baileys looks up at each write) carries them. That write asks the
// caller which ids it must wait for; a frame that waits, and every frame after it (the Noise
// cipher numbers frames), is queued until `release()` finds nothing left to wait for. A Baileys
// upgrade that renames those log lines would hold nothing; self-check.ts refuses to start then.
//
// Holding does not block Baileys: the write is reported done at once and the bytes wait in the
// queue. Held frames are dropped, never sent, when the socket ends.
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';

export const RECEIPT_LOG = 'sending receipt for messages';
export const ACK_LOG = 'sent ack';

/** A frame Baileys is writing that answers inbound messages. */
export type AckFrame =
  /** A receipt; `type` as Baileys sends it ('' for a plain delivery receipt). */
  | { kind: 'receipt'; ids: string[]; type: string }
  /** An ack of a message stanza; `error` set for a nack (Baileys could not decrypt it). */
  | { kind: 'ack'; ids: string[]; error?: string };

export interface AckFrameHooks {
  /** Baileys is writing `frame` now: the ids it must wait for (none: it goes out unless frames are queued). */
  onAckFrame(frame: AckFrame): string[];
  /** Whether `id` still holds the frames that wait for it. */
  waiting(id: string): boolean;
  /** The socket ended: every queued frame was dropped. */
  onClose(): void;
}

export interface HeldFrames {
  /** Sends the queued frames that no longer wait, in order. */
  release(): void;
  /** Frames queued right now. */
  held(): number;
}

let nextFrame: AckFrame | undefined;
/**
 * Marks a logger whose debug is hooked. A property, not a WeakSet of loggers: each session hands
 * Baileys its own proxy (signal-warnings.ts) over the one shared logger, and a set keyed by the
 * proxies hooked the shared logger's debug once more on every new socket, a chain of wrappers
 * every debug call went through. The property lands on the shared logger behind any proxy.
 */
const HOOKED = Symbol('wa-gateway.ack-frames.hooked');

function noteFrame(obj: unknown, msg: unknown): void {
  if (msg === RECEIPT_LOG) {
    const { attrs, messageIds } = obj as { attrs?: { type?: string }; messageIds?: string[] };
    if (Array.isArray(messageIds)) setNext({ kind: 'receipt', ids: messageIds, type: attrs?.type ?? '' });
  } else if (msg === ACK_LOG) {
    const { recv, sent } = obj as { recv?: { tag?: string; attrs?: { id?: string } }; sent?: { error?: string } };
    if (recv?.tag === 'message' && recv.attrs?.id) setNext({ kind: 'ack', ids: [recv.attrs.id], ...(sent?.error ? { error: sent.error } : {}) });
  }
}

function setNext(frame: AckFrame): void {
  nextFrame = frame;
  // The write follows synchronously; a write that never happens (socket closed) must not leave
  // the ids to a later, unrelated frame.
  queueMicrotask(() => {
    if (nextFrame === frame) nextFrame = undefined;
  });
}

function hookLogger(logger: Logger): void {
  const marked = logger as unknown as Record<symbol, boolean>;
  if (marked[HOOKED]) return;
  marked[HOOKED] = true;
  const debug = logger.debug;
  logger.debug = function (this: Logger, ...args: unknown[]) {
    noteFrame(args[0], args[1]);
    return (debug as (...a: unknown[]) => void).apply(this, args);
  } as Logger['debug'];
}

/**
 * Installs the hold on a new socket (synchronously after it is made, before it sends anything).
 * Undefined when the socket has no WebSocket to hold frames on.
 */
export function holdAckFrames(sock: WASocket, hooks: AckFrameHooks): HeldFrames | undefined {
  const client = sock.ws as unknown as { config: { logger: Logger }; socket: { send: (...args: unknown[]) => void; readyState: number; OPEN: number } | null };
  const raw = client.socket;
  if (!raw) return undefined;
  hookLogger(client.config.logger);
  const send = raw.send.bind(raw);
  const queue: { args: unknown[]; waitFor: string[] }[] = [];
  let closed = false;

  function close(): void {
    if (closed) return;
    closed = true;
    queue.length = 0;
    hooks.onClose();
  }

  const release = () => {
    while (queue.length > 0 && !closed) {
      const head = queue[0]!;
      if (head.waitFor.some((id) => hooks.waiting(id))) return;
      queue.shift();
      if (raw.readyState !== raw.OPEN) return close();
      send(...head.args);
    }
  };

  raw.send = (...args: unknown[]) => {
    const frame = nextFrame;
    nextFrame = undefined;
    const waitFor = frame && !closed ? hooks.onAckFrame(frame) : [];
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
  return { release, held: () => queue.length };
}
