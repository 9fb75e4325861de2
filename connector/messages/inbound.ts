// Inbound messages: what gateway.record_inbound stores for one WAMessage. Stored once per
// WhatsApp id (the SQL ignores a second copy, e.g. after a reconnect redelivers it), with the
// sender's phone number and LID both kept when WhatsApp gives both (v7 addresses by LID and puts
// the phone number in the *Alt field). Media is stored as metadata only (no download).
// U+0000 is replaced by U+FFFD in every string: PostgreSQL's jsonb and text refuse it, and one
// such character used to make the whole batch fail (README, Messages).
import { getContentType, jidNormalizedUser, normalizeMessageContent, proto, type WAMessage } from '@whiskeysockets/baileys';

export interface InboundRecord {
  wa_message_id: string;
  chat_jid: string;
  sender_phone?: string;
  sender_lid?: string;
  from_me: boolean;
  type: string;
  content: Record<string, unknown>;
  quoted_wa_message_id?: string;
  sent_at?: string;
}

const phoneOf = (jid: string | null | undefined) => (jid?.endsWith('@s.whatsapp.net') ? jid.split('@')[0]!.split(':')[0] : undefined);
const lidOf = (jid: string | null | undefined) => (jid?.endsWith('@lid') ? jidNormalizedUser(jid) : undefined);
const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
const b64 = (v: Uint8Array | null | undefined) => (v?.length ? Buffer.from(v).toString('base64') : undefined);

function mediaMeta(m: { mimetype?: string | null; fileLength?: unknown; fileSha256?: Uint8Array | null; caption?: string | null }) {
  return { mimetype: m.mimetype ?? undefined, size: num(m.fileLength), sha256: b64(m.fileSha256), caption: m.caption ?? undefined };
}

/** Type and content of a message, or undefined for messages that are not stored (protocol noise). */
export function describeContent(message: proto.IMessage | null | undefined): { type: string; content: Record<string, unknown>; contextInfo?: proto.IContextInfo | null } | undefined {
  const m = normalizeMessageContent(message);
  if (!m) return undefined;
  const kind = getContentType(m);
  switch (kind) {
    case 'conversation':
      return { type: 'text', content: { text: m.conversation } };
    case 'extendedTextMessage':
      return { type: 'text', content: { text: m.extendedTextMessage?.text, mentions: m.extendedTextMessage?.contextInfo?.mentionedJid ?? undefined }, contextInfo: m.extendedTextMessage?.contextInfo };
    case 'imageMessage': {
      const x = m.imageMessage!;
      return { type: 'image', content: { ...mediaMeta(x), width: x.width ?? undefined, height: x.height ?? undefined }, contextInfo: x.contextInfo };
    }
    case 'videoMessage': {
      const x = m.videoMessage!;
      return { type: 'video', content: { ...mediaMeta(x), seconds: x.seconds ?? undefined, gifPlayback: x.gifPlayback ?? undefined }, contextInfo: x.contextInfo };
    }
    case 'audioMessage': {
      const x = m.audioMessage!;
      return { type: x.ptt ? 'voice' : 'audio', content: { ...mediaMeta(x), seconds: x.seconds ?? undefined }, contextInfo: x.contextInfo };
    }
    case 'documentMessage': {
      const x = m.documentMessage!;
      return { type: 'document', content: { ...mediaMeta(x), filename: x.fileName ?? undefined, title: x.title ?? undefined }, contextInfo: x.contextInfo };
    }
    case 'stickerMessage':
      return { type: 'sticker', content: mediaMeta(m.stickerMessage!), contextInfo: m.stickerMessage?.contextInfo };
    case 'locationMessage': {
      const x = m.locationMessage!;
      return { type: 'location', content: { latitude: x.degreesLatitude, longitude: x.degreesLongitude, name: x.name ?? undefined, address: x.address ?? undefined }, contextInfo: x.contextInfo };
    }
    case 'contactMessage':
      return { type: 'contact', content: { contacts: [{ name: m.contactMessage?.displayName, vcard: m.contactMessage?.vcard }] } };
    case 'contactsArrayMessage':
      return { type: 'contact', content: { contacts: (m.contactsArrayMessage?.contacts ?? []).map((c) => ({ name: c.displayName, vcard: c.vcard })) } };
    case 'reactionMessage':
      return { type: 'reaction', content: { messageId: m.reactionMessage?.key?.id, emoji: m.reactionMessage?.text ?? '' } };
    case 'pollCreationMessage':
    case 'pollCreationMessageV2':
    case 'pollCreationMessageV3': {
      const x = m[kind]!;
      return { type: 'poll', content: { name: x.name, options: (x.options ?? []).map((o) => o.optionName), selectableCount: x.selectableOptionsCount } };
    }
    case 'protocolMessage': {
      const p = m.protocolMessage!;
      if (p.type === proto.Message.ProtocolMessage.Type.REVOKE) return { type: 'delete', content: { messageId: p.key?.id } };
      if (p.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) {
        const edited = normalizeMessageContent(p.editedMessage);
        return { type: 'edit', content: { messageId: p.key?.id, text: edited?.conversation ?? edited?.extendedTextMessage?.text } };
      }
      return undefined; // history sync, app-state keys, …
    }
    case 'senderKeyDistributionMessage':
    case 'messageContextInfo':
    case undefined:
      return undefined;
    default:
      return { type: 'unknown', content: { contentType: kind } };
  }
}

const NUL = String.fromCharCode(0);

/** `value` with U+0000 replaced by U+FFFD in every string, and undefined fields dropped (JSON). */
export function withoutNul<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.replaceAll(NUL, '\uFFFD') : v))) as T;
}

export function toInboundRecord(msg: WAMessage): InboundRecord | undefined {
  const key = msg.key;
  if (!key.id || !key.remoteJid || key.remoteJid === 'status@broadcast') return undefined;
  const described = describeContent(msg.message);
  if (!described) return undefined;
  const isGroup = key.remoteJid.endsWith('@g.us');
  // 1:1 chats: the sender is the chat (remoteJid, with the other address form in remoteJidAlt);
  // groups: the participant (participantAlt).
  const a = isGroup ? key.participant : key.remoteJid;
  const b = isGroup ? key.participantAlt : key.remoteJidAlt;
  const ts = num(msg.messageTimestamp);
  return withoutNul({
    wa_message_id: key.id,
    chat_jid: jidNormalizedUser(key.remoteJid),
    sender_phone: key.fromMe ? undefined : (phoneOf(a) ?? phoneOf(b)),
    sender_lid: key.fromMe ? undefined : (lidOf(a) ?? lidOf(b)),
    from_me: key.fromMe === true,
    type: described.type,
    content: described.content,
    quoted_wa_message_id: described.contextInfo?.stanzaId ?? undefined,
    sent_at: ts ? new Date(ts * 1000).toISOString() : undefined,
  });
}
