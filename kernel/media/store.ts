// Where media bytes live (docs/invariants.md, invariant 6): never in queue rows, never in the Realtime
// publication. The API stores an upload and queues a reference; the connector reads the bytes
// back at send time; the retention job deletes what no queued send needs any more.
//
// Keys are content-addressed per tenant, `<owner uuid>/<sha256 hex>`: a repeated upload lands on
// the same object, and a key can never name a path outside its tenant's prefix.
// Runtime-neutral (Deno and Node): web streams and crypto.subtle only.

export interface MediaStore {
  /** Stores the bytes under `key`; storing the same key again is harmless (same content). */
  put(key: string, bytes: Uint8Array, mimetype: string): Promise<void>;
  /** The stored bytes as a stream, or undefined when the object does not exist. */
  get(key: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Deletes the objects; keys that do not exist are ignored. */
  delete(keys: string[]): Promise<void>;
}

/** What a queued row keeps of an upload (messages.content.media). */
export interface StoredMediaRef {
  key: string;
  sha256: string;
  size: number;
  mimetype: string;
  filename?: string;
}

export const MEDIA_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/[0-9a-f]{64}$/;

export function mediaKey(ownerId: string, sha256: string): string {
  const key = `${ownerId.toLowerCase()}/${sha256}`;
  if (!MEDIA_KEY.test(key)) throw new Error('media key needs an owner uuid and a sha256 hex digest');
  return key;
}

export function assertMediaKey(key: string): void {
  if (!MEDIA_KEY.test(key)) throw new Error('malformed media key');
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function decodeBase64(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export class MediaTooLargeError extends Error {}

/** Reads a stream to the end, refusing more than maxBytes (the stream is cancelled then). */
export async function readAll(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new MediaTooLargeError(`media is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
