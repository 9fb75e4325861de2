/**
 * Refuses URLs the gateway must not call on a tenant's behalf (SSRF): schemes other than https
 * (http only when explicitly allowed), credentials in the URL, and hosts that are not public (kernel/address-policy.ts, the same policy the connector applies) — as literals,
 * and (where the runtime can resolve names) after DNS resolution. The connector checks again
 * at delivery, since DNS can change in between.
 *
 *   const problem = checkOutboundUrl(url, { allowHttp: false });  // null when acceptable
 */

import { type AddressPolicy, addressProblem, DEFAULT_ADDRESS_POLICY, hostProblem, ipFamily, PRIVATE_URLS_ALLOWED } from '../../../kernel/address-policy.ts';

export interface UrlPolicy {
  allowHttp: boolean;
  /** GATEWAY_ALLOW_PRIVATE_URLS (development, local database only): this machine and private networks too. */
  allowPrivate?: boolean;
}

const addressPolicyOf = (allowPrivate: boolean | undefined): AddressPolicy => (allowPrivate ? PRIVATE_URLS_ALLOWED : DEFAULT_ADDRESS_POLICY);

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
  if (hostProblem(url.hostname, addressPolicyOf(policy.allowPrivate))) return 'must not point to a private, loopback, link-local or metadata address';
  return null;
}

export type Resolver = (hostname: string) => Promise<string[]>;

/** The DNS check: every address the name resolves to must be public. Unresolvable names fail. */
export async function checkResolvedHost(raw: string, resolve: Resolver | undefined, allowPrivate = false): Promise<string | null> {
  if (!resolve) return null;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (ipFamily(host)) return null; // literal, already checked
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return 'host name does not resolve';
  }
  if (addresses.length === 0) return 'host name does not resolve';
  return addresses.some((a) => addressProblem(a, addressPolicyOf(allowPrivate)) !== null) ? 'resolves to a private, loopback or link-local address' : null;
}
