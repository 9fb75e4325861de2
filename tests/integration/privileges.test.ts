// Privileges that later migrations inherit: a function or table created after today's migrations
// must not be reachable by PUBLIC or the Data API roles until a migration grants it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

/** Runs `fn` in a transaction that is always rolled back (probe objects never stay). */
async function rolledBack<T>(fn: (tx: TestDatabase['sql']) => Promise<T>): Promise<T> {
  let out: T | undefined;
  const rollback = new Error('rollback');
  await db.sql
    .begin(async (tx) => {
      out = await fn(tx as unknown as TestDatabase['sql']);
      throw rollback;
    })
    .catch((error) => {
      if (error !== rollback) throw error;
    });
  return out as T;
}

describe('default privileges', () => {
  it('a function created later in gateway is not executable by PUBLIC, anon or authenticated; service_role may', async () => {
    const acl = await rolledBack(async (tx) => {
      await tx.unsafe('create function gateway.probe_later() returns int language sql set search_path = \'\' as $$ select 1 $$');
      const [row] = await tx`select proacl::text[] as acl,
          has_function_privilege('anon', 'gateway.probe_later()', 'execute') as anon,
          has_function_privilege('authenticated', 'gateway.probe_later()', 'execute') as authenticated,
          has_function_privilege('service_role', 'gateway.probe_later()', 'execute') as service_role
        from pg_proc where proname = 'probe_later'`;
      return row!;
    });
    // PUBLIC appears in an ACL as an entry with an empty grantee: "=X/owner".
    expect((acl.acl as string[]).filter((entry) => entry.startsWith('='))).toEqual([]);
    expect(acl).toMatchObject({ anon: false, authenticated: false, service_role: true });
  });

  it('a function created later in public is not executable by PUBLIC, anon or authenticated', async () => {
    const row = await rolledBack(async (tx) => {
      await tx.unsafe('create function public.probe_later() returns int language sql set search_path = \'\' as $$ select 1 $$');
      const [r] = await tx`select proacl::text[] as acl,
          has_function_privilege('anon', 'public.probe_later()', 'execute') as anon,
          has_function_privilege('authenticated', 'public.probe_later()', 'execute') as authenticated
        from pg_proc where proname = 'probe_later'`;
      return r!;
    });
    expect(((row.acl as string[] | null) ?? []).filter((entry) => entry.startsWith('='))).toEqual([]);
    expect(row).toMatchObject({ anon: false, authenticated: false });
  });

  it('a table created later in public gives anon nothing and authenticated only SELECT (RLS decides which rows)', async () => {
    const row = await rolledBack(async (tx) => {
      await tx.unsafe('create table public.probe_later (id int)');
      const [r] = await tx`select
          has_table_privilege('anon', 'public.probe_later', 'select') as anon_select,
          has_table_privilege('anon', 'public.probe_later', 'insert') as anon_insert,
          has_table_privilege('authenticated', 'public.probe_later', 'select') as auth_select,
          has_table_privilege('authenticated', 'public.probe_later', 'insert, update, delete, truncate') as auth_write,
          has_table_privilege('service_role', 'public.probe_later', 'insert') as service_insert`;
      return r!;
    });
    expect(row).toEqual({ anon_select: false, anon_insert: false, auth_select: true, auth_write: false, service_insert: true });
  });
});
