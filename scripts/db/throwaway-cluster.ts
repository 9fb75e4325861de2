/**
 * Starts a disposable PostgreSQL 15 cluster (trust auth, fsync off) on a free port, for tests
 * on a machine where no server runs. initdb refuses root, so as root it runs as `postgres`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Cluster {
  url: string;
  port: number;
  dataDir: string;
  stop(): void;
}

/** The newest installed PostgreSQL's binary `name` (initdb refuses root: run it as `postgres`). */
export function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const candidate = path.join(base, v, 'bin', name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`PostgreSQL binary ${name} not found under ${base}: install postgresql-15`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startThrowawayCluster(): Promise<Cluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wg-pg-'));
  chmodSync(root, 0o777);
  const dataDir = path.join(root, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const exec = (bin: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' })
           : execFileSync(bin, args, { stdio: 'pipe' });
  const user = asRoot ? 'postgres' : os.userInfo().username;
  exec(pgBin('initdb'), ['-D', dataDir, '--auth=trust', '--no-sync', '-U', user, '-E', 'UTF8']);
  const opts = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c wal_level=logical`;
  exec(pgBin('pg_ctl'), ['-D', dataDir, '-o', opts, '-l', path.join(root, 'log'), '-w', 'start']);
  return {
    url: `postgresql://${user}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop() {
      const args = ['-D', dataDir, '-m', 'immediate', 'stop'];
      if (asRoot) spawnSync('runuser', ['-u', 'postgres', '--', pgBin('pg_ctl'), ...args]);
      else spawnSync(pgBin('pg_ctl'), args);
    },
  };
}
