// The start-up self-check of the WhatsApp adapter: it passes on the installed Baileys, and a
// Baileys whose internals changed is refused with the fence and the change named.
import { describe, expect, it } from 'vitest';
import { type BaileysUnderCheck, checkBaileysInternals, installedBaileys } from '../../connector/whatsapp/self-check.ts';

const installed = installedBaileys();

/** The installed Baileys with one file's text altered. */
function altered(file: string, change: (text: string) => string): BaileysUnderCheck {
  return { ...installed, source: (f) => (f === file ? change(installed.source(f)) : installed.source(f)) };
}

function failure(baileys: BaileysUnderCheck): string {
  try {
    checkBaileysInternals(baileys);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the self-check passed on an altered Baileys');
}

describe('Baileys self-check', () => {
  it('passes on the installed Baileys', () => {
    expect(installed.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(() => checkBaileysInternals(installed)).not.toThrow();
    expect(() => checkBaileysInternals()).not.toThrow();
  });

  it('names a log line the ack hold depends on when Baileys renames it', () => {
    const message = failure(altered('Socket/messages-recv.js', (t) => t.replace("'sent ack'", "'ack sent'")));
    expect(message).toContain(`Baileys ${installed.version} changed internals`);
    expect(message).toContain("connector/whatsapp/ack-frames.ts: expects that Baileys logs 'sent ack'");
    expect(message.split('\n')).toHaveLength(2);
  });

  it('names the receipt event, the frame event and the decryption methods when they change', () => {
    const recv = altered('Socket/messages-recv.js', (t) => t.replace("ws.on('CB:receipt'", "ws.on('CB:receipts'"));
    expect(failure(recv)).toContain('connector/whatsapp/receipts-first.ts: expects that decoded frames are emitted');
    const socket = altered('Socket/socket.js', (t) => t.replace("ws.on('message', onMessageReceived)", "ws.on('data', onMessageReceived)"));
    expect(failure(socket)).toContain("connector/whatsapp/lease-gate.ts: expects that Baileys decodes incoming frames from its socket client's 'message' event");
    const decode = altered('Utils/decode-wa-message.js', (t) => t.replaceAll('repository.decryptGroupMessage', 'repository.decryptGroup'));
    expect(failure(decode)).toContain('`await repository.decryptGroupMessage({`');
  });

  it('names every change at once, a missing file and a changed export included', () => {
    const baileys: BaileysUnderCheck = {
      ...installed,
      exports: { ...installed.exports, DEF_CALLBACK_PREFIX: 'CALLBACK:' },
      source: (f) => {
        if (f === 'Socket/Client/websocket.js') throw new Error('ENOENT');
        return installed.source(f).replace('await sendNode(node);', 'return sendNode(node);');
      },
    };
    const message = failure(baileys);
    expect(message).toContain('frame events are named with the callback prefix CB:; not in its exports');
    expect(message).toContain('Socket/Client/websocket.js not found');
    expect(message).toContain("Baileys logs 'sending receipt for messages'");
  });

  it('is whitespace-blind: a reformatted Baileys passes', () => {
    const reformatted: BaileysUnderCheck = { ...installed, source: (f) => installed.source(f).replace(/ {4}/g, '\t').replace(/\n/g, '\n\n') };
    expect(() => checkBaileysInternals(reformatted)).not.toThrow();
  });
});
