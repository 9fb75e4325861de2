// GATEWAY_ALLOW_PRIVATE_URLS: the development switch that lets webhooks (and media URLs) reach
// this machine and its private networks. The API and the connector both read it, and both refuse
// it unless their database is on this machine: a process with a production database is never a
// development setup, and there the switch would open the SSRF guard to the internal network.
// Runtime-neutral (the API runs it under Deno, the connector under Node): no imports.

export const PRIVATE_URLS_VARIABLE = 'GATEWAY_ALLOW_PRIVATE_URLS';

export const PRIVATE_URLS_WARNING =
  `${PRIVATE_URLS_VARIABLE}=true: webhook and media URLs may point at this machine and private networks (development only; never in production)`;

/** "true" or "1" turns it on; anything else leaves the address guard as it is. */
export function privateUrlsRequested(env: Record<string, string | undefined>): boolean {
  const v = env[PRIVATE_URLS_VARIABLE];
  return v === 'true' || v === '1';
}

/** Loopback addresses, localhost and Unix sockets (an empty host or a host= socket path). */
export function isLocalDatabaseUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const socketHost = parsed.searchParams.get('host');
  if (socketHost !== null) return socketHost.startsWith('/');
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === '' || host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Why the switch is refused with this database (to follow the variable's name), or null. */
export function privateUrlsRefusal(databaseUrl: string, databaseVariable: string): string | null {
  if (isLocalDatabaseUrl(databaseUrl)) return null;
  let host = 'another host';
  try {
    host = new URL(databaseUrl).hostname || host;
  } catch {}
  return `is for development against a database on this machine, but ${databaseVariable} points at ${host}: unset it, or use a local database`;
}
