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
//                  (gateway.apply_retention), and rate-limit buckets idle for a day
//                  (gateway.prune_rate_limit_buckets), Signal key backups past KEY_BACKUP_RETENTION_DAYS
//                  and signal-warning counts past RETENTION_EVENTS_DAYS
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { EventType } from '../../kernel/event-types.ts';
import type { ConnectorConfig } from '../config.ts';
import type { Metrics } from '../metrics.ts';

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
    const [lock] = await tx`select pg_try_advisory_xact_lock(hashtext(${`wa-gateway:job:${name}`})) as got`;
    if (!lock?.got) return { ran: false };
    return { ran: true, result: await work(tx as unknown as Sql) };
  }) as Promise<{ ran: boolean; result?: T }>;
}

/** Types whose rows grow with use and that hygiene may prune; what the seed's file counts meant. */
export const ACCUMULATING_TYPES = ['session', 'sender-key', 'sender-key-memory'];

export async function keyHygiene(tx: Sql, deps: JobDeps): Promise<{ warned: number; pruned: number; critical: number }> {
  const { warn, prune, critical } = deps.config.keyThresholds;
  const rows = await tx`
    select agent_id, sum(key_count)::int as n from gateway.signal_key_counts()
    where key_type = any(${ACCUMULATING_TYPES}) group by agent_id`;
  let warned = 0;
  let pruned = 0;
  let criticals = 0;
  const levels = { warn: 0, prune: 0, critical: 0 };
  for (const row of rows) {
    const agentId = row.agent_id as string;
    const n = row.n as number;
    if (n < warn) continue;
    const level = n >= critical ? 'critical' : n >= prune ? 'prune' : 'warn';
    levels[level]++;
    if (level !== 'warn') {
      // Savepoint: a refused prune (connected or owned session) must not abort the job's transaction.
      try {
        const deleted = await (tx as unknown as { savepoint: Sql['begin'] }).savepoint(async (sp) => {
          const [r] = await sp`select gateway.prune_signal_keys(${agentId}) as deleted`;
          return Number(r?.deleted ?? 0);
        });
        pruned += Number(deleted);
      } catch (error) {
        if ((error as { code?: string }).code !== 'WG008') throw error;
      }
    }
    const type: EventType = level === 'critical' ? 'alert.signal_keys_critical' : 'alert.signal_keys_high';
    const [raised] = await tx`
      select gateway.emit_event(s.owner_id, s.agent_id, ${type}, ${level === 'critical' ? 'critical' : 'warning'},
        jsonb_build_object('rows', ${n}::int, 'level', ${level}::text, 'thresholds', ${tx.json({ warn, prune, critical })}::jsonb))
      from public.whatsapp_sessions s
      where s.agent_id = ${agentId}
        and not exists (select 1 from public.events e where e.agent_id = s.agent_id and e.type = ${type} and e.created_at > now() - interval '24 hours')`;
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
        case 'lease-sweep': {
          const [swept] = await tx`select * from gateway.sweep_expired_leases()`;
          const [advanced] = await tx`select gateway.advance_emergency_key_cleanups() as moved`;
          return { ...swept, emergency_key_cleanups: advanced?.moved };
        }
        case 'key-hygiene':
          return keyHygiene(tx, deps);
        case 'inactive':
          return (await tx`select gateway.flag_inactive_sessions(${config.jobs.inactiveDays}) as flagged`)[0];
        case 'retention': {
          const [kept] = await tx`select * from gateway.apply_retention(${config.jobs.retentionEventsDays}, ${config.jobs.retentionMessagesDays})`;
          const [buckets] = await tx`select gateway.prune_rate_limit_buckets() as pruned`;
          const [backups] = await tx`select gateway.purge_signal_key_backups(${deps.config.keyBackupRetentionDays}) as purged`;
          const [warnings] = await tx`select gateway.purge_signal_warning_counts(${config.jobs.retentionEventsDays}) as purged`;
          return { ...kept, rate_limit_buckets: buckets?.pruned, signal_key_backups: backups?.purged, signal_warning_counts: warnings?.purged };
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
