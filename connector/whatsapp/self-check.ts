// Start-up self-check: every Baileys internal the adapter relies on, verified against the
// installed Baileys before the connector claims any session.
//
// Why: the hooks in this folder go beyond Baileys' public API (frame events on the socket client,
// a replaced `emit` and `send`, log lines, the decryption methods of the signal repository). A
// Baileys upgrade that changes one of them would not fail: it would quietly stop holding receipts
// or keys, and messages would be lost again. So each fence states here what it relies on, read
// from Baileys' own compiled source (whitespace aside, as verified-certificates.ts reads the noise
// handler), and the connector refuses to start naming every one that changed. That list is what an
// upgrade re-checks; verified-certificates.ts checks its own patch point when it is installed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as baileys from '@whiskeysockets/baileys';
import { ACK_LOG, RECEIPT_LOG } from './ack-frames.ts';
import { DECRYPTING_METHODS } from './decrypt-scope.ts';
import { RECEIPT_EVENT } from './receipts-first.ts';
import { MESSAGE_ACK_EVENT } from './server-acks.ts';

/** The Baileys being checked: the installed one, or an altered copy in tests. */
export interface BaileysUnderCheck {
  version: string;
  /** Text of a file under Baileys' lib/ folder (throws if there is none). */
  source(file: string): string;
  exports: Record<string, unknown>;
}

interface Reliance {
  /** The file of this folder that breaks without it. */
  fence: string;
  /** What Baileys must still do, in words. */
  expects: string;
  /** The Baileys file that shows it (under lib/), with the code that must still be there. */
  file?: string;
  /** Code compared whitespace aside; a pattern is matched against the file with no whitespace. */
  code?: (string | RegExp)[];
  /** A check of Baileys' exports instead. */
  holds?(exports: Record<string, unknown>): boolean;
}

const RELIANCES: Reliance[] = [
  {
    fence: 'lease-gate.ts',
    expects: "Baileys decodes incoming frames from its socket client's 'message' event",
    file: 'Socket/socket.js',
    code: ["ws.on('message', onMessageReceived)"],
  },
  {
    fence: 'lease-gate.ts',
    expects: 'the socket client passes WebSocket events on through its own emit, so a replaced emit sees them',
    file: 'Socket/Client/websocket.js',
    code: ['this.socket?.on(event, (...args) => this.emit(event, ...args))'],
  },
  {
    fence: 'receipts-first.ts, server-acks.ts',
    expects: 'frame events are named with the callback prefix CB:',
    holds: (exports) => exports.DEF_CALLBACK_PREFIX === 'CB:',
  },
  {
    fence: 'receipts-first.ts',
    expects: `decoded frames are emitted on the socket client by tag (${RECEIPT_EVENT}), and Baileys handles and acks receipts from that event`,
    file: 'Socket/messages-recv.js',
    code: [`ws.on('${RECEIPT_EVENT}',`],
  },
  {
    fence: 'receipts-first.ts, server-acks.ts',
    expects: 'the frame decoder emits CB:<tag> and CB:<tag>,<attribute>:<value> on the socket client',
    file: 'Socket/socket.js',
    code: [`ws.emit(\`\${DEF_CALLBACK_PREFIX}\${l0}\`, frame)`, `ws.emit(\`\${DEF_CALLBACK_PREFIX}\${l0},\${key}:\${l1[key]}\`, frame)`],
  },
  {
    fence: 'server-acks.ts',
    expects: `server acks of our messages arrive as ${MESSAGE_ACK_EVENT} (Baileys listens on it too)`,
    file: 'Socket/messages-recv.js',
    code: [`ws.on('${MESSAGE_ACK_EVENT}',`],
  },
  {
    fence: 'ack-frames.ts',
    expects: `Baileys logs '${RECEIPT_LOG}' with the receipt's attrs and messageIds right before writing it`,
    file: 'Socket/messages-send.js',
    code: [`logger.debug({ attrs: node.attrs, messageIds }, '${RECEIPT_LOG}'); await sendNode(node);`],
  },
  {
    fence: 'ack-frames.ts',
    expects: `Baileys logs '${ACK_LOG}' with the received stanza and the ack's attrs right before writing it`,
    file: 'Socket/messages-recv.js',
    code: [`logger.debug({ recv: { tag: node.tag, attrs: node.attrs }, sent: stanza.attrs }, '${ACK_LOG}'); await sendNode(stanza);`],
  },
  ...['Socket/messages-send.js', 'Socket/messages-recv.js'].map((file) => ({
    fence: 'ack-frames.ts',
    expects: "Baileys writes its receipt and ack log lines to its config's logger",
    file,
    code: [/const\{logger,[^}]*\}=config;/],
  })),
  {
    fence: 'ack-frames.ts',
    expects: 'the socket client keeps that config (its logger) and connects as the socket is made',
    file: 'Socket/socket.js',
    code: ['const ws = new WebSocketClient(url, config); ws.connect();'],
  },
  {
    fence: 'ack-frames.ts',
    expects: "the socket client writes through its WebSocket's send, looked up at each write",
    file: 'Socket/Client/websocket.js',
    code: ['this.socket?.send(str, cb);'],
  },
  {
    fence: 'decrypt-scope.ts',
    expects: `messages are decrypted through the repository's ${DECRYPTING_METHODS.join(', ')}, looked up at each call`,
    file: 'Utils/decode-wa-message.js',
    code: DECRYPTING_METHODS.map((name) => `await repository.${name}({`),
  },
];

const compact = (text: string) => text.replace(/\s+/g, '');

function broken(reliance: Reliance, baileys: BaileysUnderCheck): string | undefined {
  if (reliance.holds) return reliance.holds(baileys.exports) ? undefined : 'not in its exports';
  let text: string;
  try {
    text = compact(baileys.source(reliance.file ?? ''));
  } catch {
    return `${reliance.file} not found`;
  }
  const missing = (reliance.code ?? []).filter((code) => (typeof code === 'string' ? !text.includes(compact(code)) : !code.test(text)));
  return missing.length > 0 ? `${reliance.file} no longer has ${missing.map((c) => `\`${c}\``).join(' and ')}` : undefined;
}

/** The installed Baileys, read from its own folder. */
export function installedBaileys(): BaileysUnderCheck {
  const lib = path.dirname(createRequire(import.meta.url).resolve('@whiskeysockets/baileys'));
  const pkg = JSON.parse(readFileSync(path.join(lib, '..', 'package.json'), 'utf8')) as { version?: string };
  return {
    version: pkg.version ?? 'unknown',
    source: (file) => readFileSync(path.join(lib, file), 'utf8'),
    exports: baileys as unknown as Record<string, unknown>,
  };
}

let installedChecked = false;

/**
 * Throws, naming each change, if `baileys` (default: the installed one) no longer has an internal
 * this folder relies on. Call before any socket is made.
 */
export function checkBaileysInternals(baileys?: BaileysUnderCheck): void {
  if (!baileys && installedChecked) return;
  const under = baileys ?? installedBaileys();
  const problems = RELIANCES.flatMap((r) => {
    const why = broken(r, under);
    return why ? [`  - connector/whatsapp/${r.fence}: expects that ${r.expects}; ${why}`] : [];
  });
  if (problems.length > 0) {
    throw new Error(
      `Baileys ${under.version} changed internals the connector relies on; re-check connector/whatsapp/ before using it:\n${problems.join('\n')}`,
    );
  }
  if (!baileys) installedChecked = true;
}
