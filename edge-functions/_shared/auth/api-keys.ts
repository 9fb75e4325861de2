/**
 * Gateway API keys: `wag_<prefix>_<secret>`. The prefix (12 lowercase letters and digits) finds
 * the row; the SHA-256 of the whole key is what is stored and compared (in constant time). The
 * plaintext exists only in the creation response.
 *
 *   const { key, prefix, hash } = await generateApiKey();
 *   const parsed = parseApiKey(token); // null when malformed
 */
import { sha256 } from './sha256.ts';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const KEY_PATTERN = /^wag_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export const API_KEY_SCOPES = [
  '*',
  'agents:read',
  'messages:send',
  'messages:read',
  'sessions:read',
  'sessions:write',
  'numbers:check',
  'webhooks:manage',
  'stats:read',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function generateApiKey(): Promise<{ key: string; prefix: string; hash: Uint8Array }> {
  // 36^12 prefixes: collisions are rare and the unique index turns one into a retryable error.
  const random = crypto.getRandomValues(new Uint8Array(12));
  let prefix = '';
  for (const b of random) prefix += ALPHABET[b % ALPHABET.length];
  const key = `wag_${prefix}_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { key, prefix, hash: sha256(key) };
}

export function parseApiKey(token: string): { prefix: string } | null {
  const m = KEY_PATTERN.exec(token);
  return m ? { prefix: m[1]! } : null;
}

/** Compares two byte strings without an early exit, so timing does not reveal the first mismatch. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
