// Every action the audit log records (public.audit_log.action). SQL holds the same list in
// private.audit_actions() (the table's CHECK) and the API offers it as the `action` filter's enum;
// tests/sql/vocabularies.test.ts fails when the two lists differ, when an ops.* function has no
// action here or does not record itself. A new audited action is added here and in SQL together.
export const AUDIT_ACTIONS = [
  // Agents
  'agent.created',
  'agent.renamed',
  'agent.deleted',
  // Session commands
  'session.link_requested',
  'session.disconnect_requested',
  'session.logout_requested',
  'session.restart_requested',
  // API keys
  'api_key.created',
  'api_key.revoked',
  // Webhooks
  'webhook.created',
  'webhook.updated',
  'webhook.secret_rotated',
  'webhook.deleted',
  // Organisations: plan, the organisation itself, members, invitations
  'plan.changed',
  'organisation.created',
  'organisation.renamed',
  'organisation.deleted',
  'member.added',
  'member.role_changed',
  'member.removed',
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  // Data subject requests
  'data_subject.exported',
  'data_subject.erased',
  // Message content at rest
  'content_policy.changed',
  // The log's own retention (a fleet-level entry, not shown to tenants)
  'audit_log.pruned',
  // Operator functions run from the SQL editor
  'ops.cancel_emergency_key_cleanup',
  'ops.disable_agent',
  'ops.emergency_key_cleanup',
  'ops.enable_agent',
  'ops.force_release_session',
  'ops.prune_signal_keys',
  'ops.requeue_failed_messages',
  'ops.restore_signal_keys',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted: a signed-in user, an API key (by prefix) or an operator (the database role). */
export const AUDIT_ACTOR_TYPES = ['user', 'api_key', 'operator'] as const;

export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];
