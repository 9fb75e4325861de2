// Retry timing for webhook deliveries: exponential with "equal jitter" (half fixed, half random),
// so retries of many deliveries to one receiver spread out but never come sooner than half the
// nominal delay; a Retry-After from the receiver (seconds or an HTTP date) wins, capped.

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Longest Retry-After honoured; a larger one is cut to this. */
  maxRetryAfterMs: number;
}

/** Delay before attempt `attempt + 1`, where `attempt` (1-based) just failed. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/** Retry-After in ms from now, or undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number, policy: RetryPolicy): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  let ms: number;
  if (/^\s*\d+\s*$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), policy.maxRetryAfterMs);
}
