-- Token buckets in Postgres: one atomic statement takes tokens and reports the outcome, so every
-- edge-function instance shares the same limits without a coordinator.

create table private.rate_limit_buckets (
  key text primary key check (char_length(key) between 1 and 200),
  tokens double precision not null,
  capacity integer not null,
  refill_per_second double precision not null,
  last_allowed boolean not null default true,
  updated_at timestamptz not null default clock_timestamp()
);
comment on table private.rate_limit_buckets is 'Token buckets for rate limits (link attempts, sends, number checks, key creation, failed authentications).';
create index rate_limit_buckets_updated_idx on private.rate_limit_buckets (updated_at);

create function gateway.take_token(p_key text, p_capacity integer, p_refill_per_second double precision, p_cost integer default 1)
returns table (allowed boolean, remaining integer, reset_seconds integer, retry_after_seconds integer)
language plpgsql
set search_path = ''
as $$
begin
  if p_key is null or p_capacity is null or p_capacity < 1 or p_refill_per_second is null
     or p_refill_per_second <= 0 or p_cost is null or p_cost < 0 then
    perform gateway.fail('invalid_argument', 'bucket key, positive capacity and refill, non-negative cost are required');
  end if;
  return query
  with now_ as (select clock_timestamp() as t)
  insert into private.rate_limit_buckets as b (key, tokens, capacity, refill_per_second, last_allowed, updated_at)
  select p_key, case when p_cost <= p_capacity then p_capacity - p_cost else p_capacity end, p_capacity, p_refill_per_second, p_cost <= p_capacity, now_.t from now_
  on conflict (key) do update set
    tokens = least(excluded.capacity::double precision,
                   b.tokens + extract(epoch from excluded.updated_at - b.updated_at) * excluded.refill_per_second)
             - case when least(excluded.capacity::double precision,
                   b.tokens + extract(epoch from excluded.updated_at - b.updated_at) * excluded.refill_per_second) >= p_cost
                    then p_cost else 0 end,
    last_allowed = least(excluded.capacity::double precision,
                   b.tokens + extract(epoch from excluded.updated_at - b.updated_at) * excluded.refill_per_second) >= p_cost,
    capacity = excluded.capacity,
    refill_per_second = excluded.refill_per_second,
    updated_at = excluded.updated_at
  returning b.last_allowed,
    floor(b.tokens)::integer,
    ceil((b.capacity - b.tokens) / b.refill_per_second)::integer,
    case when b.last_allowed then 0 else greatest(1, ceil((p_cost - b.tokens) / b.refill_per_second))::integer end;
end;
$$;
comment on function gateway.take_token(text, integer, double precision, integer) is 'Atomically takes p_cost tokens from a bucket (created full): allowed, tokens remaining, seconds until full, seconds until p_cost is available.';

create function gateway.prune_rate_limit_buckets(p_older_than interval default interval '1 day')
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  delete from private.rate_limit_buckets where updated_at < now() - p_older_than;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.prune_rate_limit_buckets(interval) is 'Retention: drops buckets untouched for a while (they are full again by then anyway).';
