/**
 * Refuses URLs the gateway must not call on a tenant's behalf (SSRF): schemes other than https
 * (http only when explicitly allowed), credentials in the URL, and hosts that are loopback,
 * private, link-local, carrier-grade NAT, multicast, unspecified or cloud metadata addresses —
 * as literals, and (where the runtime can resolve names) after DNS resolution. The connector
 * checks again at delivery, since DNS can change in between.
 *
 *   const problem = checkOutboundUrl(url, { allowHttp: false });  // null when acceptable
 */

export interface UrlPolicy {
  allowHttp: boolean;
}

function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

export function isForbiddenIpv4(host: string): boolean {
  const o = ipv4Octets(host);
  if (!o) return false;
  const [a, b] = o as [number, number, number, number];
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && o[2] === 0) ||
    (a === 198 && (b === 18 || b === 19)) // benchmarking
  );
}

export function isForbiddenIpv6(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (!h.includes(':')) return false;
  if (h === '::' || h === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return isForbiddenIpv4(mapped[1]!);
  // URL parsing writes IPv4-mapped addresses in hex (::ffff:7f00:1): treat the whole range as forbidden.
  if (h.startsWith('::ffff:') || h.startsWith('0:0:0:0:0:ffff:')) return true;
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(h) || h.startsWith('64:ff9b:') || h.startsWith('100::') || h.startsWith('2001:db8');
}

const FORBIDDEN_NAMES = /(^|\.)(localhost|localdomain|internal|local|home\.arpa)$|^metadata(\.google\.internal)?$/i;

export function isForbiddenHost(hostname: string): boolean {
  const host = hostname.replace(/\.$/, '').toLowerCase();
  if (!host || FORBIDDEN_NAMES.test(host)) return true;
  if (/^[0-9.]+$/.test(host) && !ipv4Octets(host)) return true; // odd numeric forms (0x7f.1, 2130706433)
  return isForbiddenIpv4(host) || isForbiddenIpv6(host);
}

/** Problem with a URL as a short sentence, or null when it may be called. */
export function checkOutboundUrl(raw: string, policy: UrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'must use https or http' : 'must use https';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (isForbiddenHost(url.hostname)) return 'must not point to a private, loopback, link-local or metadata address';
  return null;
}

export type Resolver = (hostname: string) => Promise<string[]>;

/** The DNS check: every address the name resolves to must be public. Unresolvable names fail. */
export async function checkResolvedHost(raw: string, resolve: Resolver | undefined): Promise<string | null> {
  if (!resolve) return null;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (ipv4Octets(host) || host.includes(':')) return null; // literal, already checked
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return 'host name does not resolve';
  }
  if (addresses.length === 0) return 'host name does not resolve';
  return addresses.some((a) => isForbiddenIpv4(a) || isForbiddenIpv6(a)) ? 'resolves to a private, loopback or link-local address' : null;
}
