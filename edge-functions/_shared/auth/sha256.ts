/**
 * SHA-256 of a string, synchronously: API keys are stored and compared as their SHA-256, and an
 * Idempotency-Key remembers the SHA-256 of its request. node:crypto (Deno provides it too) rather
 * than crypto.subtle.digest, an async job on the thread pool whose round trip was a sixth of the
 * send route's CPU under load (`node --cpu-prof`, scripts/bench/api.ts) for a hash of a microsecond.
 *
 *   sha256('wag_…')      // Uint8Array(32)
 *   sha256Hex('{"to":…}') // 64 lowercase hex digits
 */

/** The part of node:crypto used here. */
interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(data: string, encoding: 'utf8'): { digest(): Uint8Array; digest(encoding: 'hex'): string } };
}
// A computed specifier: Deno's type check of the function (tests/deno) has no @types/node to read
// node:crypto's types from, and the interface above is all that is needed of them.
const NODE_CRYPTO = 'node:crypto';
const { createHash } = (await import(NODE_CRYPTO)) as NodeCrypto;

export function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text, 'utf8').digest());
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
