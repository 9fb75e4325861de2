// Creds and Signal keys of a session (auth-state/postgres-auth-state.ts), every statement fenced
// by the lease epoch in SQL (a stale one raises WG004).
import type { Db, Fenced, Pg, Row } from './types.ts';

const BYTEA_ARRAY = 1001;

/** bytea arrives as a Buffer from postgres.js (the generated type is PostgREST's hex string). */
export type SealedCreds = Pg<Row<'load_creds'>, { ciphertext: Buffer }>;
export type SealedSignalKey = Pg<Row<'get_signal_keys'>, { ciphertext: Buffer }>;

/** The stored creds, if the session has any. */
export async function loadCreds(sql: Db, a: Fenced<'load_creds'>): Promise<SealedCreds | undefined> {
  const [row] = await sql<SealedCreds[]>`select ciphertext, key_version from gateway.load_creds(${a.agent}, ${a.connector}, ${a.epoch.toString()})`;
  return row;
}

export async function saveCreds(sql: Db, a: Fenced<'save_creds', { ciphertext: Buffer }>): Promise<void> {
  await sql`select gateway.save_creds(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${a.ciphertext}, ${a.keyVersion})`;
}

/** Deletes the creds and every Signal key of the session. */
export async function wipeAuthState(sql: Db, a: Fenced<'wipe_auth_state'>): Promise<void> {
  await sql`select gateway.wipe_auth_state(${a.agent}, ${a.connector}, ${a.epoch.toString()})`;
}

export async function getSignalKeys(sql: Db, a: Fenced<'get_signal_keys'>): Promise<SealedSignalKey[]> {
  return sql<SealedSignalKey[]>`
    select key_id, ciphertext, key_version
    from gateway.get_signal_keys(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${a.keyType}, ${a.keyIds})`;
}

/** One statement for a whole Baileys key transaction; an empty ciphertext deletes its key. */
export async function writeSignalKeys(sql: Db, a: Fenced<'write_signal_keys', { ciphertexts: Buffer[] }>): Promise<void> {
  await sql`
    select gateway.write_signal_keys(${a.agent}, ${a.connector}, ${a.epoch.toString()},
      ${a.keyTypes}, ${a.keyIds}, ${sql.array(a.ciphertexts, BYTEA_ARRAY)}, ${a.keyVersions})`;
}
