// Where a queued message goes on the wire, and the stored messages it refers to.
//   - A group jid is used as is. A phone number is checked with onWhatsApp once per session and
//     cached. A number without WhatsApp fails the message permanently (invalid_number), but only
//     once two separate answers agree: Baileys' onWhatsApp returns the
//     same empty list for "not registered" and for an answer without a usync list at all (the
//     simulator gave one on a closing stream, and six messages to a known contact failed for
//     good in the crash test). Until then the message is retried (number_unconfirmed).
//   - v7 is LID-first: when Baileys knows the LID of the number, the message is addressed to the
//     LID (sending to the phone-number jid of a migrated contact can be refused with 463).
//   - The check asks for the number's LID in the same usync (contact and lid protocols, as
//     WhatsApp Web's own lookups do) and hands it to Baileys' LID store: Baileys' onWhatsApp asks
//     for existence alone, and getLIDForPN then asked WhatsApp again for the LID of a number it
//     had never seen, one more round trip on the first message to each new contact. An answer
//     without a LID falls back to getLIDForPN as before.
//   - Replies, reactions, edits and deletes point at a WhatsApp id: it is looked up among the
//     agent's outbound messages (fromMe) and then its inbound ones.
import { jidDecode, USyncQuery, USyncUser, type WASocket } from '@whiskeysockets/baileys';
import type { Sql } from 'postgres';
import { associatedData, type Keyring } from '../../kernel/secret-box.ts';
import { receivedMessage } from '../sql/inbound.ts';
import { sentMessage } from '../sql/messages.ts';
import { quotableMessage, type StoredTarget, userJid } from './content.ts';
import { openStoredContent } from './content-at-rest.ts';
import { permanent, transient } from './errors.ts';

export interface RecipientAnswer {
  exists: boolean;
  /** When the answer was first given (for a negative: the first of the answers that agree). */
  at: number;
  /** A negative answer that a second one confirmed. */
  confirmed?: boolean;
}

export interface RecipientCache {
  get(key: string): RecipientAnswer | undefined;
  set(key: string, value: RecipientAnswer): void;
}

/** The cache key of a recipient of one session. */
export const recipientKey = (agentId: string, recipient: string) => `${agentId}:${recipient}`;

export async function resolveRecipient(opts: {
  sock: WASocket;
  agentId: string;
  recipient: string;
  cache: RecipientCache;
  ttlMs: number;
  now: number;
  /** A look-ahead of this recipient in flight (lookAhead): its answer is awaited, not asked again. */
  pending?: Promise<unknown>;
}): Promise<string> {
  const { sock, recipient } = opts;
  if (recipient.includes('@')) return recipient;
  const key = recipientKey(opts.agentId, recipient);
  if (opts.pending) await opts.pending.catch(() => undefined);
  const cached = opts.cache.get(key);
  // A negative answer is kept for a tenth of the time: numbers get registered.
  const fresh = cached && opts.now - cached.at < (cached.exists ? opts.ttlMs : opts.ttlMs / 10) ? cached : undefined;
  const unconfirmed = () => transient('number_unconfirmed', 'WhatsApp reported the recipient absent once; checking again before failing');
  let exists = fresh && (fresh.exists || fresh.confirmed) ? fresh.exists : undefined;
  if (exists === undefined) {
    let result: NumberAnswer[];
    try {
      result = await checkNumbersAndLids(sock, [recipient]);
    } catch (error) {
      throw transient('number_check_failed', `could not check the number on WhatsApp: ${(error as Error).message}`);
    }
    exists = result.some((r) => r.exists);
    await rememberLids(sock, result);
    if (exists) opts.cache.set(key, { exists, at: opts.now });
    else if (fresh && !fresh.exists) opts.cache.set(key, { exists, at: fresh.at, confirmed: true });
    else {
      opts.cache.set(key, { exists, at: opts.now });
      throw unconfirmed();
    }
  }
  if (!exists) throw permanent('invalid_number', 'the recipient is not on WhatsApp');
  const pn = userJid(recipient);
  const lid = await sock.signalRepository.lidMapping.getLIDForPN(pn).catch(() => null);
  return lid ?? pn;
}

interface NumberAnswer {
  jid: string;
  exists: boolean;
  lid?: string;
}

/**
 * Baileys' onWhatsApp (Socket/socket.js: a usync with the contact protocol for the numbers) with
 * the lid protocol added to the same query; the answer keeps onWhatsApp's shape: users the
 * answer does not list are absent, as is an answer without a list.
 */
