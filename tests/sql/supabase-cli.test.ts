/** The real Supabase CLI against the migrated database: security advisors and generated types. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { generateTypes } from '../../scripts/db/gen-types.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

interface Finding {
  name: string;
  level: string;
  categories: string[];
  detail: string;
}

async function securityFindings(url: string): Promise<Finding[]> {
  const { stdout } = await run(path.join(repoRoot, 'node_modules/.bin/supabase'),
    ['db', 'advisors', '--db-url', url, '--type', 'security', '--level', 'warn', '--output-format', 'json'],
    { cwd: repoRoot, env: { ...process.env, PGSSLMODE: 'disable', DO_NOT_TRACK: '1' } });
  return (JSON.parse(stdout) as { results: Finding[] }).results;
}

describe('supabase db advisors', () => {
  it('reports no security finding at WARN or above on the migrated schema', async () => {
    expect(await securityFindings(db.url)).toEqual([]);
  });

  it('does see a table without RLS (so the check above can fail)', async () => {
    await db.sql`create table public.careless (id int primary key)`;
    try {
      const findings = await securityFindings(db.url);
      expect(findings.map((f) => f.name)).toContain('rls_disabled_in_public');
    } finally {
      await db.sql`drop table public.careless`;
    }
  });
});

describe('generated database types', () => {
  it('supabase/types.gen.ts matches the migrations (run `npm run db:types` after a schema change)', async () => {
    const committed = await readFile(path.join(repoRoot, 'supabase/types.gen.ts'), 'utf8');
    expect(await generateTypes(db.url)).toBe(committed);
  });
});
