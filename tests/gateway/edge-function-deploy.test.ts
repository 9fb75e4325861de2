/**
 * The deploy path of the edge functions, as `supabase functions deploy` sees it: the functions
 * live in top-level edge-functions/, and supabase/config.toml points at each one's entrypoint
 * and import map. The bundler has that import map and nothing else (no package.json, no
 * node_modules), so:
 *   - config.toml's entrypoint and import_map exist;
 *   - the function type-checks (`deno check`) with its own deno.json;
 *   - every bare import in its module graph is in that import map (offline, Deno resolves bare
 *     names from node_modules too, which would hide a missing entry until deploy);
 *   - what it loads at run time is in edge-functions/ and kernel/ (the generated database types
 *     in supabase/ are imported as types only, which the bundle leaves out);
 *   - its npm pins equal package.json's, so Node tests run what Deno deploys;
 *   - it starts under Deno from its own folder and answers /health against real Postgres.
 * Deno runs offline here with --node-modules-dir=manual (npm: specifiers from node_modules).
 */
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { API_ROLE } from '../helpers/api.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
const deno = path.join(repoRoot, 'node_modules/.bin/deno');
const denoEnv = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };

interface FunctionConfig {
  name: string;
  entrypoint: string;
  importMap: string;
}

/** [functions.<name>] sections of config.toml with their paths made absolute. */
async function configuredFunctions(): Promise<FunctionConfig[]> {
  const toml = await readFile(path.join(repoRoot, 'supabase/config.toml'), 'utf8');
  const sections = toml.split(/^\[/m).filter((s) => s.startsWith('functions.'));
  return sections.map((s) => {
    const name = /^functions\.([\w-]+)\]/.exec(s)![1]!;
    const value = (key: string) => {
      const m = new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, 'm').exec(s);
      if (!m) throw new Error(`[functions.${name}] has no ${key}`);
      return path.resolve(repoRoot, 'supabase', m[1]!);
    };
    return { name, entrypoint: value('entrypoint'), importMap: value('import_map') };
  });
}

const functions = await configuredFunctions();

describe.each(functions)('edge function $name', (fn) => {
  const folder = path.dirname(fn.entrypoint);
  const flags = ['--config', fn.importMap, '--node-modules-dir=manual'];

  it('config.toml points at its entrypoint and the import map in its own folder', async () => {
    expect(fn.entrypoint.startsWith(path.join(repoRoot, 'edge-functions') + path.sep)).toBe(true);
    await expect(readFile(fn.entrypoint, 'utf8')).resolves.toContain('Deno.serve');
    expect(path.dirname(fn.importMap)).toBe(folder);
  });

  it("pins the same npm versions as package.json", async () => {
    const { imports } = JSON.parse(await readFile(fn.importMap, 'utf8')) as { imports: Record<string, string> };
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const pins = Object.values(imports).map((target) => /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/?$/.exec(target));
    expect(pins.every(Boolean), `every import map target is npm:name@version: ${Object.values(imports).join(', ')}`).toBe(true);
    for (const pin of pins) expect({ [pin![1]!]: pin![2] }).toEqual({ [pin![1]!]: pkg.dependencies[pin![1]!] });
  });

  it('type-checks with deno check and only its own import map', { timeout: 240_000 }, async () => {
    await run(deno, ['check', ...flags, fn.entrypoint], { cwd: folder, env: denoEnv, maxBuffer: 16 * 1024 * 1024 }).catch((error) => {
      throw new Error(`deno check failed:\n${(error as { stderr?: string }).stderr ?? error}`);
    });
  });

  it('every bare import it reaches is in its import map; it runs only edge-functions/ and kernel/', async () => {
    const { imports } = JSON.parse(await readFile(fn.importMap, 'utf8')) as { imports: Record<string, string> };
    const mapped = (s: string) => s in imports || Object.keys(imports).some((k) => k.endsWith('/') && s.startsWith(k));
    const { stdout } = await run(deno, ['info', '--json', ...flags, fn.entrypoint], { cwd: folder, env: denoEnv, maxBuffer: 64 * 1024 * 1024 });
    type Edge = { specifier: string; code?: { specifier: string } };
    const graph = JSON.parse(stdout) as { modules: Array<{ specifier: string; dependencies?: Edge[] }> };
    const ours = graph.modules.filter((m) => m.specifier.startsWith('file://') && !m.specifier.includes('/node_modules/'));
    const relative = (specifier: string) => path.relative(repoRoot, new URL(specifier).pathname);
    // An `import type` is erased before the bundle is built: the generated database types
    // (supabase/types.gen.ts) are checked with the function but never deployed with it.
    const loaded = new Set([pathToFileURL(fn.entrypoint).href, ...ours.flatMap((m) => (m.dependencies ?? []).flatMap((d) => (d.code ? [d.code.specifier] : [])))]);
    const outside = ours.map((m) => m.specifier).filter((s) => !/^(edge-functions|kernel)\//.test(relative(s)));
    expect(outside.filter((s) => loaded.has(s)).map(relative)).toEqual([]);
    expect(outside.map(relative)).toEqual(['supabase/types.gen.ts']);
    const unmapped = ours.flatMap((m) =>
      (m.dependencies ?? [])
        .map((d) => d.specifier)
        .filter((s) => !s.startsWith('./') && !s.startsWith('../') && !s.startsWith('node:') && !s.startsWith('npm:') && !mapped(s))
        .map((s) => `${path.relative(repoRoot, new URL(m.specifier).pathname)}: ${s}`),
    );
    expect(unmapped).toEqual([]);
  });
});

describe('the gateway function starts under Deno from its own folder', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('serves /gateway/health against Postgres as its own role', { timeout: 120_000 }, async () => {
    const fn = functions.find((f) => f.name === 'gateway')!;
    const dbUrl = new URL(db.url);
    dbUrl.username = API_ROLE;
    dbUrl.password = '';
    // pino reads the host name when it loads (deps.ts), hence the one sys permission.
    const child = spawn(deno, ['run', '--config', fn.importMap, '--node-modules-dir=manual', '--allow-net', '--allow-env', '--allow-read', '--allow-sys=hostname', fn.entrypoint], {
      cwd: path.dirname(fn.entrypoint),
      env: {
        ...denoEnv,
        // Deno.serve() without options listens where this says: any free port on loopback.
        DENO_SERVE_ADDRESS: 'tcp:127.0.0.1:0',
        SUPABASE_DB_URL: dbUrl.toString(),
        SUPABASE_URL: 'https://deploy.supabase.test',
        SUPABASE_JWKS: JSON.stringify({ keys: [] }),
        WEBHOOK_SECRETS_KEY: 'cd'.repeat(32),
        MEDIA_STORE: 'folder',
        MEDIA_STORE_DIR: path.join(tmpdir(), 'wg-deploy-test-media'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const m = /Listening on (http:\/\/[^\s/]+)\//.exec(output);
          if (m) resolve(m[1]!);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        exited.then((code) => reject(new Error(`the function exited (${code}) before listening:\n${output}`)));
      });
      const res = await fetch(`${base}/gateway/health`);
      expect(res.status, output).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', database: 'ok' });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

it("supabase/.temp (the CLI's per-machine state) is ignored and not committed", async () => {
  const { stdout: tracked } = await run('git', ['ls-files', 'supabase/.temp'], { cwd: repoRoot });
  expect(tracked).toBe('');
  await expect(run('git', ['check-ignore', '-q', 'supabase/.temp/project-ref'], { cwd: repoRoot })).resolves.toBeDefined();
});
