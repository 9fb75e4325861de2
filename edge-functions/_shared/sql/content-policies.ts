/**
 * The owner's content policy (public.content_policies: plain, encrypted, discard_after_delivery):
 * read on every send (it decides whether the content is sealed) and set through the API.
 *
 *   const { policy } = await contentPolicy(sql, ownerId);
 */
import { type Actor, acting } from './audit-log.ts';
import type { Dated, FnRow, Nullable, Sql } from './types.ts';

export type ContentPolicyRow = Dated<Nullable<FnRow<'api_content_policy'>, 'updated_at'>, 'updated_at'>;

export async function contentPolicy(sql: Sql, owner: string): Promise<ContentPolicyRow> {
  const [row] = await sql<ContentPolicyRow[]>`select * from gateway.api_content_policy(${owner})`;
  return row!;
}

/** Sets the policy; a change is audited (content_policy.changed) with the actor. */
export async function setContentPolicy(sql: Sql, actor: Actor, owner: string, policy: string): Promise<ContentPolicyRow> {
  const [row] = await sql<ContentPolicyRow[]>`select * from gateway.api_set_content_policy(${acting(sql, actor, owner)}, ${policy})`;
  return row!;
}
