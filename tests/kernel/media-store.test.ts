// The local folder media store (npm start, tests) and the media store configuration.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mediaStoreFromEnv } from '../../kernel/media/config.ts';
import { createFolderMediaStore } from '../../kernel/node/media-folder-store.ts';
import { MediaTooLargeError, mediaKey, readAll } from '../../kernel/media/store.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'wg-unit-media-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyOf = (owner: string, bytes: Buffer) => mediaKey(owner, createHash('sha256').update(bytes).digest('hex'));

describe('folder media store', () => {
  const store = createFolderMediaStore(dir);
  const owner = randomUUID();

  it('stores, streams back and deletes; a missing key is undefined; no temporary file stays', async () => {
    const bytes = Buffer.from(`hello ${randomUUID()}`);
    const key = keyOf(owner, bytes);
    await store.put(key, bytes, 'image/png');
    await store.put(key, bytes, 'image/png'); // content-addressed: storing again is harmless
    expect(Buffer.from(await readAll((await store.get(key))!, 1024))).toEqual(bytes);
    expect(readdirSync(path.join(dir, owner)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await store.delete([key, keyOf(owner, Buffer.from('never stored'))]);
    expect(await store.get(key)).toBeUndefined();
  });

  it('refuses keys outside the <owner>/<sha256> shape (no path escapes)', async () => {
    await expect(store.put('../etc/passwd', Buffer.from('x'), 'text/plain')).rejects.toThrow(/malformed media key/);
    await expect(store.get(`${owner}/../../x`)).rejects.toThrow(/malformed media key/);
  });

  it('readAll stops at the byte limit', async () => {
    const bytes = Buffer.alloc(5000, 1);
    const key = keyOf(owner, bytes);
    await store.put(key, bytes, 'application/pdf');
    await expect(readAll((await store.get(key))!, 4999)).rejects.toBeInstanceOf(MediaTooLargeError);
  });
});

describe('media store configuration', () => {
  it('names the missing variable', async () => {
    await expect(mediaStoreFromEnv({})).rejects.toThrow(/^MEDIA_STORE: is required/);
    await expect(mediaStoreFromEnv({ MEDIA_STORE: 'disk' })).rejects.toThrow(/^MEDIA_STORE: must be supabase or folder/);
    await expect(mediaStoreFromEnv({ MEDIA_STORE: 'folder' })).rejects.toThrow(/^MEDIA_STORE_DIR: is required/);
    await expect(mediaStoreFromEnv({ MEDIA_STORE: 'supabase', SUPABASE_URL: 'https://x.supabase.co' })).rejects.toThrow(/^SUPABASE_SERVICE_ROLE_KEY: is required/);
    await expect(mediaStoreFromEnv({ MEDIA_STORE: 'folder', MEDIA_STORE_DIR: dir })).resolves.toBeDefined();
  });
});
