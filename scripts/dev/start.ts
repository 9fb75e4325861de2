/**
 * npm start — the whole gateway on this machine (see scripts/dev/stack.ts): the API, the link
 * page, the connector, and the embedded database under .data/ (or DATABASE_URL). Prints where
 * everything is, the development credentials and a first curl command, and draws each new QR
 * code of the local user's sessions in the terminal.
 *
 *   PORT (default 8787)  HOST (default 127.0.0.1)  DATABASE_URL (a real Postgres on this machine
 *   instead; another host is refused unless DEV_ALLOW_REMOTE_DATABASE=1)
 *   DATA_DIR (default .data)  LOG_LEVEL (default warn)  WA_WEBSOCKET_URL (e.g. a simulator)
 *   GATEWAY_ALLOW_PRIVATE_URLS=true with GATEWAY_ALLOW_HTTP_WEBHOOKS=true: webhooks may go to a
 *   receiver on this machine (http://127.0.0.1:<port>/…); refused with a database on another host
 */
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { createLogger } from '../../connector/logging/logger.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { PRIVATE_URLS_WARNING, privateUrlsRequested } from '../../kernel/private-urls.ts';
import { startLocalStack } from './stack.ts';
import { watchSessions } from './terminal-qr.ts';

// console.* is scrubbed (libsignal prints key material through it): this CLI writes to stdout directly.
const say = (text: string) => process.stdout.write(`${text}\n`);
installConsoleScrub(createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }).child({ module: 'console' }));
installCertificateVerification();

const port = process.env.PORT === undefined ? 8787 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`PORT must be a port number (0-65535), got "${process.env.PORT}"\n`);
  process.exit(78);
}

let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    port,
    host: process.env.HOST,
    dataDir: process.env.DATA_DIR,
    databaseUrl: process.env.DATABASE_URL || undefined,
    allowRemoteDatabase: process.env.DEV_ALLOW_REMOTE_DATABASE === '1',
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    env: process.env,
  });
} catch (error) {
  const e = error as Error & { variable?: string };
  process.stderr.write(`${e.variable ? `configuration error: ${e.variable} ${e.message}` : `could not start: ${e.message}`}\n`);
  process.exit(e.variable ? 78 : 1);
}

const curl = `curl -s -X POST ${stack.apiBase}/v1/agents -H 'authorization: Bearer ${stack.token}' -H 'content-type: application/json' -d '{"name":"my first number"}'`;
say(`
wa-gateway is running (${stack.embedded ? `embedded PGlite database in ${process.env.DATA_DIR ?? '.data'}/pglite` : 'database from DATABASE_URL'})

  link page   ${stack.url}/
  sign in     ${stack.signInLink}
              (opens the link page signed in as the local developer)
  API         ${stack.apiBase}        (health: ${stack.apiBase}/health)

Development credentials for the local user (this machine only; kept in the data folder):
  sign-in token (page, agents, keys, webhooks):
    ${stack.token}
  API key (servers: send, read):
    ${stack.apiKey}

First request — create an agent:
  ${curl}

Then open the sign-in link above and link the agent; its QR code also appears here.
${privateUrlsRequested(process.env) ? `
!! ${PRIVATE_URLS_WARNING}
` : ''}`);

const stopWatching = watchSessions(stack.sql, stack.userId, say);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping (leases released, sessions resume at the next start)`);
  stopWatching();
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
