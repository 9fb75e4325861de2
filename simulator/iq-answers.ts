// Answers to the directory-style iqs a logged-in client sends: usync (onWhatsApp, devices, LIDs),
// pre-key bundle fetches, and pre-key uploads. Pure functions of the directory and the asking account.
import { type BinaryNode, getBinaryNodeChild, getBinaryNodeChildBuffer, getBinaryNodeChildren, jidDecode } from '@whiskeysockets/baileys';
import { type Account, type Directory, lidJid, pnJid, type ResolvedUser } from './directory.ts';
import type { UploadedBundle } from './signal-device.ts';

const child = (node: BinaryNode | undefined, tag: string) => getBinaryNodeChild(node, tag);
const readUint = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).readUIntBE(0, bytes.length) : 0);

function deviceIdsOf(user: ResolvedUser): number[] {
  if (user.kind === 'contact') return [...user.contact.devices.keys()];
  return [0, ...user.account.companions.keys()];
}

function usyncUserResult(directory: Directory, userNode: BinaryNode, protocols: Set<string>): BinaryNode | undefined {
  const contactNode = child(userNode, 'contact');
  let resolved: ResolvedUser | undefined;
  if (contactNode && contactNode.content !== undefined) {
    const phone = Buffer.from(contactNode.content as Uint8Array | string).toString().replace(/\D/g, '');
    resolved = directory.resolve(pnJid(phone));
    // Unknown numbers are left out of the answer, as WhatsApp does.
    if (!resolved) return undefined;
  } else if (userNode.attrs.jid) {
    resolved = directory.resolve(userNode.attrs.jid);
  }
  if (!resolved) return undefined;
  const phone = resolved.kind === 'contact' ? resolved.contact.phone : resolved.account.phone;
  const lid = resolved.kind === 'contact' ? resolved.contact.lid : resolved.account.lid;
  const jid = userNode.attrs.jid ?? pnJid(phone);
  const content: BinaryNode[] = [];
  if (protocols.has('contact')) content.push({ tag: 'contact', attrs: { type: 'in' } });
  // The lid protocol maps a phone number to its LID: a user asked for by LID gets no <lid> back,
  // as from WhatsApp (a device query for an @lid user answers <devices> alone, e.g. the server
  // reply quoted in WhiskeySockets/Baileys#1886). Echoing it made Baileys take the LID for a newly
  // learned one and force a fresh pre-key fetch and new Signal sessions on every device-list miss
  // (getUSyncDevices → assertSessions(lids, true)): one round trip and two session builds that
  // WhatsApp does not cause, on the first message to each contact.
  const askedByLid = !contactNode && userNode.attrs.jid !== undefined && jidDecode(userNode.attrs.jid)?.server === 'lid';
  if (protocols.has('lid') && !askedByLid) content.push({ tag: 'lid', attrs: { val: lidJid(lid) } });
  if (protocols.has('devices')) {
    const devices = deviceIdsOf(resolved).map(
      (id): BinaryNode => ({ tag: 'device', attrs: id === 0 ? { id: '0' } : { id: String(id), 'key-index': String(id) } }),
    );
    content.push({ tag: 'devices', attrs: {}, content: [{ tag: 'device-list', attrs: {}, content: devices }] });
  }
  return { tag: 'user', attrs: { jid }, content };
}

export function answerUsync(directory: Directory, iq: BinaryNode): BinaryNode[] {
  const usync = child(iq, 'usync');
  const protocols = new Set(
    (Array.isArray(child(usync, 'query')?.content) ? (child(usync, 'query')!.content as BinaryNode[]) : []).map((n) => n.tag),
  );
  const users = getBinaryNodeChildren(child(usync, 'list'), 'user');
  const results = users
    .map((user) => usyncUserResult(directory, user, protocols))
    .filter((n): n is BinaryNode => !!n);
  return [
    {
      tag: 'usync',
      attrs: { sid: usync?.attrs.sid ?? '', mode: usync?.attrs.mode ?? 'query', last: 'true', index: '0' },
      content: [{ tag: 'list', attrs: {}, content: results }],
    },
  ];
}

