/**
 * The gateway edge function on Node for local use and benchmarks: the same app as
 * edge-functions/gateway/index.ts, configured from the same environment (see deps.ts), served by
 * @hono/node-server.
 *
 *   SUPABASE_DB_URL=postgresql://gateway_api@127.0.0.1:5432/wa SUPABASE_URL=http://127.0.0.1:54321 \
 *   WEBHOOK_SECRETS_KEY=$(openssl rand -hex 32) PORT=8787 tsx scripts/dev/serve-api.ts
 */
import { lookup } from 'node:dns/promises';
import { serve } from '@hono/node-server';
import { createApp } from '../../edge-functions/gateway/app.ts';
import { depsFromEnv } from '../../edge-functions/gateway/deps.ts';

const deps = await depsFromEnv(process.env, {
  resolveHost: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
});
const app = createApp(deps);
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8787), hostname: process.env.HOST ?? '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ msg: 'gateway listening', url: `http://${info.address}:${info.port}/gateway` }));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void deps.sql.end({ timeout: 5 }).then(() => process.exit(0));
  });
}
