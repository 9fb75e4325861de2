-- owner_id names an organisation (organisations.sql): every foreign key of an owner_id column moves
-- from auth.users to public.organisations, still cascading. Each existing owner_id is the id of
-- the personal organisation made for that user, so no value changes. The keys are added NOT VALID
-- (a short lock, no scan: new rows are checked at once) and validated by the next migration,
-- which scans without blocking writes.
do $$
declare
  r record;
begin
  for r in
    select c.conrelid::regclass as tbl, c.conname
    from pg_catalog.pg_constraint c
    join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'auth.users'::regclass and a.attname = 'owner_id' and cardinality(c.conkey) = 1
  loop
    execute format('alter table %s drop constraint %I', r.tbl, r.conname);
    execute format('alter table %s add constraint %I foreign key (owner_id) references public.organisations (id) on delete cascade not valid', r.tbl, r.conname);
  end loop;
end;
$$;

comment on column public.agents.owner_id is 'The organisation the agent belongs to (for a personal organisation, also its user''s id).';
comment on column public.whatsapp_sessions.owner_id is 'The organisation of the session''s agent.';
comment on column public.events.owner_id is 'The organisation of the event''s agent.';
comment on column public.webhook_endpoints.owner_id is 'The organisation the endpoint belongs to.';
comment on column public.webhook_deliveries.owner_id is 'The organisation of the delivery''s endpoint.';
comment on column public.messages.owner_id is 'The organisation of the sending agent.';
comment on column public.inbound_messages.owner_id is 'The organisation of the receiving agent.';
comment on column public.daily_stats.owner_id is 'The organisation of the agent.';
comment on column public.number_checks.owner_id is 'The organisation of the checking agent.';
comment on column private.api_keys.owner_id is 'The organisation the key belongs to and acts for.';
comment on column private.media_objects.owner_id is 'The organisation whose upload this is.';
