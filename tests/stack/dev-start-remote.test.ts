// npm start is for this machine: pointed at a database on another host it refuses before it
// connects (it would join that fleet with a development key and mint a non-expiring `*` API key).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLocalDatabaseUrl } from '../../scripts/dev/stack.ts';

describe('npm start and DATABASE_URL', () => {
  it('refuses a database on another host, naming DATABASE_URL and the way to force it, before connecting', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'wg-start-'));
    try {
      // 192.0.2.1 (TEST-NET-1) does not answer: a connection attempt would hang, not exit 78 at once.
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/dev/start.ts'], {
        env: { ...process.env, DATABASE_URL: 'postgresql://postgres:pw@192.0.2.1:5432/postgres', DATA_DIR: dataDir, PORT: '0', DEV_ALLOW_REMOTE_DATABASE: '' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(78);
      expect(r.stderr).toMatch(/configuration error: DATABASE_URL points at 192\.0\.2\.1/);
      expect(r.stderr).toMatch(/DEV_ALLOW_REMOTE_DATABASE=1/);
      expect(r.stdout).not.toMatch(/API key/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('treats loopback, localhost and Unix sockets as local and everything else as remote', () => {
    for (const url of [
      'postgresql://postgres@127.0.0.1:5432/x',
      'postgres://u:p@localhost/x',
      'postgresql://postgres@[::1]:5432/x',
      'postgresql:///x?host=/var/run/postgresql',
    ]) expect({ url, local: isLocalDatabaseUrl(url) }).toEqual({ url, local: true });
    for (const url of [
      'postgresql://postgres:pw@db.abcd.supabase.co:5432/postgres',
      'postgresql://postgres@10.0.0.5/x',
      'postgresql://postgres@127.0.0.1.evil.example/x',
      'postgresql://x@localhost.example.com/x',
      'not a url',
    ]) expect({ url, local: isLocalDatabaseUrl(url) }).toEqual({ url, local: false });
  });
});
