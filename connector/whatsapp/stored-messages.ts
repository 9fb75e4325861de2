// Baileys' getMessage: when a recipient's device could not decrypt one of our messages it sends a
// retry receipt, and Baileys re-encrypts the message for it, asking us for the original content.
// We rebuild it from the queue row (same WhatsApp id). Only content that is complete in the row
// is rebuilt (text, location): a media message needs the upload's keys and URL, which are not
// kept, so for those Baileys gets nothing and the recipient keeps "waiting for this message"
// rather than receiving a broken attachment. An encrypted tenant's row is opened with the content
// keyring first (bound to the agent and row, as the sender opens it); a lost database connection
// is waited out (db-retry.ts): Baileys acks the retry request whether or not it could answer it.
import type { proto, WAMessageKey } from '@whiskeysockets/baileys';
import type { Sql } from 'postgres';
import { openContent } from '../../kernel/content-box.ts';
import { associatedData, DecryptionError, type Keyring } from '../../kernel/secret-box.ts';
import { retryConnectionErrors } from '../db-retry.ts';
import { sentMessage } from '../sql/messages.ts';

export function rebuildMessage(type: string, content: Record<string, unknown>): proto.IMessage | undefined {
  if (type === 'text' && typeof content.text === 'string') return { conversation: content.text };
  if (type === 'location' && Number.isFinite(Number(content.latitude)) && Number.isFinite(Number(content.longitude))) {
    return {
      locationMessage: {
        degreesLatitude: Number(content.latitude),
        degreesLongitude: Number(content.longitude),
        ...(typeof content.name === 'string' ? { name: content.name } : {}),
        ...(typeof content.address === 'string' ? { address: content.address } : {}),
      },
    };
  }
  return undefined;
}

export function storedMessageLookup(sql: Sql, agentId: string, contentKeyring?: Keyring): (key: WAMessageKey) => Promise<proto.IMessage | undefined> {
  return async (key) => {
    if (!key.id || key.fromMe === false) return undefined;
    const id = key.id;
    const row = await retryConnectionErrors(() => sentMessage(sql, agentId, id));
    if (!row) return undefined;
    const content = await openContent(contentKeyring, row.content as Record<string, unknown>, associatedData.messageContent(agentId, row.id as string)).catch((error: unknown) => {
      if (error instanceof DecryptionError) return undefined;
      throw error;
    });
    return content ? rebuildMessage(row.type as string, content) : undefined;
  };
}
