/**
 * Tokens that verified recently, so a client sending many requests with one JWT pays for its
 * signature check (ES256: about half of the send route's CPU under bench:api) once a minute, not on
 * every request.
 *
 * Keyed by the SHA-256 of the whole token (header, claims and signature): a token changed in any
 * byte is a different key and goes through full verification, and the raw token is never a key
 * that a heap dump or a debug log of the map would show. Only successes are remembered; a token
 * that failed is checked again every time (the failed-authentication limit bounds that).
 *
 * An entry answers until the earlier of the token's own `exp` (checked on every hit against the
 * request's clock, as jose checks it: a cached token past its expiry is refused) and `maxAgeMs`
 * after its verification. That second bound is the one that matters for revocation: a key removed
 * from the JWKS (rotation, a leak) or a tightened policy stops accepting tokens it already verified
 * within maxAgeMs (60 s by default), where a user's token lives an hour. A remote JWKS is itself
 * cached by jose for up to 10 minutes (jwt.ts), so the cache adds at most its minute to that.
 * A signed-out user's token was never revoked by verification alone: Supabase access tokens stay
 * valid until `exp` with or without this cache.
 *
 * Bounded: at most maxEntries tokens, the least recently used dropped first (a Map iterates in
 * insertion order; a hit re-inserts its entry at the end).
 *
 *   const cache = new VerifiedTokens<VerifiedUser>({ maxEntries: 10_000, maxAgeMs: 60_000 });
 *   cache.get(token, now) ?? cache.put(token, await verify(token), { exp, nbf }, now);
 */
import { sha256Hex } from './sha256.ts';

export interface TokenTimes {
  /** The token's `exp` (seconds since the epoch). */
  exp: number;
  /** The token's `nbf` (seconds), if it has one. */
  nbf?: number;
}

interface Entry<T> {
  value: T;
  times: TokenTimes;
  /** Milliseconds since the epoch after which the entry is not used, whatever `exp` says. */
  verifiedUntil: number;
}

export class VerifiedTokens<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;

  constructor(options: { maxEntries: number; maxAgeMs: number }) {
    if (!(options.maxEntries >= 1) || !(options.maxAgeMs >= 0)) throw new Error('maxEntries >= 1 and maxAgeMs >= 0 are required');
    this.maxEntries = options.maxEntries;
    this.maxAgeMs = options.maxAgeMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value remembered for this exact token, if it is still within its bounds at `now`. */
  get(token: string, now: Date): T | undefined {
    const key = sha256Hex(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // jose's checks, with no clock tolerance: `exp` must be after now, `nbf` not after it.
    const seconds = Math.floor(now.getTime() / 1000);
    const usable = now.getTime() < entry.verifiedUntil && entry.times.exp > seconds && (entry.times.nbf === undefined || entry.times.nbf <= seconds);
    this.entries.delete(key);
    if (!usable) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Remembers a token that has just verified at `now`. */
  put(token: string, value: T, times: TokenTimes, now: Date): void {
    const key = sha256Hex(token);
    this.entries.delete(key);
    this.entries.set(key, { value, times, verifiedUntil: now.getTime() + this.maxAgeMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
