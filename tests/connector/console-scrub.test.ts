// libsignal's own "Closing session:" log, fed a session entry holding real key bytes, must reach
// the logger without any of those bytes in base64, hex or Node's <Buffer ..> form.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { installConsoleScrub, scrubValue } from '../../connector/logging/console-scrub.ts';

// The libsignal Baileys itself loads.
const requireFromBaileys = createRequire(createRequire(import.meta.url).resolve('@whiskeysockets/baileys'));
const { SessionRecord } = requireFromBaileys('libsignal') as { SessionRecord: (new () => any) & { createEntry(): any } };

function captureLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

function sessionEntryWithKeys() {
  const keys = Array.from({ length: 7 }, () => randomBytes(32));
  const [priv, pub, remoteEphemeral, root, baseKey, remoteIdentity, chainKey] = keys as Buffer[];
  const entry = SessionRecord.createEntry();
  entry.registrationId = 1234;
  entry.currentRatchet = {
    ephemeralKeyPair: { privKey: priv, pubKey: pub },
    lastRemoteEphemeralKey: remoteEphemeral,
    previousCounter: 0,
    rootKey: root,
  };
  entry.indexInfo = { baseKey, baseKeyType: 1, closed: -1, used: Date.now(), created: Date.now(), remoteIdentityKey: remoteIdentity };
  entry.addChain(pub, { chainKey: { counter: 0, key: chainKey }, chainType: 1, messageKeys: {} });
  return { entry, keys };
}

const forms = (key: Buffer) => [
  key.toString('base64'),
  key.toString('hex'),
  key.subarray(0, 8).toString('hex').match(/../g)!.join(' '), // Node's <Buffer 0a 1b ..> form
  key.subarray(0, 8).join(','), // JSON.stringify of a Buffer: {"type":"Buffer","data":[10,27,..]}
];

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

describe('installConsoleScrub', () => {
  it("keeps libsignal's session keys out of the log output", () => {
    const { logger, lines } = captureLogger();
    uninstall = installConsoleScrub(logger);
    const { entry, keys } = sessionEntryWithKeys();
    const record = new SessionRecord();
    record.setSession(entry);
    record.closeSession(entry); // libsignal itself calls console.info("Closing session:", entry)
    console.warn('Closing open session in favor of incoming prekey bundle');
    console.error('Session error:', new Error(`bad mac for ${keys[0]!.toString('base64')}`), keys[1]);

    const output = lines.join('');
    expect(output).toContain('Closing session:');
    expect(output).toContain('Closing open session in favor of incoming prekey bundle');
    expect(output).toContain('[redacted]');
    for (const key of keys) for (const form of forms(key)) expect(output).not.toContain(form);
    const levels = lines.map((line) => JSON.parse(line).level);
    expect(levels).toEqual([30, 40, 50]);
  });

  it('restores the original console methods on uninstall', () => {
    const original = console.info;
    const { logger } = captureLogger();
    const restore = installConsoleScrub(logger);
    expect(console.info).not.toBe(original);
    restore();
    expect(console.info).toBe(original);
  });

  it('scrubs bytes, key-named fields and long tokens but keeps ordinary values', () => {
    const scrubbed = scrubValue({
      note: 'count 3',
      registrationId: 42,
      nested: { privKey: 'abc', data: new Uint8Array([1, 2, 3]), text: `token ${'A'.repeat(44)} end` },
    });
    expect(scrubbed).toEqual({
      note: 'count 3',
      registrationId: 42,
      nested: { privKey: '[redacted]', data: '[redacted]', text: 'token [redacted] end' },
    });
  });
});
