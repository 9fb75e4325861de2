// `node --import ./simulator/trust-preload.mjs app.js` makes a child process (the connector, the
// demo) trust a running simulator's certificate root. It reads the base64 root key from
// WA_SIM_ROOT_PUBLIC_KEY and swaps it into Baileys' WA_CERT_DETAILS before the app loads. Plain
// JavaScript so it works with or without a TypeScript loader. Without the variable it refuses to
// start: preloading this file is itself the request to trust the simulator.
import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';

const encoded = process.env.WA_SIM_ROOT_PUBLIC_KEY;
if (!encoded) {
  throw new Error('trust-preload: WA_SIM_ROOT_PUBLIC_KEY is not set (base64 of the simulator root public key)');
}
const key = Buffer.from(encoded, 'base64');
if (key.length !== 32) {
  throw new Error(`trust-preload: WA_SIM_ROOT_PUBLIC_KEY must decode to 32 bytes, got ${key.length}`);
}
WA_CERT_DETAILS.PUBLIC_KEY = key;
