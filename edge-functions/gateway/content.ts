// Message content at rest for the API (README "Message content at rest"): a send of an encrypted
// tenant is sealed here, before the row exists, bound to the id chosen for it; a listing opens
// sealed content for its owner. Content that cannot be opened (no key, unknown version, tampered)
// is shown as { content_unreadable: true } and logged, never returned as ciphertext, and one such
// row never fails a page.
import { openContentOrMark, sealContent } from '../../kernel/content-box.ts';
import { associatedData } from '../../kernel/secret-box.ts';
import { sha256Hex } from '../_shared/auth/sha256.ts';
import { HttpError } from '../_shared/http/errors.ts';
import { contentPolicy } from '../_shared/sql/content-policies.ts';
import type { Ctx } from './types.ts';

export const contentKeyUnavailable = () =>
  new HttpError(409, 'content_key_unavailable', 'Encrypted content needs MESSAGE_CONTENT_KEY, which this gateway is not configured with; ask the operator to set it');

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** What an Idempotency-Key replay is compared by: SHA-256 of the body, keyed (HMAC) for an encrypted tenant. */
export type RequestHasher = (body: unknown) => Promise<string>;

/**
 * A plain tenant's request hash, synchronously (node:crypto, sha256.ts): crypto.subtle.digest's
 * thread-pool round trip was a sixth of the send route's CPU.
 */
export const plainRequestHash = (body: unknown): string => sha256Hex(JSON.stringify(body));
const sha256: RequestHasher = async (body) => plainRequestHash(body);

/**
 * The content to queue, the hasher of the request and, for an encrypted tenant, the id of the row
 * the content is sealed for.
 */
export async function contentToQueue(
  ctx: Pick<Ctx, 'sql' | 'contentKeyring' | 'requestHashKey'>,
  owner: string,
  agent: string,
  content: Record<string, unknown>,
): Promise<{ content: Record<string, unknown>; id?: string; hash: RequestHasher }> {
  const { policy } = await contentPolicy(ctx.sql, owner);
  if (policy !== 'encrypted') return { content, hash: sha256 };
  return await sealedToQueue(ctx, agent, content);
}

/**
 * An encrypted tenant's send: the content sealed for a new row id, and the keyed hasher of the
 * request. 409 content_key_unavailable without MESSAGE_CONTENT_KEY.
 */
export async function sealedToQueue(
  ctx: Pick<Ctx, 'contentKeyring' | 'requestHashKey'>,
  agent: string,
  content: Record<string, unknown>,
): Promise<{ content: Record<string, unknown>; id: string; hash: RequestHasher }> {
  const { contentKeyring, requestHashKey } = ctx;
  if (!contentKeyring || !requestHashKey) throw contentKeyUnavailable();
  const id = crypto.randomUUID();
  const hash: RequestHasher = async (body) => hex(await crypto.subtle.sign('HMAC', requestHashKey, new TextEncoder().encode(JSON.stringify(body))));
  return { id, hash, content: (await sealContent(contentKeyring, content, associatedData.messageContent(agent, id))) as unknown as Record<string, unknown> };
}

function opener(ctx: Pick<Ctx, 'contentKeyring' | 'logger'>) {
  return (content: unknown, ad: string, row: string) =>
    openContentOrMark(ctx.contentKeyring, content as Record<string, unknown>, ad, (error) =>
      ctx.logger.warn({ row, reason: error.message }, 'stored message content cannot be opened'),
    );
}

export async function openMessages<R extends { id: string; agent_id: string; content: unknown }>(ctx: Pick<Ctx, 'contentKeyring' | 'logger'>, rows: R[]): Promise<R[]> {
  const open = opener(ctx);
  return await Promise.all(rows.map(async (r) => ({ ...r, content: await open(r.content, associatedData.messageContent(r.agent_id, r.id), `messages:${r.id}`) })));
}

export async function openInbound<R extends { id: string; wa_message_id: string; content: unknown }>(ctx: Pick<Ctx, 'contentKeyring' | 'logger'>, agent: string, rows: R[]): Promise<R[]> {
  const open = opener(ctx);
  return await Promise.all(rows.map(async (r) => ({ ...r, content: await open(r.content, associatedData.inboundContent(agent, r.wa_message_id), `inbound_messages:${r.id}`) })));
}

/** message.received / message.sent_from_phone carry the inbound row's content, sealed as it is. */
export async function openEvents<R extends { id: string; payload: unknown }>(ctx: Pick<Ctx, 'contentKeyring' | 'logger'>, agent: string, rows: R[]): Promise<R[]> {
  const open = opener(ctx);
  return await Promise.all(
    rows.map(async (r) => {
      const payload = r.payload as { content?: unknown; wa_message_id?: unknown } | null;
      if (!payload || typeof payload.content !== 'object' || payload.content === null || typeof payload.wa_message_id !== 'string') return r;
      return { ...r, payload: { ...payload, content: await open(payload.content, associatedData.inboundContent(agent, payload.wa_message_id), `events:${r.id}`) } };
    }),
  );
}
