/**
 * `npm test`: everything that needs no internet, in order — typecheck, lint, the vitest suites
 * (one folder per component under tests/; the slow tier last) and the Deno suite
 * for the edge code — and a last line `N passed, N failed` that CI reads. Typecheck and lint
 * count as one test each, so a failure there still ends in that line.
 *
 * PostgreSQL: TEST_DATABASE_URL if set, else the local server on 127.0.0.1:5432, else a
 * throwaway cluster started here.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../db/migrate.ts';
import { resolveTestServer } from '../db/server.ts';
import type { Cluster } from '../db/throwaway-cluster.ts';
import { ensureTemplate } from '../db/template.ts';

const results = path.join(repoRoot, 'test-results');
mkdirSync(results, { recursive: true });
const bin = (name: string) => path.join(repoRoot, 'node_modules/.bin', name);
const tally = { passed: 0, failed: 0, skipped: 0 };

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1', ...env } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', () => resolve(1));
  });
}

async function step(name: string, command: string, args: string[]): Promise<void> {
  console.log(`\n== ${name}`);
  const code = await run(command, args);
  if (code === 0) tally.passed++;
  else {
    tally.failed++;
    console.log(`== ${name} FAILED (exit ${code})`);
  }
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: Array<{ name: string; status: string; message?: string; assertionResults: Array<{ status: string }> }>;
}

/**
 * The slow tier, by name: files that kill and restart connector processes and PostgreSQL itself
 * and count what survives. They run after the rest, one at a time, so that they do not share the
 * two cores with another suite's processes (a stall of seconds there is a different test than the
 * one written). A vitest filter matches a file whose path contains it.
 */
const SLOW_TIER = '.slow.test.ts';

async function vitest(tier: 'main' | 'slow'): Promise<void> {
  console.log(tier === 'main' ? '\n== vitest (every component but the slow tier)' : '\n== vitest, slow tier, one file at a time');
  const out = path.join(results, `vitest-${tier}.json`);
  const selection = tier === 'main' ? [`--exclude=**/*${SLOW_TIER}`] : ['--maxWorkers=1', SLOW_TIER];
  const code = await run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...selection]);
  if (!existsSync(out)) {
    tally.failed++;
    console.log(`== vitest produced no report (exit ${code})`);
    return;
  }
  const report = JSON.parse(readFileSync(out, 'utf8')) as VitestJson;
  tally.passed += report.numPassedTests;
  tally.failed += report.numFailedTests;
  tally.skipped += report.numPendingTests + report.numTodoTests;
  // A file that fails to load or whose hooks fail has no failed assertion of its own.
  for (const file of report.testResults) {
    if (file.status === 'failed' && !file.assertionResults.some((a) => a.status === 'failed')) {
      tally.failed++;
      console.log(`== failed outside any test: ${path.relative(repoRoot, file.name)}: ${(file.message ?? '').split('\n')[0]}`);
    }
  }
  if (code !== 0 && report.numFailedTests === 0 && report.testResults.every((f) => f.status !== 'failed')) {
    tally.failed++;
    console.log(`== vitest exited ${code} without a failed test`);
  }
}

async function deno(adminUrl: string): Promise<void> {
  const config = path.join(repoRoot, 'tests/deno/deno.json');
  if (!existsSync(config)) return;
  console.log('\n== deno test (edge code under the Deno runtime)');
  const junit = path.join(results, 'deno.xml');
  const code = await run(bin('deno'), ['test', '--config', config, '--allow-env', '--allow-net', '--allow-read', `--junit-path=${junit}`, 'tests/deno'], {
    TEST_DATABASE_URL: adminUrl,
  });
  if (!existsSync(junit)) {
    tally.failed++;
    return;
  }
  const xml = readFileSync(junit, 'utf8');
  const cases = (xml.match(/<testcase\b/g) ?? []).length;
  const failures = (xml.match(/<failure\b/g) ?? []).length;
  const skipped = (xml.match(/<skipped\b/g) ?? []).length;
  tally.passed += cases - failures - skipped;
  tally.failed += failures;
  tally.skipped += skipped;
  if (code !== 0 && failures === 0) tally.failed++;
}

let cluster: Cluster | undefined;
try {
  const server = await resolveTestServer();
  cluster = server.cluster;
  const adminUrl = server.adminUrl;
  process.env.TEST_DATABASE_URL = adminUrl;

  await step('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  await step('lint', bin('biome'), ['lint', '.']);
  await step('OpenAPI lint (Redocly)', bin('redocly'), ['lint', '--format=summary', 'docs/openapi.json']);
  await ensureTemplate(adminUrl);
  await vitest('main');
  await vitest('slow');
  await deno(adminUrl);
} catch (error) {
  tally.failed++;
  console.log(`== test run aborted: ${(error as Error).message}`);
} finally {
  cluster?.stop();
}
const skipped = tally.skipped ? `, ${tally.skipped} skipped` : '';
console.log(`${tally.passed} passed, ${tally.failed} failed${skipped}`);
process.exit(tally.failed > 0 ? 1 : 0);
