/**
 * An agent's WhatsApp session: link requests, commands, status and sending status. Tenants see
 * whether a connector holds the session (held, lease_until), never which one.
 *
 *   const session = await readSession(sql, ownerId, agentId); // undefined when not visible
 */
import { type Actor, acting } from './audit-log.ts';
import type { Dated, FnRow, Int8, Nullable, RateColumns, Sql, TableRow } from './types.ts';

type Session = TableRow<'whatsapp_sessions'>;

export type SessionRow = Dated<
  Pick<Session, 'agent_id' | 'status' | 'status_reason' | 'desired_state' | 'pending_command' | 'qr_code' | 'qr_expires_at' | 'pairing_code' | 'phone_number'
    | 'last_disconnect_code' | 'last_disconnect_reason' | 'last_disconnected_at' | 'lease_until' | 'last_connected_at' | 'status_changed_at'>,
  'qr_expires_at' | 'last_disconnected_at' | 'lease_until' | 'last_connected_at' | 'status_changed_at'
> & { held: boolean; heartbeat_age: number | null };

export type LinkRow = Dated<FnRow<'api_request_link'>, 'link_requested_at'>;

export type SendingStatusRow = Dated<Nullable<Int8<FnRow<'session_sending_status'>, 'in_flight' | 'queued'>, 'oldest_queued_at'>, 'oldest_queued_at'>;

export type SessionCommand = 'disconnect' | 'logout' | 'restart';

/** Records a link request (QR or pairing code), taking a token from the agent's link bucket. */
export async function requestLink(
  sql: Sql, owner: string, agent: string, method: string, phone: string | null, limit: { capacity: number; windowSeconds: number }, actor: Actor,
): Promise<LinkRow> {
  const [row] = await sql<LinkRow[]>`
    select * from gateway.api_request_link(${acting(sql, actor, owner)}, ${agent}, ${method}, ${phone}, ${limit.capacity}, ${limit.windowSeconds})`;
  return row!;
}

export async function readSession(sql: Sql, owner: string, agent: string): Promise<SessionRow | undefined> {
  const [row] = await sql<SessionRow[]>`
    select s.*, (s.owner_connector_id is not null and s.lease_until > now()) as held, extract(epoch from now() - s.last_heartbeat_at)::float8 as heartbeat_age
    from gateway.api_read(${owner}, ${agent}) a join public.whatsapp_sessions s on s.agent_id = a.id`;
  return row;
}

/** Records a command for the connector, taking a token from the agent's command bucket. */
export async function requestSessionCommand(
  sql: Sql, owner: string, agent: string, command: SessionCommand, force: boolean, limit: { capacity: number; windowSeconds: number }, actor: Actor,
): Promise<SessionRow & RateColumns> {
  const [row] = await sql<(SessionRow & RateColumns)[]>`
    select (r.session).*, ((r.session).owner_connector_id is not null and (r.session).lease_until > now()) as held, extract(epoch from now() - (r.session).last_heartbeat_at)::float8 as heartbeat_age,
           r.rate_limit, r.rate_remaining, r.rate_reset_seconds
    from gateway.api_session_command(${acting(sql, actor, owner)}, ${agent}, ${command}, ${force}, ${limit.capacity}, ${limit.windowSeconds}) r`;
  return row!;
}

export async function sendingStatus(sql: Sql, owner: string, agent: string): Promise<SendingStatusRow | undefined> {
  const [row] = await sql<SendingStatusRow[]>`
    select st.* from gateway.api_read(${owner}, ${agent}) a, gateway.session_sending_status(${owner}, a.id) st`;
  return row;
}
