/**
 * Message content at rest for tenants whose content policy is `encrypted` (public.content_policies,
 * README "Message content at rest"). The content jsonb of a row becomes an envelope that SQL, the
 * Data API and the SQL editor can store and move but not read:
 *
 *   { "sealed": { "v": <key version>, "ct": "<base64 of nonce || ciphertext || tag>" },
 *     "media": { "key": "<owner>/<object>" } }      only when the content names a stored upload
 *
 * The media key stays visible because SQL checks it belongs to the owner and media retention must
 * not delete an object a queued send still needs; it names an object, not what is in it. The
 * associated data (secret-box.ts `associatedData.messageContent` / `inboundContent`) binds the
 * ciphertext to its agent and row, so content copied onto another row fails to open. The owner is
 * deliberately not part of it: owner ids are about to move from users to organisations, and that
 * migration must not make every sealed row unreadable; an agent never changes owner by itself.
 *
 * Runtime-neutral (WebCrypto only): the edge function (Deno) and the connector (Node) share it.
 */
import { DecryptionError, type Keyring, openText, sealText } from './secret-box.ts';

export const CONTENT_POLICIES = ['plain', 'encrypted', 'discard_after_delivery'] as const;
export type ContentPolicy = (typeof CONTENT_POLICIES)[number];

/** What retention and discard_after_delivery leave in place of content (the SQL writes it). */
export const CONTENT_REMOVED = { content_removed: true } as const;
/** What a reader shows for sealed content it cannot open (no key, unknown version, tampered). */
export const CONTENT_UNREADABLE = { content_unreadable: true } as const;

export interface SealedContent {
  sealed: { v: number; ct: string };
  media?: { key: string };
}

export function isSealed(content: unknown): content is SealedContent {
  const sealed = (content as { sealed?: { v?: unknown; ct?: unknown } } | null)?.sealed;
  return typeof sealed === 'object' && sealed !== null && typeof sealed.v === 'number' && typeof sealed.ct === 'string';
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new DecryptionError('sealed content is not base64');
  }
}

export async function sealContent(keyring: Keyring, content: Record<string, unknown>, associatedData: string): Promise<SealedContent> {
  const { ciphertext, keyVersion } = await sealText(keyring, JSON.stringify(content), associatedData);
  const mediaKey = (content.media as { key?: unknown } | undefined)?.key;
  return { sealed: { v: keyVersion, ct: toBase64(ciphertext) }, ...(typeof mediaKey === 'string' ? { media: { key: mediaKey } } : {}) };
}

/**
 * The plaintext content of a row: content that is not sealed is returned as it is (plain tenants,
 * rows from before a switch, removed content); sealed content is opened or DecryptionError thrown
 * (no keyring, unknown key version, wrong row, tampered): it fails closed, never half-open.
 */
export async function openContent(keyring: Keyring | undefined, content: Record<string, unknown>, associatedData: string): Promise<Record<string, unknown>> {
  if (!isSealed(content)) return content;
  if (!keyring) throw new DecryptionError('sealed content but no MESSAGE_CONTENT_KEY is configured');
  const text = await openText(keyring, fromBase64(content.sealed.ct), content.sealed.v, associatedData);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * The key of the request hash stored with an encrypted tenant's Idempotency-Key send: HMAC-SHA-256
 * derived (HKDF) from the current MESSAGE_CONTENT_KEY, so the stored hash cannot confirm a guess
 * of the content the way a plain SHA-256 of a short body could. A new current key changes it (a
 * replay across a key change is then answered as a different request).
 */
export async function requestHashKey(contentKey: Uint8Array): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', contentKey as BufferSource, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('wa-gateway:request-hash') },
    base,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  );
}

/** openContent, or CONTENT_UNREADABLE when it cannot be opened (for listings: one bad row never fails a page). */
export async function openContentOrMark(
  keyring: Keyring | undefined,
  content: Record<string, unknown>,
  associatedData: string,
  onError: (error: Error) => void,
): Promise<Record<string, unknown>> {
  try {
    return await openContent(keyring, content, associatedData);
  } catch (error) {
    if (!(error instanceof DecryptionError)) throw error;
    onError(error);
    return { ...CONTENT_UNREADABLE };
  }
}
