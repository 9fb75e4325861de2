/** supabase/schema.sql, the readable whole of the migrations, is what the migrations build. */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dumpSchema, SCHEMA_FILE } from '../../scripts/db/dump-schema.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

it('supabase/schema.sql matches the migrations (stale? regenerate with `npm run db:schema`)', async () => {
  const committed = await readFile(SCHEMA_FILE, 'utf8');
  const current = await dumpSchema(db.url);
  expect(current, 'supabase/schema.sql is stale: regenerate it with `npm run db:schema` and commit it').toBe(committed);
});
