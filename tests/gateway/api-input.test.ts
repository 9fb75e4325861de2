/** Pure pieces of the control plane: phone normalisation, the outbound URL guard, SQL error mapping, API key format. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { generateApiKey, parseApiKey, timingSafeEqual } from '../../edge-functions/_shared/auth/api-keys.ts';
import { decodeCursor, encodeCursor, normalisePhone } from '../../edge-functions/_shared/contracts/common.ts';
import { sqlToHttp } from '../../edge-functions/_shared/http/sql-errors.ts';
import { checkOutboundUrl } from '../../edge-functions/_shared/net/url-guard.ts';
import { addressProblem, hostProblem } from '../../kernel/address-policy.ts';

describe('normalisePhone', () => {
  test.each([
    ['+49 151 2345-6789', '4915123456789'],
    ['0049 (151) 23456789', '4915123456789'],
    ['14155550100', '14155550100'],
    ['+1.415.555.0100', '14155550100'],
  ])('%s -> %s', (input, digits) => expect(normalisePhone(input)).toBe(digits));
  test.each(['+0151234567', '12345', '+49abc', '+1234567890123456', '', '++4915123456789'])('rejects %s', (input) => expect(normalisePhone(input)).toBeNull());
  test('output is always E.164 digits or null', () => {
    fc.assert(fc.property(fc.string({ maxLength: 24 }), (s) => {
      const out = normalisePhone(s);
      return out === null || /^[1-9][0-9]{6,14}$/.test(out);
    }), { numRuns: 5000 });
  });
});

describe('checkOutboundUrl', () => {
  test.each(['https://hooks.example.com/x', 'https://93.184.216.34/x', 'https://[2606:2800:220:1::]/x'])('allows %s', (u) => expect(checkOutboundUrl(u, { allowHttp: false })).toBeNull());
  test.each([
    'http://hooks.example.com', 'https://127.0.0.1', 'https://10.0.0.1', 'https://172.16.5.4', 'https://192.168.1.1', 'https://169.254.169.254',
    'https://100.64.0.1', 'https://0.0.0.0', 'https://[::1]', 'https://[fe80::1]', 'https://[fd00::1]', 'https://[::ffff:10.0.0.1]', 'https://localhost',
    'https://foo.localhost', 'https://metadata.google.internal', 'https://0x7f.0.0.1', 'https://2130706433', 'https://u:p@example.com', 'javascript:alert(1)', 'gopher://x',
  ])('refuses %s', (u) => expect(checkOutboundUrl(u, { allowHttp: false })).not.toBeNull());
  test('http only with the flag', () => expect(checkOutboundUrl('http://hooks.example.com', { allowHttp: true })).toBeNull());
  test('the API refuses exactly the IP literals the connector refuses (one policy)', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const word = fc.oneof(fc.constantFrom(0, 1, 0xffff, 0x2001, 0x2002, 0xfe80, 0xfec0, 0xfc00, 0x64, 0xff9b, 0x7f00, 0xdb8), fc.nat(0xffff));
    const v6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
    fc.assert(fc.property(v4, (ip) => (checkOutboundUrl(`https://${ip}/x`, { allowHttp: false }) !== null) === (addressProblem(ip) !== null)), { numRuns: 3000 });
    fc.assert(fc.property(v6, (ip) => (checkOutboundUrl(`https://[${ip}]/x`, { allowHttp: false }) !== null) === (addressProblem(ip) !== null)), { numRuns: 3000 });
  });
  test('every 127/8 and 10/8 literal is forbidden', () => {
    fc.assert(fc.property(fc.constantFrom(10, 127), fc.nat(255), fc.nat(255), fc.nat(255), (a, b, c, d) => hostProblem(`${a}.${b}.${c}.${d}`) !== null), { numRuns: 2000 });
  });
});

describe('sqlToHttp', () => {
  test.each([
    ['WG001', 404, 'not_found'], ['WG002', 404, 'not_found'], ['WG009', 404, 'not_found'], ['WG003', 403, 'plan_limit'],
    ['WG005', 422, 'invalid_argument'], ['WG006', 409, 'idempotency_conflict'], ['WG007', 429, 'rate_limited'], ['WG008', 409, 'conflict'],
  ])('%s -> %i %s', (code, status, name) => {
    const e = sqlToHttp({ code, message: 'x: something', detail: '{"limit":30,"remaining":0,"reset":2,"retry_after":2}' });
    expect(e?.status).toBe(status);
    expect(e?.code).toBe(name);
  });
  test('unknown and foreign agents read the same', () => {
    expect(sqlToHttp({ code: 'WG001', message: 'unknown_agent: no agent with this id' })?.message).toBe(sqlToHttp({ code: 'WG002', message: 'not_owner: agent belongs to another user' })?.message);
  });
  test('rate limits carry the headers', () => {
    const e = sqlToHttp({ code: 'WG007', message: 'rate_limited: x', detail: '{"limit":30,"remaining":0,"reset":4,"retry_after":2}' });
    expect(e?.headers).toEqual({ 'RateLimit-Limit': '30', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '4', 'Retry-After': '2' });
  });
  test('other errors are not mapped (they become a generic 500)', () => {
    expect(sqlToHttp({ code: '23505', message: 'duplicate key' })).toBeUndefined();
    expect(sqlToHttp(new Error('boom'))).toBeUndefined();
  });
});

test('API keys: format, parse, constant-time compare; cursors round-trip with microseconds', async () => {
  const a = await generateApiKey();
  const b = await generateApiKey();
  expect(parseApiKey(a.key)?.prefix).toBe(a.prefix);
  expect(parseApiKey(`${a.key}x`)).toBeNull();
  expect(a.key).not.toBe(b.key);
  expect(timingSafeEqual(a.hash, a.hash.slice())).toBe(true);
  expect(timingSafeEqual(a.hash, b.hash)).toBe(false);
  expect(timingSafeEqual(a.hash, a.hash.subarray(0, 31))).toBe(false);
  const cursor = encodeCursor('2026-11-22T10:00:00.123456Z', '8a6e0804-2bd0-4672-b79d-d97027f9071a');
  expect(decodeCursor(cursor)).toEqual({ createdAt: '2026-11-22T10:00:00.123456Z', id: '8a6e0804-2bd0-4672-b79d-d97027f9071a' });
  expect(decodeCursor('bm9wZQ')).toBe('invalid');
});
