/**
 * The embedded database of `npm start`: PGlite (PostgreSQL compiled to WASM, in this process)
 * with its data under .data/pglite, the same bootstrap and migrations as every other database,
 * served on a loopback port by pglite-socket so postgres.js clients connect as to any server.
 *
 * PGlite is one backend: clients must share ONE connection (postgres.js `max: 1`), because
 * interleaved extended-protocol messages from several connections break it, and LISTEN delivers
 * nothing over the socket — the connector's polling sweep covers that. Concurrency is real
 * PostgreSQL's job (set DATABASE_URL); this is for trying the gateway on one machine.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { repoRoot } from '../db/migrate.ts';
import { freePort } from '../db/throwaway-cluster.ts';

export interface EmbeddedDatabase {
  url: string;
  applied: string[];
  stop(): Promise<void>;
}

/** Applies the bootstrap once and every migration not yet recorded, in file order. */
async function migrateEmbedded(db: PGlite): Promise<string[]> {
  await db.exec(readFileSync(path.join(repoRoot, 'supabase/bootstrap/plain-postgres.sql'), 'utf8'));
  await db.exec(`create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (version text primary key, name text)`);
  const done = new Set((await db.query<{ version: string }>('select version from supabase_migrations.schema_migrations')).rows.map((r) => r.version));
  const applied: string[] = [];
  const dir = path.join(repoRoot, 'supabase/migrations');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const version = file.split('_')[0]!;
    if (done.has(version)) continue;
    await db.transaction(async (tx) => {
      await tx.exec(readFileSync(path.join(dir, file), 'utf8'));
      await tx.query('insert into supabase_migrations.schema_migrations (version, name) values ($1, $2)', [version, file]);
    });
    applied.push(file);
  }
  return applied;
}

export async function startEmbeddedDatabase(dataDir = path.join(repoRoot, '.data/pglite'), port?: number): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir, extensions: { pgcrypto } });
  const applied = await migrateEmbedded(db);
  const listenPort = port ?? (await freePort());
  const server = new PGLiteSocketServer({ db, port: listenPort, host: '127.0.0.1', maxConnections: 8 });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${listenPort}/postgres`,
    applied,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** True when a database URL points at the embedded server (callers then use one connection). */
export function isEmbeddedUrl(url: string, embedded?: EmbeddedDatabase): boolean {
  return embedded !== undefined && url === embedded.url;
}
