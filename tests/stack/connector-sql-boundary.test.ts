/**
 * The connector's SQL lives in connector/sql/ (one typed function per statement, typed from
 * supabase/types.gen.ts); the rest of the connector calls those functions and holds no SQL text.
 * Read from the source as text: a postgres.js tagged template (`sql`…``, `tx`…``) or
 * `sql.unsafe(…)` anywhere else in connector/ fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [rel] : [];
  });
}

const STATEMENT = [
  // The names a postgres.js instance goes by here: the pool, a transaction, a savepoint, a session's.
  /(?:\b(?:sql|tx|sp|q)|\.sql)\s*(?:<[^`]*>)?\s*`/g,
  // Any tag, typed or not, whose template starts like a statement.
  /[\w)\]>]\s*`\s*(?:select|insert|update|delete|with|lock|listen|notify|truncate)\b/gi,
  /\.unsafe\s*\(/g,
];

/** `file:line: text` of each line where SQL starts, comments left out (they may quote a `q` or a statement). */
function statementsIn(file: string, source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^\s*\/\/.*$/gm, '');
  const lines = new Set(STATEMENT.flatMap((p) => [...text.matchAll(p)].map((m) => text.slice(0, m.index).split('\n').length)));
  const all = source.split('\n');
  return [...lines].sort((a, b) => a - b).map((n) => `${file}:${n}: ${all[n - 1]!.trim()}`);
}

const statements = (file: string) => statementsIn(file, readFileSync(path.join(repoRoot, file), 'utf8'));
const files = sourceFiles('connector');
const inSqlFolder = (file: string) => file.startsWith('connector/sql/');

describe('connector SQL boundary', () => {
  it('recognises statements, and not their mention in a comment', () => {
    const sample = [
      'const rows = await sql`select 1`;',
      'await tx<Row[]>`update t set a = 1`;',
      'await this.deps.sql`select gateway.release_sessions(1)`;',
      'const q2 = db<X>`',
      '  delete from t`;',
      'await sql.unsafe(text);',
      '// await sql`select 1`',
      '/** through `q` (the pool) */',
      'const label = `selected rows`;',
    ].join('\n');
    expect(statementsIn('sample.ts', sample).map((s) => s.split(':')[1])).toEqual(['1', '2', '3', '4', '6']);
  });

  it('finds the statements of connector/sql/ (the check can fail)', () => {
    const found = files.filter(inSqlFolder).flatMap(statements);
    expect(found.some((s) => s.startsWith('connector/sql/leases.ts:'))).toBe(true);
    expect(found.some((s) => s.startsWith('connector/sql/jobs.ts:') && s.includes('tx<'))).toBe(true);
  });

  it('no SQL statement in connector/ outside connector/sql/', () => {
    expect(files.filter((f) => !inSqlFolder(f)).flatMap(statements)).toEqual([]);
  });
});
