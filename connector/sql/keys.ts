// Signal key rows per session: the counts behind the key-hygiene job and the key gauges, and the
// prune (refused with WG008 while the session is connected or owned).
import type { Db, Row } from './types.ts';

type KeyCount = Row<'signal_key_counts'>;

/** Rows of the given key types per session (the count is summed to an int in SQL). */
export async function signalKeysPerAgent(sql: Db, keyTypes: string[]): Promise<Array<Pick<KeyCount, 'agent_id'> & { n: number }>> {
  return sql<Array<Pick<KeyCount, 'agent_id'> & { n: number }>>`
    select agent_id, sum(key_count)::int as n from gateway.signal_key_counts()
    where key_type = any(${keyTypes}) group by agent_id`;
}

/** Rows per key type over the given sessions (metrics). */
export async function signalKeysPerType(sql: Db, agents: string[]): Promise<Array<Pick<KeyCount, 'key_type'> & { n: number }>> {
  return sql<Array<Pick<KeyCount, 'key_type'> & { n: number }>>`
    select key_type, sum(key_count)::int as n from gateway.signal_key_counts()
    where agent_id = any(${agents}::uuid[]) group by key_type`;
}

/** Deletes the session's old prunable keys; how many. */
export async function pruneSignalKeys(sql: Db, agentId: string): Promise<number> {
  const [row] = await sql<[{ deleted: Row<'prune_signal_keys'> }?]>`select gateway.prune_signal_keys(${agentId}) as deleted`;
  return row?.deleted ?? 0;
}

/**
 * Raises `type` for the session's owner unless one was raised in the last 24 hours; true if it was.
 * `level` and the thresholds go into the payload with the row count.
 */
export async function raiseSignalKeyAlert(
  sql: Db,
  a: { agent: string; type: string; severity: string; rows: number; level: string; thresholds: object },
): Promise<boolean> {
  const [raised] = await sql`
    select gateway.emit_event(s.owner_id, s.agent_id, ${a.type}, ${a.severity},
      jsonb_build_object('rows', ${a.rows}::int, 'level', ${a.level}::text, 'thresholds', ${sql.json(a.thresholds as never)}::jsonb))
    from public.whatsapp_sessions s
    where s.agent_id = ${a.agent}
      and not exists (select 1 from public.events e where e.agent_id = s.agent_id and e.type = ${a.type} and e.created_at > now() - interval '24 hours')`;
  return raised !== undefined;
}

/** libsignal/Baileys warnings counted per session since the last flush. */
export interface SignalWarningCount {
  agent_id: string;
  kind: string;
  count: number;
}

/** Adds warning counts to the sessions' clock-hour rows; raises alerts at the thresholds; how many alerts were raised. */
export async function recordSignalWarnings(sql: Db, counts: SignalWarningCount[], thresholds: { warnPerHour: number; criticalPerHour: number }): Promise<number> {
  const [row] = await sql<[{ alerts: number }?]>`
    select gateway.record_signal_warnings(${sql.json(counts as never)}, ${thresholds.warnPerHour}, ${thresholds.criticalPerHour}) as alerts`;
  return Number(row?.alerts ?? 0);
}
