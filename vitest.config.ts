import { defineConfig } from 'vitest/config';

// One config for every Node-side suite. Integration and e2e files get their own database
// (cloned from a migrated template by tests/helpers/db.ts), so files may run in parallel.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['tests/helpers/global-setup.ts'],
  },
});
