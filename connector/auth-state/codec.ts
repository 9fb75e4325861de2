// Encryption and serialisation of Baileys auth values. A value is JSON with Baileys' Buffer
// encoding (BufferJSON), sealed with AES-256-GCM; the associated data names the row (session,
// and for keys also type and id) so a ciphertext moved to another row does not open.
import { BufferJSON, proto } from '@whiskeysockets/baileys';
import { associatedData, type Keyring, open, seal } from '../../kernel/secret-box.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function encodeValue(keyring: Keyring, value: unknown, ad: string): Promise<{ ciphertext: Buffer; keyVersion: number }> {
  const sealed = await seal(keyring, encoder.encode(JSON.stringify(value, BufferJSON.replacer)), ad);
  return { ciphertext: Buffer.from(sealed.ciphertext), keyVersion: sealed.keyVersion };
}

export async function decodeValue(keyring: Keyring, ciphertext: Uint8Array, keyVersion: number, ad: string): Promise<unknown> {
  const plain = await open(keyring, ciphertext, keyVersion, ad);
  return JSON.parse(decoder.decode(plain), BufferJSON.reviver);
}

/** Baileys expects app-state sync keys as proto objects (as useMultiFileAuthState does). */
export function reviveKey(type: string, value: unknown): unknown {
  if (type === 'app-state-sync-key' && value) return proto.Message.AppStateSyncKeyData.fromObject(value as object);
  return value;
}

export const credsAd = associatedData.creds;
export const keyAd = associatedData.signalKey;
