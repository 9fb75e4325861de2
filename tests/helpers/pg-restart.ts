// Restarting a throwaway cluster (scripts/db/throwaway-cluster.ts) in the middle of a test:
// `pg_ctl restart -m fast` (the cluster runs with synchronous_commit=off; a fast shutdown writes
// the WAL out, an immediate one could lose commits the connector was told about). pg_ctl reuses
// the options the cluster was started with (postmaster.opts). Never point this at a shared server.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Cluster, pgBin } from '../../scripts/db/throwaway-cluster.ts';

const run = promisify(execFile);

/** Restarts the cluster; resolves once it accepts connections again. */
export async function restartCluster(cluster: Cluster): Promise<void> {
  const args = ['-D', cluster.dataDir, '-m', 'fast', '-w', '-l', path.join(path.dirname(cluster.dataDir), 'log'), 'restart'];
  if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', pgBin('pg_ctl'), ...args]);
  else await run(pgBin('pg_ctl'), args);
}
