/**
 * The stored content of a queued message: the `content` jsonb of public.messages, written by the
 * API (validated by edge-functions/_shared/contracts/messages.ts) and mapped to Baileys by the
 * connector (connector/messages/content.ts). KEEP THIS STABLE: both processes depend on these
 * shapes. Runtime-neutral: no imports.
 *
 *   type       content
 *   text       { text, replyTo?, mentions?, linkPreview? }
 *   image      { media, caption?, replyTo?, mentions? }
 *   video      { media, caption?, gifPlayback?, replyTo?, mentions? }
 *   audio      { media, replyTo? }                      an audio file
 *   voice      { media, replyTo? }                      a voice note (push-to-talk; ogg/opus)
 *   document   { media, filename?, caption?, replyTo?, mentions? }
 *   location   { latitude, longitude, name?, address? }
 *   contact    { contacts: [{ name, phone, organization?, email? }] }   connector builds vCards
 *   reaction   { messageId, emoji }                    emoji "" removes the reaction
 *   poll       { name, options: string[2..12], selectableCount }        0 = any number
 *   edit       { messageId, text }                     edits one of the agent's own text messages
 *   delete     { messageId, forEveryone }              revokes one of the agent's own messages
 *
 *   media      { url, mimetype?, filename? }           https URL (http only if configured)
 *            | { data, mimetype, filename? }           base64 (standard alphabet), size-limited
 *            | { key, sha256, size, mimetype, filename? }  what is queued for a base64 upload: the
 *                                                     object in the media store (kernel/media/store.ts)
 *   replyTo    WhatsApp message id of the quoted message (outbound waMessageId or inbound id)
 *   mentions   E.164 digits of mentioned users (text should contain "@<digits>" for each)
 *   messageId  WhatsApp message id of the target message
 *
 * After sending a base64 upload, the connector may drop `media.data` (complete_messages
 * strip_media) and set `media.data_removed = true`.
 */
export const MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'voice', 'document', 'location', 'contact', 'reaction', 'poll', 'edit', 'delete'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** MIME types accepted per media type (WhatsApp's own limits; anything else is refused, not converted). */
export const MIME_ALLOW_LIST: Record<'image' | 'video' | 'audio' | 'voice' | 'document', readonly string[]> = {
  image: ['image/jpeg', 'image/png', 'image/webp'],
  video: ['video/mp4', 'video/3gpp'],
  audio: ['audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/ogg', 'audio/amr', 'audio/opus'],
  voice: ['audio/ogg', 'audio/opus'],
  document: [
    'application/pdf', 'text/plain', 'text/csv', 'application/zip', 'application/json', 'application/rtf',
    'application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    'application/vnd.oasis.opendocument.text', 'application/vnd.oasis.opendocument.spreadsheet',
    'image/jpeg', 'image/png', 'image/webp', 'video/mp4', 'audio/mpeg',
  ],
};
