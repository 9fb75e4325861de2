/**
 * Who may import whom, read from the source as text (README, "Layout"):
 *   - edge-functions/ is the deployed function: only the functions import it, and the hosts that
 *     run the function itself (tests/, the two dev scripts that serve it on Node, and the scripts
 *     that render its OpenAPI document and configuration reference). Code the
 *     connector shares with the function lives in kernel/.
 *   - kernel/ imports only kernel/, and uses no Node built-ins outside kernel/node/, so the
 *     function (Deno) and the connector (Node) both load it.
 *   - tests/ is imported by nothing outside tests/: what scripts share with tests lives in scripts/.
 *   - Baileys internals (deep imports, libsignal, the socket client `sock.ws`, its `CB:` frame
 *     events, the signal repository, replaced methods) are touched only in connector/whatsapp/,
 *     whose start-up self-check covers them; the rest of the service code uses Baileys' public API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';

/** Serve the gateway app on Node (npm start, benchmarks) or render its document: they host the function, as tests do. */
const FUNCTION_HOSTS = ['scripts/dev/serve-api.ts', 'scripts/dev/stack.ts', 'scripts/docs/openapi.ts', 'scripts/docs/config-reference.ts'];
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

/** Service code: what the two processes run (scripts, tests and the simulator are not). */
const SERVICE_DIRS = ['connector', 'kernel', 'edge-functions'];
/** Ways into Baileys' internals, matched on code with its comments removed. */
const INTERNALS: [string, RegExp][] = [
  ['the socket client (sock.ws)', /\.ws\b/],
  ['a frame event (CB:...)', /['"`]CB:/],
  // signalRepository.lidMapping is the public LID store of Baileys 7; the rest is its Signal internals.
  ['the signal repository', /\bsignalRepository\b(?!\.lidMapping\b)/],
  ['a module loaded from another package\'s folder', /\bcreateRequire\b/],
  ['a replaced method (x.emit = ..., logger.debug = ...)', /\.\s*(emit|send|on|debug|trace|info|warn|error|fatal|decrypt\w*|process\w*)\s*=(?!=)/],
];
/** Baileys' own files, and the Signal library inside it. */
const DEEP_IMPORT = /^(@whiskeysockets\/baileys\/|libsignal(\/|$))/;
const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
const internalsUse = (files: string[]) =>
  files.flatMap((file) => {
    const code = withoutComments(readFileSync(path.join(repoRoot, file), 'utf8'));
    return INTERNALS.filter(([, pattern]) => pattern.test(code)).map(([what]) => `${file}: ${what}`);
  });
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

  it('only connector/whatsapp/ touches Baileys internals', () => {
    const service = sourceFiles('').filter((file) => SERVICE_DIRS.some((dir) => under(dir, file)));
    const adapter = service.filter((file) => under('connector/whatsapp', file));
    // The rules find what the adapter does, so they would find it anywhere else.
    expect(internalsUse(adapter).map((hit) => hit.replace(/^.*: /, ''))).toEqual(expect.arrayContaining(INTERNALS.map(([what]) => what)));
    expect(internalsUse(service.filter((file) => !under('connector/whatsapp', file)))).toEqual([]);
    // The simulator (not service code) imports Baileys' Signal repository by its path.
    expect(imports.some((i) => i.file === 'simulator/signal-device.ts' && DEEP_IMPORT.test(i.specifier))).toBe(true);
    const deep = imports.filter((i) => SERVICE_DIRS.some((dir) => under(dir, i.file)) && !under('connector/whatsapp', i.file) && DEEP_IMPORT.test(i.specifier));
    expect(deep.map(show)).toEqual([]);
  });
});
