// The message path against the simulator without the connector's session manager: a real
// Baileys socket linked through the simulator is wrapped as a LiveSession holding a real lease,
// and a local "media server" stands in for WhatsApp's upload hosts (the simulator has none), so a
// contact can download and decrypt what was sent.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { downloadEncryptedContent, getMediaKeys, type MediaType, type WAMediaUploadFunction, type WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type postgres from 'postgres';
import type { LiveSession, SessionDirectory } from '../../connector/sessions/context.ts';
import { startTestServer, type TestServer } from './messages-http.ts';

export function liveSession(opts: {
  agentId: string;
  connectorId: string;
  epoch: bigint;
  sql: postgres.Sql;
  logger: Logger;
  sock: () => WASocket | undefined;
  /** The session's own-clock view of its lease (default: fresh), to stand in for a stall. */
  leaseFresh?: () => boolean;
}): LiveSession {
  return {
    agentId: opts.agentId,
    connectorId: opts.connectorId,
    epoch: () => opts.epoch,
    sql: opts.sql,
    logger: opts.logger,
    socket: () => (opts.sock()?.ws.isOpen ? opts.sock() : undefined),
    isOpen: () => opts.sock()?.ws.isOpen === true,
    leaseFresh: () => opts.leaseFresh?.() ?? true,
  };
}

export function directoryOf(sessions: LiveSession[]): SessionDirectory {
  return { open: () => sessions.filter((s) => s.isOpen()), get: (id) => sessions.find((s) => s.agentId === id) };
}

export interface MediaHost {
  server: TestServer;
  upload: WAMediaUploadFunction;
  /** Files served as-is under /files/<name> (for media by URL). */
  files: Map<string, { body: Buffer; type: string }>;
  /** Downloads and decrypts what a contact received, as a WhatsApp client would. */
  download(message: { url?: string | null; mediaKey?: Uint8Array | null }, type: MediaType): Promise<Buffer>;
}

export async function startMediaHost(): Promise<MediaHost> {
  const server = await startTestServer();
  const uploads = new Map<string, Buffer>();
  const files = new Map<string, { body: Buffer; type: string }>();
  server.handle((req, res) => {
    const upload = req.url.startsWith('/m/') ? uploads.get(req.url.slice(3)) : undefined;
    if (upload) return res.end(upload);
    const file = req.url.startsWith('/files/') ? files.get(req.url.slice(7)) : undefined;
    if (file) {
      res.writeHead(200, { 'content-type': file.type });
      return res.end(file.body);
    }
    res.writeHead(404);
    res.end();
  });
  return {
    server,
    files,
    upload: async (encFilePath) => {
      const id = randomBytes(8).toString('hex');
      uploads.set(id, await readFile(encFilePath));
      return { mediaUrl: `${server.url}/m/${id}`, directPath: `/m/${id}` };
    },
    async download(message, type) {
      if (!message.url || !message.mediaKey) throw new Error('message has no media url or key');
      const stream = await downloadEncryptedContent(message.url, await getMediaKeys(message.mediaKey, type));
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
  };
}

export async function enqueue(sql: postgres.Sql, owner: string, agent: string, to: string, type: string, content: Record<string, unknown>) {
  const [row] = await sql`select id, wa_message_id from gateway.enqueue_message(${owner}, ${agent}, ${to}, ${type}, ${sql.json(content as never)})`;
  return { id: row!.id as string, waId: row!.wa_message_id as string };
}
