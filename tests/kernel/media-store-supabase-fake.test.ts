// The Supabase Storage media store against a FAKE Storage server (Storage cannot run here). The fake
// speaks Storage's REST protocol as supabase-js uses it: POST /storage/v1/object/<bucket>/<path>
// with x-upsert to upload, GET the same path to download, DELETE /storage/v1/object/<bucket> with
// {"prefixes": [...]} to remove; a missing object answers 400 {"statusCode":"404","error":"not_found"}
// (and newer Storage versions 404); a wrong key answers 403.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupabaseMediaStore } from '../../kernel/media/supabase-store.ts';
import { mediaKey, readAll } from '../../kernel/media/store.ts';

const KEY = 'service-role-key-for-the-fake';
const BUCKET = 'wa-gateway-media';
const objects = new Map<string, { body: Buffer; type: string }>();
const requests: Array<{ method: string; path: string; upsert?: string }> = [];
let server: Server;
let url: string;
let notFoundStatus = 400;

const body = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    requests.push({ method: req.method!, path, upsert: req.headers['x-upsert'] as string | undefined });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${KEY}` || req.headers.apikey !== KEY) return json(403, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature' });
    const prefix = `/storage/v1/object/${BUCKET}`;
    if (req.method === 'DELETE' && path === prefix) {
      const { prefixes } = JSON.parse((await body(req)).toString()) as { prefixes: string[] };
      const removed = prefixes.filter((p) => objects.delete(p)).map((name) => ({ name, bucket_id: BUCKET }));
      return json(200, removed);
    }
    if (!path.startsWith(`${prefix}/`)) return json(400, { statusCode: '404', error: 'not_found', message: 'Bucket not found' });
    const name = path.slice(prefix.length + 1);
    if (req.method === 'POST') {
      if (objects.has(name) && req.headers['x-upsert'] !== 'true') return json(400, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
      objects.set(name, { body: await body(req), type: String(req.headers['content-type']) });
      return json(200, { Key: `${BUCKET}/${name}`, Id: randomUUID() });
    }
    if (req.method === 'GET') {
      const o = objects.get(name);
      if (!o) return json(notFoundStatus, { statusCode: '404', error: 'not_found', message: 'Object not found' });
      res.writeHead(200, { 'content-type': o.type, 'content-length': o.body.length });
      return res.end(o.body);
    }
    json(405, { statusCode: '405', error: 'method_not_allowed', message: 'no' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
});

describe('Supabase Storage media store (against a fake Storage server)', () => {
  it('uploads with upsert into the private bucket, streams back, deletes; missing objects are undefined (400/404 forms)', async () => {
    const store = createSupabaseMediaStore({ supabaseUrl: url, serviceRoleKey: KEY, bucket: BUCKET });
    const bytes = Buffer.from(`media ${randomUUID()}`);
    const key = mediaKey(randomUUID(), createHash('sha256').update(bytes).digest('hex'));
    await store.put(key, bytes, 'image/png');
    await store.put(key, bytes, 'image/png');
    expect(objects.get(key)).toEqual({ body: bytes, type: 'image/png' });
    expect(requests.filter((r) => r.method === 'POST').map((r) => [r.path, r.upsert])).toEqual([
      [`/storage/v1/object/${BUCKET}/${key}`, 'true'],
      [`/storage/v1/object/${BUCKET}/${key}`, 'true'],
    ]);
    expect(Buffer.from(await readAll((await store.get(key))!, 1024))).toEqual(bytes);
    await store.delete([key]);
    expect(objects.has(key)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
    notFoundStatus = 404;
    expect(await store.get(key)).toBeUndefined();
  });

  it('a refused key is an error, not a missing object', async () => {
    const store = createSupabaseMediaStore({ supabaseUrl: url, serviceRoleKey: 'wrong', bucket: BUCKET });
    const key = mediaKey(randomUUID(), 'b'.repeat(64));
    await expect(store.get(key)).rejects.toThrow(/media store download failed/);
    await expect(store.put(key, Buffer.from('x'), 'image/png')).rejects.toThrow(/media store upload failed/);
  });
});
