-- Default privileges that actually hold (review finding 13).
--
-- PostgreSQL grants EXECUTE on every new function to PUBLIC through a global default privilege.
-- A per-schema `alter default privileges in schema gateway revoke execute ... from public`
-- (schemas_and_errors.sql) cannot take away a global default, so it did nothing: a function
-- created later in gateway was executable by PUBLIC, held back only by the schema's USAGE.
-- Revoking the global default (for the role that runs migrations) makes new functions in every
-- schema private until granted; the per-schema defaults still grant gateway and private functions
-- to service_role.
alter default privileges revoke execute on functions from public;

-- Supabase's defaults on public give anon and authenticated ALL on future tables, functions and
-- sequences; the grants migration took that back for the tables that existed then. Future ones
-- get the same shape: authenticated may read (RLS decides what), nothing else from the Data API.
alter default privileges in schema public revoke all on tables from anon;
alter default privileges in schema public revoke insert, update, delete, truncate, references, trigger on tables from authenticated;
alter default privileges in schema public revoke all on functions from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
