// Shared by npm run bench:sessions and bench:failover: a scratch database, the simulator in this
// process, and N linked sessions (linked through a connector by scanning the QR codes it
// publishes, then released), ready for connector processes to claim.
//
// The linking connector runs in a process of its own (LINKER=process, the default), as a real
// connector runs apart from WhatsApp; LINKER=inprocess runs it in this process, beside the
// simulator, where the two share one event loop (how 500 links were first measured);
// LINKER=seed links in the simulator without sockets and stores the creds directly (no link phase
// to measure, the reconnect from stored creds alone).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { initAuthCreds } from '@whiskeysockets/baileys';
import postgres from 'postgres';
import { credsAd, encodeValue, keyAd } from '../../connector/auth-state/codec.ts';
import { KEYRING_PREFIX, keyringFromEnv } from '../../kernel/secret-box.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { migrate } from '../db/migrate.ts';
import { resolveTestServer, withDatabase } from '../db/server.ts';
import { startTestConnector, testEnv } from '../harness/connector.ts';
import { cpuProfileArgs, spawnConnector } from '../harness/connector-process.ts';

export interface BenchSetup {
  dbUrl: string;
  sql: postgres.Sql;
  sim: Simulator;
  agents: string[];
  phones: string[];
  linkSeconds: number;
  /** Sessions that did not link by the deadline, counted by `status/last close code`. */
  linkFailures: Record<string, number>;
  /** Linked sessions whose first pre-key upload had not reached the simulator when the linker stopped. */
  linkedWithoutPreKeys: number;
  /** CPU seconds of the linking connector process (LINKER=process only). */
  linkerCpuSeconds: number | undefined;
  cleanup(): Promise<void>;
}

export async function setupBench(n: number, log: (msg: string) => void): Promise<BenchSetup> {
  installCertificateVerification();
  const server = await resolveTestServer();
  const name = `wg_bench_conn_${process.pid}`;
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
  const dbUrl = withDatabase(server.adminUrl, name);
  await migrate(dbUrl);
  const sql = postgres(dbUrl, { max: 8, onnotice: () => {} });
  const sim = await startSimulator();
  const untrust = trustSimulatorRoot(sim);

  await sql`update public.plans set max_agents = 100000`;
  const [user] = await sql`insert into auth.users (email) values (${`${randomUUID()}@bench.test`}) returning id`;
  const owner = user!.id as string;
  await sql`update public.accounts set plan_id = 'max' where user_id = ${owner}`;
  const agents: string[] = [];
  const phones: string[] = [];
  for (let i = 0; i < n; i++) {
    const [a] = await sql`select id from gateway.create_agent(${owner}, ${`bench-${i}`})`;
    agents.push(a!.id as string);
    phones.push(`1557${String(i).padStart(7, '0')}`);
  }

  const linked =
    process.env.LINKER === 'seed'
      ? await seedStoredCreds(sql, sim, dbUrl, agents, phones, log)
      : await linkThroughConnector(sql, sim, dbUrl, agents, phones, log);
  log(`linked ${agents.length} of ${n} in ${linked.linkSeconds.toFixed(1)} s (${linked.linkedWithoutPreKeys} without pre-keys on the server)`);
  return {
    dbUrl,
    sql,
    sim,
    agents,
    phones,
    ...linked,
    async cleanup() {
      await sql.end({ timeout: 2 });
      untrust();
      await sim.stop();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
      await server.cluster?.stop();
    },
  };
}

type LinkOutcome = Pick<BenchSetup, 'linkSeconds' | 'linkFailures' | 'linkedWithoutPreKeys' | 'linkerCpuSeconds'>;

/**
 * LINKER=seed: every account linked in the simulator without a socket (simulator.linkWithoutSocket)
 * and its creds and pre-keys written to the database as the connector would have stored them, so a
 * reconnect of 1,000 sessions can be measured without 1,000 QR links (about a CPU second each)
 * before it. linkSeconds is the seeding time.
 */
async function seedStoredCreds(sql: postgres.Sql, sim: Simulator, dbUrl: string, agents: string[], phones: string[], log: (msg: string) => void): Promise<LinkOutcome> {
  log(`seeding ${agents.length} sessions with stored creds...`);
  const t0 = performance.now();
  const keyring = await keyringFromEnv(testEnv(dbUrl, sim.url), KEYRING_PREFIX.credentials);
  for (let i = 0; i < agents.length; i++) {
    const agent = agents[i]!;
    const seeded = sim.linkWithoutSocket(initAuthCreds(), { phone: phones[i]! });
    const creds = await encodeValue(keyring, seeded.creds, credsAd(agent));
    const ids = Object.keys(seeded.preKeys);
    const keys = await Promise.all(ids.map((id) => encodeValue(keyring, seeded.preKeys[Number(id)], keyAd(agent, 'pre-key', id))));
    await sql.begin(async (tx) => {
      await tx`insert into private.session_credentials (agent_id, ciphertext, key_version) values (${agent}, ${creds.ciphertext}, ${creds.keyVersion})`;
      await tx`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version)
        select ${agent}, 'pre-key', unnest(${ids}::text[]), unnest(${tx.array(keys.map((k) => k.ciphertext), 1001)}::bytea[]), ${keyring.currentVersion}`;
      await tx`update public.whatsapp_sessions set phone_number = ${phones[i]!}, linked_jid = ${seeded.creds.me!.id} where agent_id = ${agent}`;
    });
  }
  return { linkSeconds: (performance.now() - t0) / 1000, linkFailures: {}, linkedWithoutPreKeys: 0, linkerCpuSeconds: undefined };
}

