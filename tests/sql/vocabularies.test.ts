/**
 * The vocabularies in kernel/ against what the system really uses: session statuses against the
 * CHECK on public.whatsapp_sessions.status, event types against every type literal the SQL
 * functions of the migrated database and the TypeScript services emit. A new status or event
 * type anywhere fails here until kernel/ names it (and one that nothing emits any more, too).
 * The list SQL validates webhook subscriptions against (private.event_types()) must equal
 * kernel/'s, and a subscription to a type outside it is refused by SQL as well as by the API.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, AUDIT_ACTOR_TYPES } from '../../kernel/audit-actions.ts';
import { EVENT_FAMILIES, EVENT_TYPES } from '../../kernel/event-types.ts';
import { ORGANISATION_ROLES } from '../../kernel/organisation-roles.ts';
import { SESSION_STATUSES } from '../../kernel/session-statuses.ts';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createUser } from '../helpers/fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** `'a.b'` string literals in a text, minus schema-qualified names (public.x, gateway.y …). */
function dottedLiterals(text: string, schemas: ReadonlySet<string>): string[] {
  return [...text.matchAll(/'([a-z_]+)\.([a-z_]+)'/g)].filter((m) => !schemas.has(m[1]!)).map((m) => `${m[1]}.${m[2]}`);
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(repoRoot, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}

describe('session statuses', () => {
  it('kernel/session-statuses.ts lists exactly the CHECK of public.whatsapp_sessions.status', async () => {
    const checks = await db.sql<{ def: string }[]>`
      select pg_get_constraintdef(c.oid) as def from pg_constraint c
      where c.conrelid = 'public.whatsapp_sessions'::regclass and c.contype = 'c' and pg_get_constraintdef(c.oid) ~ '^CHECK \\(\\(status '`;
    expect(checks).toHaveLength(1);
    const inSql = [...checks[0]!.def.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]!);
    expect(sorted(SESSION_STATUSES)).toEqual(sorted(inSql));
  });
});

describe('organisation roles', () => {
  it('private.organisation_roles() lists exactly kernel/organisation-roles.ts ORGANISATION_ROLES, in the same order (the rank)', async () => {
    const [row] = await db.sql<{ roles: string[] }[]>`select private.organisation_roles() as roles`;
    expect(row!.roles).toEqual([...ORGANISATION_ROLES]);
  });

  it('the role columns refuse a name outside the list and rank the roles in its order', async () => {
    const ranks = await db.sql<{ role: string; rank: number | null }[]>`
      select r as role, private.organisation_role_rank(r) as rank from unnest(${[...ORGANISATION_ROLES, 'Owner', 'member']}::text[]) r`;
    expect(ranks.map((r) => r.rank)).toEqual([1, 2, 3, 4, null, null]);
    const user = await createUser(db.sql);
    const refused = await db.sql`update public.organisation_members set role = 'superuser' where user_id = ${user}`.catch((e: { code?: string }) => e.code);
    expect(refused).toBe('23514');
  });
});

describe('event types', () => {
  let fromSql: Map<string, string[]>;
  let fromSource: Map<string, string[]>;

  beforeAll(async () => {
    const schemas = new Set((await db.sql<{ nspname: string }[]>`select nspname from pg_namespace`).map((r) => r.nspname));
    const functions = await db.sql<{ name: string; body: string }[]>`
      select n.nspname || '.' || p.proname as name, p.prosrc as body
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema', 'auth', 'extensions', 'supabase_migrations') and n.nspname not like 'pg\\_%'
        -- The vocabulary itself names every type; counting it would make each one look emitted.
        and p.oid <> 'private.event_types()'::regprocedure and p.oid <> 'private.audit_actions()'::regprocedure`;
    fromSql = new Map();
    // Audit actions are dotted too ('agent.created'); they are checked against their own list below.
    const audit = new Set<string>(AUDIT_ACTIONS);
    for (const f of functions) {
      for (const t of dottedLiterals(f.body, schemas)) {
        // Configuration names ('wa_gateway.actor', PostgREST's 'request.headers') are dotted as well.
        if (f.body.includes(`current_setting('${t}'`) || f.body.includes(`set_config('${t}'`)) continue;
        if (!audit.has(t) || (EVENT_TYPES as readonly string[]).includes(t)) fromSql.set(t, [...(fromSql.get(t) ?? []), f.name]);
      }
    }

    // In TypeScript, dotted strings are also Baileys event names, headers and the like: only
    // the families the gateway emits count. A new family shows up on the SQL side, where every
    // event is written (gateway.emit_event).
    const family = new RegExp(`['\`](${EVENT_FAMILIES.join('|')})\\.([a-z_]+)['\`]`, 'g');
    fromSource = new Map();
    for (const dir of ['connector', 'edge-functions']) {
      for (const file of await sourceFiles(dir)) {
        const text = await readFile(file, 'utf8');
        for (const m of text.matchAll(family)) {
          const t = `${m[1]}.${m[2]}`;
          fromSource.set(t, [...(fromSource.get(t) ?? []), path.relative(repoRoot, file)]);
        }
      }
    }
  });

  it('every event type the SQL functions emit is in kernel/event-types.ts', () => {
    const missing = [...fromSql].filter(([t]) => !(EVENT_TYPES as readonly string[]).includes(t)).map(([t, where]) => `${t} (${where.join(', ')})`);
    expect(missing, 'add these to kernel/event-types.ts').toEqual([]);
  });

  it('every event type the connector and the edge functions name is in kernel/event-types.ts', () => {
    const missing = [...fromSource].filter(([t]) => !(EVENT_TYPES as readonly string[]).includes(t)).map(([t, where]) => `${t} (${where.join(', ')})`);
    expect(missing, 'add these to kernel/event-types.ts').toEqual([]);
  });

  it('every type in kernel/event-types.ts is emitted somewhere', () => {
    const unused = EVENT_TYPES.filter((t) => !fromSql.has(t) && !fromSource.has(t));
    expect(unused, 'nothing emits these: remove them from kernel/event-types.ts').toEqual([]);
  });
});

