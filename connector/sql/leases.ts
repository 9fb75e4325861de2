// Leases (docs/invariants.md, invariant 1): this connector's registration, and the statements of
// the session manager that claim, renew and release sessions.
import type { Db, Params, Pg, Row } from './types.ts';

/** lease_epoch is int8, a string from postgres.js: handed out as a bigint. */
export type ClaimedSession = Pg<Row<'claim_sessions'>, { lease_epoch: bigint; taken_over_from: string | null }>;
export type RenewedLease = Pg<Row<'renew_leases'>, { lease_epoch: bigint; pending_command: string | null }>;

export async function registerConnector(sql: Db, p: Params<'register_connector'>): Promise<void> {
  await sql`select 1 from gateway.register_connector(${p.id}, ${p.hostname}, ${p.pid}, ${p.version}, ${p.capacity})`;
}

/** Takes up to `limit` sessions that want a socket and whose lease is free or expired. */
export async function claimSessions(sql: Db, p: Params<'claim_sessions'>): Promise<ClaimedSession[]> {
  const rows = await sql<Array<Pg<ClaimedSession, { lease_epoch: string }>>>`
    select agent_id, lease_epoch, taken_over_from
    from gateway.claim_sessions(${p.connector}, ${p.limit}, ${p.leaseSeconds},
      ${p.keyVersions}::integer[], ${p.skip}::uuid[])`;
  return rows.map((r) => ({ ...r, lease_epoch: BigInt(r.lease_epoch) }));
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