async function checkNumbersAndLids(sock: WASocket, numbers: string[]): Promise<NumberAnswer[]> {
  const query = new USyncQuery().withContactProtocol().withLIDProtocol();
  for (const n of numbers) query.withUser(new USyncUser().withPhone(`+${n.replace(/\D/g, '')}`));
  const result = await sock.executeUSyncQuery(query);
  return (result?.list ?? [])
    .filter((r) => !!r.contact)
    .map((r) => ({ jid: r.id, exists: r.contact === true, ...(typeof r.lid === 'string' ? { lid: r.lid } : {}) }));
}

/**
 * Gives the LIDs of an answer to Baileys' LID store (persisted with the session's keys): known
 * from here on. A failed write only costs the lookup getLIDForPN makes later.
 */
async function rememberLids(sock: WASocket, answers: NumberAnswer[]): Promise<void> {
  const learned = answers.filter((r): r is NumberAnswer & { lid: string } => r.exists && typeof r.lid === 'string' && r.lid.endsWith('@lid'));
  if (learned.length > 0) await sock.signalRepository.lidMapping.storeLIDPNMappings(learned.map((r) => ({ lid: r.lid, pn: r.jid }))).catch(() => undefined);
}

/**
 * The look-ahead of a claimed batch (outbound-worker.ts): what the first message to each of
 * several new recipients of one session would ask WhatsApp one by one, asked once for all of them
 * — which numbers exist and their LIDs (one usync), their device lists (one usync; Baileys keeps
 * them in its device cache) and the pre-key bundles of devices without a Signal session (one
 * fetch, the sessions written in one key transaction). Their sends then find all of it and only
 * encrypt. Sends are not made any sooner: pacing still decides when each one leaves.
 *
 * Only positive answers are cached: "not on WhatsApp" stays with resolveRecipient, which believes
 * it on a second answer. Nothing here fails a message: a send whose look-ahead failed asks again.
 */
export async function lookAhead(opts: { sock: WASocket; agentId: string; numbers: string[]; cache: RecipientCache; now: number }): Promise<void> {
  const { sock } = opts;
  const answers = await checkNumbersAndLids(sock, opts.numbers);
  for (const a of answers) if (a.exists) opts.cache.set(recipientKey(opts.agentId, a.jid.split('@')[0]!.split(':')[0]!), { exists: true, at: opts.now });
  await rememberLids(sock, answers);
  const me = sock.authState.creds.me;
  const lids = answers.filter((a) => a.exists && a.lid?.endsWith('@lid')).map((a) => a.lid!);
  if (!me?.id || lids.length === 0) return;
  // As relayMessage enumerates them: our own user's devices (addressed by LID) and the recipient's.
  const own = me.lid ? `${jidDecode(me.lid)?.user}@lid` : undefined;
  const devices = await sock.getUSyncDevices([...(own ? [own] : []), ...lids], true, false);
  const targets = devices.map((d) => d.jid).filter((jid) => jid !== me.id && jid !== me.lid);
  // Under relayMessage's own transaction key (Baileys rc14, Socket/messages-send.js: its
  // authState.keys.transaction(…, meId)): a send and the look-ahead never build a session for the
  // same device at once, and all new sessions are one database write. Should Baileys change that
  // key, the two could each fetch a bundle for one device; Signal copes (the later session wins,
  // its pkmsg starts it on the contact's side), it only costs the fetch.
  // assertSessions and getUSyncDevices are part of the socket Baileys returns (its .d.ts).
  await sock.authState.keys.transaction(() => sock.assertSessions(targets), me.id);
}

export async function findTarget(sql: Sql, agentId: string, waMessageId: string, contentKeyring?: Keyring): Promise<StoredTarget | undefined> {
  const out = await sentMessage(sql, agentId, waMessageId);
  if (out) {
    const recipient = out.recipient as string;
    return {
      key: { remoteJid: recipient.includes('@') ? recipient : userJid(recipient), fromMe: true, id: waMessageId },
      message: quotableMessage(out.type as string, await openStoredContent(contentKeyring, out.content as Record<string, unknown>, associatedData.messageContent(agentId, out.id))),
    };
  }
  const inb = await receivedMessage(sql, agentId, waMessageId);
  if (inb) {
    const chat = inb.chat_jid as string;
    const isGroup = chat.endsWith('@g.us');
    const participant = isGroup ? (inb.sender_lid ?? (inb.sender_phone ? userJid(inb.sender_phone as string) : undefined)) : undefined;
    return {
      key: { remoteJid: chat, fromMe: inb.from_me as boolean, id: waMessageId, ...(participant ? { participant } : {}) },
      message: quotableMessage(inb.type as string, await openStoredContent(contentKeyring, inb.content as Record<string, unknown>, associatedData.inboundContent(agentId, waMessageId))),
    };
  }
  return undefined;
}
