// npm run keys:rotate — re-encrypts creds, Signal keys and webhook secrets under the newest key.
//
// Rotation is two deployments (README "Rotating the encryption key"); a connector that lacks a
// key version does not claim sessions sealed under it, but a rolling restart straight to a new
// current key would still leave those sessions waiting for an updated connector.
//   Phase 1: deploy the new key as readable only, everywhere:
//            CREDENTIALS_ENCRYPTION_OLD_KEYS=<n+1>:<new> beside the unchanged current key.
//   Phase 2: once every connector runs phase 1, make it current everywhere:
//            CREDENTIALS_ENCRYPTION_KEY=<new>, CREDENTIALS_ENCRYPTION_KEY_VERSION=<n+1>,
//            CREDENTIALS_ENCRYPTION_OLD_KEYS=<n>:<old>[,...]; then run this script with the same
//            environment (DATABASE_URL or SUPABASE_DB_URL).
//   Finally: when it reports failed 0 and a second run rewrites 0 rows, drop the old key from
//            OLD_KEYS.
import postgres from 'postgres';
import { rotateKeys } from '../connector/auth-state/rotate.ts';
import { ConfigError, keyringFromEnv } from '../edge-functions/_shared/secret-box.ts';

const url = process.env.DATABASE_URL || process.env.SUPABASE_DB_URL;
if (!url) {
  console.error('DATABASE_URL: is required (the direct Postgres connection)');
  process.exit(78);
}
let keyring: Awaited<ReturnType<typeof keyringFromEnv>>;
try {
  keyring = await keyringFromEnv(process.env);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : String(error));
  process.exit(78);
}
const sql = postgres(url, { max: 2, onnotice: () => {} });
try {
  const report = await rotateKeys(sql, keyring);
  console.log(JSON.stringify({ currentVersion: keyring.currentVersion, ...report }));
  process.exitCode = report.failed > 0 ? 1 : 0;
} finally {
  await sql.end();
}
