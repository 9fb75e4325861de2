/**
 * The one place where stored message content (messages.content, inbound_messages.content, the
 * `content` of a message event's payload) becomes what a caller reads in a data export. Content
 * is stored as is today; once it is sealed at rest, opening it belongs here and nowhere else.
 *
 *   const content = await readableContent(row.content);
 */
export async function readableContent(stored: unknown): Promise<Record<string, unknown>> {
  return stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {};
}

/** An event payload with its message content (message.received, message.sent_from_phone) made readable. */
export async function readablePayload(payload: unknown): Promise<Record<string, unknown>> {
  const p = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  return 'content' in p ? { ...p, content: await readableContent(p.content) } : p;
}
