// Message content at rest in the connector (README "Message content at rest"): an encrypted
// tenant's queued content is opened just before it is mapped for Baileys, its inbound content
// sealed before it is stored (in the transaction that stores it, which also reads the policy), and
// sealed event payloads opened just before a webhook is signed. Nothing sealed is ever sent or
// posted as it is: what cannot be opened fails closed (a retry, with the reason recorded).
import { type ContentPolicy, openContent, sealContent } from '../../kernel/content-box.ts';
import { associatedData, DecryptionError, type Keyring } from '../../kernel/secret-box.ts';
import { contentPolicyOfAgent } from '../sql/content.ts';
import type { Db } from '../sql/types.ts';
import { transient } from './errors.ts';
import type { InboundRecord } from './inbound.ts';

/** A queued message's content, opened; a SendError to retry when this connector cannot open it. */
export async function openQueuedContent(keyring: Keyring | undefined, row: { id: string; agent_id: string; content: Record<string, unknown> }): Promise<Record<string, unknown>> {
  try {
    return await openContent(keyring, row.content, associatedData.messageContent(row.agent_id, row.id));
  } catch (error) {
    if (!(error instanceof DecryptionError)) throw error;
    throw transient('content_unreadable', `the stored content cannot be opened by this connector: ${error.message}`);
  }
}

/** Stored content for a quote; {} when it cannot be opened (the quote then carries the id only). */
export async function openStoredContent(keyring: Keyring | undefined, content: Record<string, unknown>, ad: string): Promise<Record<string, unknown>> {
  return await openContent(keyring, content, ad).catch((error: unknown) => {
    if (error instanceof DecryptionError) return {};
    throw error;
  });
}

/**
 * The records to store for an agent: sealed when its owner keeps content encrypted. Without the
 * key the write fails (and is retried with the receipts held) rather than store plaintext.
 */
export async function inboundRecordsToStore(sql: Db, keyring: Keyring | undefined, agentId: string, records: InboundRecord[]): Promise<InboundRecord[]> {
  const policy: ContentPolicy = await contentPolicyOfAgent(sql, agentId);
  if (policy !== 'encrypted') return records;
  if (!keyring) throw new Error('this agent\'s owner keeps message content encrypted and MESSAGE_CONTENT_KEY is not configured');
  return await Promise.all(
    records.map(async (r) => ({ ...r, content: (await sealContent(keyring, r.content, associatedData.inboundContent(agentId, r.wa_message_id))) as unknown as Record<string, unknown> })),
  );
}

/** A webhook payload with its inbound content opened (message.received, message.sent_from_phone). */
export async function openEventPayload(keyring: Keyring | undefined, agentId: string | null, payload: unknown): Promise<unknown> {
  const p = payload as { content?: unknown; wa_message_id?: unknown } | null;
  if (!agentId || !p || typeof p.content !== 'object' || p.content === null || typeof p.wa_message_id !== 'string') return payload;
  return { ...p, content: await openContent(keyring, p.content as Record<string, unknown>, associatedData.inboundContent(agentId, p.wa_message_id)) };
}
