// Webhook signatures: the Standard Webhooks specification (https://www.standardwebhooks.com), so a
// receiver verifies with the `standardwebhooks` library of its language (docs/webhooks.md).
//
//   webhook-id:        the event id (the same on every retry and redelivery: receivers dedupe on it)
//   webhook-timestamp: Unix seconds of THIS attempt (receivers refuse anything a few minutes off)
//   webhook-signature: "v1,<base64 HMAC-SHA256(key, `${id}.${timestamp}.${body}`)>", one per
//                      secret, space-separated (two during a secret rotation's overlap)
//
// Signing is the `standardwebhooks` library's own `Webhook.sign`, never a copy of it.
//
// Secrets. A standard secret is `whsec_` + base64 of the key bytes (what the API issues). Endpoints
// created before this scheme have a `whsec_` + base64url string that no standard library decodes;
// their receivers verify the legacy header, so for them we keep sending it
// (`x-webhook-signature: v1=<hex HMAC-SHA256(whole secret as UTF-8, `${timestamp}.${body}`)>`,
// with x-webhook-id and x-webhook-timestamp) and also sign the standard header with the secret's
// UTF-8 bytes as the raw key. Rotating such an endpoint's secret moves it to a standard one; the
// legacy headers stop when the old secret's overlap ends.
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  // Ours, outside the spec's `webhook-` names.
  event: 'x-webhook-event',
  delivery: 'x-webhook-delivery',
  attempt: 'x-webhook-attempt',
} as const;

/** Sent only while an endpoint still signs with a pre-standard secret. */
export const LEGACY_HEADERS = {
  id: 'x-webhook-id',
  timestamp: 'x-webhook-timestamp',
  signature: 'x-webhook-signature',
} as const;

const SECRET_PREFIX = 'whsec_';
const STANDARD_SECRET = /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// The spec asks for 24 to 64 bytes of key.
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** True for `whsec_<base64>` holding 24–64 key bytes; false for pre-standard secrets. */
export function isStandardSecret(secret: string): boolean {
  if (!STANDARD_SECRET.test(secret)) return false;
  const bytes = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64').length;
  return bytes >= MIN_KEY_BYTES && bytes <= MAX_KEY_BYTES;
}

function signer(secret: string): Webhook {
  return isStandardSecret(secret) ? new Webhook(secret) : new Webhook(new Uint8Array(Buffer.from(secret, 'utf8')), { format: 'raw' });
}

function legacySignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface SignedRequest {
  eventId: string;
  eventType: string;
  deliveryId: string;
  attempt: number;
  timestamp: number;
  body: string;
  /** The current secret first, then the previous one while a rotation's overlap lasts. */
  secrets: readonly string[];
}

export function signedHeaders(r: SignedRequest): Record<string, string> {
  if (r.secrets.length === 0) throw new Error('no signing secret');
  const at = new Date(r.timestamp * 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'wa-gateway-webhooks/1',
    [WEBHOOK_HEADERS.id]: r.eventId,
    [WEBHOOK_HEADERS.timestamp]: String(r.timestamp),
    [WEBHOOK_HEADERS.signature]: r.secrets.map((s) => signer(s).sign(r.eventId, at, r.body)).join(' '),
    [WEBHOOK_HEADERS.event]: r.eventType,
    [WEBHOOK_HEADERS.delivery]: r.deliveryId,
    [WEBHOOK_HEADERS.attempt]: String(r.attempt),
  };
  const legacy = r.secrets.filter((s) => !isStandardSecret(s));
  if (legacy.length > 0) {
    headers[LEGACY_HEADERS.id] = r.eventId;
    headers[LEGACY_HEADERS.timestamp] = String(r.timestamp);
    headers[LEGACY_HEADERS.signature] = legacy.map((s) => legacySignature(s, r.timestamp, r.body)).join(' ');
  }
  return headers;
}
