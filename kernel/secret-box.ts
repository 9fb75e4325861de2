/**
 * AES-256-GCM for secrets at rest (Baileys creds, Signal keys, webhook signing secrets), written
 * once against WebCrypto so the connector (Node) and the edge functions (Deno) share it.
 *
 * Layout of a ciphertext: 12-byte random nonce || encrypted data || 16-byte tag. The associated
 * data names what the plaintext is (e.g. `creds:<agent>` or `key:<agent>:<type>:<id>`), so a
 * ciphertext copied onto another row fails to open. Every ciphertext is stored beside the
 * version of the key that made it; a keyring opens any configured version and seals with the
 * current one, which is what makes rotation (scripts/rotate-keys.ts) possible.
 *
 * Two keyrings, so that holding one secret does not give away the other (least privilege): the
 * internet-facing edge function seals webhook signing secrets and must not be able to read any
 * WhatsApp session's creds or Signal keys.
 *   CREDENTIALS_ENCRYPTION_*  creds and Signal keys (connector and keys:rotate only)
 *   WEBHOOK_SECRETS_*         webhook signing secrets (edge function, connector, keys:rotate)
 *   MESSAGE_CONTENT_*         message content of tenants whose content policy is `encrypted`
 *                             (edge function and connector; optional until a tenant chooses it;
 *                             kernel/content-box.ts)
 *
 * Configuration for a keyring with prefix P (checked at start; a missing or malformed key stops
 * the process, never a random fallback):
 *   P_KEY           the current key: 32 bytes as 64 hex chars or base64
 *   P_KEY_VERSION   its version, a positive integer (default 1)
 *   P_OLD_KEYS      optional older keys for reading: "1:<key>,2:<key>"
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export interface Keyring {
  readonly currentVersion: number;
  readonly keys: ReadonlyMap<number, CryptoKey>;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();

/** Parses a 32-byte key given as 64 hex characters or as base64 (standard or URL-safe). */
export function parseKeyMaterial(text: string, variable: string): Uint8Array {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) {
    const bytes = new Uint8Array(32);
    for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(value.slice(i * 2, i * 2 + 2), 16);
    return bytes;
  }
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const standard = value.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(standard.endsWith('=') ? standard : `${standard}=`);
    if (binary.length === 32) return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  throw new ConfigError(variable, 'must be 32 random bytes written as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)');
}

async function importKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw as BufferSource, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

export async function createKeyring(current: { version: number; key: Uint8Array }, older: Array<{ version: number; key: Uint8Array }> = []): Promise<Keyring> {
  const keys = new Map<number, CryptoKey>();
  for (const entry of older) keys.set(entry.version, await importKey(entry.key));
  keys.set(current.version, await importKey(current.key));
  return { currentVersion: current.version, keys };
}

function parseVersion(text: string, variable: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text.trim())) throw new ConfigError(variable, 'must be a positive integer');
  return Number(text.trim());
}

/** The environment prefix of each keyring (see the header). */
export const KEYRING_PREFIX = { credentials: 'CREDENTIALS_ENCRYPTION', webhookSecrets: 'WEBHOOK_SECRETS', messageContent: 'MESSAGE_CONTENT' } as const;
export type KeyringPrefix = (typeof KEYRING_PREFIX)[keyof typeof KEYRING_PREFIX];

/** The key material of `<prefix>_KEY`, parsed, or throws ConfigError naming it. */
export function currentKeyFromEnv(env: Record<string, string | undefined>, prefix: KeyringPrefix): Uint8Array {
  const name = `${prefix}_KEY`;
  const text = env[name];
  if (!text) throw new ConfigError(name, 'is required (32 random bytes, hex or base64); there is no fallback');
  return parseKeyMaterial(text, name);
}

/**
 * Builds the keyring named by `prefix` from `<prefix>_KEY`, `<prefix>_KEY_VERSION` and
 * `<prefix>_OLD_KEYS`, or throws ConfigError naming the variable at fault. Variables of the other
 * keyring are never read.
 */
