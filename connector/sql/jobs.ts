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

/** Moves every emergency key cleanup one state on (ops.emergency_key_cleanup); how many moved. */
export async function advanceEmergencyKeyCleanups(sql: Db): Promise<number> {
  const [row] = await sql<[{ moved: number }?]>`select gateway.advance_emergency_key_cleanups() as moved`;
  return row?.moved ?? 0;
}

/** Backups of deleted Signal keys older than `days`; how many were purged. */
export async function purgeSignalKeyBackups(sql: Db, days: number): Promise<number> {
  const [row] = await sql<[{ purged: number }?]>`select gateway.purge_signal_key_backups(${days}) as purged`;
  return row?.purged ?? 0;
}

/** Audit log entries older than `days` (the log's one way out, which records itself); how many were deleted. */
export async function pruneAuditLog(sql: Db, days: number): Promise<number> {
  const [row] = await sql<[{ pruned: number }?]>`select gateway.prune_audit_log(${days}) as pruned`;
  return row?.pruned ?? 0;
}

/** Signal-warning counts older than `days`; how many were purged. */
export async function purgeSignalWarningCounts(sql: Db, days: number): Promise<number> {
  const [row] = await sql<[{ purged: number }?]>`select gateway.purge_signal_warning_counts(${days}) as purged`;
  return row?.purged ?? 0;
}
