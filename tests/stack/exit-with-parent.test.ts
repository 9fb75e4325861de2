import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const guard = fileURLToPath(new URL('../../scripts/harness/exit-with-parent.mjs', import.meta.url));

// Running or sleeping; a zombie (killed, not yet reaped by its new parent) counts as gone.
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

// A middle process starts a long-running grandchild with the guard preloaded, prints its pid and
// is then killed with SIGKILL (no cleanup can run): the grandchild must go too.
function startFamily(preload: string[]): Promise<{ middle: ReturnType<typeof spawn>; grandchild: number }> {
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn(process.execPath, ${JSON.stringify([...preload, '-e', 'setInterval(() => {}, 1000)'])}, { stdio: 'ignore', detached: true, env: { ...process.env, HARNESS_PARENT_PID: String(process.pid) } });
    console.log(c.pid);
    setInterval(() => {}, 1000);`;
  const middle = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => middle.stdout!.once('data', (d: Buffer) => resolve({ middle, grandchild: Number(String(d).trim()) })));
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

test('a child started with the guard exits once its parent is killed with SIGKILL', async () => {
  const { middle, grandchild } = await startFamily(['--import', guard]);
  expect(alive(grandchild)).toBe(true);
  middle.kill('SIGKILL');
  expect(await gone(grandchild, 10_000)).toBe(true);
});

test('without the guard the same child outlives its parent (what the guard is for)', async () => {
  const { middle, grandchild } = await startFamily([]);
  middle.kill('SIGKILL');
  try {
    expect(await gone(grandchild, 1_500)).toBe(false);
  } finally {
    process.kill(grandchild, 'SIGKILL');
  }
});
