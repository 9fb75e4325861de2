/**
 * Test files live in one folder per component (README, "Layout"), and vitest runs those folders
 * only: a test file anywhere else under tests/ would never run, so it fails here instead.
 * tests/deno runs under Deno (its own runner), tests/helpers holds no tests.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.ts';
import { repoRoot } from '../../scripts/db/migrate.ts';

const COMPONENTS = ['sql', 'gateway', 'connector', 'kernel', 'simulator', 'stack'];

const testFiles = (readdirSync(path.join(repoRoot, 'tests'), { recursive: true }) as string[])
  .map((f) => f.split(path.sep).join('/'))
  .filter((f) => f.endsWith('.test.ts') && !f.startsWith('deno/'));

describe('test layout', () => {
  it('vitest runs exactly the component folders', () => {
    expect(config.test?.include).toEqual([`tests/{${COMPONENTS.join(',')}}/**/*.test.ts`]);
  });

  it('every test file is in a component folder', () => {
    expect(testFiles.length).toBeGreaterThan(COMPONENTS.length);
    expect(testFiles.filter((f) => !COMPONENTS.includes(f.split('/')[0]!))).toEqual([]);
  });
});
