/**
 * Minimal assertions for the Deno suite. `node:assert` type-checks against @types/node, which
 * Deno cannot resolve offline with nodeModulesDir "manual" once npm packages are in the graph.
 */
export class AssertionError extends Error {}

const show = (v: unknown) => JSON.stringify(v);

function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]))
      : Array.isArray(v) ? v.map(norm) : v;
  return show(norm(a)) === show(norm(b));
}

export const assert = {
  ok(value: unknown, message = 'expected a truthy value'): void {
    if (!value) throw new AssertionError(message);
  },
  equal(actual: unknown, expected: unknown): void {
    if (actual !== expected) throw new AssertionError(`expected ${show(expected)}, got ${show(actual)}`);
  },
  deepEqual(actual: unknown, expected: unknown): void {
    if (!sameJson(actual, expected)) throw new AssertionError(`expected ${show(expected)}, got ${show(actual)}`);
  },
  match(actual: string, pattern: RegExp): void {
    if (!pattern.test(actual)) throw new AssertionError(`expected ${show(actual)} to match ${pattern}`);
  },
};

export default assert;
