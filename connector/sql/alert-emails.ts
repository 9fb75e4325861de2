// The alert-email outbox (private.alert_emails), worked by alerts/email.ts: the settings the
// trigger on public.events reads, claims, and outcomes written for the rows this connector still
// holds.
import type { Db, Params, Pg, Row } from './types.ts';

/** timestamptz arrives as a Date; an event of no agent, or an agent never linked, gives nulls. */
export type ClaimedAlertEmail = Pg<Row<'claim_alert_emails'>, { event_created_at: Date; agent_id: string | null; agent_name: string | null; phone_number: string | null }>;

export interface AlertEmailOutcome {
  id: string;
  outcome: 'sent' | 'retry' | 'dead';
  error?: string;
  retry_at?: string;
}

/** Which alert types are mailed from now on, to whom (the trigger queues the mails). */
export async function configureAlertEmails(sql: Db, p: Params<'configure_alert_emails'>): Promise<void> {
  await sql`select gateway.configure_alert_emails(${p.connector}, ${p.eventTypes}::text[], ${p.recipients}::text[], ${p.owners})`;
}

export async function claimAlertEmails(sql: Db, p: Params<'claim_alert_emails'>): Promise<ClaimedAlertEmail[]> {
  return sql<ClaimedAlertEmail[]>`select * from gateway.claim_alert_emails(${p.connector}, ${p.limit}, ${p.visibilitySeconds})`;
}

/** Returns how many rows were still ours to write. */
export async function completeAlertEmails(sql: Db, p: { connector: string; results: AlertEmailOutcome[] }): Promise<number> {
  const [row] = await sql<[{ n: Row<'complete_alert_emails'> }?]>`select gateway.complete_alert_emails(${p.connector}, ${sql.json(p.results as never)}) as n`;
  return row?.n ?? 0;
}
