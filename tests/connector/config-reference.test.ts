import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { readmeSection, renderConfigReference, undocumentedVariables } from '../../scripts/docs/config-reference.ts';

describe('configuration reference', () => {
  it('every variable of the connector and gateway schemas has a description in its schema', () => {
    expect(undocumentedVariables()).toEqual([]);
  });

  it('is what the README shows (run `npm run docs:config` after changing a schema)', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readmeSection(readme)).toBe(renderConfigReference());
  });
});
