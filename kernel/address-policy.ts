// Which IP addresses the gateway may open a connection to on a tenant's behalf (media URLs,
// webhook endpoints). Everything that is not a public unicast address is refused: loopback,
// private (RFC 1918), carrier-grade NAT, link-local (where cloud metadata lives), unspecified,
// multicast, reserved and documentation ranges, IPv6 unique-local, site-local and link-local, and
// every IPv6 form that embeds an IPv4 address (mapped, compatible, NAT64, 6to4) is judged by the
// IPv4 address inside it.
//
// One policy for both places that decide: the API when a URL is given (edge function, Deno) and
// the connector when it connects (Node, after DNS, so a name pointing at 127.0.0.1 is refused
// like the literal). Two copies disagreed once, and a URL the API accepted failed every delivery.
// So this file is runtime-neutral: no imports at all.

export interface AddressPolicy {
  /**
   * Tests only: allow 127.0.0.0/8 and ::1, so a test receiver on loopback can be reached.
   * Production never sets it; the default policy refuses loopback.
   */
  allowLoopbackForTests?: boolean;
  /**
   * Development only (GATEWAY_ALLOW_PRIVATE_URLS, refused unless the database is on this machine):
   * also allow this machine and its networks — loopback, private, carrier-grade NAT, IPv6
   * unique-local and local names — so a webhook can reach a receiver on the developer's machine.
   * Link-local (cloud metadata), multicast, reserved and documentation ranges stay refused.
   */
  allowPrivate?: boolean;
}

/** The policy GATEWAY_ALLOW_PRIVATE_URLS=true gives the API and the connector. */
export const PRIVATE_URLS_ALLOWED: AddressPolicy = Object.freeze({ allowPrivate: true });

const LOOPBACK_OR_PRIVATE = new Set(['loopback', 'private', 'carrier-grade NAT', 'unique-local', 'local name']);


export const DEFAULT_ADDRESS_POLICY: AddressPolicy = Object.freeze({});

type V4 = [number, number, number, number];

function parseV4(text: string): V4 | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  return o.every((x) => x <= 255) ? (o as V4) : null;
}

/** 16 bytes of an IPv6 address (accepts an embedded dotted IPv4 tail), or null. */
function parseV6(text: string): Uint8Array | null {
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const words: number[] = [];
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const v4 = parseV4(tail[1]!);
    if (!v4) return null;
    s = `${s.slice(0, -tail[1]!.length)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return null;
  for (const part of [...head, ...Array(fill).fill('0'), ...rest]) {
    if (!/^[0-9a-f]{1,4}$/.test(part)) return null;
    words.push(Number.parseInt(part, 16));
  }
  if (words.length !== 8) return null;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

function v4Problem(o: V4, policy: AddressPolicy): string | null {
  const [a, b, c] = o;
  if (a === 127) return policy.allowLoopbackForTests ? null : 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'carrier-grade NAT';
  if (a === 169 && b === 254) return 'link-local or metadata';
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'reserved';
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking';
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'documentation';
  if (a >= 224) return 'multicast or reserved';
  return null;
}

function v6Problem(x: Uint8Array, policy: AddressPolicy): string | null {
  const zeros = (from: number, to: number) => x.subarray(from, to).every((v) => v === 0);
  const v4At = (i: number): V4 => [x[i]!, x[i + 1]!, x[i + 2]!, x[i + 3]!];
  if (zeros(0, 15) && x[15] === 1) return policy.allowLoopbackForTests ? null : 'loopback';
  if (zeros(0, 16)) return 'unspecified';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64): judge the IPv4.
  if (zeros(0, 10) && x[10] === 0xff && x[11] === 0xff) {
    const inner = v4Problem(v4At(12), policy);
    return inner ? `IPv4-mapped ${inner}` : null;
  }
  if (zeros(0, 12)) return 'IPv4-compatible';
  if (x[0] === 0x00 && x[1] === 0x64 && x[2] === 0xff && x[3] === 0x9b) return v4Problem(v4At(12), {}) ? 'NAT64 of a non-public address' : null;
  if (x[0] === 0x20 && x[1] === 0x02) return v4Problem(v4At(2), {}) ? '6to4 of a non-public address' : null;
  if (x[0] === 0x20 && x[1] === 0x01 && x[2] === 0x00 && x[3] === 0x00) return 'Teredo';
  if (x[0] === 0x20 && x[1] === 0x01 && x[2] === 0x0d && x[3] === 0xb8) return 'documentation';
  if (x[0] === 0x01 && zeros(1, 8)) return 'discard';
  if ((x[0]! & 0xfe) === 0xfc) return 'unique-local';
  if (x[0] === 0xfe && (x[1]! & 0xc0) === 0x80) return 'link-local';
  if (x[0] === 0xfe && (x[1]! & 0xc0) === 0xc0) return 'site-local';
  if (x[0] === 0xff) return 'multicast';
  return null;
}

/** 4 or 6 when the text is an IP literal (brackets and an IPv6 zone allowed), else 0. */
export function ipFamily(text: string): 0 | 4 | 6 {
  const bare = text.replace(/^\[|\]$/g, '');
  if (parseV4(bare)) return 4;
  return bare.includes(':') && parseV6(bare) ? 6 : 0;
}

/** Why an address must not be contacted ("loopback", "private", …), or null when it is public. */
export function addressProblem(address: string, policy: AddressPolicy = DEFAULT_ADDRESS_POLICY): string | null {
  const problem = strictAddressProblem(address, policy);
  return problem && policy.allowPrivate && LOOPBACK_OR_PRIVATE.has(problem.replace(/^IPv4-mapped /, '')) ? null : problem;
}

function strictAddressProblem(address: string, policy: AddressPolicy): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const v4 = parseV4(bare);
  if (v4) return v4Problem(v4, policy);
  if (bare.includes(':')) {
    const bytes = parseV6(bare);
    return bytes ? v6Problem(bytes, policy) : 'unparseable';
  }
  return 'not an IP address';
}

// Names that only ever mean "this machine" or "inside this network". Other names are judged by
// the addresses they resolve to (the connector always resolves; the API does where it can).
const LOCAL_NAMES = /(^|\.)(localhost|localdomain|internal|local|home\.arpa)$|^metadata(\.google\.internal)?$/i;

/**
 * Why a URL's host (a name or an IP literal, as URL.hostname gives it) must not be contacted,
 * or null. A name passes here and still has its resolved addresses checked with addressProblem.
 */
export function hostProblem(hostname: string, policy: AddressPolicy = DEFAULT_ADDRESS_POLICY): string | null {
  const host = hostname.replace(/\.$/, '').toLowerCase();
  if (!host) return 'empty host';
  if (ipFamily(host)) return addressProblem(host, policy);
  if (LOCAL_NAMES.test(host)) return policy.allowPrivate && !/^metadata(\.|$)/.test(host) ? null : 'local name';
  // WHATWG URL turns 0x7f.1 and 2130706433 into dotted form; anything numeric left is odd.
  if (/^[0-9.]+$/.test(host)) return 'odd numeric host';
  return null;
}
