-- Validates the owner_id foreign keys added NOT VALID by owner_is_organisation.sql. In a migration
-- of its own: validation scans the tables under a SHARE UPDATE EXCLUSIVE lock, which lets reads and
-- writes go on, while the previous migration's short lock is already released.
do $$
declare
  r record;
begin
  for r in
    select c.conrelid::regclass as tbl, c.conname from pg_catalog.pg_constraint c
    where c.contype = 'f' and c.confrelid = 'public.organisations'::regclass and not c.convalidated
  loop
    execute format('alter table %s validate constraint %I', r.tbl, r.conname);
  end loop;
end;
$$;
