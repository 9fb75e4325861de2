// npm run keys:rotate — re-encrypts creds and Signal keys under the newest credentials key
// (CREDENTIALS_ENCRYPTION_*) and webhook signing secrets under the newest webhook key
// (WEBHOOK_SECRETS_*). Both keyrings are required, as the connector requires them.
//
// Rotation is two deployments (README "Rotating the encryption keys"); a connector that lacks a
// key version does not claim sessions sealed under it, but a rolling restart straight to a new
// current key would still leave those sessions waiting for an updated connector. For either
// keyring (prefix P):
//   Phase 1: deploy the new key as readable only, everywhere that holds P:
//            P_OLD_KEYS=<n+1>:<new> beside the unchanged current key.
//   Phase 2: once every process runs phase 1, make it current everywhere:
//            P_KEY=<new>, P_KEY_VERSION=<n+1>, P_OLD_KEYS=<n>:<old>[,...]; then run this script
//            with the same environment (DATABASE_URL or SUPABASE_DB_URL).
//   Finally: when it reports failed 0 and a second run rewrites 0 rows, drop the old key from
//            P_OLD_KEYS.
import postgres from 'postgres';
import { rotateKeys } from '../connector/auth-state/rotate.ts';
import { bothKeyringsFromEnv, ConfigError, type Keyring } from '../kernel/secret-box.ts';

const url = process.env.DATABASE_URL || process.env.SUPABASE_DB_URL;
if (!url) {
  console.error('DATABASE_URL: is required (the direct Postgres connection)');
  process.exit(78);
}
let credentials: Keyring;
let webhookSecrets: Keyring;
try {
  ({ credentials, webhookSecrets } = await bothKeyringsFromEnv(process.env));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : String(error));
  process.exit(78);
}
const sql = postgres(url, { max: 2, onnotice: () => {} });
try {
  const report = await rotateKeys(sql, { credentials, webhookSecrets });
  console.log(JSON.stringify({ currentVersion: credentials.currentVersion, webhookCurrentVersion: webhookSecrets.currentVersion, ...report }));
  process.exitCode = report.failed > 0 ? 1 : 0;
} finally {
  await sql.end();
}
