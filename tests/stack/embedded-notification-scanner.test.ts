// The embedded database's wake-ups come from scanning the backend's byte stream: a notification
// must be found whether it arrives whole, split across chunks at any byte, or among other messages.
import { describe, expect, it } from 'vitest';
import { notificationScanner } from '../../scripts/dev/embedded-db.ts';

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function notification(channel: string, payload: string): Buffer {
  const pid = Buffer.alloc(4);
  pid.writeInt32BE(42);
  return message('A', Buffer.concat([pid, Buffer.from(`${channel}\0${payload}\0`)]));
}

const stream = Buffer.concat([
  message('C', Buffer.from('INSERT 0 1\0')),
  notification('wa_gateway_wake', 'agent-1:message'),
  message('Z', Buffer.from('I')),
  message('D', Buffer.alloc(300, 7)),
  notification('other', 'x'),
  notification('wa_gateway_wake', 'agent-2'),
  message('Z', Buffer.from('I')),
]);
const expected = [
  ['wa_gateway_wake', 'agent-1:message'],
  ['other', 'x'],
  ['wa_gateway_wake', 'agent-2'],
];

describe('notificationScanner', () => {
  it('finds notifications in one chunk', () => {
    const seen: string[][] = [];
    notificationScanner((c, p) => seen.push([c, p]))(stream);
    expect(seen).toEqual(expected);
  });

  it('finds them with the stream split at every byte', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const seen: string[][] = [];
      const scan = notificationScanner((c, p) => seen.push([c, p]));
      scan(stream.subarray(0, cut));
      scan(stream.subarray(cut));
      expect(seen, `cut at ${cut}`).toEqual(expected);
    }
  });

  it('finds them fed one byte at a time', () => {
    const seen: string[][] = [];
    const scan = notificationScanner((c, p) => seen.push([c, p]));
    for (const byte of stream) scan(Uint8Array.of(byte));
    expect(seen).toEqual(expected);
  });
});
