-- Reads write nothing. gateway.api_call counts every call in the agent's daily_stats row, an
-- upsert on one (agent, day) row: with reads counted too, every GET of a busy agent queued on
-- that one hot row lock and wrote a row version. The statistic now counts API requests that
-- change something (sends, link requests, session commands, number checks: the functions that
-- already write), and reads use api_read, the same ownership check without the count.

create function gateway.api_read(p_owner uuid, p_agent uuid)
returns public.agents
language plpgsql
stable
set search_path = ''
as $$
begin
  return gateway.owned_agent(p_owner, p_agent);
end;
$$;
comment on function gateway.api_read(uuid, uuid) is 'Control plane, reads: ownership check of an agent (unknown_agent / not_owner), counting nothing and writing nothing.';
revoke all on function gateway.api_read(uuid, uuid) from public, anon, authenticated;

comment on column public.daily_stats.api_calls is 'API requests that changed something for this agent that day (sends, link requests, session commands, number checks); reads are not counted.';
