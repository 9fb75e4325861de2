/**
 * The edge function's SQL lives in edge-functions/_shared/sql/, one typed function per
 * statement: routes validate, authorise, call those and map the rows. A query written anywhere
 * else under edge-functions/ (a postgres.js tagged template, sql.unsafe, sql.json) fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';

const SQL_MODULE = 'edge-functions/_shared/sql/';

function files(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

/** `sql\`…\``, `sql<Row[]>\`…\``, `options.sql\`…\``, `sql.unsafe(…)`, `sql.json(…)`, in any casing of the name. */
const QUERY = /\b\w*sql(?:<[^`]*?>)?\s*`|\bsql\s*\.\s*(?:unsafe|json|begin|file)\s*\(/gi;

const queries = (file: string) => [...readFileSync(path.join(repoRoot, file), 'utf8').matchAll(QUERY)].map((m) => `${file}: ${m[0]}`);

describe('SQL in the edge function', () => {
  const all = files('edge-functions');

  it('finds the queries of the data-access module (so the check below can fail)', () => {
    const inModule = all.filter((f) => f.startsWith(SQL_MODULE)).flatMap(queries);
    expect(inModule.some((q) => q.includes('sql<AgentRow[]>`'))).toBe(true);
    expect(inModule.some((q) => q.includes('sql.json('))).toBe(true);
  });

  it(`is written only in ${SQL_MODULE}`, () => {
    expect(all.filter((f) => !f.startsWith(SQL_MODULE)).flatMap(queries)).toEqual([]);
  });
});
