// In-process trust of the simulator's root key. Baileys reads WA_CERT_DETAILS.PUBLIC_KEY each time
// it checks a server's certificate chain, so swapping it in is enough; nothing changes until a
// test or the demo calls this, and the returned function restores WhatsApp's real root.
import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';

export function trustSimulatorRoot(source: { rootPublicKey: Uint8Array } | Uint8Array): () => void {
  const key = source instanceof Uint8Array ? source : source.rootPublicKey;
  if (key.length !== 32) throw new Error('simulator root key must be a 32-byte Curve25519 public key');
  const previous = WA_CERT_DETAILS.PUBLIC_KEY;
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(key);
  return () => {
    WA_CERT_DETAILS.PUBLIC_KEY = previous;
  };
}

/** The env var the `--import` preload reads (base64 of the 32-byte root public key). */
export const SIMULATOR_ROOT_ENV = 'WA_SIM_ROOT_PUBLIC_KEY';
