// Leases (docs/invariants.md, invariant 1): this connector's registration, and the statements of
// the session manager that claim, renew and release sessions.
import type { Db, Params, Pg, Row } from './types.ts';

/** lease_epoch is int8, a string from postgres.js: handed out as a bigint. */
export type ClaimedSession = Pg<Row<'claim_sessions'>, { lease_epoch: bigint; taken_over_from: string | null }>;
export type RenewedLease = Pg<Row<'renew_leases'>, { lease_epoch: bigint; pending_command: string | null }>;

export async function registerConnector(sql: Db, p: Params<'register_connector'>): Promise<void> {
  await sql`select 1 from gateway.register_connector(${p.id}, ${p.hostname}, ${p.pid}, ${p.version}, ${p.capacity}, ${p.leaseSeconds}, ${p.keyVersions}::integer[])`;
}

/** Takes up to `limit` sessions that want a socket and whose lease is free or expired. */
export async function claimSessions(sql: Db, p: Params<'claim_sessions'>): Promise<ClaimedSession[]> {
  const rows = await sql<Array<Pg<ClaimedSession, { lease_epoch: string }>>>`
    select agent_id, lease_epoch, taken_over_from
    from gateway.claim_sessions(${p.connector}, ${p.limit}, ${p.leaseSeconds},
      ${p.keyVersions}::integer[], ${p.skip}::uuid[])`;
  return rows.map((r) => ({ ...r, lease_epoch: BigInt(r.lease_epoch) }));
}

/** The fleet's share as gateway.session_share computed it for this connector. */
export interface SessionShare {
  liveConnectors: number;
  wanting: number;
  share: number;
  target: number;
  waiting: number;
  claimLimit: number;
}

/**
 * One claim round of a connector keeping the fleet even: gateway.session_share computes how many
 * it may take now, and gateway.claim_sessions takes up to that many, in one statement.
 */
export async function claimSessionsWithinShare(
  sql: Db,
  p: Pg<Omit<Params<'claim_sessions'>, 'limit'>, { held: number }>,
): Promise<{ share: SessionShare; claimed: ClaimedSession[] }> {
  type Out = Row<'session_share'> & { agent_id: string | null; lease_epoch: string | null; taken_over_from: string | null };
  const rows = await sql<Out[]>`
    select sh.live_connectors, sh.wanting, sh.share, sh.target, sh.waiting, sh.claim_limit,
      c.agent_id, c.lease_epoch, c.taken_over_from
    from gateway.session_share(${p.connector}, ${p.held}, ${p.leaseSeconds}, ${p.keyVersions}::integer[]) sh
    left join lateral gateway.claim_sessions(${p.connector}, sh.claim_limit, ${p.leaseSeconds},
      ${p.keyVersions}::integer[], ${p.skip}::uuid[]) c on true`;
  const first = rows[0]!;
  return {
    share: { liveConnectors: first.live_connectors, wanting: first.wanting, share: first.share, target: first.target, waiting: first.waiting, claimLimit: first.claim_limit },
    claimed: rows.flatMap((r) => (r.agent_id && r.lease_epoch ? [{ agent_id: r.agent_id, lease_epoch: BigInt(r.lease_epoch), taken_over_from: r.taken_over_from }] : [])),
  };
}

/** This connector's key did not open the session's creds: no peer for their key version in the share any more. */
export async function connectorCannotOpen(sql: Db, p: Params<'connector_cannot_open'>): Promise<void> {
  await sql`select gateway.connector_cannot_open(${p.connector}, ${p.agent})`;
}

/** Renews every lease held at its epoch; a row with renewed = false is lost. */
export async function renewLeases(sql: Db, p: Pg<Params<'renew_leases'>, { epochs: bigint[] }>): Promise<RenewedLease[]> {
  const rows = await sql<Array<Pg<RenewedLease, { lease_epoch: string }>>>`
    select agent_id, lease_epoch, renewed, desired_state, pending_command, command_force
    from gateway.renew_leases(${p.connector}, ${p.agents}::uuid[], ${p.epochs.map(String)}::bigint[], ${p.leaseSeconds})`;
  return rows.map((r) => ({ ...r, lease_epoch: BigInt(r.lease_epoch) }));
}

/** Hands sessions back at once (all of this connector's when `agents` is null); how many. */
export async function releaseSessions(sql: Db, p: Pg<Params<'release_sessions'>, { agents: string[] | null }>): Promise<number> {
  const [row] = await sql<[{ released: Row<'release_sessions'> }?]>`select gateway.release_sessions(${p.connector}, ${p.agents}::uuid[]) as released`;
  return row?.released ?? 0;
}
