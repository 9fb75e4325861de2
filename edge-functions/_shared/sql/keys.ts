/**
 * API keys: creation (limited per owner), listing, revocation, and the lookup authentication
 * runs for every `wag_` token. Only the SHA-256 of a key reaches the database.
 *
 *   const key = await apiKeyForPrefix(sql, prefix, hash); // compare key_hash in constant time
 */
import { type Actor, acting } from './audit-log.ts';
import type { Bytes, Dated, FnRow, Nullable, Sql } from './types.ts';

export type ApiKeyRow = Dated<
  Nullable<FnRow<'list_api_keys'>, 'agent_id' | 'expires_at' | 'last_used_at' | 'revoked_at'>,
  'expires_at' | 'last_used_at' | 'revoked_at' | 'created_at'
>;

export type CreatedApiKeyRow = Dated<Nullable<FnRow<'create_api_key'>, 'agent_id' | 'expires_at'>, 'expires_at' | 'created_at'>;

export type StoredApiKeyRow = Bytes<Nullable<FnRow<'api_key_for_prefix'>, 'agent_id'>, 'key_hash'>;

export async function createApiKey(
  sql: Sql,
  k: { owner: string; agent: string | null; name: string; prefix: string; hash: Uint8Array; scopes: string[]; expiresAt: string | null },
  limit: { capacity: number; windowSeconds: number },
  actor: Actor,
): Promise<CreatedApiKeyRow> {
  const [row] = await sql<CreatedApiKeyRow[]>`
    select * from gateway.create_api_key(${acting(sql, actor, k.owner)}, ${k.agent}, ${k.name}, ${k.prefix}, ${k.hash},
      ${k.scopes}::text[], ${k.expiresAt}, ${limit.capacity}, ${limit.windowSeconds})`;
  return row!;
}

export async function listApiKeys(sql: Sql, owner: string): Promise<ApiKeyRow[]> {
  return await sql<ApiKeyRow[]>`select * from gateway.list_api_keys(${owner})`;
}

/** Idempotent; not_found (WG009) for an unknown or foreign key. */
export async function revokeApiKey(sql: Sql, owner: string, key: string, actor: Actor): Promise<void> {
  await sql`select * from gateway.revoke_api_key(${acting(sql, actor, owner)}, ${key})`;
}

/** The key with this prefix, if any, whatever its state (usable says whether it may be used). */
export async function apiKeyForPrefix(sql: Sql, prefix: string, hash: Uint8Array): Promise<StoredApiKeyRow | undefined> {
  const [row] = await sql<StoredApiKeyRow[]>`select * from gateway.api_key_for_prefix(${prefix}, ${hash})`;
  return row;
}
