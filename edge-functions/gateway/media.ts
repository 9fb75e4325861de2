// A base64 upload becomes an object in the media store and a reference in the queued content
// (docs/invariants.md, invariant 6). Registered first, then stored: retention never deletes an object whose
// registration is fresh, and it holds the registry row locked while it deletes one, so an upload
// racing a deletion waits and then stores the bytes again.
import { HttpError } from '../_shared/http/errors.ts';
import { registerMedia } from '../_shared/sql/messages.ts';
import type { Sql } from '../_shared/sql/types.ts';
import { decodeBase64, type MediaStore, mediaKey, sha256Hex, type StoredMediaRef } from '../../kernel/media/store.ts';
import type { Logger } from './types.ts';

export async function storeInlineMedia(
  deps: { sql: Sql; mediaStore: MediaStore; logger: Logger },
  ownerId: string,
  content: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const media = content.media as { data?: unknown; mimetype?: string; filename?: string } | undefined;
  if (!media || typeof media.data !== 'string') return content;
  const bytes = decodeBase64(media.data);
  const sha256 = await sha256Hex(bytes);
  const key = mediaKey(ownerId, sha256);
  await registerMedia(deps.sql, ownerId, key, sha256, bytes.byteLength);
  try {
    await deps.mediaStore.put(key, bytes, media.mimetype ?? 'application/octet-stream');
  } catch (error) {
    deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'storing media failed');
    throw new HttpError(503, 'unavailable', 'The media store is unavailable; try again', undefined, { 'Retry-After': '5' });
  }
  const ref: StoredMediaRef = { key, sha256, size: bytes.byteLength, mimetype: media.mimetype ?? 'application/octet-stream' };
  if (media.filename) ref.filename = media.filename;
  return { ...content, media: ref };
}
