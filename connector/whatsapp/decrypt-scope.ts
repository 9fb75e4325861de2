// Baileys-specific hook: which Signal key writes belong to the decryption of an inbound message.
//
// Baileys decrypts a message through three methods of the socket's `signalRepository`
// (Utils/decode-wa-message.js, decryptMessageNode: decryptMessage, decryptGroupMessage,
// processSenderKeyDistributionMessage). It looks them up on that one object at each call, so
// wrapping them there runs every decryption inside the key-write hold's scope (its key-store
// transaction commits inside the call). A Baileys upgrade that renames them would leave nothing
// held: self-check.ts refuses to start then (and tests/connector/messages-inbound-durable.test.ts fails).
import type { WASocket } from '@whiskeysockets/baileys';
import type { KeyWriteHold } from '../auth-state/held-key-writes.ts';

export const DECRYPTING_METHODS = ['decryptMessage', 'decryptGroupMessage', 'processSenderKeyDistributionMessage'] as const;
const holds = new WeakMap<WASocket, KeyWriteHold>();

/** Installs the scope on a new socket, before it receives anything. */
export function scopeDecryption(sock: WASocket, hold: KeyWriteHold): void {
  const repository = sock.signalRepository as unknown as Record<string, unknown>;
  for (const name of DECRYPTING_METHODS) {
    const original = repository[name];
    if (typeof original !== 'function') continue;
    repository[name] = (...args: unknown[]) => hold.decrypting(() => Promise.resolve(original.apply(repository, args)));
  }
  holds.set(sock, hold);
}

/** The key-write hold of `sock`, if its session installed one. */
export function keyHoldOf(sock: WASocket): KeyWriteHold | undefined {
  return holds.get(sock);
}
