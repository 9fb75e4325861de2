/**
 * RateLimit-* headers (IETF draft names) for a bucket outcome, and the 429 a refused take becomes.
 *
 *   setRateHeaders(c, { limit: 30, remaining: 29, reset: 2 });
 */
import type { Context } from 'hono';
import { HttpError } from './errors.ts';

export interface RateState {
  limit: number;
  remaining: number;
  reset: number;
  retryAfter?: number;
}

export function rateHeaders(state: RateState): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(Math.max(0, state.remaining)),
    'RateLimit-Reset': String(Math.max(0, state.reset)),
  };
  if (state.retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, state.retryAfter));
  return headers;
}

export function setRateHeaders(c: Context, state: RateState | null | undefined): void {
  if (!state || state.limit == null) return;
  for (const [k, v] of Object.entries(rateHeaders(state))) c.header(k, v);
}

export function rateLimited(state: RateState, message = 'Rate limit reached; retry later'): HttpError {
  return new HttpError(429, 'rate_limited', message, { limit: state.limit, retryAfter: state.retryAfter }, rateHeaders(state));
}

/** Reads the rate columns SQL functions return beside their row (rate_limit, rate_remaining, rate_reset_seconds). */
export function rateFromRow(row: { rate_limit?: number | null; rate_remaining?: number | null; rate_reset_seconds?: number | null }): RateState | null {
  if (row.rate_limit == null) return null;
  return { limit: row.rate_limit, remaining: row.rate_remaining ?? 0, reset: row.rate_reset_seconds ?? 0 };
}