export async function keyringFromEnv(env: Record<string, string | undefined>, prefix: KeyringPrefix): Promise<Keyring> {
  const versionName = `${prefix}_KEY_VERSION`;
  const oldName = `${prefix}_OLD_KEYS`;
  const versionText = env[versionName];
  const current = {
    key: currentKeyFromEnv(env, prefix),
    version: versionText ? parseVersion(versionText, versionName) : 1,
  };
  const older: Array<{ version: number; key: Uint8Array }> = [];
  for (const item of (env[oldName] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const separator = item.indexOf(':');
    if (separator < 1) throw new ConfigError(oldName, 'entries must look like "<version>:<key>"');
    const version = parseVersion(item.slice(0, separator), oldName);
    if (version === current.version) throw new ConfigError(oldName, `version ${version} is the current key's version`);
    older.push({ version, key: parseKeyMaterial(item.slice(separator + 1), oldName) });
  }
  return createKeyring(current, older);
}

/**
 * Both keyrings, for the processes that hold both (connector, keys:rotate, the dev stack). The two
 * current keys must differ: the edge function holds the webhook key, and the same bytes would let
 * it open every session's creds.
 */
export async function bothKeyringsFromEnv(env: Record<string, string | undefined>): Promise<{ credentials: Keyring; webhookSecrets: Keyring }> {
  const credentials = await keyringFromEnv(env, KEYRING_PREFIX.credentials);
  const webhookSecrets = await keyringFromEnv(env, KEYRING_PREFIX.webhookSecrets);
  const a = currentKeyFromEnv(env, KEYRING_PREFIX.credentials);
  const b = currentKeyFromEnv(env, KEYRING_PREFIX.webhookSecrets);
  if (a.every((byte, i) => byte === b[i])) {
    throw new ConfigError(`${KEYRING_PREFIX.webhookSecrets}_KEY`, `must differ from ${KEYRING_PREFIX.credentials}_KEY (the edge function holds it)`);
  }
  return { credentials, webhookSecrets };
}

export async function seal(keyring: Keyring, plaintext: Uint8Array, associatedData: string): Promise<{ ciphertext: Uint8Array; keyVersion: number }> {
  const key = keyring.keys.get(keyring.currentVersion)!;
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(associatedData), tagLength: 128 }, key, plaintext as BufferSource),
  );
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce, 0);
  out.set(sealed, NONCE_BYTES);
  return { ciphertext: out, keyVersion: keyring.currentVersion };
}

export async function open(keyring: Keyring, ciphertext: Uint8Array, keyVersion: number, associatedData: string): Promise<Uint8Array> {
  const key = keyring.keys.get(keyVersion);
  if (!key) throw new DecryptionError(`no key configured for version ${keyVersion}`);
  if (ciphertext.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError('ciphertext is too short');
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: ciphertext.subarray(0, NONCE_BYTES) as BufferSource, additionalData: encoder.encode(associatedData), tagLength: 128 },
      key,
      ciphertext.subarray(NONCE_BYTES) as BufferSource,
    );
    return new Uint8Array(plain);
  } catch {
    // Never echo the data or the key: only that authentication failed.
    throw new DecryptionError('ciphertext failed authentication (wrong key, wrong row, or tampered)');
  }
}

export async function sealText(keyring: Keyring, text: string, associatedData: string) {
  return seal(keyring, encoder.encode(text), associatedData);
}

export async function openText(keyring: Keyring, ciphertext: Uint8Array, keyVersion: number, associatedData: string): Promise<string> {
  return new TextDecoder().decode(await open(keyring, ciphertext, keyVersion, associatedData));
}

/** Associated data that binds a ciphertext to its row. */
export const associatedData = {
  creds: (agentId: string) => `wa-gateway:creds:${agentId}`,
  signalKey: (agentId: string, keyType: string, keyId: string) => `wa-gateway:key:${agentId}:${keyType}:${keyId}`,
  webhookSecret: (endpointId: string) => `wa-gateway:webhook-secret:${endpointId}`,
  /** An outbound message's content: the row of public.messages (its id is chosen before the insert). */
  messageContent: (agentId: string, messageId: string) => `wa-gateway:content:messages:${agentId}:${messageId}`,
  /** An inbound message's content, in its row and in its event's payload: unique per agent and WhatsApp id. */
  inboundContent: (agentId: string, waMessageId: string) => `wa-gateway:content:inbound_messages:${agentId}:${waMessageId}`,
};
