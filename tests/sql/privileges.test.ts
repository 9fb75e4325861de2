// Privileges that later migrations inherit: a function or table created after today's migrations
// must not be reachable by PUBLIC or the Data API roles until a migration grants it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

/** Runs `fn` in a transaction that is always rolled back (probe objects never stay). */
async function rolledBack<T>(fn: (tx: TestDatabase['sql']) => Promise<T>): Promise<T> {
  let out: T | undefined;
  const rollback = new Error('rollback');
  await db.sql
    .begin(async (tx) => {
      out = await fn(tx as unknown as TestDatabase['sql']);
      throw rollback;
    })
    .catch((error) => {
      if (error !== rollback) throw error;
    });
  return out as T;
}

describe('default privileges', () => {
  it('a function created later in gateway is not executable by PUBLIC, anon or authenticated; service_role may', async () => {
    const acl = await rolledBack(async (tx) => {
      await tx.unsafe('create function gateway.probe_later() returns int language sql set search_path = \'\' as $$ select 1 $$');
      const [row] = await tx`select proacl::text[] as acl,
          has_function_privilege('anon', 'gateway.probe_later()', 'execute') as anon,
          has_function_privilege('authenticated', 'gateway.probe_later()', 'execute') as authenticated,
          has_function_privilege('service_role', 'gateway.probe_later()', 'execute') as service_role
        from pg_proc where proname = 'probe_later'`;
      return row!;
    });
    // PUBLIC appears in an ACL as an entry with an empty grantee: "=X/owner".
    expect((acl.acl as string[]).filter((entry) => entry.startsWith('='))).toEqual([]);
    expect(acl).toMatchObject({ anon: false, authenticated: false, service_role: true });
  });

  it('a function created later in public is not executable by PUBLIC, anon or authenticated', async () => {
    const row = await rolledBack(async (tx) => {
      await tx.unsafe('create function public.probe_later() returns int language sql set search_path = \'\' as $$ select 1 $$');
      const [r] = await tx`select proacl::text[] as acl,
          has_function_privilege('anon', 'public.probe_later()', 'execute') as anon,
          has_function_privilege('authenticated', 'public.probe_later()', 'execute') as authenticated
        from pg_proc where proname = 'probe_later'`;
      return r!;
    });
    expect(((row.acl as string[] | null) ?? []).filter((entry) => entry.startsWith('='))).toEqual([]);
    expect(row).toMatchObject({ anon: false, authenticated: false });
  });

  it('a table created later in public gives anon nothing and authenticated only SELECT (RLS decides which rows)', async () => {
    const row = await rolledBack(async (tx) => {
      await tx.unsafe('create table public.probe_later (id int)');
      const [r] = await tx`select
          has_table_privilege('anon', 'public.probe_later', 'select') as anon_select,
          has_table_privilege('anon', 'public.probe_later', 'insert') as anon_insert,
          has_table_privilege('authenticated', 'public.probe_later', 'select') as auth_select,
          has_table_privilege('authenticated', 'public.probe_later', 'insert, update, delete, truncate') as auth_write,
          has_table_privilege('service_role', 'public.probe_later', 'insert') as service_insert`;
      return r!;
    });
    expect(row).toEqual({ anon_select: false, anon_insert: false, auth_select: true, auth_write: false, service_insert: true });
  });
});

