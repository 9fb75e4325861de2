// The simulator's usync answers, as pure functions of its directory.
import type { BinaryNode } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { Directory, lidJid, pnJid } from '../../simulator/directory.ts';
import { answerUsync } from '../../simulator/iq-answers.ts';

/** A usync iq as Baileys' getUSyncDevices sends it: devices and lid protocols, users by jid. */
function deviceQuery(jids: string[]): BinaryNode {
  return {
    tag: 'iq',
    attrs: { xmlns: 'usync', type: 'get' },
    content: [
      {
        tag: 'usync',
        attrs: { context: 'message', mode: 'query', sid: 's1' },
        content: [
          { tag: 'query', attrs: {}, content: [{ tag: 'devices', attrs: { version: '2' } }, { tag: 'lid', attrs: {} }] },
          { tag: 'list', attrs: {}, content: jids.map((jid): BinaryNode => ({ tag: 'user', attrs: { jid } })) },
        ],
      },
    ],
  };
}

const usersOf = (answer: BinaryNode[]) => {
  const list = (answer[0]!.content as BinaryNode[])[0]!.content as BinaryNode[];
  return list.map((user) => ({ jid: user.attrs.jid, children: (user.content as BinaryNode[]).map((c) => c.tag), lid: (user.content as BinaryNode[]).find((c) => c.tag === 'lid')?.attrs.val }));
};

describe('simulator: usync answers', () => {
  it('maps a phone number to its LID, but gives a user asked for by LID its devices alone (no <lid> echo)', () => {
    const directory = new Directory();
    const contact = directory.addContact('447700900321');
    const users = usersOf(answerUsync(directory, deviceQuery([pnJid(contact.phone), lidJid(contact.lid)])));
    expect(users).toEqual([
      { jid: pnJid(contact.phone), children: ['lid', 'devices'], lid: lidJid(contact.lid) },
      { jid: lidJid(contact.lid), children: ['devices'], lid: undefined },
    ]);
  });
});
