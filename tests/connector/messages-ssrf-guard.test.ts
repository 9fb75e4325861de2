// The SSRF guard shared by media fetches and webhook deliveries (connector/net).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressProblem, hostProblem, PRIVATE_URLS_ALLOWED } from '../../kernel/address-policy.ts';
import { createUrlGuard, GuardError, type Resolver } from '../../connector/net/guard.ts';
import { startTestServer, type TestServer } from '../helpers/messages-http.ts';

const LOOPBACK_OK = { allowLoopbackForTests: true };

async function guardError(promise: Promise<unknown>): Promise<GuardError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GuardError) return error;
    throw error;
  }
  throw new Error('expected the guard to refuse');
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('address policy', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.100.100.200',
    '169.254.169.254', '169.254.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '192.0.0.170', '198.18.0.1',
    '::1', '0:0:0:0:0:0:0:1', '::', 'fc00::1', 'fd00:ec2::254', 'fe80::1', 'fe80::1%eth0', 'fec0::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1',
    '64:ff9b::a9fe:a9fe', '2002:7f00:1::1', '2002:c0a8:101::1', '2001:db8::1', '2001:0:4136:e378::1', 'not-an-ip',
  ])('refuses %s', (address) => {
    expect(addressProblem(address)).not.toBeNull();
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'allows the public address %s',
    (address) => {
      expect(addressProblem(address)).toBeNull();
    },
  );

  it('the test-only option opens loopback and nothing else', () => {
    expect(addressProblem('127.0.0.1', LOOPBACK_OK)).toBeNull();
    expect(addressProblem('::1', LOOPBACK_OK)).toBeNull();
    expect(addressProblem('::ffff:127.0.0.1', LOOPBACK_OK)).toBeNull();
    for (const a of ['10.0.0.1', '169.254.169.254', '192.168.0.1', 'fd00::1', '::ffff:10.0.0.1', '0.0.0.0']) {
      expect(addressProblem(a, LOOPBACK_OK)).not.toBeNull();
    }
  });

  it('GATEWAY_ALLOW_PRIVATE_URLS opens this machine and private networks, never metadata, multicast or reserved ranges', () => {
    for (const a of ['127.0.0.1', '::1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      expect({ a, problem: addressProblem(a, PRIVATE_URLS_ALLOWED) }).toEqual({ a, problem: null });
    }
    for (const a of ['169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.1', '192.0.2.1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1']) {
      expect(addressProblem(a, PRIVATE_URLS_ALLOWED)).not.toBeNull();
    }
    expect(hostProblem('localhost', PRIVATE_URLS_ALLOWED)).toBeNull();
    expect(hostProblem('printer.local', PRIVATE_URLS_ALLOWED)).toBeNull();
    expect(hostProblem('metadata.google.internal', PRIVATE_URLS_ALLOWED)).not.toBeNull();
    expect(hostProblem('metadata', PRIVATE_URLS_ALLOWED)).not.toBeNull();
    expect(hostProblem('localhost')).not.toBeNull();
  });
});

