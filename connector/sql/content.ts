// Message content at rest (public.content_policies; README "Message content at rest"): what the
// connector asks before it stores inbound content, and at start whether it needs the content key.
import type { ContentPolicy } from '../../kernel/content-box.ts';
import type { Db } from './types.ts';

/** The policy of an agent's owner (plain when unset, or for an unknown agent). */
export async function contentPolicyOfAgent(sql: Db, agentId: string): Promise<ContentPolicy> {
  const [row] = await sql<Array<{ policy: ContentPolicy | null }>>`select gateway.content_policy_of_agent(${agentId}) as policy`;
  return row?.policy ?? 'plain';
}

/** Whether any tenant has ever chosen encrypted content (sealed rows may exist). */
export async function contentEncryptionInUse(sql: Db): Promise<boolean> {
  const [row] = await sql<Array<{ used: boolean }>>`select gateway.content_encryption_in_use() as used`;
  return row?.used ?? false;
}
