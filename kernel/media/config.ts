// The media store named by the environment, for the API (edge function) and the connector alike:
//
// MEDIA_STORE and the variables below (described in the shape), and with `supabase` the
// process's SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEY, the connector's
// Realtime key).
// A missing or bad value throws ConfigError naming the variable, so a process stops at start.
// Both processes' schemas include mediaStoreEnvShape (validated and documented with the rest).
import { z } from 'zod';
import { type EnvMap, parseEnv } from '../env-schema.ts';
import { ConfigError } from '../secret-box.ts';
import type { MediaStore } from './store.ts';

export const DEFAULT_MEDIA_BUCKET = 'wa-gateway-media';

export const mediaStoreEnvShape = {
  // Optional to the schema so a connector without the message path (tests) starts without it;
  // mediaStoreFromEnv requires it.
  MEDIA_STORE: z
    .enum(['supabase', 'folder'], { error: 'must be supabase or folder' })
    .optional()
    .meta({ required: 'always', description: 'Where base64 uploads are kept (queue rows hold a reference). `npm start` uses `folder` under its data directory.' }),
  MEDIA_STORE_BUCKET: z.string().default(DEFAULT_MEDIA_BUCKET).describe('With `supabase`: the private Storage bucket (created by a migration where Storage exists).'),
  MEDIA_STORE_DIR: z.string().optional().meta({ accepts: 'path', description: 'With `folder`: the directory. Required then.' }),
};
const mediaStoreEnvSchema = z.object(mediaStoreEnvShape);

function required(env: EnvMap, name: string, why: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, `is required ${why}`);
  return value;
}

export async function mediaStoreFromEnv(env: EnvMap): Promise<MediaStore> {
  const e = parseEnv(mediaStoreEnvSchema, env);
  const kind = e.MEDIA_STORE;
  if (!kind) throw new ConfigError('MEDIA_STORE', 'is required (supabase or folder): media bytes are kept in a media store, not in queue rows');
  if (kind === 'folder') {
    // A computed specifier: the folder store uses node:fs (hence kernel/node/), which the edge
    // function's Deno type check cannot resolve offline; Deno still loads it at run time (npm
    // start, tests).
    const folderModule = '../node/media-folder-store.ts';
    const { createFolderMediaStore } = (await import(folderModule)) as { createFolderMediaStore(root: string): MediaStore };
    return createFolderMediaStore(required(env, 'MEDIA_STORE_DIR', 'when MEDIA_STORE=folder'));
  }
  const { createSupabaseMediaStore } = await import('./supabase-store.ts');
  return createSupabaseMediaStore({
    supabaseUrl: required(env, 'SUPABASE_URL', 'when MEDIA_STORE=supabase'),
    // The edge runtime injects SUPABASE_SERVICE_ROLE_KEY; connectors may hold SUPABASE_SECRET_KEY.
    serviceRoleKey: env.SUPABASE_SECRET_KEY?.trim() && !env.SUPABASE_SERVICE_ROLE_KEY?.trim()
      ? env.SUPABASE_SECRET_KEY.trim()
      : required(env, 'SUPABASE_SERVICE_ROLE_KEY', 'when MEDIA_STORE=supabase (or SUPABASE_SECRET_KEY)'),
    bucket: e.MEDIA_STORE_BUCKET.trim() || DEFAULT_MEDIA_BUCKET,
  });
}
