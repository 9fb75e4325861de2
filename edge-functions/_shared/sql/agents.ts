/**
 * Agents with their session's status and number, and their daily statistics. Every statement
 * names the owner: gateway.api_read / gateway.create_agent / gateway.delete_agent refuse a
 * foreign or unknown agent (WG001/WG002, a 404).
 *
 *   const agent = await readAgent(sql, ownerId, agentId); // undefined when not visible
 */
import { type Actor, acting } from './audit-log.ts';
import type { Dated, RateColumns, Sql, TableRow } from './types.ts';

export type AgentRow = Dated<
  Pick<TableRow<'agents'>, 'id' | 'name' | 'disabled_at' | 'disabled_reason' | 'created_at'> & Pick<TableRow<'whatsapp_sessions'>, 'status' | 'phone_number'>,
  'disabled_at' | 'created_at'
>;

/** A day without a row reads as zeros; day is null when no day in the range has one. */
export type DailyStatsRow = { [K in keyof Omit<TableRow<'daily_stats'>, 'agent_id' | 'owner_id'>]: TableRow<'daily_stats'>[K] | null };

/** A new agent has a disconnected session and no number yet. */
export async function createAgent(sql: Sql, owner: string, name: string, actor: Actor): Promise<AgentRow> {
  const [row] = await sql<AgentRow[]>`
    select a.*, 'disconnected' as status, null::text as phone_number from gateway.create_agent(${acting(sql, actor, owner)}, ${name}) a`;
  return row!;
}

/** The owner's agents, oldest first; `only` restricts the list to one agent (an agent-bound key). */
export async function listAgents(sql: Sql, owner: string, only: string | null): Promise<AgentRow[]> {
  return await sql<AgentRow[]>`
    select a.*, s.status, s.phone_number from public.agents a join public.whatsapp_sessions s on s.agent_id = a.id
    where a.owner_id = ${owner} and (${only}::uuid is null or a.id = ${only}::uuid)
    order by a.created_at, a.id`;
}

export async function readAgent(sql: Sql, owner: string, agent: string): Promise<AgentRow | undefined> {
  const [row] = await sql<AgentRow[]>`
    select a.id, a.name, a.disabled_at, a.disabled_reason, a.created_at, s.status, s.phone_number
    from gateway.api_read(${owner}, ${agent}) a join public.whatsapp_sessions s on s.agent_id = a.id`;
  return row;
}

/** Renames the agent, taking a token from its rename bucket. */
export async function renameAgent(
  sql: Sql, owner: string, agent: string, name: string, limit: { capacity: number; windowSeconds: number }, actor: Actor,
): Promise<AgentRow & RateColumns> {
  const [row] = await sql<(AgentRow & RateColumns)[]>`
    select (r.agent).*, s.status, s.phone_number, r.rate_limit, r.rate_remaining, r.rate_reset_seconds
    from gateway.api_rename_agent(${acting(sql, actor, owner)}, ${agent}, ${name}, ${limit.capacity}, ${limit.windowSeconds}) r
    join public.whatsapp_sessions s on s.agent_id = (r.agent).id`;
  return row!;
}

export async function deleteAgent(sql: Sql, owner: string, agent: string, actor: Actor): Promise<void> {
  await sql`select gateway.delete_agent(${acting(sql, actor, owner)}, ${agent})`;
}

/** The days in [from, to] (UTC dates, inclusive) that have statistics. */
export async function dailyStats(sql: Sql, owner: string, agent: string, from: string, to: string): Promise<DailyStatsRow[]> {
  return await sql<DailyStatsRow[]>`
    select d.day::text as day, d.queued, d.sent, d.delivered, d.read, d.failed, d.received, d.api_calls
    from gateway.api_read(${owner}, ${agent}) a
    left join public.daily_stats d on d.agent_id = a.id and d.day between ${from}::date and ${to}::date`;
}
