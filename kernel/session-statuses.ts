// The statuses a WhatsApp session can have, as the connector reports them and the API shows
// them. The database holds the same list in the CHECK of public.whatsapp_sessions.status;
// tests/sql/vocabularies.test.ts fails when the two differ.
export const SESSION_STATUSES = [
  'disconnected',
  'connecting',
  'qr',
  'pairing_code',
  'connected',
  'reconnecting',
  'logged_out',
  'conflict',
  'qr_timeout',
  'failed',
] as const;

export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses after which the connector lets the session go until someone asks for it again. */
export type TerminalSessionStatus = Extract<SessionStatus, 'logged_out' | 'conflict' | 'failed' | 'qr_timeout'>;

export function isSessionStatus(value: string): value is SessionStatus {
  return (SESSION_STATUSES as readonly string[]).includes(value);
}
