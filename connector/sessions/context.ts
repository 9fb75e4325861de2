/**
 * The contract between the session manager (connector/sessions) and the code that works a live
 * session's traffic (connector/messages, connector/webhooks): what a piece of code that handles
 * one session may know about it. Every database write for a session passes `epoch()` so SQL can
 * fence it (gateway.assert_lease); a stale_lease error (SQLSTATE WG004) means the lease is gone
 * and the caller must stop touching the session.
 */
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';

export interface SessionContext {
  readonly agentId: string;
  readonly connectorId: string;
  /** The current lease epoch (fencing token) for this session. */
  epoch(): bigint;
  readonly sql: Sql;
  readonly logger: Logger;
}

export interface LiveSession extends SessionContext {
  /** The Baileys socket, present only while the session is open. */
  socket(): WASocket | undefined;
  /** True only when the socket's real state is open (not a remembered flag). */
  isOpen(): boolean;
  /**
   * False once our own monotonic clock says the lease may have run out (self-fencing): check it
   * right before anything leaves on the socket, since SQL fences only database writes.
   */
  leaseFresh(): boolean;
}

export interface SessionDirectory {
  /** Sessions this connector holds whose socket is open right now. */
  open(): LiveSession[];
  get(agentId: string): LiveSession | undefined;
}

/** SQLSTATE raised by gateway functions when a connector's lease epoch is stale. */
export const STALE_LEASE = 'WG004';

export function isStaleLease(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === STALE_LEASE;
}
