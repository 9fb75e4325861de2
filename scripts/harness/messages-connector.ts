// A connector process (connector/main.ts, which includes the message path), started
// like connector-process.ts starts connector/main.ts: tsx, the simulator's trust
// preload and the root key in the environment.
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface MessagingProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnMessagingConnector(env: Record<string, string>, rootPublicKey: Uint8Array): MessagingProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './simulator/trust-preload.mjs', 'connector/main.ts'], {
    cwd: repo,
    env: { ...process.env, MEDIA_STORE: 'folder', MEDIA_STORE_DIR: path.join(tmpdir(), 'wg-test-media'), ...env, WA_SIM_ROOT_PUBLIC_KEY: Buffer.from(rootPublicKey).toString('base64'), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) if (line) lines.push(line);
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
    },
  };
}
