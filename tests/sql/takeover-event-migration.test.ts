// Upgrading a database whose session.lease_takeover events already named connectors: the
// migration that hides them keeps the details for operators (ops.lease_takeovers) and scrubs the
// tenant-visible payload. Built from the migrations before it, as a deployed project would be.
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyBootstrap, repoRoot } from '../../scripts/db/migrate.ts';
import { withDatabase } from '../../scripts/db/server.ts';
import { claim, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

const MIGRATION = '20261202080000_takeover_event_hides_connectors.sql';
const dir = path.join(repoRoot, 'supabase/migrations');
const name = `wg_takeover_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let sql: postgres.Sql;

async function apply(file: string) {
  await sql.unsafe(await readFile(path.join(dir, file), 'utf8'));
}

beforeAll(async () => {
  const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = withDatabase(inject('pgAdminUrl'), name);
  await applyBootstrap(url);
  sql = postgres(url, { max: 2, onnotice: () => {} });
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql') && f < MIGRATION).sort()) await apply(file);
});
afterAll(async () => {
  await sql?.end();
  const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe(`migration ${MIGRATION}`, () => {
  it('moves the connectors of earlier takeover events to ops.lease_takeovers and scrubs them from the payload', async () => {
    const owner = await createUser(sql);
    const a = await registerConnector(sql, randomUUID(), 'old-host-a');
    const b = await registerConnector(sql, randomUUID(), 'old-host-b');
    const agent = await createRunningAgent(sql, owner);
    await claim(sql, a, agent);
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    await claim(sql, b, agent);
    const [before] = await sql`select id, payload from public.events where agent_id = ${agent} and type = 'session.lease_takeover'`;
    expect(before!.payload).toMatchObject({ from_connector: a, to_connector: b });

    await apply(MIGRATION);

    const [after] = await sql`select payload from public.events where id = ${before!.id}`;
    expect(after!.payload).toEqual({});
    const [op] = await sql`select * from ops.lease_takeovers where event_id = ${before!.id}`;
    expect(op).toMatchObject({ agent_id: agent, from_connector: a, from_hostname: 'old-host-a', to_connector: b, to_hostname: 'old-host-b', lease_epoch: '2' });
  });
});
