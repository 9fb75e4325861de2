/**
 * Token buckets in this instance's memory: the cheap first line of the failed-authentication
 * limit, so an anonymous flood is refused here instead of costing a database write per request.
 * The shared bucket in Postgres (gateway.take_token) stays the limit across instances; an
 * address it refused is remembered here until its retry time.
 *
 *   const buckets = new LocalBuckets({ capacity: 20, windowSeconds: 300 });
 *   if (buckets.blockedFor(ip, Date.now())) ...   // before verifying a credential
 *   const take = buckets.take(ip, Date.now());     // after a failure
 */
import type { RateState } from '../http/rate-limit.ts';

interface Entry {
  tokens: number;
  at: number;
  blockedUntil: number;
}

export class LocalBuckets {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #maxKeys: number;

  constructor(limit: { capacity: number; windowSeconds: number }, maxKeys = 10_000) {
    this.#capacity = limit.capacity;
    this.#perMs = limit.capacity / (limit.windowSeconds * 1000);
    this.#maxKeys = maxKeys;
  }

  #refilled(key: string, now: number): Entry {
    const e = this.#entries.get(key) ?? { tokens: this.#capacity, at: now, blockedUntil: 0 };
    e.tokens = Math.min(this.#capacity, e.tokens + Math.max(0, now - e.at) * this.#perMs);
    e.at = now;
    return e;
  }

  #store(key: string, e: Entry): void {
    // Oldest first out when full: memory stays bounded however many addresses a flood uses.
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, e);
  }

  #state(e: Entry, retryAfterMs: number): RateState {
    return {
      limit: this.#capacity,
      remaining: Math.floor(e.tokens),
      reset: Math.ceil((this.#capacity - e.tokens) / this.#perMs / 1000),
      retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    };
  }

  /** The 429 state when this key may not even try (empty here, or refused by the shared bucket), else null. */
  blockedFor(key: string, now: number): RateState | null {
    const e = this.#entries.get(key);
    if (!e) return null;
    const r = this.#refilled(key, now);
    if (r.blockedUntil > now) return this.#state(r, r.blockedUntil - now);
    if (r.tokens < 1) return this.#state(r, (1 - r.tokens) / this.#perMs);
    return null;
  }

  /** Takes one token: null when taken, else the 429 state. */
  take(key: string, now: number): RateState | null {
    const e = this.#refilled(key, now);
    if (e.tokens < 1) {
      this.#store(key, e);
      return this.#state(e, (1 - e.tokens) / this.#perMs);
    }
    e.tokens -= 1;
    this.#store(key, e);
    return null;
  }

  /** The shared bucket refused this key: refuse it here too until then, without asking again. */
  block(key: string, now: number, retryAfterSeconds: number): void {
    const e = this.#refilled(key, now);
    e.blockedUntil = now + retryAfterSeconds * 1000;
    this.#store(key, e);
  }
}