describe('the edge function\'s role gateway_api', () => {
  const asApi = () => db.connect({ max: 1, username: 'gateway_api' });
  const state = async (promise: Promise<unknown>) => promise.then(() => undefined, (error: { code?: string }) => error.code);

  it('cannot read private tables', async () => {
    const api = asApi();
    for (const table of ['session_credentials', 'signal_keys', 'webhook_secrets', 'api_keys', 'connectors', 'rate_limit_buckets', 'alert_emails', 'alert_email_settings']) {
      expect({ table, state: await state(api`select 1 from ${api('private')}.${api(table)} limit 1`) }).toEqual({ table, state: '42501' });
    }
  });

  it('cannot call connector or operator functions', async () => {
    const api = asApi();
    const id = '00000000-0000-0000-0000-000000000001';
    const calls = [
      api`select * from gateway.claim_sessions(${id}, 1, 30)`,
      api`select gateway.assert_lease(${id}, ${id}, 1)`,
      api`select gateway.save_creds(${id}, ${id}, 1, ${Buffer.alloc(40)}, 1)`,
      api`select * from gateway.load_creds(${id}, ${id}, 1)`,
      api`select gateway.register_connector(${id}, 'h', 1, 'v', 1)`,
      api`select gateway.release_sessions(${id})`,
      api`select * from ops.sessions`,
      api`select ops.emergency_key_cleanup(${id}, false)`,
      api`select * from ops.prune_signal_keys(${id}, true)`,
      api`select gateway.record_signal_warnings('[]'::jsonb, 1, 1)`,
      api`select gateway.configure_alert_emails(${id}, '{alert.conflict}', '{ops@example.test}', false)`,
      api`select * from gateway.claim_alert_emails(${id}, 1, 30)`,
      api`select gateway.complete_alert_emails(${id}, '[]'::jsonb)`,
    ];
    for (const [i, call] of calls.entries()) expect({ i, state: await state(call) }).toEqual({ i, state: '42501' });
  });

  it('writes no table directly', async () => {
    const api = asApi();
    expect(await state(api`update public.agents set name = 'x'`)).toBe('42501');
    expect(await state(api`delete from public.whatsapp_sessions`)).toBe('42501');
    expect(await state(api`insert into public.events (owner_id, type) values (${'00000000-0000-0000-0000-000000000001'}, 'x')`)).toBe('42501');
  });

  it('executes exactly the control-plane functions the API calls', async () => {
    const rows = await db.sql`select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('gateway', 'private', 'ops', 'public') and has_function_privilege('gateway_api', p.oid, 'execute') order by 1`;
    expect(rows.map((r) => r.fn)).toEqual([
      'gateway.accept_invitation(uuid,text,bytea)',
      'gateway.api_content_policy(uuid)',
      'gateway.api_key_for_prefix(text,bytea)',
      'gateway.api_read(uuid,uuid)',
      'gateway.api_redeliver(uuid,uuid,uuid,integer,integer)',
      'gateway.api_rename_agent(uuid,uuid,text,integer,integer)',
      'gateway.api_request_link(uuid,uuid,text,text,integer,integer)',
      'gateway.api_rotate_webhook_secret(uuid,uuid,bytea,integer,integer,integer,integer)',
      'gateway.api_send(uuid,uuid,text,text,jsonb,text,text,uuid)',
      'gateway.api_send_as_member(uuid,uuid,uuid,text,text,jsonb,text,text)',
      'gateway.api_send_with_key(text,bytea,uuid,uuid,text,text,jsonb,text,text)',
      'gateway.api_session_command(uuid,uuid,text,boolean,integer,integer)',
      'gateway.api_set_content_policy(uuid,text)',
      'gateway.api_test_webhook(uuid,uuid,integer,integer)',
      'gateway.as_actor(jsonb,uuid)',
      'gateway.change_member_role(uuid,text,uuid,text)',
      'gateway.create_agent(uuid,text)',
      'gateway.create_api_key(uuid,uuid,text,text,bytea,text[],timestamp with time zone,integer,integer,integer)',
      'gateway.create_invitation(uuid,uuid,text,text,text,bytea,integer,integer)',
      'gateway.create_number_check(uuid,uuid,text[],integer,integer)',
      'gateway.create_organisation(uuid,text,integer)',
      'gateway.create_webhook_endpoint(uuid,uuid,uuid,text,text[],text,bytea,integer,integer)',
      'gateway.delete_agent(uuid,uuid)',
      'gateway.delete_organisation(uuid)',
      'gateway.delete_webhook_endpoint(uuid,uuid)',
      'gateway.erase_data_subject(uuid,uuid,text,uuid,integer,integer)',
      'gateway.export_data_subject(uuid,uuid,text,uuid,integer,integer)',
      'gateway.list_api_keys(uuid)',
      'gateway.list_audit_log(uuid,integer,timestamp with time zone,uuid,text[],uuid,text,timestamp with time zone,timestamp with time zone)',
      'gateway.list_invitations(uuid)',
      'gateway.list_members(uuid)',
      'gateway.list_my_organisations(uuid)',
      'gateway.list_webhook_deliveries(uuid,uuid,integer,timestamp with time zone,uuid)',
      'gateway.member_role(uuid,uuid)',
      'gateway.register_media(uuid,text,text,bigint)',
      'gateway.remove_member(uuid,text,uuid)',
      'gateway.rename_organisation(uuid,text)',
      'gateway.revoke_api_key(uuid,uuid)',
      'gateway.revoke_invitation(uuid,uuid)',
      'gateway.session_sending_status(uuid,uuid)',
      'gateway.take_token(text,integer,double precision,integer)',
      'gateway.update_webhook_endpoint(uuid,uuid,jsonb)',
    ]);
  });
});
