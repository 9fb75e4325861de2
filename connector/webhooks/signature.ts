// Webhook signatures (docs/webhooks.md is the receiver's side of this file).
//
//   X-Webhook-Signature: v1=<hex HMAC-SHA256(secret, `${timestamp}.${body}`)>
//
// The key is the endpoint's secret exactly as shown at creation (`whsec_…`, UTF-8). The timestamp
// is the moment of this attempt (Unix seconds, also in X-Webhook-Timestamp), not of the event, so
// a receiver can refuse anything older than a few minutes and a retry still passes. The event id
// (X-Webhook-Id) stays the same across retries and redeliveries: receivers dedupe on it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_SCHEME = 'v1';

export const WEBHOOK_HEADERS = {
  id: 'x-webhook-id',
  timestamp: 'x-webhook-timestamp',
  signature: 'x-webhook-signature',
  event: 'x-webhook-event',
  delivery: 'x-webhook-delivery',
  attempt: 'x-webhook-attempt',
} as const;

export function sign(secret: string, timestamp: number, body: string): string {
  return `${SIGNATURE_SCHEME}=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface SignedRequest {
  eventId: string;
  eventType: string;
  deliveryId: string;
  attempt: number;
  timestamp: number;
  body: string;
  secret: string;
}

export function signedHeaders(r: SignedRequest): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'wa-gateway-webhooks/1',
    [WEBHOOK_HEADERS.id]: r.eventId,
    [WEBHOOK_HEADERS.timestamp]: String(r.timestamp),
    [WEBHOOK_HEADERS.signature]: sign(r.secret, r.timestamp, r.body),
    [WEBHOOK_HEADERS.event]: r.eventType,
    [WEBHOOK_HEADERS.delivery]: r.deliveryId,
    [WEBHOOK_HEADERS.attempt]: String(r.attempt),
  };
}

/**
 * What a receiver does (reference implementation, used by the tests): the signature header may
 * carry several space-separated `v1=` values (during a secret rotation); any match passes, and the
 * timestamp must be within `toleranceSeconds` of now.
 */
export function verify(opts: { secret: string; body: string; timestamp: string | undefined; signature: string | undefined; nowSeconds?: number; toleranceSeconds?: number }): boolean {
  const { secret, body, timestamp, signature } = opts;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(sign(secret, Number(timestamp), body));
  return signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
