import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { allConfigVariables, DESCRIPTIONS, readmeSection, renderConfigReference } from '../../scripts/docs/config-reference.ts';

describe('configuration reference', () => {
  it('describes every variable of the connector and message-path schemas, and nothing that is not in them', () => {
    expect(Object.keys(DESCRIPTIONS).sort()).toEqual(allConfigVariables());
  });

  it('is what the README shows (run `npm run docs:config` after changing the schema)', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readmeSection(readme)).toBe(renderConfigReference());
  });
});
