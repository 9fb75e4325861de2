-- PATCH /v1/agents/{id}: a user renames their agent. Same name rules as gateway.create_agent;
-- ownership as every control-plane call (a foreign or unknown id is a 404); counted as an API
-- call and limited per agent like the other writes that are not sends.

create function gateway.api_rename_agent(
  p_owner uuid, p_agent uuid, p_name text, p_capacity integer default 30, p_window_seconds integer default 3600
)
returns table(agent public.agents, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_agent public.agents;
  v_rate record;
begin
  perform gateway.api_call(p_owner, p_agent);
  if p_name is null or char_length(trim(p_name)) not between 1 and 100 then
    perform gateway.fail('invalid_argument', 'name must be 1 to 100 characters');
  end if;
  select * into v_rate from private.take_or_fail('rename:' || p_agent::text, p_capacity, p_window_seconds, 1, 'rename');
  update public.agents a set name = trim(p_name) where a.id = p_agent returning a.* into v_agent;
  return query select v_agent, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.api_rename_agent(uuid, uuid, text, integer, integer) is 'Control plane: renames an agent of the owner (1 to 100 characters, trimmed), limited per agent (default 30 per hour), with the API call counted.';

select private.expose_to_api('gateway.api_rename_agent(uuid, uuid, text, integer, integer)'::regprocedure);
