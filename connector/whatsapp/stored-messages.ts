// Baileys' getMessage: when a recipient's device could not decrypt one of our messages it sends a
// retry receipt, and Baileys re-encrypts the message for it, asking us for the original content.
// We rebuild it from the queue row (same WhatsApp id). Only content that is complete in the row
// is rebuilt (text, location): a media message needs the upload's keys and URL, which are not
// kept, so for those Baileys gets nothing and the recipient keeps "waiting for this message"
// rather than receiving a broken attachment.
import type { proto, WAMessageKey } from '@whiskeysockets/baileys';
import type { Sql } from 'postgres';
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

export function storedMessageLookup(sql: Sql, agentId: string): (key: WAMessageKey) => Promise<proto.IMessage | undefined> {
  return async (key) => {
    if (!key.id || key.fromMe === false) return undefined;
    const row = await sentMessage(sql, agentId, key.id);
    return row ? rebuildMessage(row.type as string, row.content as Record<string, unknown>) : undefined;
  };
}