/** `<key><user jid/>…</key>`: one pre-key bundle per requested device. */
export async function answerKeyFetch(directory: Directory, iq: BinaryNode): Promise<BinaryNode[]> {
  const users = getBinaryNodeChildren(child(iq, 'key'), 'user');
  const bundles: BinaryNode[] = [];
  for (const { attrs } of users) {
    const jid = attrs.jid;
    const resolved = jid ? directory.resolve(jid) : undefined;
    if (!jid || !resolved) continue;
    if (resolved.kind === 'contact') {
      const device = resolved.contact.devices.get(resolved.device);
      if (device) bundles.push(await device.bundleNode(jid));
    } else if (resolved.device === 0) {
      bundles.push(await resolved.account.phoneDevice.bundleNode(jid));
    } else {
      const bundle = resolved.account.companions.get(resolved.device)?.bundle;
      if (bundle) bundles.push(uploadedBundleNode(jid, bundle));
    }
  }
  return [{ tag: 'list', attrs: {}, content: bundles }];
}

function uploadedBundleNode(jid: string, bundle: UploadedBundle): BinaryNode {
  const bytes = (tag: string, content: Uint8Array): BinaryNode => ({ tag, attrs: {}, content });
  const be = (n: number, size: number) => {
    const b = Buffer.alloc(size);
    b.writeUIntBE(n, 0, size);
    return b;
  };
  const oneTime = bundle.preKeys.entries().next().value;
  if (oneTime) bundle.preKeys.delete(oneTime[0]);
  return {
    tag: 'user',
    attrs: { jid },
    content: [
      bytes('registration', be(bundle.registrationId, 4)),
      bytes('type', Buffer.from([5])),
      bytes('identity', bundle.identityKey),
      {
        tag: 'skey',
        attrs: {},
        content: [
          bytes('id', be(bundle.signedPreKey.keyId, 3)),
          bytes('value', bundle.signedPreKey.publicKey),
          bytes('signature', bundle.signedPreKey.signature),
        ],
      },
      ...(oneTime ? [{ tag: 'key', attrs: {}, content: [bytes('id', be(oneTime[0], 3)), bytes('value', oneTime[1])] }] : []),
    ],
  };
}

/** The client's `encrypt set` upload: registration id, identity, pre-keys and signed pre-key. */
export function storeUploadedKeys(account: Account, deviceId: number, iq: BinaryNode): number {
  const companion = account.companions.get(deviceId);
  if (!companion) throw new Error(`unknown companion device ${deviceId}`);
  const skey = child(iq, 'skey');
  const preKeys = companion.bundle?.preKeys ?? new Map<number, Uint8Array>();
  for (const key of getBinaryNodeChildren(child(iq, 'list'), 'key')) {
    const value = getBinaryNodeChildBuffer(key, 'value');
    if (value) preKeys.set(readUint(getBinaryNodeChildBuffer(key, 'id')), value);
    companion.uploadedPreKeys++;
  }
  companion.bundle = {
    registrationId: readUint(getBinaryNodeChildBuffer(iq, 'registration')),
    identityKey: getBinaryNodeChildBuffer(iq, 'identity') ?? companion.identityKey,
    signedPreKey: {
      keyId: readUint(getBinaryNodeChildBuffer(skey, 'id')),
      publicKey: getBinaryNodeChildBuffer(skey, 'value') ?? new Uint8Array(),
      signature: getBinaryNodeChildBuffer(skey, 'signature') ?? new Uint8Array(),
    },
    preKeys,
  };
  return preKeys.size;
}

export const isKeyUpload = (iq: BinaryNode) => iq.attrs.xmlns === 'encrypt' && iq.attrs.type === 'set' && !!child(iq, 'list');
