-- Webhook subscriptions name what the gateway emits, not anything shaped like an event type: a
-- typo ('message.recieved') used to be stored and then match no event, silently. The list is
-- kernel/event-types.ts EVENT_TYPES; tests/integration/vocabularies.test.ts fails when the two
-- differ, so a new event type is added here and there in the same change.

create function private.event_types()
returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$
  select array[
    'session.status', 'session.lease_takeover', 'session.restricted',
    'message.received', 'message.sent_from_phone', 'message.status',
    'webhook.test',
    'alert.agent_disabled', 'alert.auth_state_corrupt', 'alert.auth_state_unreadable', 'alert.conflict',
    'alert.disconnected_long', 'alert.heartbeat_failing', 'alert.inbound_unstorable',
    'alert.lease_force_released', 'alert.logged_out', 'alert.repeated_logouts', 'alert.session_inactive',
    'alert.session_stopped', 'alert.signal_keys_critical', 'alert.signal_keys_high'
  ]::text[]
$$;
comment on function private.event_types() is 'Every event type the gateway emits (kernel/event-types.ts EVENT_TYPES; a test keeps them equal).';
revoke all on function private.event_types() from public, anon, authenticated;

-- The three forms gateway.emit_event matches: '*', '<family>.*' for a family that exists, or one
-- known type.
create or replace function private.valid_event_types(p_types text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_types is not null and cardinality(p_types) between 1 and 50
     and not exists (
       select 1 from unnest(p_types) t
       where t is null
          or not (t = '*'
                  or t = any (private.event_types())
                  or (t like '%.*' and left(t, -2) in (select split_part(e, '.', 1) from unnest(private.event_types()) e)))
     )
$$;
comment on function private.valid_event_types(text[]) is 'Event type filters of a webhook endpoint: ''*'', ''<family>.*'' of a known family or a known type (private.event_types()).';
