// Key rotation (auth-state/rotate.ts) reads and rewrites the sealed rows of the private schema
// directly. Each rewrite is a compare-and-set on the ciphertext that was read, so a concurrent
// write (already under the current key) is never overwritten: false means it was skipped.
import type { Db } from './types.ts';

// The private schema is not exposed through the Data API, so supabase/types.gen.ts has no types
// for it; these rows say what the selects below return (bytea is a Buffer in postgres.js).
export interface SealedCredsRow {
  agent_id: string;
  ciphertext: Buffer;
  key_version: number;
}
export interface SealedSignalKeyRow {
  agent_id: string;
  key_type: string;
  key_id: string;
  ciphertext: Buffer;
  key_version: number;
}
export interface SealedWebhookSecretRow {
  endpoint_id: string;
  ciphertext: Buffer;
  key_version: number;
}

/** Creds not under `current`, after agent `after` in agent order. */
export async function credsNotUnder(sql: Db, current: number, after: string, limit: number): Promise<SealedCredsRow[]> {
  return sql<SealedCredsRow[]>`select agent_id, ciphertext, key_version from private.session_credentials
    where key_version <> ${current} and agent_id > ${after} order by agent_id limit ${limit}`;
}

export async function resealCreds(sql: Db, row: SealedCredsRow, next: Buffer, version: number): Promise<boolean> {
  const done = await sql`update private.session_credentials set ciphertext = ${next}, key_version = ${version}
    where agent_id = ${row.agent_id} and ciphertext = ${row.ciphertext}`;
  return done.count > 0;
}

/** Signal keys not under `current`, after `cursor` (agent, type, id) in primary-key order. */
export async function signalKeysNotUnder(sql: Db, current: number, cursor: [string, string, string], limit: number): Promise<SealedSignalKeyRow[]> {
  return sql<SealedSignalKeyRow[]>`select agent_id, key_type, key_id, ciphertext, key_version from private.signal_keys
    where key_version <> ${current} and (agent_id, key_type, key_id) > (${cursor[0]}::uuid, ${cursor[1]}, ${cursor[2]})
    order by agent_id, key_type, key_id limit ${limit}`;
}

export async function resealSignalKey(sql: Db, row: SealedSignalKeyRow, next: Buffer, version: number): Promise<boolean> {
  const done = await sql`update private.signal_keys set ciphertext = ${next}, key_version = ${version}
    where agent_id = ${row.agent_id} and key_type = ${row.key_type} and key_id = ${row.key_id} and ciphertext = ${row.ciphertext}`;
  return done.count > 0;
}

/** Webhook signing secrets not under `current` (few: one per endpoint). */
export async function webhookSecretsNotUnder(sql: Db, current: number): Promise<SealedWebhookSecretRow[]> {
  return sql<SealedWebhookSecretRow[]>`select endpoint_id, ciphertext, key_version from private.webhook_secrets where key_version <> ${current}`;
}

export async function resealWebhookSecret(sql: Db, row: SealedWebhookSecretRow, next: Buffer, version: number): Promise<boolean> {
  const done = await sql`update private.webhook_secrets set ciphertext = ${next}, key_version = ${version}
    where endpoint_id = ${row.endpoint_id} and ciphertext = ${row.ciphertext}`;
  return done.count > 0;
}

export interface SealedPreviousSecretRow {
  endpoint_id: string;
  previous_ciphertext: Buffer;
  previous_key_version: number;
}

/** Drops the secrets a rotation replaced whose overlap is over (they sign nothing any more). */
export async function dropExpiredPreviousSecrets(sql: Db): Promise<void> {
  await sql`update private.webhook_secrets set previous_ciphertext = null, previous_key_version = null, previous_expires_at = null
    where previous_expires_at <= now()`;
}

/** The secrets a rotation replaced, still signing during their overlap, not under `current`. */
export async function previousSecretsNotUnder(sql: Db, current: number): Promise<SealedPreviousSecretRow[]> {
  return sql<SealedPreviousSecretRow[]>`select endpoint_id, previous_ciphertext, previous_key_version from private.webhook_secrets
    where previous_ciphertext is not null and previous_key_version <> ${current}`;
}

export async function resealPreviousSecret(sql: Db, row: SealedPreviousSecretRow, next: Buffer, version: number): Promise<boolean> {
  const done = await sql`update private.webhook_secrets set previous_ciphertext = ${next}, previous_key_version = ${version}
    where endpoint_id = ${row.endpoint_id} and previous_ciphertext = ${row.previous_ciphertext}`;
  return done.count > 0;
}
