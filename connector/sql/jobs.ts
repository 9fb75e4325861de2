// The scheduled jobs' statements (jobs/jobs.ts): the advisory lock that lets one connector at a
// time run a job, and the maintenance functions the jobs call.
import type { Db, Params, Row } from './types.ts';

/** Takes the job's transaction-level advisory lock if nobody holds it; false: another connector runs it. */
export async function tryJobLock(tx: Db, name: string): Promise<boolean> {
  const [lock] = await tx<[{ got: boolean }?]>`select pg_try_advisory_xact_lock(hashtext(${`wa-gateway:job:${name}`})) as got`;
  return lock?.got === true;
}

/** Dead leases, silent connectors, heartbeat and long-disconnect alerts. */
export async function sweepExpiredLeases(sql: Db): Promise<Row<'sweep_expired_leases'> | undefined> {
  const [row] = await sql<Row<'sweep_expired_leases'>[]>`select * from gateway.sweep_expired_leases()`;
  return row;
}

/** Linked sessions idle for `days`; how many were flagged. */
export async function flagInactiveSessions(sql: Db, p: Params<'flag_inactive_sessions'>): Promise<number> {
  const [row] = await sql<[{ flagged: Row<'flag_inactive_sessions'> }?]>`select gateway.flag_inactive_sessions(${p.days}) as flagged`;
  return row?.flagged ?? 0;
}

export async function applyRetention(sql: Db, p: Params<'apply_retention'>): Promise<Row<'apply_retention'> | undefined> {
  const [row] = await sql<Row<'apply_retention'>[]>`select * from gateway.apply_retention(${p.eventDays}, ${p.messageDays})`;
  return row;
}

/** Rate-limit buckets idle for a day; how many were deleted. */
export async function pruneRateLimitBuckets(sql: Db): Promise<number> {
  const [row] = await sql<[{ pruned: Row<'prune_rate_limit_buckets'> }?]>`select gateway.prune_rate_limit_buckets() as pruned`;
  return row?.pruned ?? 0;
}
