// The simulator as a standalone command, and a Baileys client in another process that trusts it
// only through the preload and the env var, driven through the control HTTP API.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

type Line = Record<string, any>;

function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Line[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text));
    } catch {
      return;
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const next = (match: (line: Line) => boolean, timeoutMs = 20_000): Promise<Line> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(lines)}`)), timeoutMs);
      const check = () => {
        const found = lines.find(match);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else waiters.push(check);
      };
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, next, exited };
}

const CLIENT = ['--import', 'tsx', 'tests/helpers/simulator-child-client.ts'];

async function startSimulatorProcess() {
  const sim = start(['--import', 'tsx', 'simulator/cli.ts', '--port', '0', '--contact', '447700900123']);
  const ready = await sim.next((l) => l.ready === true);
  return { ...sim, url: ready.url as string, control: ready.controlUrl as string, root: ready.rootPublicKey as string };
}

describe('simulator: standalone command and trust preload', () => {
  it('links a client process that trusts the root through the preload', { timeout: 60_000 }, async () => {
    const sim = await startSimulatorProcess();
    const client = start(['--import', './simulator/trust-preload.mjs', ...CLIENT, sim.url], { WA_SIM_ROOT_PUBLIC_KEY: sim.root });
    const { qr } = await client.next((l) => typeof l.qr === 'string');
    const scanned = await fetch(`${sim.control}/scan`, { method: 'POST', body: JSON.stringify({ qr, phone: '15550300001' }) });
    expect(await scanned.json()).toMatchObject({ jid: '15550300001@s.whatsapp.net' });
    const open = await client.next((l) => l.open === true);
    expect(open.me).toMatch(/^15550300001:\d+@s\.whatsapp\.net$/);
    expect(await client.exited).toBe(0);
    const observed = await (await fetch(`${sim.control}/observe?account=15550300001`)).json();
    expect(observed.maxLive).toBe(1);
  });

  it('without the preload, a client process refuses the simulator', { timeout: 60_000 }, async () => {
    const sim = await startSimulatorProcess();
    const client = start([...CLIENT, sim.url]);
    const closed = await client.next((l) => l.closed === true);
    expect(closed.error).toMatch(/certificate/);
    expect(await client.exited).toBe(1);
  });

  it('the preload refuses to start without the root key', { timeout: 30_000 }, async () => {
    const client = start(['--import', './simulator/trust-preload.mjs', '-e', '0'], { WA_SIM_ROOT_PUBLIC_KEY: '' });
    expect(await client.exited).not.toBe(0);
  });
});
