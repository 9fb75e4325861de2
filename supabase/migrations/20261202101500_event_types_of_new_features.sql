-- New event types join the exact list webhook subscriptions are checked against
-- (kernel/event-types.ts; a test keeps the two equal): webhook.secret_rotated (the secret rotation,
-- 20261202100800), alert.key_cleanup_failed (the emergency key cleanup) and
-- alert.signal_warnings_high / _critical (the signal-warning monitor, 20261202101100..101120).
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
    'alert.disconnected_long', 'alert.heartbeat_failing', 'alert.inbound_unstorable', 'alert.key_cleanup_failed',
    'alert.lease_force_released', 'alert.logged_out', 'alert.repeated_logouts', 'alert.session_inactive',
    'alert.session_stopped', 'alert.signal_keys_critical', 'alert.signal_keys_high',
    'alert.signal_warnings_critical', 'alert.signal_warnings_high'
  ]::text[]
$$;
comment on function private.event_types() is 'Every event type the gateway emits (kernel/event-types.ts EVENT_TYPES; a test keeps them equal).';
revoke all on function private.event_types() from public, anon, authenticated;
