/**
 * Webhook endpoints (account-level) and their deliveries. The signing secret arrives sealed;
 * tests and redeliveries take a token from the owner's webhook-send bucket.
 *
 *   const endpoints = await listWebhookEndpoints(sql, ownerId);
 */
import { type Actor, acting } from './audit-log.ts';
import type { Cursor, Dated, FnRow, Nullable, RateColumns, Sql, TableRow } from './types.ts';

export type WebhookEndpointRow = Dated<
  Pick<TableRow<'webhook_endpoints'>, 'id' | 'agent_id' | 'url' | 'event_types' | 'description' | 'enabled' | 'created_at' | 'updated_at'>,
  'created_at' | 'updated_at'
>;

export type DeliveryRow = Dated<
  Nullable<FnRow<'list_webhook_deliveries'>, 'last_status_code' | 'last_error' | 'last_attempt_at' | 'delivered_at'>,
  'next_attempt_at' | 'last_attempt_at' | 'delivered_at' | 'created_at'
> & { cursor_ts: string };

/** What an update may change: url, event_types, description (null clears it), enabled. */
export type WebhookPatch = Partial<Pick<TableRow<'webhook_endpoints'>, 'url' | 'event_types' | 'description' | 'enabled'>>;

export async function createWebhookEndpoint(
  sql: Sql,
  w: { owner: string; id: string; agent: string | null; url: string; eventTypes: string[]; description: string | null; sealed: { ciphertext: Uint8Array; keyVersion: number } },
  actor: Actor,
): Promise<WebhookEndpointRow> {
  const [row] = await sql<WebhookEndpointRow[]>`
    select * from gateway.create_webhook_endpoint(${acting(sql, actor, w.owner)}, ${w.id}, ${w.agent}, ${w.url}, ${w.eventTypes}::text[],
      ${w.description}, ${w.sealed.ciphertext}, ${w.sealed.keyVersion})`;
  return row!;
}

export async function listWebhookEndpoints(sql: Sql, owner: string): Promise<WebhookEndpointRow[]> {
  return await sql<WebhookEndpointRow[]>`select * from public.webhook_endpoints where owner_id = ${owner} order by created_at, id`;
}

export async function updateWebhookEndpoint(sql: Sql, owner: string, id: string, patch: WebhookPatch, actor: Actor): Promise<WebhookEndpointRow> {
  const [row] = await sql<WebhookEndpointRow[]>`
    select * from gateway.update_webhook_endpoint(${acting(sql, actor, owner)}, ${id}, ${sql.json(patch as never)})`;
  return row!;
}

export async function deleteWebhookEndpoint(sql: Sql, owner: string, id: string, actor: Actor): Promise<void> {
  await sql`select gateway.delete_webhook_endpoint(${acting(sql, actor, owner)}, ${id})`;
}

export async function testWebhook(sql: Sql, owner: string, id: string, limit: { capacity: number; windowSeconds: number }): Promise<FnRow<'api_test_webhook'>> {
  const [row] = await sql<FnRow<'api_test_webhook'>[]>`
    select * from gateway.api_test_webhook(${owner}, ${id}, ${limit.capacity}, ${limit.windowSeconds})`;
  return row!;
}

/** Newest first, after the cursor. */
export async function listDeliveries(sql: Sql, owner: string, endpoint: string, cursor: Cursor | null, limit: number): Promise<DeliveryRow[]> {
  return await sql<DeliveryRow[]>`
    select d.*, to_char(d.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
    from gateway.list_webhook_deliveries(${owner}, ${endpoint}, ${limit}, ${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid) d`;
}

export async function redeliver(
  sql: Sql, owner: string, endpoint: string, delivery: string, limit: { capacity: number; windowSeconds: number },
): Promise<Pick<FnRow<'api_redeliver'>, 'id' | 'status'> & RateColumns> {
  const [row] = await sql<(Pick<FnRow<'api_redeliver'>, 'id' | 'status'> & RateColumns)[]>`
    select * from gateway.api_redeliver(${owner}, ${endpoint}, ${delivery}, ${limit.capacity}, ${limit.windowSeconds})`;
  return row!;
}

/** Seals in a new signing secret and keeps the old one signing for `overlapSeconds`; takes a token from the owner's rotation bucket. */
export async function rotateWebhookSecret(
  sql: Sql,
  r: { owner: string; id: string; sealed: { ciphertext: Uint8Array; keyVersion: number }; overlapSeconds: number; limit: { capacity: number; windowSeconds: number } },
  actor: Actor,
): Promise<{ previous_expires_at: Date | null } & RateColumns> {
  const [row] = await sql<({ previous_expires_at: Date | null } & RateColumns)[]>`
    select * from gateway.api_rotate_webhook_secret(${acting(sql, actor, r.owner)}, ${r.id}, ${r.sealed.ciphertext}, ${r.sealed.keyVersion},
      ${r.overlapSeconds}, ${r.limit.capacity}, ${r.limit.windowSeconds})`;
  return row!;
}
