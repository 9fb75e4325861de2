// postgres.js 3.4.9 (the newest release) throws from a setImmediate when a connection's socket
// closes while a small write waits to be flushed (upstream issues #1154, #1208; fixes still
// unreleased): `TypeError: Cannot read properties of null (reading 'write')`, uncatchable, and
// the process dies. The connector died this way after a PostgreSQL restart in the crash test.
// patches/postgres+3.4.9.patch (applied by `npm install` through patch-package) settles those
// queries with CONNECTION_CLOSED instead. Run in a child process: unpatched, it exits 1.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const repro = `
import postgres from 'postgres';
const url = process.argv[1];
const sql = postgres(url, { max: 1, onnotice: () => {} });
const admin = postgres(url, { max: 1, onnotice: () => {} });
const reserved = await sql.reserve();
const [{ pid }] = await reserved\`select pg_backend_pid() as pid\`;
await admin\`select pg_terminate_backend(\${pid})\`;
await new Promise((r) => setTimeout(r, 200));
const outcomes = [];
for (let i = 0; i < 2; i++) {
  try { await reserved\`select 1\`; outcomes.push('ok'); } catch (e) { outcomes.push(e.code ?? e.message); }
}
process.stdout.write(JSON.stringify(outcomes));
reserved.release();
await sql.end({ timeout: 1 });
await admin.end({ timeout: 1 });
`;

describe('postgres.js driver patch', () => {
  it('a query on a connection whose backend died is rejected with CONNECTION_CLOSED; the process lives', () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', repro, db.url], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).not.toMatch(/reading 'write'/);
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual(['CONNECTION_CLOSED', 'CONNECTION_CLOSED']);
  });
});
