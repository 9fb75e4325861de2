/**
 * The audit log: who acted (named in the statement of every control-plane action, so the entry
 * its trigger writes is in the same transaction) and the owner's entries, newest first.
 *
 *   await sql`select gateway.delete_agent(${acting(sql, actor, owner)}, ${agent})`;
 *   const rows = await listAuditLog(sql, ownerId, filters, cursor, limit + 1);
 */
import type { AuditActorType } from '../../../kernel/audit-actions.ts';
import type { Cursor, Dated, Nullable, Sql, TableRow } from './types.ts';

/** The caller of an HTTP request, as the audit log records it: never a secret. */
export interface Actor {
  type: 'user' | 'api_key';
  /** The user id, or the API key's prefix. */
  id: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
}

/**
 * `gateway.as_actor(actor, owner)`: names the actor for the rest of the statement's transaction
 * and evaluates to the owner, so it takes the owner argument's place in the action's call.
 */
export function acting(sql: Sql, actor: Actor, owner: string) {
  return sql`gateway.as_actor(${sql.json(actor as never)}, ${owner}::uuid)`;
}

export type AuditRow = Dated<
  Nullable<Omit<TableRow<'audit_log'>, 'owner_id'>, 'agent_id' | 'target_id' | 'client_ip' | 'user_agent' | 'request_id'>,
  'created_at'
> & { cursor_ts: string };

export interface AuditFilters {
  actions: string[] | null;
  agentId: string | null;
  actorType: AuditActorType | null;
  since: string | null;
  until: string | null;
}

/** not_found (WG009) for an agent that is not the owner's and has no entry of theirs. */
export async function listAuditLog(sql: Sql, owner: string, f: AuditFilters, cursor: Cursor | null, limit: number): Promise<AuditRow[]> {
  return await sql<AuditRow[]>`
    select l.id, l.created_at, l.agent_id, l.action, l.target_id, l.actor_type, l.actor, l.client_ip, l.user_agent, l.request_id, l.changes,
      to_char(l.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
    from gateway.list_audit_log(${owner}, ${limit}, ${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid,
      ${f.actions}::text[], ${f.agentId}::uuid, ${f.actorType}, ${f.since}::timestamptz, ${f.until}::timestamptz) l`;
}
