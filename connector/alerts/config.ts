// Alerts by email (seed 000): the ALERT_* variables, part of the connector's one schema
// (connector/config.ts spreads alertEmailEnvShape into envSchema), and the settings built from
// them. Unset ALERT_SMTP_URL: no mail. Set: the other variables are checked and a bad one stops
// the process naming it. The SMTP URL holds the password: it is never logged and never part of an
// error message (a malformed one is reported by name only).
import { z } from 'zod';
import { bool, int } from '../../kernel/env-schema.ts';
import { EVENT_TYPES } from '../../kernel/event-types.ts';
import { ConfigError } from '../../kernel/secret-box.ts';

/** Seed 000's list: a 401 (logged out), several in 24 h, disconnected > 5 min, 440 conflict, heartbeat failing > 5 min. */
export const DEFAULT_ALERT_EMAIL_TYPES = ['alert.logged_out', 'alert.repeated_logouts', 'alert.disconnected_long', 'alert.conflict', 'alert.heartbeat_failing'] as const;

const ALERT_TYPES: readonly string[] = EVENT_TYPES.filter((t) => t.startsWith('alert.'));
const ADDRESS = /^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/;

function isSmtpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

export const alertEmailEnvShape = {
  ALERT_SMTP_URL: z
    .string()
    .refine(isSmtpUrl, 'must be an smtp:// or smtps:// URL, e.g. smtps://user:password@smtp.example.com:465 (value not shown: it holds a password)')
    .optional()
    .meta({ accepts: 'smtp:// or smtps:// URL', description: 'Mail alerts through this SMTP server (`smtps://` is TLS from the start, `smtp://` upgrades with STARTTLS when offered); credentials in the URL, percent-encoded. A secret: never logged. Unset: alerts go to webhooks only.' }),
  ALERT_EMAIL_FROM: z.string().regex(ADDRESS, 'must be one mail address').optional().meta({ accepts: 'mail address', description: 'Sender of alert mails. Required with `ALERT_SMTP_URL`.' }),
  ALERT_EMAIL_TO: z
    .string()
    .refine((v) => list(v).every((a) => ADDRESS.test(a)), 'must be mail addresses separated by commas')
    .optional()
    .meta({ accepts: 'addresses, comma-separated', description: 'Operators who get every mailed alert. With `ALERT_SMTP_URL`, this or `ALERT_EMAIL_OWNERS` is required.' }),
  ALERT_EMAIL_OWNERS: bool(false).describe('Also mail the owner of the alert\'s agent (their sign-in address).'),
  ALERT_EMAIL_TYPES: z
    .string()
    .refine((v) => list(v).length > 0 && list(v).every((t) => ALERT_TYPES.includes(t)), 'must be alert event types (alert.…) separated by commas')
    .default(DEFAULT_ALERT_EMAIL_TYPES.join(','))
    .describe('Alert types that are mailed (seed 000: logged out, repeated logouts, disconnected over 5 min, conflict, heartbeat failing over 5 min).'),
  ALERT_EMAIL_POLL_INTERVAL_MS: int(100, 5_000).describe('How often the alert-mail outbox is polled.'),
  ALERT_EMAIL_TIMEOUT_MS: int(100, 15_000).describe('Timeout of each SMTP step (connect, greeting, each command).'),
  ALERT_EMAIL_BACKOFF_BASE_MS: int(1, 30_000).describe('First retry delay of a mail the server refused or could not take; doubles with jitter.'),
  ALERT_EMAIL_BACKOFF_MAX_MS: int(1, 3_600_000).describe('Retry delay cap (a mail is given up after 12 attempts).'),
};

export interface AlertEmailConfig {
  /** Holds the SMTP password: never log it. */
  smtpUrl: string;
  from: string;
  to: string[];
  owners: boolean;
  types: string[];
  pollIntervalMs: number;
  timeoutMs: number;
  /** A claimed mail not completed within this comes back (three SMTP timeouts and some). */
  visibilitySeconds: number;
  baseMs: number;
  maxMs: number;
}

type AlertEnv = z.output<z.ZodObject<typeof alertEmailEnvShape>>;

/** undefined when ALERT_SMTP_URL is unset; throws ConfigError naming a missing companion. */
export function alertEmailConfig(e: AlertEnv): AlertEmailConfig | undefined {
  if (!e.ALERT_SMTP_URL) return undefined;
  if (!e.ALERT_EMAIL_FROM) throw new ConfigError('ALERT_EMAIL_FROM', 'is required when ALERT_SMTP_URL is set');
  const to = e.ALERT_EMAIL_TO ? list(e.ALERT_EMAIL_TO) : [];
  if (to.length === 0 && !e.ALERT_EMAIL_OWNERS) throw new ConfigError('ALERT_EMAIL_TO', 'is required when ALERT_SMTP_URL is set, unless ALERT_EMAIL_OWNERS=true');
  if (e.ALERT_EMAIL_BACKOFF_BASE_MS > e.ALERT_EMAIL_BACKOFF_MAX_MS) throw new ConfigError('ALERT_EMAIL_BACKOFF_MAX_MS', 'must be at least ALERT_EMAIL_BACKOFF_BASE_MS');
  return {
    smtpUrl: e.ALERT_SMTP_URL,
    from: e.ALERT_EMAIL_FROM,
    to: [...new Set(to)],
    owners: e.ALERT_EMAIL_OWNERS,
    types: [...new Set(list(e.ALERT_EMAIL_TYPES))],
    pollIntervalMs: e.ALERT_EMAIL_POLL_INTERVAL_MS,
    timeoutMs: e.ALERT_EMAIL_TIMEOUT_MS,
    visibilitySeconds: Math.ceil((3 * e.ALERT_EMAIL_TIMEOUT_MS) / 1000) + 10,
    baseMs: e.ALERT_EMAIL_BACKOFF_BASE_MS,
    maxMs: e.ALERT_EMAIL_BACKOFF_MAX_MS,
  };
}
