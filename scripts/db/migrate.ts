/**
 * Creates the schema in a database the way a Supabase user deploys it: on plain Postgres the
 * bootstrap (roles, auth, extensions, publication) first, then `supabase db push` with the real
 * CLI. On a real Supabase project only `supabase db push` is needed.
 *
 *   tsx scripts/db/migrate.ts postgresql://postgres@127.0.0.1:5432/mydb [--no-bootstrap]
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function applyBootstrap(databaseUrl: string): Promise<void> {
  const text = await readFile(path.join(repoRoot, 'supabase/bootstrap/plain-postgres.sql'), 'utf8');
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.end();
  }
}

export async function pushMigrations(databaseUrl: string): Promise<void> {
  const bin = path.join(repoRoot, 'node_modules/.bin/supabase');
  try {
    await run(bin, ['db', 'push', '--db-url', databaseUrl, '--yes'], {
      cwd: repoRoot,
      env: { ...process.env, PGSSLMODE: 'disable', SUPABASE_YES: '1', DO_NOT_TRACK: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    throw new Error(`supabase db push failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

export async function migrate(databaseUrl: string, { bootstrap = true } = {}): Promise<void> {
  if (bootstrap) await applyBootstrap(databaseUrl);
  await pushMigrations(databaseUrl);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const url = process.argv[2] ?? process.env.DATABASE_URL;
  if (!url) {
    console.error('usage: tsx scripts/db/migrate.ts <postgres-url> [--no-bootstrap] (or set DATABASE_URL)');
    process.exit(2);
  }
  await migrate(url, { bootstrap: !process.argv.includes('--no-bootstrap') });
  console.log('schema is up to date');
}