describe('guarded requests', () => {
  it('the default policy refuses loopback: the receiver never hears from us, with or without http allowed', async () => {
    server.handle((_req, res) => res.end('secret'));
    const before = server.requests.length;
    for (const allowHttp of [true, false]) {
      const guard = createUrlGuard({ allowHttp });
      const error = await guardError(guard.request(`${server.url}/admin`));
      expect(error.code).toBe(allowHttp ? 'forbidden_address' : 'scheme');
    }
    expect((await guardError(createUrlGuard({ allowHttp: true }).request(`http://[::1]:${server.port}/`))).code).toBe('forbidden_address');
    expect((await guardError(createUrlGuard({ allowHttp: true }).request(`http://localhost:${server.port}/`))).code).toBe('forbidden_address');
    // WHATWG URL normalises odd numeric hosts to dotted form, so they meet the same check.
    expect((await guardError(createUrlGuard({ allowHttp: true }).request(`http://2130706433:${server.port}/`))).code).toBe('forbidden_address');
    expect((await guardError(createUrlGuard({ allowHttp: true }).request(`http://0x7f.1:${server.port}/`))).code).toBe('forbidden_address');
    expect(server.requests.length).toBe(before);
  });

  it('refuses file:, data:, ftp:, http (unless allowed) and credentials, before any network', async () => {
    const guard = createUrlGuard({ allowHttp: false, addressPolicy: LOOPBACK_OK });
    expect((await guardError(guard.request('file:///etc/passwd'))).code).toBe('scheme');
    expect((await guardError(guard.request('data:text/plain;base64,aGk='))).code).toBe('scheme');
    expect((await guardError(guard.request('ftp://example.com/x'))).code).toBe('scheme');
    expect((await guardError(guard.request('gopher://example.com/x'))).code).toBe('scheme');
    expect((await guardError(guard.request(`${server.url}/x`))).code).toBe('scheme');
    expect((await guardError(guard.request('https://user:pw@example.com/'))).code).toBe('credentials');
    expect((await guardError(guard.request('not a url'))).code).toBe('invalid_url');
  });

  it('refuses a name that resolves to a private, link-local or metadata address, or to any such among public ones', async () => {
    const answers: Record<string, string[]> = {
      'internal.test': ['10.1.2.3'],
      'metadata.test': ['169.254.169.254'],
      'mixed.test': ['8.8.8.8', '127.0.0.1'],
      'ula.test': ['fd12:3456::1'],
    };
    const resolve: Resolver = async (host) => (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const guard = createUrlGuard({ resolve });
    for (const host of Object.keys(answers)) {
      const error = await guardError(guard.request(`https://${host}/x`));
      expect(error.code).toBe('forbidden_address');
      expect(error.retryable).toBe(false);
    }
    expect((await guardError(guard.request('https://nowhere.test/'))).code).toBe('dns');
  });

  it('connects to the address it vetted: the name is resolved once and never again (no DNS rebinding)', async () => {
    server.handle((req, res) => res.end(`host=${req.headers.host}`));
    let calls = 0;
    const resolve: Resolver = async () => {
      calls++;
      // A rebinding resolver: the first answer is what we vet, any later one would point elsewhere.
      return [{ address: calls === 1 ? '127.0.0.1' : '10.0.0.1', family: 4 }];
    };
    const guard = createUrlGuard({ allowHttp: true, addressPolicy: LOOPBACK_OK, resolve });
    const res = await guard.request(`http://app.test:${server.port}/hello`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(`host=app.test:${server.port}`);
    expect(calls).toBe(1);
  });

  it('re-checks every redirect: to metadata, private, loopback (default policy) and file: are refused', async () => {
    const targets: Record<string, string> = {
      '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
      '/to-private': 'http://10.0.0.1/',
      '/to-file': 'file:///etc/passwd',
      '/to-ipv6-mapped': 'http://[::ffff:a9fe:a9fe]/',
      '/to-ok': '/final',
      '/loop': '/loop',
    };
    server.handle((req, res) => {
      const location = targets[req.url];
      if (location) {
        res.writeHead(302, { location });
        res.end();
      } else res.end('final answer');
    });
    const guard = createUrlGuard({ allowHttp: true, addressPolicy: LOOPBACK_OK, maxRedirects: 3 });
    expect((await guardError(guard.request(`${server.url}/to-metadata`, { followRedirects: true }))).code).toBe('forbidden_address');
    expect((await guardError(guard.request(`${server.url}/to-private`, { followRedirects: true }))).code).toBe('forbidden_address');
    expect((await guardError(guard.request(`${server.url}/to-file`, { followRedirects: true }))).code).toBe('scheme');
    expect((await guardError(guard.request(`${server.url}/to-ipv6-mapped`, { followRedirects: true }))).code).toBe('forbidden_address');
    expect((await guardError(guard.request(`${server.url}/loop`, { followRedirects: true }))).code).toBe('redirect');
    const ok = await guard.request(`${server.url}/to-ok`, { followRedirects: true });
    expect(ok.body.toString()).toBe('final answer');
    expect(ok.url).toBe(`${server.url}/final`);
    // Not following: the 3xx itself comes back and nothing further is requested.
    const before = server.requests.length;
    const raw = await guard.request(`${server.url}/to-metadata`);
    expect(raw.status).toBe(302);
    expect(server.requests.length).toBe(before + 1);
    // A redirect from a public-looking server to loopback, under the default policy.
    const strict = createUrlGuard({ allowHttp: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect((await guardError(strict.request('http://redirector.test/to-ok', { followRedirects: true }))).code).toBe('forbidden_address');
  });

  it('enforces the size limit while streaming (no Content-Length) and from a declared length', async () => {
    let streamedBytes = 0;
    let aborted = false;
    server.handle((req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': String(5_000_000), 'content-type': 'image/png' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png' });
      res.on('close', () => {
        aborted = !res.writableFinished;
      });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const timer = setInterval(() => {
        if (res.destroyed || streamedBytes > 8_000_000) {
          clearInterval(timer);
          res.end();
          return;
        }
        streamedBytes += chunk.length;
        res.write(chunk);
      }, 1);
    });
    const guard = createUrlGuard({ allowHttp: true, addressPolicy: LOOPBACK_OK, maxBytes: 1_000_000 });
    const error = await guardError(guard.request(`${server.url}/stream`));
    expect(error.code).toBe('too_large');
    await expect.poll(() => aborted).toBe(true);
    expect(streamedBytes).toBeLessThan(8_000_000);
    expect((await guardError(guard.request(`${server.url}/declared`))).code).toBe('too_large');
    // Truncation mode keeps the prefix instead (webhook response bodies).
    const prefix = await guard.request(`${server.url}/stream`, { truncate: true, maxBytes: 1000 });
    expect(prefix.body.length).toBe(1000);
  });

  it('times out a server that never answers, and the error is retryable', async () => {
    server.handle(() => {});
    const guard = createUrlGuard({ allowHttp: true, addressPolicy: LOOPBACK_OK, timeoutMs: 300 });
    const started = Date.now();
    const error = await guardError(guard.request(`${server.url}/hang`));
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('checks the MIME type of a successful answer', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html>');
    });
    const guard = createUrlGuard({ allowHttp: true, addressPolicy: LOOPBACK_OK });
    expect((await guardError(guard.request(`${server.url}/x`, { allowedMime: ['image/png', 'image/jpeg'] }))).code).toBe('mime');
    const res = await guard.request(`${server.url}/x`, { allowedMime: ['text/html'] });
    expect(res.mimetype).toBe('text/html');
    expect(res.body.toString()).toBe('<html>');
  });

  it('reports a refused connection as a retryable network error', async () => {
    const closed = await startTestServer();
    const url = closed.url;
    await closed.close();
    const error = await guardError(createUrlGuard({ allowHttp: true, addressPolicy: LOOPBACK_OK }).request(url));
    expect(error.code).toBe('network');
    expect(error.retryable).toBe(true);
  });
});
