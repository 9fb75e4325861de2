/**
 * Regenerates supabase/types.gen.ts with the real Supabase CLI from a migrated database.
 *
 *   npm run db:types                 (builds a scratch database from the migrations)
 *   tsx scripts/db/gen-types.ts URL  (an already migrated database)
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { migrate, repoRoot } from './migrate.ts';
import { withDatabase } from './server.ts';

const run = promisify(execFile);

export async function generateTypes(databaseUrl: string): Promise<string> {
  const { stdout } = await run(
    path.join(repoRoot, 'node_modules/.bin/supabase'),
    ['gen', 'types', '--lang', 'typescript', '--db-url', databaseUrl, '--schema', 'public,gateway'],
    { cwd: repoRoot, env: { ...process.env, PGSSLMODE: 'disable', DO_NOT_TRACK: '1' }, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  let url = process.argv[2];
  let cleanup = async () => {};
  if (!url) {
    const admin = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
    const name = `wg_types_${process.pid}`;
    const sql = postgres(admin, { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
    url = withDatabase(admin, name);
    await migrate(url);
    cleanup = async () => {
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    };
  }
  try {
    await writeFile(path.join(repoRoot, 'supabase/types.gen.ts'), await generateTypes(url));
    console.log('wrote supabase/types.gen.ts');
  } finally {
    await cleanup();
  }
}
