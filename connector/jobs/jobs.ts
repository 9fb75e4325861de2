// Scheduled jobs (node-cron). Every connector schedules them; a run happens inside a transaction
// holding a transaction-level advisory lock named after the job, taken with try-lock, so at
// most one connector runs a given job at a time and the others skip that tick.
//
//   lease-sweep    every minute: dead leases of sessions nobody will claim, silent connectors,
//                  heartbeat-failing and long-disconnected alerts (gateway.sweep_expired_leases);
//                  moves operators' emergency key cleanups on (gateway.advance_emergency_key_cleanups)
//   key-hygiene    hourly: Signal key rows per session against the seed's thresholds; prune
//                  (gateway.prune_signal_keys: backs up what it deletes; never while connected or owned, never creds,
//                  pre-keys or app-state keys, keeps everything younger than 14 days)
//   inactive       daily: linked sessions idle for INACTIVE_DAYS (gateway.flag_inactive_sessions)
//   retention      daily: settled events, delivered/read and inbound messages and number checks
//                  past retention, bodies of failed and sent-but-never-delivered messages past it
//                  (gateway.apply_retention), rate-limit buckets idle for a day, and audit log
//                  entries past RETENTION_AUDIT_LOG_DAYS (gateway.prune_audit_log)
//                  (gateway.prune_rate_limit_buckets), Signal key backups past KEY_BACKUP_RETENTION_DAYS
//                  and signal-warning counts past RETENTION_EVENTS_DAYS
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { EventType } from '../../kernel/event-types.ts';
import type { ConnectorConfig } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import {
  advanceEmergencyKeyCleanups,
  applyRetention,
  flagInactiveSessions,
  pruneAuditLog,
  pruneRateLimitBuckets,
  purgeSignalKeyBackups,
  purgeSignalWarningCounts,
  sweepExpiredLeases,
  tryJobLock,
} from '../sql/jobs.ts';
import { pruneSignalKeys, raiseSignalKeyAlert, signalKeysPerAgent } from '../sql/keys.ts';

export type JobName = 'lease-sweep' | 'key-hygiene' | 'inactive' | 'retention';

export interface JobDeps {
  sql: Sql;
  config: ConnectorConfig;
  logger: Logger;
  metrics: Metrics;
}

/** Runs `work` if no other connector is running the same job; returns whether it ran. */
export async function runExclusive<T>(sql: Sql, name: string, work: (tx: Sql) => Promise<T>): Promise<{ ran: boolean; result?: T }> {
  return sql.begin(async (tx) => {
    if (!(await tryJobLock(tx, name))) return { ran: false };
    return { ran: true, result: await work(tx as unknown as Sql) };
  }) as Promise<{ ran: boolean; result?: T }>;
}

/** Types whose rows grow with use and that hygiene may prune; what the seed's file counts meant. */
export const ACCUMULATING_TYPES = ['session', 'sender-key', 'sender-key-memory'];

export async function keyHygiene(tx: Sql, deps: JobDeps): Promise<{ warned: number; pruned: number; critical: number }> {
  const { warn, prune, critical } = deps.config.keyThresholds;
  const rows = await signalKeysPerAgent(tx, ACCUMULATING_TYPES);
  let warned = 0;
  let pruned = 0;
  let criticals = 0;
  const levels = { warn: 0, prune: 0, critical: 0 };
  for (const row of rows) {
    const agentId = row.agent_id;
    const n = row.n;
    if (n < warn) continue;
    const level = n >= critical ? 'critical' : n >= prune ? 'prune' : 'warn';
    levels[level]++;
    if (level !== 'warn') {
      // Savepoint: a refused prune (connected or owned session) must not abort the job's transaction.
      try {
        const deleted = await (tx as unknown as { savepoint: Sql['begin'] }).savepoint((sp) => pruneSignalKeys(sp, agentId));
        pruned += Number(deleted);
      } catch (error) {
        if ((error as { code?: string }).code !== 'WG008') throw error;
      }
    }
    const type: EventType = level === 'critical' ? 'alert.signal_keys_critical' : 'alert.signal_keys_high';
    const raised = await raiseSignalKeyAlert(tx, { agent: agentId, type, severity: level === 'critical' ? 'critical' : 'warning', rows: n, level, thresholds: { warn, prune, critical } });
    if (raised) {
      if (level === 'critical') criticals++;
      else warned++;
    }
  }
  for (const [level, count] of Object.entries(levels)) deps.metrics.signalKeyLevels.set({ level }, count);
  return { warned, pruned, critical: criticals };
}

export async function runJob(name: JobName, deps: JobDeps): Promise<{ ran: boolean; result?: unknown }> {
  const { sql, config } = deps;
  try {
    const outcome = await runExclusive(sql, name, async (tx) => {
      switch (name) {
        case 'lease-sweep':
          return { ...(await sweepExpiredLeases(tx)), emergency_key_cleanups: await advanceEmergencyKeyCleanups(tx) };
        case 'key-hygiene':
          return keyHygiene(tx, deps);
        case 'inactive':
          return { flagged: await flagInactiveSessions(tx, { days: config.jobs.inactiveDays }) };
        case 'retention': {
          const kept = await applyRetention(tx, { eventDays: config.jobs.retentionEventsDays, messageDays: config.jobs.retentionMessagesDays });
          return {
            ...kept,
            rate_limit_buckets: await pruneRateLimitBuckets(tx),
            signal_key_backups: await purgeSignalKeyBackups(tx, deps.config.keyBackupRetentionDays),
            signal_warning_counts: await purgeSignalWarningCounts(tx, config.jobs.retentionEventsDays),
            audit_log: await pruneAuditLog(tx, config.jobs.retentionAuditLogDays),
          };
        }
      }
    });
    deps.metrics.jobRuns.inc({ job: name, outcome: outcome.ran ? 'ran' : 'skipped' });
    if (outcome.ran) deps.logger.debug({ job: name, result: outcome.result }, 'job ran');
    return outcome;
  } catch (error) {
    deps.metrics.jobRuns.inc({ job: name, outcome: 'failed' });
    deps.logger.error({ err: error, job: name }, 'job failed');
    return { ran: false };
  }
}

export function scheduleJobs(deps: JobDeps): { stop(): void } {
  const { jobs } = deps.config;
  const plan: Array<[JobName, string]> = [
    ['lease-sweep', jobs.leaseSweepCron],
    ['key-hygiene', jobs.keyHygieneCron],
    ['inactive', jobs.inactiveCron],
    ['retention', jobs.retentionCron],
  ];
  const tasks: ScheduledTask[] = plan.map(([name, expression]) =>
    cron.schedule(expression, () => void runJob(name, deps), { name: `wa-${name}`, noOverlap: true }),
  );
  return {
    stop() {
      for (const task of tasks) void task.stop();
    },
  };
}
