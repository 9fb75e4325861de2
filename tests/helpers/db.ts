/**
 * A fresh database per test file, cloned from the migrated template built by global-setup.ts.
 *
 *   const db = await createTestDatabase();   // in beforeAll
 *   await db.sql`select 1`;
 *   await db.drop();                         // in afterAll
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { withDatabase } from '../../scripts/db/server.ts';

export type Sql = postgres.Sql;

export interface TestDatabase {
  name: string;
  url: string;
  sql: Sql;
  /** A new connection pool to the same database (for concurrency tests). */
  connect(options?: postgres.Options<Record<string, postgres.PostgresType>>): Sql;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('templateDatabase');
  const name = `wg_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`);
    // Database-level settings are not copied from a template.
    await admin.unsafe(`alter database "${name}" set pgrst.db_schemas = 'public, graphql_public'`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pools: Sql[] = [];
  const connect = (options = {}) => {
    const pool = postgres(url, { max: 4, onnotice: () => {}, ...options });
    pools.push(pool);
    return pool;
  };
  const sql = connect({ max: 6 });
  return {
    name,
    url,
    sql,
    connect,
    async drop() {
      await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}
