// `npm run demo` end to end: the whole offline flow against the simulator must pass, step by step.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';

describe('npm run demo', () => {
  it('walks agent → QR → scan → connected → send → delivered → read → inbound → verified webhook, and exits 0', () => {
    const run = spawnSync('npm', ['run', '--silent', 'demo'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: 'true' } });
    const out = `${run.stdout}${run.stderr}`;
    expect(run.status, out).toBe(0);
    for (const step of ['agent created', 'QR code published', 'scanned by the simulated phone', 'session connected', 'message accepted (202)', 'delivered: the contact decrypted "Hello from wa-gateway"', '8. read', 'inbound reply stored', 'verified by signature', 'demo passed']) {
      expect(out).toContain(step);
    }
    expect(out).toMatch(/verified by signature: .*message\.received/);
  }, 150_000);
});
