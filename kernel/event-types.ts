// Every event type the gateway emits (public.events.type, the `type` of a webhook payload). The
// SQL functions and the connector emit them as string literals; tests/sql/
// vocabularies.test.ts reads those literals (function bodies in the migrated database, the
// connector's and edge functions' source) and fails when one is missing here or one here is
// emitted nowhere. A new event type is added here, in the same change that emits it.
export const EVENT_TYPES = [
  // Sessions
  'session.status',
  'session.lease_takeover',
  'session.restricted',
  // Messages
  'message.received',
  'message.sent_from_phone',
  'message.status',
  // Webhooks
  'webhook.test',
  'webhook.secret_rotated',
  // Alerts: something an operator should look at
  'alert.agent_disabled',
  'alert.auth_state_corrupt',
  'alert.auth_state_unreadable',
  'alert.conflict',
  'alert.disconnected_long',
  'alert.heartbeat_failing',
  'alert.inbound_unstorable',
  'alert.key_cleanup_failed',
  'alert.lease_force_released',
  'alert.logged_out',
  'alert.repeated_logouts',
  'alert.session_inactive',
  'alert.session_stopped',
  'alert.signal_keys_critical',
  'alert.signal_keys_high',
  'alert.signal_warnings_critical',
  'alert.signal_warnings_high',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The part before the dot: what `<family>.*` subscribes to. */
export type EventFamily = EventType extends `${infer F}.${string}` ? F : never;

export const EVENT_FAMILIES: readonly EventFamily[] = [...new Set(EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.')) as EventFamily))];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * What a webhook endpoint may subscribe to: `*` (everything), `<family>.*` for a known family
 * (also the types added to it later), or one known type. gateway.emit_event matches exactly
 * these three forms, so anything else would silently receive nothing.
 */
export function isEventSubscription(value: string): boolean {
  if (value === '*') return true;
  if (value.endsWith('.*')) return (EVENT_FAMILIES as readonly string[]).includes(value.slice(0, -2));
  return isEventType(value);
}
