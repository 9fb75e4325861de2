// Frames that reach a socket after its lease ran out are dropped, not handed to Baileys.
//
// A process woken from SIGSTOP (or stalled past its lease) gets the frames that arrived while it
// was away in libuv's poll phase, before any timer runs — our 200 ms self-fencing tick included.
// Baileys would decrypt them, touch the Signal key store and answer on the wire for a session
// another connector already owns (docs/invariants.md, invariant 1). This gate sits on the socket's
// raw `message` event, the one Baileys' frame decoder listens on: each frame first asks whether
// the lease is still fresh by our own clock; when it is not, the frame is dropped and the caller
// fences the session (ending the socket) instead. Baileys internal: self-check.ts verifies at
// start-up that frames still come through that event and the client's replaceable `emit`.
import type { WASocket } from '@whiskeysockets/baileys';

type Emitter = { emit(event: string | symbol, ...args: unknown[]): boolean };

/** Installs the gate on a new socket, before it has received anything. */
export function gateIncomingFrames(sock: WASocket, leaseFresh: () => boolean): void {
  const ws = sock.ws as unknown as Emitter;
  const emit = ws.emit.bind(ws);
  ws.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'message' && !leaseFresh()) return false;
    return emit(event, ...args);
  };
}
