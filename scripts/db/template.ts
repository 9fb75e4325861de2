/**
 * The migrated template database, named after a hash of the bootstrap and migrations: built once
 * per schema by the vitest global setup (tests/helpers/global-setup.ts) and by `npm test`
 * (scripts/test/run.ts); test databases are cloned from it (tests/helpers/db.ts).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { migrate, repoRoot } from './migrate.ts';
import { withDatabase } from './server.ts';

export async function schemaHash(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await readFile(path.join(repoRoot, 'supabase/bootstrap/plain-postgres.sql')));
  const dir = path.join(repoRoot, 'supabase/migrations');
  for (const file of (await readdir(dir)).sort()) {
    hash.update(file);
    hash.update(await readFile(path.join(dir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

export async function ensureTemplate(adminUrl: string): Promise<string> {
  const name = `wg_tpl_${await schemaHash()}`;
  const building = `${name}_building`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // Several test runs may start at once: one builds, the others wait for the finished template.
    for (let waited = 0; ; waited += 250) {
      const [row] = await admin`select datistemplate from pg_database where datname = ${name}`;
      if (row?.datistemplate) return name;
      const [lock] = await admin`select pg_try_advisory_lock(hashtext(${name})) as got`;
      if (lock?.got) break;
      if (waited > 180_000) throw new Error(`timed out waiting for template ${name}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const [ready] = await admin`select datistemplate from pg_database where datname = ${name}`;
    if (ready?.datistemplate) return name;
    // Templates of older schemas are dead weight (clones already made from them are unaffected).
    const stale = await admin`select datname from pg_database where datname like 'wg_tpl_%' and datname <> ${name}`;
    for (const row of stale) {
      await admin.unsafe(`alter database "${row.datname}" is_template false`);
      await admin.unsafe(`drop database if exists "${row.datname}" with (force)`);
    }
    await admin.unsafe(`drop database if exists "${building}" with (force)`);
    await admin.unsafe(`create database "${building}"`);
    await migrate(withDatabase(adminUrl, building));
    await admin.unsafe(`alter database "${building}" rename to "${name}"`);
    await admin.unsafe(`alter database "${name}" is_template true allow_connections false`);
    return name;
  } finally {
    await admin.end();
  }
}
