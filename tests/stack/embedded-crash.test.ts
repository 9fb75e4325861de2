// What a crash of `npm start` does to the embedded database: `npm start` runs in its own process
// group, clients create agents through the API (a 201 means the commit returned), the group is
// killed with SIGKILL while requests are still in flight, and the stack restarts on the same data
// directory: every agent whose creation was answered is still there. (A killed process leaves
// its writes in the operating system's cache; a power loss is another matter — README.)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { type LocalStack, startLocalStack } from '../../scripts/dev/stack.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-embedded-crash-'));
let child: ChildProcess | undefined;
let restarted: LocalStack | undefined;

afterAll(async () => {
  try {
    if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await restarted?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a SIGKILL of npm start', () => {
  it('loses no agent whose creation was answered', async () => {
    // This data directory only: the plan's agent limit must not end the writing early.
    const prepared = await startLocalStack({ dataDir, port: 0, logLevel: 'error' });
    await prepared.sql`update public.plans set max_agents = 100000 where id = 'max'`;
    await prepared.sql`update public.accounts set plan_id = 'max' where user_id = ${prepared.userId}`;
    await prepared.stop();

    const env = { ...process.env, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: '', CI: 'true' };
    child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['scripts/dev/start.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child!.once('exit', (_code, signal) => resolve(signal)));
    const deadline = Date.now() + 90_000;
    while (!/First request[^\n]*\n\s*curl [^\n]+/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const api = /API\s+(http:\/\/\S+\/gateway)/.exec(output)![1]!;
    const token = /authorization: Bearer ([^' ]+)/.exec(output)![1]!;

    const answered: string[] = [];
    let next = 0;
    let killed = false;
    let failure: Error | undefined;
    // Four clients creating agents until the process dies under them.
    const client = async () => {
      while (!killed) {
        const name = `crash ${next++}`;
        try {
          const res = await fetch(`${api}/v1/agents`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
          if (res.status === 201) answered.push(name);
          else throw new Error(`create answered ${res.status}: ${await res.text()}`);
        } catch (error) {
          if (!killed) failure ??= error as Error;
          return;
        }
      }
    };
    const clients = Promise.all([client(), client(), client(), client()]);
    while (answered.length < 40 && !failure) await new Promise((r) => setTimeout(r, 5));
    if (failure) throw failure;
    killed = true;
    process.kill(-child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await clients;

    restarted = await startLocalStack({ dataDir, port: 0, logLevel: 'error' });
    const rows = await restarted.sql<{ name: string }[]>`select name from public.agents where name like 'crash %'`;
    const stored = new Set(rows.map((r) => r.name));
    expect(answered.filter((name) => !stored.has(name))).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(answered.length);
  }, 150_000);
});
