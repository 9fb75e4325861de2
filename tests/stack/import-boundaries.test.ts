/**
 * Who may import whom, read from the source as text (README, "Layout"):
 *   - edge-functions/ is the deployed function: only the functions import it, and the hosts that
 *     run the function itself (tests/, and the two dev scripts that serve it on Node). Code the
 *     connector shares with the function lives in kernel/.
 *   - kernel/ imports only kernel/, and uses no Node built-ins outside kernel/node/, so the
 *     function (Deno) and the connector (Node) both load it.
 *   - tests/ is imported by nothing outside tests/: what scripts share with tests lives in scripts/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';

/** Serve the gateway app on Node (npm start, benchmarks): they host the function, as tests do. */
const FUNCTION_HOSTS = ['scripts/dev/serve-api.ts', 'scripts/dev/stack.ts'];
const SKIPPED = new Set(['node_modules', '.git', '.data', 'test-results', '.temp']);

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) return SKIPPED.has(e.name) ? [] : sourceFiles(rel);
    return /\.(ts|tsx|mts|js|mjs)$/.test(e.name) ? [rel] : [];
  });
}

/** Every import of every source file: the specifier, and for a relative one the repo path it names. */
const imports = sourceFiles('').flatMap((file) =>
  [...readFileSync(path.join(repoRoot, file), 'utf8').matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => {
    const specifier = m[1]!;
    const target = specifier.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : undefined;
    return { file, specifier, target };
  }),
);
const under = (dir: string, file: string | undefined) => file?.startsWith(`${dir}/`) ?? false;
const show = (i: (typeof imports)[number]) => `${i.file}: ${i.specifier}`;

describe('import boundaries', () => {
  it('finds the imports it checks', () => {
    expect(imports.some((i) => i.file === 'connector/main.ts' && i.target === 'kernel/media/config.ts')).toBe(true);
  });

  it('nothing outside edge-functions/ imports it, except hosts of the function', () => {
    const outside = imports.filter(
      (i) => under('edge-functions', i.target) && !under('edge-functions', i.file) && !under('tests', i.file) && !FUNCTION_HOSTS.includes(i.file),
    );
    expect(outside.map(show)).toEqual([]);
  });

  it('nothing outside tests/ imports from tests/', () => {
    expect(imports.filter((i) => under('tests', i.target) && !under('tests', i.file)).map(show)).toEqual([]);
  });

  it('kernel/ imports only kernel/, and Node built-ins only in kernel/node/', () => {
    const kernel = imports.filter((i) => under('kernel', i.file));
    expect(kernel.filter((i) => i.target && !under('kernel', i.target)).map(show)).toEqual([]);
    expect(kernel.filter((i) => i.specifier.startsWith('node:') && !under('kernel/node', i.file)).map(show)).toEqual([]);
  });
});
