// The stored content of a queued message (kernel/message-content.ts, validated by the API)
// mapped to Baileys' AnyMessageContent. Pure apart from two lookups it is given:
// loading media bytes (media store, guarded URL fetch, or legacy base64) and finding the stored message a reply,
// reaction, edit or delete points at. Baileys never sees a URL from a tenant: media always reaches
// it as a Buffer, because Baileys would read a non-http `{ url }` from local disk.
import type { AnyMessageContent, proto, WAMessage, WAMessageKey } from '@whiskeysockets/baileys';
import { permanent } from './errors.ts';

export type MediaKind = 'image' | 'video' | 'audio' | 'voice' | 'document';

export type MediaRef =
  | { url: string; mimetype?: string; filename?: string }
  /** An upload in the media store (kernel/media/store.ts StoredMediaRef). */
  | { key: string; sha256: string; size: number; mimetype: string; filename?: string }
  /** Inline base64: only rows queued before uploads moved to the media store. */
  | { data?: string; mimetype: string; filename?: string; data_removed?: boolean };

/** A stored message another one refers to: its key on the wire and enough content to quote it. */
export interface StoredTarget {
  key: WAMessageKey;
  message: proto.IMessage;
}

export interface ContentDeps {
  loadMedia(media: MediaRef, kind: MediaKind): Promise<{ data: Buffer; mimetype: string }>;
  findTarget(waMessageId: string): Promise<StoredTarget | undefined>;
}

export interface MappedMessage {
  content: AnyMessageContent;
  /** The message quoted by a reply. */
  quoted?: WAMessage;
  /** The media came from base64 in the row (a row from before the media store): strip it once sent. */
  usedInlineMedia: boolean;
}

type Content = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const userJid = (phone: string) => `${phone}@s.whatsapp.net`;

function escapeVcard(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/([,;])/g, '\\$1');
}

/** vCard 3.0 the way WhatsApp clients write it (waid makes the number tappable). */
export function vcardOf(c: { name: string; phone: string; organization?: string; email?: string }): string {
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `FN:${escapeVcard(c.name)}`,
    ...(c.organization ? [`ORG:${escapeVcard(c.organization)};`] : []),
    `TEL;type=CELL;type=VOICE;waid=${c.phone}:+${c.phone}`,
    ...(c.email ? [`EMAIL;type=INTERNET:${escapeVcard(c.email)}`] : []),
    'END:VCARD',
  ].join('\n');
}

async function target(deps: ContentDeps, id: unknown, what: string): Promise<StoredTarget> {
  if (typeof id !== 'string') throw permanent('unsupported_content', `${what} needs a messageId`);
  const found = await deps.findTarget(id);
  if (!found) throw permanent('target_not_found', `${what}: no stored message with WhatsApp id ${id} for this agent`);
  return found;
}

export async function mapContent(type: string, content: Content, deps: ContentDeps): Promise<MappedMessage> {
  const mentions = Array.isArray(content.mentions) ? (content.mentions as string[]).map(userJid) : undefined;
  const withMentions = mentions?.length ? { mentions } : {};
  let quoted: WAMessage | undefined;
  if (typeof content.replyTo === 'string') {
    const t = await target(deps, content.replyTo, 'reply');
    quoted = { key: t.key, message: t.message };
  }
  const media = async (kind: MediaKind) => {
    const ref = content.media as MediaRef | undefined;
    if (!ref || typeof ref !== 'object') throw permanent('unsupported_content', `${kind} needs media`);
    const loaded = await deps.loadMedia(ref, kind);
    return { ...loaded, inline: 'data' in ref && typeof ref.data === 'string', filename: str(ref.filename) };
  };
  const done = (c: AnyMessageContent, usedInlineMedia = false): MappedMessage => ({ content: c, quoted, usedInlineMedia });

  switch (type) {
    case 'text':
      // linkPreview null: Baileys would otherwise fetch URLs found in the text itself, outside the
      // SSRF guard. No preview is generated (linkPreview: true is accepted and has no effect yet).
      return done({ text: String(content.text ?? ''), linkPreview: null, ...withMentions });
    case 'image': {
      const m = await media('image');
      return done({ image: m.data, mimetype: m.mimetype, caption: str(content.caption), ...withMentions }, m.inline);
    }
    case 'video': {
      const m = await media('video');
      return done({ video: m.data, mimetype: m.mimetype, caption: str(content.caption), gifPlayback: content.gifPlayback === true, ...withMentions }, m.inline);
    }
    case 'audio':
    case 'voice': {
      const m = await media(type);
      return done({ audio: m.data, mimetype: m.mimetype, ptt: type === 'voice' }, m.inline);
    }
    case 'document': {
      const m = await media('document');
      const fileName = str(content.filename) ?? m.filename ?? 'file';
      return done({ document: m.data, mimetype: m.mimetype, fileName, caption: str(content.caption), ...withMentions }, m.inline);
    }
    case 'location':
      return done({
        location: { degreesLatitude: Number(content.latitude), degreesLongitude: Number(content.longitude), name: str(content.name), address: str(content.address) },
      });
    case 'contact': {
      const list = (content.contacts as Array<{ name: string; phone: string; organization?: string; email?: string }>) ?? [];
      if (list.length === 0) throw permanent('unsupported_content', 'contact needs at least one contact');
      return done({
        contacts: {
          displayName: list.length === 1 ? list[0]!.name : `${list.length} contacts`,
          contacts: list.map((c) => ({ displayName: c.name, vcard: vcardOf(c) })),
        },
      });
    }
    case 'reaction': {
      const t = await target(deps, content.messageId, 'reaction');
      return { content: { react: { text: String(content.emoji ?? ''), key: t.key } }, usedInlineMedia: false };
    }
    case 'poll': {
      const values = (content.options as string[]) ?? [];
      return done({ poll: { name: String(content.name ?? ''), values, selectableCount: Number(content.selectableCount ?? 1) } });
    }
    case 'edit': {
      const t = await target(deps, content.messageId, 'edit');
      if (!t.key.fromMe) throw permanent('unsupported_content', 'only the agent’s own messages can be edited');
      return { content: { text: String(content.text ?? ''), edit: t.key, linkPreview: null }, usedInlineMedia: false };
    }
    case 'delete': {
      const t = await target(deps, content.messageId, 'delete');
      if (content.forEveryone === false) {
        // "Delete for me" is an app-state change of the linked device, not a message.
        throw permanent('unsupported_content', 'delete for me only is not supported; use forEveryone: true');
      }
      if (!t.key.fromMe) throw permanent('unsupported_content', 'only the agent’s own messages can be deleted for everyone');
      return { content: { delete: t.key }, usedInlineMedia: false };
    }
    default:
      throw permanent('unsupported_content', `message type ${type} is not supported`);
  }
}

/** What a stored message looks like when quoted: its text or caption, else a placeholder. */
export function quotableMessage(type: string, content: Content): proto.IMessage {
  const caption = str(content.text) ?? str(content.caption);
  switch (type) {
    case 'image':
      return { imageMessage: { caption, mimetype: str((content.media as Content | undefined)?.mimetype) } };
    case 'video':
      return { videoMessage: { caption } };
    case 'document':
      return { documentMessage: { caption, fileName: str(content.filename) } };
    case 'location':
      return { locationMessage: { degreesLatitude: Number(content.latitude), degreesLongitude: Number(content.longitude) } };
    default:
      return { conversation: caption ?? '' };
  }
}
