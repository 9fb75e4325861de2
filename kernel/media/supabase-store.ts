// The media store in Supabase Storage: a private bucket (created by a migration), reached with the
// service-role key through supabase-js. Nothing in the bucket is public; only the API (to store)
// and the connector (to read and delete) hold the key.
import { createClient } from '@supabase/supabase-js';
import { assertMediaKey, type MediaStore } from './store.ts';

export interface SupabaseMediaStoreOptions {
  supabaseUrl: string;
  serviceRoleKey: string;
  bucket: string;
  fetch?: typeof fetch;
}

/** Storage answers a missing object with 404 (newer) or 400 carrying statusCode "404" (older). */
function isNotFound(error: { status?: number; statusCode?: string; code?: string } | null): boolean {
  return !!error && (error.status === 404 || error.statusCode === '404' || error.code === 'NoSuchKey' || error.code === 'not_found');
}

/** realtime-js wants a WebSocket class when the client is made (Node 20 has none); Storage never opens one. */
class NoRealtimeSocket {
  constructor() {
    throw new Error('the media store client does not use Realtime');
  }
}

export function createSupabaseMediaStore(opts: SupabaseMediaStoreOptions): MediaStore {
  const client = createClient(opts.supabaseUrl, opts.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: NoRealtimeSocket as never },
    ...(opts.fetch ? { global: { fetch: opts.fetch } } : {}),
  });
  const bucket = () => client.storage.from(opts.bucket);
  return {
    async put(key, bytes, mimetype) {
      assertMediaKey(key);
      // upsert: the key is the content's hash, so an existing object already holds these bytes.
      const { error } = await bucket().upload(key, bytes, { contentType: mimetype, upsert: true });
      if (error) throw new Error(`media store upload failed: ${error.message}`);
    },
    async get(key) {
      assertMediaKey(key);
      const { data, error } = await bucket().download(key).asStream();
      if (isNotFound(error as never)) return undefined;
      if (error || !data) throw new Error(`media store download failed: ${error?.message ?? 'no body'}`);
      return data as ReadableStream<Uint8Array>;
    },
    async delete(keys) {
      for (const key of keys) assertMediaKey(key);
      if (keys.length === 0) return;
      const { error } = await bucket().remove(keys);
      if (error) throw new Error(`media store delete failed: ${error.message}`);
    },
  };
}
