-- The operator's view of alert mails (README "Alerts by email"): what was mailed to whom, what is
-- being retried and why, and what was given up — next to ops.webhook_failures.

create view ops.alert_emails with (security_invoker = true) as
select m.created_at, e.type as event_type, e.severity, e.agent_id, a.name as agent_name, m.recipient, m.status,
       m.attempts, m.max_attempts, m.next_attempt_at, m.sent_at, m.last_error, m.event_id
from private.alert_emails m
join public.events e on e.id = m.event_id
left join public.agents a on a.id = e.agent_id
order by m.created_at desc;
comment on view ops.alert_emails is 'Alert mails, newest first: recipient, status (pending, sending, sent, dead), attempts and last SMTP error.';

revoke all on ops.alert_emails from public, anon, authenticated;
grant select on ops.alert_emails to service_role;
