-- The webhook secret rotation (20261202100800) emits webhook.secret_rotated: it joins the exact
-- list of event types webhook subscriptions are checked against (kernel/event-types.ts; a test
-- keeps the two equal).
create or replace function private.event_types()
returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$
  select array[
    'session.status', 'session.lease_takeover', 'session.restricted',
    'message.received', 'message.sent_from_phone', 'message.status',
    'webhook.test', 'webhook.secret_rotated',
    'alert.agent_disabled', 'alert.auth_state_corrupt', 'alert.auth_state_unreadable', 'alert.conflict',
    'alert.disconnected_long', 'alert.heartbeat_failing', 'alert.inbound_unstorable',
    'alert.lease_force_released', 'alert.logged_out', 'alert.repeated_logouts', 'alert.session_inactive',
    'alert.session_stopped', 'alert.signal_keys_critical', 'alert.signal_keys_high'
  ]::text[]
$$;
comment on function private.event_types() is 'Every event type the gateway emits (kernel/event-types.ts EVENT_TYPES; a test keeps them equal).';
revoke all on function private.event_types() from public, anon, authenticated;
