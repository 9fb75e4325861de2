// Restarting a throwaway cluster (scripts/db/throwaway-cluster.ts) in the middle of a test:
// `pg_ctl restart -m fast` (the cluster runs with synchronous_commit=off; a fast shutdown writes
// the WAL out, an immediate one could lose commits the connector was told about). pg_ctl reuses
// the options the cluster was started with (postmaster.opts). Never point this at a shared server.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from '../../scripts/db/throwaway-cluster.ts';

const run = promisify(execFile);

function pgCtl(): string {
  const base = '/usr/lib/postgresql';
  for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) {
    const candidate = path.join(base, v, 'bin', 'pg_ctl');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('pg_ctl not found');
}

/** Restarts the cluster; resolves once it accepts connections again. */
export async function restartCluster(cluster: Cluster): Promise<void> {
  const args = ['-D', cluster.dataDir, '-m', 'fast', '-w', '-l', path.join(path.dirname(cluster.dataDir), 'log'), 'restart'];
  if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', pgCtl(), ...args]);
  else await run(pgCtl(), args);
}
