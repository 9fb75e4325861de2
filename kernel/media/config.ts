// The media store named by the environment, for the API (edge function) and the connector alike:
//
//   MEDIA_STORE                supabase | folder (required: media bytes never go into queue rows)
//   MEDIA_STORE_BUCKET         supabase: the private bucket (default wa-gateway-media)
//   SUPABASE_URL               supabase: the project URL
//   SUPABASE_SERVICE_ROLE_KEY  supabase: the key Storage accepts for a private bucket
//                              (SUPABASE_SECRET_KEY, the connector's Realtime key, also works)
//   MEDIA_STORE_DIR            folder: the directory (npm start puts it under the data directory)
//
// A missing or bad value throws ConfigError naming the variable, so a process stops at start.
import { ConfigError } from '../secret-box.ts';
import type { MediaStore } from './store.ts';

type EnvMap = Record<string, string | undefined>;

export const DEFAULT_MEDIA_BUCKET = 'wa-gateway-media';

function required(env: EnvMap, name: string, why: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, `is required ${why}`);
  return value;
}

export async function mediaStoreFromEnv(env: EnvMap): Promise<MediaStore> {
  const kind = required(env, 'MEDIA_STORE', '(supabase or folder): media bytes are kept in a media store, not in queue rows');
  if (kind === 'folder') {
    // A computed specifier: the folder store uses node:fs (hence kernel/node/), which the edge
    // function's Deno type check cannot resolve offline; Deno still loads it at run time (npm
    // start, tests).
    const folderModule = '../node/media-folder-store.ts';
    const { createFolderMediaStore } = (await import(folderModule)) as { createFolderMediaStore(root: string): MediaStore };
    return createFolderMediaStore(required(env, 'MEDIA_STORE_DIR', 'when MEDIA_STORE=folder'));
  }
  if (kind === 'supabase') {
    const { createSupabaseMediaStore } = await import('./supabase-store.ts');
    return createSupabaseMediaStore({
      supabaseUrl: required(env, 'SUPABASE_URL', 'when MEDIA_STORE=supabase'),
      // The edge runtime injects SUPABASE_SERVICE_ROLE_KEY; connectors may hold SUPABASE_SECRET_KEY.
      serviceRoleKey: env.SUPABASE_SECRET_KEY?.trim() && !env.SUPABASE_SERVICE_ROLE_KEY?.trim()
        ? env.SUPABASE_SECRET_KEY.trim()
        : required(env, 'SUPABASE_SERVICE_ROLE_KEY', 'when MEDIA_STORE=supabase (or SUPABASE_SECRET_KEY)'),
      bucket: env.MEDIA_STORE_BUCKET?.trim() || DEFAULT_MEDIA_BUCKET,
    });
  }
  throw new ConfigError('MEDIA_STORE', 'must be supabase or folder');
}
