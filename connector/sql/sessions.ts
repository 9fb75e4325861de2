// A held session's own row (sessions/session.ts): its link request, its status, its alerts. Every
// write is fenced by the lease epoch in SQL.
import type { Db, Fence, Fenced, TableRow } from './types.ts';

export type SessionLink = Pick<TableRow<'whatsapp_sessions'>, 'link_method' | 'link_phone' | 'status'>;

/** How the owner asked to link the session, and the status it was left in. */
export async function sessionLink(sql: Db, agentId: string): Promise<SessionLink | undefined> {
  const [row] = await sql<SessionLink[]>`
    select link_method, link_phone, status from public.whatsapp_sessions where agent_id = ${agentId}`;
  return row;
}

/** Applies a status patch (columns, plus the clear_command / clear_link_request flags). */
export async function updateSession(sql: Db, a: Fenced<'update_session', { patch: object }>): Promise<void> {
  await sql`select 1 from gateway.update_session(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${sql.json(a.patch as never)})`;
}

/** An event about the session for its owner (and the webhook outbox). */
export async function raiseSessionAlert(sql: Db, a: Fenced<'raise_session_alert', { payload: object }>): Promise<void> {
  await sql`select gateway.raise_session_alert(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${a.type}, ${a.severity}, ${sql.json(a.payload as never)})`;
}

/** alert.repeated_logouts, when WhatsApp logged the session out at least twice within 24 h. */
export async function raiseRepeatedLogoutsAlert(sql: Db, a: Fence): Promise<void> {
  await sql`
    select gateway.raise_session_alert(${a.agent}, ${a.connector}, ${a.epoch.toString()}, 'alert.repeated_logouts', 'critical',
      jsonb_build_object('logouts_24h', c.n))
    from (select count(*)::int as n from public.events
          where agent_id = ${a.agent} and type = 'alert.logged_out' and created_at > now() - interval '24 hours') c
    where c.n >= 2`;
}