describe('webhook subscriptions in SQL', () => {
  it('private.event_types() lists exactly kernel/event-types.ts EVENT_TYPES', async () => {
    const [row] = await db.sql<{ types: string[] }[]>`select private.event_types() as types`;
    expect(sorted(row!.types)).toEqual(sorted(EVENT_TYPES));
  });

  it('accepts *, a known family.* and every known type; refuses a typo, an unknown family and a stray form', async () => {
    const valid = async (types: string[]) => (await db.sql<{ ok: boolean }[]>`select private.valid_event_types(${types}::text[]) as ok`)[0]!.ok;
    expect(await valid(['*'])).toBe(true);
    expect(await valid(EVENT_FAMILIES.map((f) => `${f}.*`))).toBe(true);
    expect(await valid([...EVENT_TYPES])).toBe(true);
    for (const bad of ['message.recieved', 'messages.*', 'message.status.*', 'message.', '**', 'alert']) {
      expect({ bad, ok: await valid(['message.received', bad]) }).toEqual({ bad, ok: false });
    }
  });

  it('gateway.create_webhook_endpoint and gateway.update_webhook_endpoint refuse a typo with invalid_argument', async () => {
    const owner = await createUser(db.sql);
    const create = (id: string, types: string[]) => db.sql`
      select id from gateway.create_webhook_endpoint(${owner}, ${id}, null, 'https://hooks.example.com/x', ${types}::text[], null, '\\x00'::bytea, 1)`;
    await expect(create(randomUUID(), ['message.recieved'])).rejects.toMatchObject({ code: 'WG005' });
    const id = randomUUID();
    await create(id, ['message.received']);
    await expect(db.sql`select gateway.update_webhook_endpoint(${owner}, ${id}, ${db.sql.json({ event_types: ['sesion.*'] })})`).rejects.toMatchObject({ code: 'WG005' });
    const [row] = await db.sql<{ event_types: string[] }[]>`select event_types from public.webhook_endpoints where id = ${id}`;
    expect(row!.event_types).toEqual(['message.received']);
  });
});

describe('audit actions', () => {
  it('private.audit_actions() lists exactly kernel/audit-actions.ts AUDIT_ACTIONS', async () => {
    const [row] = await db.sql<{ actions: string[] }[]>`select private.audit_actions() as actions`;
    expect(sorted(row!.actions)).toEqual(sorted(AUDIT_ACTIONS));
  });

  it('the CHECK on public.audit_log.actor_type lists exactly kernel/audit-actions.ts AUDIT_ACTOR_TYPES', async () => {
    const checks = await db.sql<{ def: string }[]>`
      select pg_get_constraintdef(c.oid) as def from pg_constraint c
      where c.conrelid = 'public.audit_log'::regclass and c.contype = 'c' and pg_get_constraintdef(c.oid) ~ '^CHECK \\(\\(actor_type '`;
    expect(checks).toHaveLength(1);
    expect(sorted([...checks[0]!.def.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]!))).toEqual(sorted(AUDIT_ACTOR_TYPES));
  });

  it('every ops.* function has an action and records it', async () => {
    const functions = await db.sql<{ name: string; body: string }[]>`
      select p.proname as name, p.prosrc as body from pg_proc p where p.pronamespace = 'ops'::regnamespace`;
    expect(functions.length).toBeGreaterThan(0);
    const missing = functions.filter((f) => !(AUDIT_ACTIONS as readonly string[]).includes(`ops.${f.name}`)).map((f) => f.name);
    expect(missing, 'add ops.<name> to kernel/audit-actions.ts and private.audit_actions()').toEqual([]);
    const silent = functions.filter((f) => !f.body.includes(`private.record_audit('ops.${f.name}'`)).map((f) => f.name);
    expect(silent, 'these ops functions leave no audit entry').toEqual([]);
  });

  it('every action but the operator functions is recorded by some SQL function', async () => {
    const [row] = await db.sql<{ bodies: string }[]>`
      select string_agg(p.prosrc, ' ') as bodies from pg_proc p
      where p.pronamespace in ('gateway'::regnamespace, 'private'::regnamespace) and p.oid <> 'private.audit_actions()'::regprocedure`;
    const commands = ['disconnect', 'logout', 'restart'].map((c) => `session.${c}_requested`);
    const unused = AUDIT_ACTIONS.filter((a) => !a.startsWith('ops.') && !commands.includes(a) && !row!.bodies.includes(`'${a}'`));
    expect(unused, 'nothing records these: remove them from kernel/audit-actions.ts').toEqual([]);
  });
});