/** Links every account through a connector (in this process or its own) by scanning the QR codes it publishes. */
async function linkThroughConnector(sql: postgres.Sql, sim: Simulator, dbUrl: string, agents: string[], phones: string[], log: (msg: string) => void): Promise<LinkOutcome> {
  const n = agents.length;
  const phoneOf = new Map(agents.map((a, i) => [a, phones[i]!]));
  const inProcess = process.env.LINKER === 'inprocess';
  log(`linking ${n} sessions through ${inProcess ? 'an in-process connector' : 'a connector process'}...`);
  const t0 = performance.now();
  const linkerEnv = testEnv(dbUrl, sim.url, {
    CONNECTOR_CAPACITY: String(n),
    CONNECTOR_LEASE_SECONDS: '60',
    CONNECTOR_RENEW_INTERVAL_MS: '10000',
    LOG_LEVEL: inProcess ? 'warn' : 'info', // a process announces its HTTP address at info
    BAILEYS_LOG_LEVEL: 'silent',
    CONNECTOR_DB_POOL: '8',
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_LINKER_')).map(([k, v]) => [k.slice('BENCH_LINKER_'.length), v ?? ''])),
  });
  const linker = inProcess
    ? await startTestConnector(linkerEnv)
    : await (async () => {
        const profileDir = process.env.BENCH_CPU_PROF;
        const proc = spawnConnector(linkerEnv, sim.rootPublicKey, { keepLines: 200, execArgv: cpuProfileArgs(profileDir && `${profileDir}/linker`) });
        await Promise.race([proc.httpUrl, proc.exited.then((code) => Promise.reject(new Error(`linker exited (${code}):\n${proc.lines.join('\n')}`)))]);
        return {
          cpuSeconds: () => cpuSeconds(proc.pid),
          async stop() {
            if (process.env.BENCH_LINKER_LOG) for (const line of proc.lines) if (new RegExp(process.env.BENCH_LINKER_LOG).test(line)) log(`linker: ${line.slice(0, 400)}`);
            proc.signal('SIGTERM');
            await proc.exited;
          },
        };
      })();
  await sql`update public.whatsapp_sessions set desired_state = 'connected', link_method = 'qr', link_requested_at = now() where agent_id = any(${agents}::uuid[])`;
  const scanned = new Set<string>();
  // Under full load a few logins can keep timing out (see the report); after the deadline the
  // bench goes on with the sessions that did link, and says how many those are.
  const deadline = performance.now() + Number(process.env.LINK_TIMEOUT_S ?? 300) * 1000;
  const linkFailures: Record<string, number> = {};
  for (;;) {
    const rows = await sql`select agent_id, status, qr_code, last_disconnect_code from public.whatsapp_sessions where agent_id = any(${agents}::uuid[])`;
    const connected = rows.filter((r) => r.status === 'connected').length;
    if (connected === n) break;
    if (performance.now() > deadline) {
      const linkedIds = new Set(rows.filter((r) => r.status === 'connected').map((r) => r.agent_id as string));
      log(`link deadline: ${connected} of ${n} linked; continuing with those`);
      for (const r of rows) {
        if (r.status === 'connected') continue;
        const key = `${r.status}/${r.last_disconnect_code ?? '-'}`;
        linkFailures[key] = (linkFailures[key] ?? 0) + 1;
      }
      for (let i = agents.length - 1; i >= 0; i--) {
        if (!linkedIds.has(agents[i]!)) {
          agents.splice(i, 1);
          phones.splice(i, 1);
        }
      }
      await sql`update public.whatsapp_sessions set desired_state = 'disconnected' where not (agent_id = any(${agents}::uuid[]))`;
      break;
    }
    // Not awaited: a scan waits for the client's answer, and one slow client must not hold up
    // the scans of the others. A failed scan is tried again on the next code shown.
    for (const r of rows) {
      if (r.status !== 'qr' || !r.qr_code || scanned.has(r.agent_id)) continue;
      scanned.add(r.agent_id);
      sim.scan(r.qr_code, { phone: phoneOf.get(r.agent_id)! }).catch(() => scanned.delete(r.agent_id));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const linkSeconds = (performance.now() - t0) / 1000;
  // `connected` comes before Baileys' upload of the first 812 pre-keys has surely reached the
  // server (it gives up waiting after 30 s, and the upload goes on): a linker stopped before then
  // leaves the server without pre-keys, and the measured reconnect would upload them again. Each
  // upload seals 812 keys (about 0.9 CPU s a link), so after 500 links at once the uploads all
  // finish together 110-130 s after the last link: PREKEY_WAIT_S (default 300) bounds the wait.
  const withoutPreKeys = () => phones.filter((p) => sim.observe(p).uploadedPreKeys === 0).length;
  const uploadDeadline = performance.now() + Number(process.env.PREKEY_WAIT_S ?? 300) * 1000;
  while (withoutPreKeys() > 0 && performance.now() < uploadDeadline) await new Promise((r) => setTimeout(r, 500));
  const linkedWithoutPreKeys = withoutPreKeys();
  const linkerCpuSeconds = 'cpuSeconds' in linker ? linker.cpuSeconds() : undefined;
  await linker.stop();
  return { linkSeconds, linkFailures, linkedWithoutPreKeys, linkerCpuSeconds };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

/** CPU time (user + system) of a process in seconds (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
