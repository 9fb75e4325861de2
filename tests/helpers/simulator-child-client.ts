// A Baileys client in its own process, for tests of the trust preload and the standalone command:
//   node --import tsx --import ./simulator/trust-preload.mjs tests/helpers/simulator-child-client.ts <ws-url>
// Installs the certificate verification the connector uses. Prints one JSON line per event: {qr},
// {open, me}, {closed, statusCode, error}. Links by QR (the parent scans), follows the 515
// restart, and exits 0 once open, 1 on any other close.
import type { WASocket } from '@whiskeysockets/baileys';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { connectClient, makeTestAuthState } from '../../scripts/harness/simulator-client.ts';

const url = process.argv[2] ?? '';
if (!url) throw new Error('usage: simulator-child-client.ts <ws-url>');
// As the connector does: without it, Baileys rc14 would accept any certificate chain.
installCertificateVerification();
let finished = false;
const auth = makeTestAuthState();
const print = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);

function connect(): WASocket {
  const sock = connectClient({ url }, auth);
  sock.ev.on('connection.update', (update) => {
    if (update.qr) print({ qr: update.qr });
    if (update.connection === 'open') {
      finished = true;
      print({ open: true, me: auth.creds.me?.id });
      sock.end(undefined);
      setTimeout(() => process.exit(0), 50);
    }
    if (update.connection === 'close' && !finished) {
      const error = update.lastDisconnect?.error as (Error & { output?: { statusCode?: number } }) | undefined;
      const statusCode = error?.output?.statusCode;
      print({ closed: true, statusCode, error: error?.message });
      if (statusCode === 515) connect();
      else process.exit(1);
    }
  });
  return sock;
}
connect();
