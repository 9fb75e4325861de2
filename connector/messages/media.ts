// Media bytes for a send, read at send time (claims carry no bytes): an upload from the media
// store (size limit while streaming, sha256 checked against the reference), a URL fetched through
// the SSRF guard (scheme, DNS-vetted address, re-checked redirects, size limit while streaming,
// timeout), or base64 in a row queued before uploads moved to the media store. The MIME type
// must be one WhatsApp accepts for the kind (the API's allow-list); a server answering
// application/octet-stream is accepted only when the API request named the type itself.
import { createHash } from 'node:crypto';
import { MIME_ALLOW_LIST } from '../../kernel/message-content.ts';
import { type MediaStore, MediaTooLargeError, readAll } from '../../kernel/media/store.ts';
import { GuardError, type UrlGuard } from '../net/guard.ts';
import type { ContentDeps, MediaKind, MediaRef } from './content.ts';
import { permanent, SendError, transient } from './errors.ts';

export interface MediaLoaderOptions {
  guard: UrlGuard;
  maxBytes: number;
  timeoutMs: number;
  /** Where uploads are; without one, a send of an upload fails as media_unavailable. */
  store?: MediaStore;
}

async function fromStore(store: MediaStore | undefined, ref: { key: string; sha256: string }, maxBytes: number): Promise<Buffer> {
  if (!store) throw permanent('media_unavailable', 'no media store is configured');
  let bytes: Uint8Array;
  try {
    const stream = await store.get(ref.key);
    if (!stream) throw permanent('media_unavailable', 'the upload is no longer in the media store');
    bytes = await readAll(stream, maxBytes);
  } catch (error) {
    if (error instanceof MediaTooLargeError) throw permanent('media_too_large', error.message);
    if (error instanceof SendError) throw error;
    throw transient('media_store_failed', `media store: ${error instanceof Error ? error.message : String(error)}`);
  }
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (createHash('sha256').update(data).digest('hex') !== ref.sha256) throw permanent('media_unavailable', 'the stored upload does not match its sha256');
  return data;
}

const base = (m: string | undefined) => m?.split(';')[0]?.trim().toLowerCase() || undefined;

export function createMediaLoader(opts: MediaLoaderOptions): ContentDeps['loadMedia'] {
  return async (media: MediaRef, kind: MediaKind) => {
    const allowed = MIME_ALLOW_LIST[kind];
    const stated = base(media.mimetype);
    if ('url' in media && media.url) {
      let res: Awaited<ReturnType<UrlGuard['request']>>;
      try {
        res = await opts.guard.request(media.url, { followRedirects: true, maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs });
      } catch (error) {
        if (error instanceof GuardError) {
          const reason = `media url: ${error.message}`;
          throw error.retryable ? transient('media_fetch_failed', reason) : permanent(error.code === 'too_large' ? 'media_too_large' : 'media_refused', reason);
        }
        throw error;
      }
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw transient('media_fetch_failed', `media url answered HTTP ${res.status}`);
      if (res.status < 200 || res.status >= 300) throw permanent('media_unavailable', `media url answered HTTP ${res.status}`);
      const served = res.mimetype;
      let mimetype: string | undefined;
      if (served && allowed.includes(served)) mimetype = stated ?? served;
      else if ((!served || served === 'application/octet-stream') && stated && allowed.includes(stated)) mimetype = stated;
      if (!mimetype) throw permanent('unsupported_media_type', `media url served ${served ?? 'no content type'}; ${kind} accepts ${allowed.join(', ')}`);
      if (res.body.length === 0) throw permanent('media_unavailable', 'media url returned an empty body');
      return { data: res.body, mimetype: media.mimetype ?? mimetype };
    }
    if ('key' in media && typeof media.key === 'string') {
      if (!stated || !allowed.includes(stated)) throw permanent('unsupported_media_type', `${kind} accepts ${allowed.join(', ')}`);
      return { data: await fromStore(opts.store, media, opts.maxBytes), mimetype: media.mimetype };
    }
    if (!('data' in media) || typeof media.data !== 'string') {
      throw permanent('media_unavailable', media && 'data_removed' in media && media.data_removed ? 'inline media was removed after an earlier send' : 'no media data or url');
    }
    if (!stated || !allowed.includes(stated)) throw permanent('unsupported_media_type', `${kind} accepts ${allowed.join(', ')}`);
    const data = Buffer.from(media.data, 'base64');
    if (data.length > opts.maxBytes) throw permanent('media_too_large', `media is larger than ${opts.maxBytes} bytes`);
    return { data, mimetype: media.mimetype };
  };
}
