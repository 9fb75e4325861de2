// The media store in a local folder: `npm start` (under the data directory) and tests. A write
// goes to a temporary file in the same folder and is renamed into place, so a reader never sees
// half an object and a crash leaves at most a stray temporary file.
// Node built-ins (kernel/node/): reached only through mediaStoreFromEnv's computed import, never
// in the edge function's static module graph; Deno runs it through its Node compatibility.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { assertMediaKey, type MediaStore } from '../media/store.ts';

export function createFolderMediaStore(root: string): MediaStore {
  const base = path.resolve(root);
  const fileOf = (key: string) => {
    assertMediaKey(key); // the pattern admits no '..' and one '/', so the path stays under base
    return path.join(base, ...key.split('/'));
  };
  return {
    async put(key, bytes) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const temp = `${file}.${randomUUID()}.tmp`;
      try {
        await writeFile(temp, bytes, { mode: 0o600 });
        await rename(temp, file);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async get(key) {
      const file = fileOf(key);
      try {
        await stat(file);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return undefined;
        throw error;
      }
      return Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    },
    async delete(keys) {
      for (const key of keys) await rm(fileOf(key), { force: true });
    },
  };
}
