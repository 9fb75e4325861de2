// The README's quick start, run as written in a clean temporary copy of the repository: the
// commands come from the README's quick-start block (so the test breaks when the README drifts),
// the stack must answer its health route, and the printed curl must succeed. The install step is
// not re-run: the copy links this checkout's node_modules (the registry is not the thing tested,
// and a second install would take minutes); every other command runs as printed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';

const copy = mkdtempSync(path.join(tmpdir(), 'wa-gateway-quick-start-'));
let child: ChildProcess | undefined;

afterAll(() => {
  try {
    if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(copy, { recursive: true, force: true });
});

function quickStartCommands(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const block = /<!-- quick-start:start -->\s*```sh\n([\s\S]*?)```\s*<!-- quick-start:end -->/.exec(readme);
  if (!block) throw new Error('README.md has no quick-start block');
  return block[1]!.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
}

function copyRepository(): void {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of files) {
    const from = path.join(repoRoot, file);
    try {
      mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      cpSync(from, path.join(copy, file));
    } catch {
      // deleted in the working tree but still listed: not part of the copy
    }
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
}

describe('README quick start', () => {
  it('npm start in a clean copy: the health route answers and the printed curl creates an agent', async () => {
    const commands = quickStartCommands();
    expect(commands).toEqual(['npm install', 'npm start']);
    copyRepository();

    const [cmd, ...args] = commands[1]!.split(' ');
    // PORT=0: a free port (the printed URLs carry it); no DATABASE_URL: the embedded database.
    const env = { ...process.env, PORT: '0', DATABASE_URL: '', CI: 'true' };
    // Its own process group, so Ctrl-C reaches npm and the server under it, as in a terminal.
    child = spawn(cmd!, args, { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 90_000;
    while (!/First request[^\n]*\n\s*curl [^\n]+/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const api = /API\s+(http:\/\/\S+\/gateway)/.exec(output)![1]!;
    const health = await fetch(`${api}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'ok' });

    const curl = /First request[^\n]*\n\s*(curl [^\n]+)/.exec(output)![1]!;
    const created = JSON.parse(execFileSync('sh', ['-c', `${curl} -w '\\n%{http_code}'`], { encoding: 'utf8' }).trim().split('\n').slice(0, -1).join('\n'));
    expect(created).toMatchObject({ name: 'my first number', status: 'disconnected' });
    const code = execFileSync('sh', ['-c', `${curl} -o /dev/null -w '%{http_code}'`], { encoding: 'utf8' });
    expect(code).toBe('201');

    // The page and its config are served by the same process.
    const page = await fetch(api.replace(/\/gateway$/, '/'));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>');

    // The printed sign-in link carries a session the local Auth stand-in recognises (supabase-js
    // on the page reads it from the address and asks /auth/v1/user).
    const link = new URL(/sign in\s+(http:\/\/\S+)/.exec(output)![1]!);
    const session = new URLSearchParams(link.hash.slice(1));
    expect(session.get('type')).toBe('magiclink');
    const user = await fetch(`${link.origin}/auth/v1/user`, { headers: { authorization: `Bearer ${session.get('access_token')}` } });
    expect(user.status).toBe(200);
    expect(await user.json()).toMatchObject({ email: 'developer@localhost' });

    process.kill(-child.pid!, 'SIGINT');
    const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
    expect(stopped, output).toBe(true);
    expect(output).toContain('SIGINT: stopping');
    await expect(fetch(`${api}/health`)).rejects.toThrow();
  }, 150_000);
});
