// The SSRF guard: the only way the connector makes an HTTP request to a URL a tenant gave it
// (media by URL, webhook endpoints). One request, step by step:
//
//   1. parse; refuse anything but https (http only when configured): file:, data:, ftp: … never;
//      refuse credentials in the URL;
//   2. resolve the host name ourselves and refuse it if ANY address is not public
//      (kernel/address-policy.ts, the policy the API also applies); an IP literal is judged as is;
//   3. connect to the address we vetted (a pinned `lookup`), never resolving again, so a DNS
//      answer that changes between check and connect (rebinding) cannot redirect us; TLS still
//      verifies the certificate against the host name;
//   4. redirects are never followed by the HTTP client: when the caller allows them, each
//      Location goes through steps 1–3 again, up to maxRedirects;
//   5. the body is counted while it streams and the request is destroyed past maxBytes (or, for
//      callers that only want a prefix, truncated); one deadline covers every hop;
//   6. the caller may require the response's MIME type to be in a list.
//
// Errors are GuardError with a code and `retryable` (network trouble and timeouts are worth
// another attempt; a refused address or scheme is not).
import { promises as dns } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressPolicy, addressProblem, DEFAULT_ADDRESS_POLICY } from '../../kernel/address-policy.ts';

export type GuardErrorCode = 'invalid_url' | 'scheme' | 'credentials' | 'forbidden_address' | 'dns' | 'redirect' | 'too_large' | 'timeout' | 'mime' | 'network';

export class GuardError extends Error {
  constructor(
    readonly code: GuardErrorCode,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'GuardError';
  }
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface GuardConfig {
  /** Accept http:// (development); https only otherwise. Default false. */
  allowHttp: boolean;
  /** Deadline for the whole request including redirects. Default 10 s. */
  timeoutMs: number;
  /** Largest body read. Default 10 MiB. */
  maxBytes: number;
  /** Redirects followed when a request allows them. Default 3. */
  maxRedirects: number;
  /** Which addresses may be contacted; tests pass { allowLoopbackForTests: true }. */
  addressPolicy: AddressPolicy;
  /** DNS; default: the system resolver, every address. */
  resolve: Resolver;
}

export interface GuardedRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Follow (re-checked) redirects; default false: a 3xx is returned to the caller. */
  followRedirects?: boolean;
  maxBytes?: number;
  /** Past maxBytes, keep the prefix instead of failing (webhook response bodies). */
  truncate?: boolean;
  timeoutMs?: number;
  /** Base MIME types accepted for a 2xx answer (e.g. ['image/jpeg']). */
  allowedMime?: readonly string[];
}

export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Lower-cased base MIME type from Content-Type, if any. */
  mimetype: string | undefined;
  /** The URL that answered (after redirects). */
  url: string;
}

export interface UrlGuard {
  readonly config: Readonly<GuardConfig>;
  /** Steps 1–2 only: the URL and the address a request would connect to, or a GuardError. */
  vet(url: string | URL): Promise<{ url: URL; address: string; family: number }>;
  request(url: string, init?: GuardedRequest): Promise<GuardedResponse>;
}

const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

export function createUrlGuard(options: Partial<GuardConfig> = {}): UrlGuard {
  const config: GuardConfig = {
    allowHttp: options.allowHttp ?? false,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
    maxRedirects: options.maxRedirects ?? 3,
    addressPolicy: options.addressPolicy ?? DEFAULT_ADDRESS_POLICY,
    resolve: options.resolve ?? systemResolver,
  };

  async function vet(raw: string | URL) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new GuardError('invalid_url', 'not a valid URL');
    }
    if (url.protocol !== 'https:' && !(config.allowHttp && url.protocol === 'http:')) {
      throw new GuardError('scheme', `scheme ${url.protocol} is not allowed (${config.allowHttp ? 'https or http' : 'https'} only)`);
    }
    if (url.username || url.password) throw new GuardError('credentials', 'URLs with credentials are not allowed');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: Array<{ address: string; family: number }>;
    if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
    else {
      try {
        addresses = await config.resolve(host);
      } catch (error) {
        const code = (error as { code?: string }).code;
        // NXDOMAIN is the tenant's problem; a resolver timeout or SERVFAIL may pass.
        throw new GuardError('dns', `host name does not resolve (${code ?? 'error'})`, code !== 'ENOTFOUND' && code !== 'ENODATA');
      }
      if (addresses.length === 0) throw new GuardError('dns', 'host name does not resolve', false);
    }
    for (const a of addresses) {
      const problem = addressProblem(a.address, config.addressPolicy);
      if (problem) throw new GuardError('forbidden_address', `host resolves to a ${problem} address`);
    }
    const first = addresses[0]!;
    return { url, address: first.address, family: first.family };
  }

  function hop(target: { url: URL; address: string; family: number }, init: GuardedRequest, deadline: number, maxBytes: number) {
    const { url, address, family } = target;
    const pinned: LookupFunction = (_host, opts, callback) => {
      if ((opts as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new GuardError('timeout', 'request timed out', true));
    return new Promise<Omit<GuardedResponse, 'url'>>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) },
        lookup: pinned,
        agent: false, // no pooled connection to some other address
      });
      let settled = false;
      const fail = (error: GuardError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new GuardError('timeout', `no complete answer within ${init.timeoutMs ?? config.timeoutMs} ms`, true)), remaining);
      req.on('error', (error) => fail(new GuardError('network', `request failed: ${(error as { code?: string }).code ?? error.message}`, true)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const mimetype = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase() || undefined;
        if (init.allowedMime && status >= 200 && status < 300 && !(mimetype && init.allowedMime.includes(mimetype))) {
          return fail(new GuardError('mime', `content type ${mimetype ?? '(none)'} is not allowed`));
        }
        const declared = Number(res.headers['content-length'] ?? Number.NaN);
        if (!init.truncate && declared > maxBytes) return fail(new GuardError('too_large', `body of ${declared} bytes exceeds ${maxBytes}`));
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status, headers: res.headers, body: Buffer.concat(chunks), mimetype });
        };
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > maxBytes) {
            if (!init.truncate) return fail(new GuardError('too_large', `body exceeds ${maxBytes} bytes`));
            chunks.push(chunk.subarray(0, chunk.length - (size - maxBytes)));
            finish();
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', finish);
        res.on('error', (error) => fail(new GuardError('network', `response failed: ${error.message}`, true)));
      });
      req.end(init.body);
    });
  }

  return {
    config,
    vet,
    async request(raw, init = {}) {
      const deadline = Date.now() + (init.timeoutMs ?? config.timeoutMs);
      const maxBytes = init.maxBytes ?? config.maxBytes;
      let current = raw;
      let method = init.method ?? 'GET';
      let body = init.body;
      for (let redirects = 0; ; redirects++) {
        const target = await vet(current);
        const res = await hop(target, { ...init, method, body }, deadline, maxBytes);
        const location = res.headers.location;
        if (!init.followRedirects || res.status < 300 || res.status >= 400 || res.status === 304 || !location) {
          return { ...res, url: target.url.toString() };
        }
        if (redirects >= config.maxRedirects) throw new GuardError('redirect', `more than ${config.maxRedirects} redirects`);
        current = new URL(location, target.url).toString();
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
      }
    },
  };
}
