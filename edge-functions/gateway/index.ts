// Supabase Edge Function entry (Deno). Everything else is in app.ts; see deps.ts for the env.
import { createApp } from './app.ts';
import { depsFromEnv } from './deps.ts';

const resolveHost = async (host: string) => {
  const [a, aaaa] = await Promise.allSettled([Deno.resolveDns(host, 'A'), Deno.resolveDns(host, 'AAAA')]);
  return [...(a.status === 'fulfilled' ? a.value : []), ...(aaaa.status === 'fulfilled' ? aaaa.value : [])];
};

Deno.serve(createApp(await depsFromEnv(Deno.env.toObject(), { resolveHost })).fetch);
