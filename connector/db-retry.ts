// Reads that Baileys makes while it handles a stanza (Signal keys, the original of a message a
// recipient asks to have re-sent): a failed read makes Baileys nack the message or ack a retry
// request without answering it, which WhatsApp does not offer again. A lost database connection
// (a PostgreSQL restart) is therefore waited out, for a bounded time, instead of failing the read.

/** A read is retried this long when the database connection fails (a PostgreSQL restart). */
const READ_RETRY_MS = 15_000;
const CONNECTION_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

export async function retryConnectionErrors<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + READ_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(1_000, delay * 2)) {
    try {
      return await read();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code !== 'string' || !CONNECTION_ERRORS.has(code) || Date.now() + delay > deadline) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
