-- What a Supabase project provides and the migrations assume, for Postgres that is not Supabase
-- (local, CI, self-hosted). Never applied to a real Supabase project. Idempotent: safe to re-run.
-- Roles are cluster-wide; everything else is per database, so run this in every fresh database.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  -- Supabase's dashboard SQL editor and migrations run as `postgres`; supabase_admin owns extensions.
  if not exists (select 1 from pg_roles where rolname = 'supabase_admin') then
    create role supabase_admin nologin;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
-- The migrating role must be able to act as these roles (grants, `set local role` in tests).
grant anon, authenticated, service_role to current_user;

create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default extensions.gen_random_uuid(),
  email text unique,
  phone text,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table auth.users is 'Stub of Supabase Auth''s users table for plain Postgres.';

create or replace function auth.jwt() returns jsonb
language sql stable set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;

-- Supabase's default privileges on public: the Data API roles get table access and RLS is the
-- barrier, exactly as in production, so the RLS tests test the real thing.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

-- Supabase's advisors (splinter) find the exposed schemas through this setting.
do $$
begin
  execute format('alter database %I set pgrst.db_schemas = %L', current_database(), 'public, graphql_public');
end
$$;

-- Supabase Realtime's broadcast-from-database, as far as the migrations use it: the
-- `realtime.messages` table (its columns as on Supabase), `realtime.send(payload, event, topic,
-- private)` with Supabase's signature, and `realtime.topic()` for the RLS policies that authorise
-- private channels. Created only when there is no `realtime` schema: on Supabase, Realtime owns it.
-- Without a Realtime server nothing reads these rows, so `send` also deletes a few older than
-- 3 days (Supabase's Realtime drops them after about that long), keeping the table bounded.
do $bootstrap$
begin
  if exists (select 1 from pg_namespace where nspname = 'realtime') then
    return;
  end if;
  create schema realtime;
  grant usage on schema realtime to anon, authenticated, service_role;

  create table realtime.messages (
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    updated_at timestamp without time zone not null default now(),
    inserted_at timestamp without time zone not null default now(),
    id uuid not null default gen_random_uuid(),
    primary key (id, inserted_at)
  );
  create index messages_inserted_at_idx on realtime.messages (inserted_at);
  comment on table realtime.messages is 'Stand-in for Supabase Realtime''s broadcast messages on plain Postgres (same columns).';
  alter table realtime.messages enable row level security;
  grant select, insert on realtime.messages to anon, authenticated, service_role;

  create function realtime.topic() returns text
  language sql stable set search_path = ''
  as $fn$ select nullif(current_setting('realtime.topic', true), '')::text $fn$;
  comment on function realtime.topic() is 'The topic of the channel being authorised (Supabase Realtime sets it).';

  create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
  returns void
  language plpgsql
  set search_path = ''
  as $fn$
  begin
    begin
      perform set_config('realtime.topic', topic, true);
      insert into realtime.messages (payload, event, topic, private, extension)
      values (payload, event, topic, private, 'broadcast');
      delete from realtime.messages m
      where (m.id, m.inserted_at) in (
        select o.id, o.inserted_at from realtime.messages o
        where o.inserted_at < now() - interval '3 days'
        order by o.inserted_at limit 10
        for update skip locked);
    exception when others then
      -- As on Supabase: a broadcast that cannot be written never fails the caller's transaction.
      raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
    end;
  end;
  $fn$;
  comment on function realtime.send(jsonb, text, text, boolean) is 'Broadcast from the database (Supabase''s signature): a row in realtime.messages for Realtime to deliver to the topic.';
  grant execute on function realtime.topic(), realtime.send(jsonb, text, text, boolean) to anon, authenticated, service_role;
end
$bootstrap$;
