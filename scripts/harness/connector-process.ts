// A connector in its own process, exactly as `npm run connector` starts it (connector/main.ts,
// the message path included), plus the simulator's trust preload (the root key comes from the
// env). For kill -9 and SIGSTOP tests and benches.
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Node flags that make a harness child exit once its parent is gone (see exit-with-parent.mjs). */
export const EXIT_WITH_PARENT = ['--import', fileURLToPath(new URL('./exit-with-parent.mjs', import.meta.url))];

/** Node flags that write a CPU profile of the child into `dir` on exit; none without a dir. */
export const cpuProfileArgs = (dir: string | undefined): string[] => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);

export interface ConnectorProcess {
  child: ChildProcess;
  pid: number;
  lines: string[];
  /** Resolves with the metrics URL once the HTTP endpoints listen. */
  httpUrl: Promise<string>;
  exited: Promise<number | null>;
  signal(sig: NodeJS.Signals): void;
  metrics(): Promise<string>;
}

export interface SpawnOptions {
  /** Keep only the newest this many output lines (a long run at info level); default all. */
  keepLines?: number;
  /** Node flags for the child before its imports (benches: `--cpu-prof`, `--heapsnapshot-signal`). */
  execArgv?: string[];
}

export function spawnConnector(env: Record<string, string>, rootPublicKey: Uint8Array, options: SpawnOptions = {}): ConnectorProcess {
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, ...(options.execArgv ?? []), '--import', 'tsx', '--import', './simulator/trust-preload.mjs', 'connector/main.ts'], {
    cwd: repo,
    env: { ...process.env, MEDIA_STORE: 'folder', MEDIA_STORE_DIR: path.join(tmpdir(), 'wg-test-media'), ...env, WA_SIM_ROOT_PUBLIC_KEY: Buffer.from(rootPublicKey).toString('base64'), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let resolveUrl: (url: string) => void = () => {};
  const httpUrl = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      if (!line) continue;
      lines.push(line);
      if (line.includes('health and metrics endpoints listening')) resolveUrl(JSON.parse(line).url);
    }
    if (options.keepLines !== undefined && lines.length > options.keepLines) lines.splice(0, lines.length - options.keepLines);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid!,
    lines,
    httpUrl,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, sig);
    },
    metrics: async () => (await fetch(`${await httpUrl}/metrics`)).text(),
  };
}

/** The value of one Prometheus sample line (0 when absent). */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
