import { defineConfig } from 'vitest/config';

// One config for every Node-side suite, one folder per component (tests/deno runs under Deno).
// Files that use Postgres get their own database (cloned from a migrated template by
// tests/helpers/db.ts), so files may run in parallel. *.slow.test.ts is the slow tier, which
// scripts/test/run.ts runs last, one file at a time.
export default defineConfig({
  test: {
    include: ['tests/{sql,gateway,connector,kernel,simulator,stack}/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['tests/helpers/global-setup.ts'],
    // libsignal prints key material with console.*: scrubbed in every worker (tests/helpers/scrub-console.ts).
    setupFiles: ['tests/helpers/scrub-console.ts'],
  },
});
