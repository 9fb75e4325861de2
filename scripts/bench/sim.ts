// npm run bench:sim [-- 50 200]
// For each N: this process runs the simulator; a first child links N accounts (QR, scan, 515,
// login) and hands their auth state over in a file; a second, fresh child reconnects all N linked
// sessions at once with real Baileys sockets. Reported: time to all-open and resident memory per
// connected socket (fresh child, auth state loaded before the baseline, so only sockets count).
// The simulator's own memory is left out: it runs here, with the link phase's leftovers.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuthenticationCreds, BufferJSON } from '@whiskeysockets/baileys';
import { type KeyStoreDump, makeMemoryKeyStore } from '../../simulator/memory-key-store.ts';
import { startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import {
  connectClient,
  endAllClients,
  makeTestAuthState,
  waitForClose,
  waitForOpen,
  waitForQr,
} from '../harness/simulator-client.ts';

type Saved = { creds: AuthenticationCreds; keys: KeyStoreDump };
type ToParent = { qr: string; phone: string } | { done: true; rss?: number; openMs?: number };
const LINK_CONCURRENCY = 25;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
const send = (message: ToParent) => process.send?.(message);

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return process.memoryUsage();
}
const settledRss = async () => (await settledMemory()).rss;

/** Child 1: link N accounts; the parent scans each QR it reports. */
async function linkAccounts(url: string, n: number, file: string): Promise<void> {
  const saved: Saved[] = [];
  const linkOne = async (phone: string) => {
    const auth = makeTestAuthState();
    const first = connectClient({ url }, auth, { connectTimeoutMs: 120_000 });
    const closed = waitForClose(first, 120_000);
    send({ qr: await waitForQr(first), phone });
    if ((await closed).statusCode !== 515) throw new Error(`no restart after pairing ${phone}`);
    const sock = connectClient({ url }, auth, { connectTimeoutMs: 120_000 });
    await waitForOpen(sock, 120_000);
    sock.end(undefined);
    saved.push({ creds: auth.creds, keys: (auth.keys as ReturnType<typeof makeMemoryKeyStore>).dump() });
  };
  for (let i = 0; i < n; i += LINK_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(LINK_CONCURRENCY, n - i) }, (_, j) => String(15552000000 + i + j));
    await Promise.all(batch.map(linkOne));
  }
  writeFileSync(file, JSON.stringify(saved, BufferJSON.replacer));
  send({ done: true });
}

/** Child 2: reconnect every linked session at once and measure. */
async function reconnectAll(url: string, file: string): Promise<void> {
  const saved = JSON.parse(readFileSync(file, 'utf8'), BufferJSON.reviver) as Saved[];
  const auths = saved.map((s) => ({ creds: s.creds, keys: makeMemoryKeyStore(s.keys) }));
  const before = await settledRss();
  const start = performance.now();
  const sockets = auths.map((auth) => connectClient({ url }, auth, { connectTimeoutMs: 120_000 }));
  await Promise.all(sockets.map((sock) => waitForOpen(sock, 180_000)));
  const openMs = performance.now() - start;
  const rss = (await settledRss()) - before;
  send({ done: true, rss, openMs });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  endAllClients();
}

type Done = Extract<ToParent, { done: true }>;

function runChild(role: string, args: string[], onQr: (qr: string, phone: string) => void): Promise<{ done: Done; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [role, ...args], { execArgv: [...process.execArgv, '--expose-gc'] });
    child.on('message', (m: ToParent) => ('done' in m ? resolve({ done: m, child }) : onQr(m.qr, m.phone)));
    child.on('exit', (code) => (code ? reject(new Error(`${role} child exited with ${code}`)) : undefined));
  });
}

async function bench(n: number): Promise<void> {
  const sim = await startSimulator();
  trustSimulatorRoot(sim);
  const dir = mkdtempSync(join(tmpdir(), 'bench-sim-'));
  const file = join(dir, 'auth.json');
  const linkStart = performance.now();
  await runChild('link', [sim.url, String(n), file], (qr, phone) => void sim.scan(qr, { phone }));
  const linkMs = performance.now() - linkStart;
  const { done, child } = await runChild('reconnect', [sim.url, file], () => {});
  const live = [...Array(n).keys()].reduce((sum, i) => sum + sim.observe(String(15552000000 + i)).live, 0);
  console.log(
    [
      `N=${n}`,
      `link ${(linkMs / 1000).toFixed(1)} s (${LINK_CONCURRENCY} at a time)`,
      `reconnect to all-open ${((done.openMs ?? 0) / 1000).toFixed(2)} s`,
      `live ${live}/${n}`,
      `client RSS ${mb((done.rss ?? 0) / n)} MB/socket`,
    ].join(' | '),
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('end');
  await exited;
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
}

const [role, ...args] = process.argv.slice(2);
if (role === 'link') {
  await linkAccounts(args[0]!, Number(args[1]), args[2]!);
  process.exit(0);
} else if (role === 'reconnect') {
  await reconnectAll(args[0]!, args[1]!);
  process.exit(0);
} else {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  for (const n of sizes.length ? sizes : [50, 200]) await bench(n);
  process.exit(0);
}
