// Configuration of the message path and the webhook dispatcher, read from the environment with
// zod like connector/config.ts (a bad value names its variable). Kept apart from the session
// manager's config so the two can evolve separately; main.ts reads both from the same env.
import { z } from 'zod';
import { ConfigError } from '../../kernel/secret-box.ts';
import type { WebhookDispatcherConfig } from '../webhooks/dispatcher.ts';
import type { OutboundConfig } from './outbound-worker.ts';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

export const messagingEnvSchema = z.object({
  WA_SEND_TIMEOUT_MS: int(1_000, 30_000),
  MESSAGES_CLAIM_BATCH: int(1, 50),
  MESSAGES_CLAIM_MAX_BYTES: int(1, 1024 * 1024),
  MESSAGES_VISIBILITY_SECONDS: int(10, 120),
  MESSAGES_POLL_INTERVAL_MS: int(50, 1_000),
  MESSAGES_LANE_MAX: int(1, 20),
  MESSAGES_MIN_INTERVAL_MS: int(0, 1_000),
  MESSAGES_JITTER_MS: int(0, 1_000),
  MESSAGES_RECIPIENT_INTERVAL_MS: int(0, 3_000),
  MESSAGES_RESTRICTED_SLOWDOWN_FACTOR: int(1, 4),
  MESSAGES_RESTRICTED_SLOWDOWN_MS: int(0, 600_000),
  MESSAGES_RETRY_BASE_MS: int(100, 5_000),
  MESSAGES_RETRY_MAX_MS: int(100, 300_000),
  MESSAGES_NUMBER_CHECK_TTL_MS: int(0, 86_400_000),
  MESSAGES_SEND_READ_RECEIPTS: bool(false),
  MEDIA_MAX_BYTES: int(1, 16 * 1024 * 1024),
  MEDIA_FETCH_TIMEOUT_MS: int(100, 20_000),
  MEDIA_ALLOW_HTTP: bool(false),
  GATEWAY_ALLOW_HTTP_MEDIA: bool(false),
  MEDIA_RETENTION_INTERVAL_MS: int(1_000, 600_000),
  MEDIA_RETENTION_GRACE_SECONDS: int(0, 3_600),
  WEBHOOKS_ENABLED: bool(true),
  WEBHOOK_POLL_INTERVAL_MS: int(50, 1_000),
  WEBHOOK_CONCURRENCY: int(1, 16),
  WEBHOOK_PER_ENDPOINT_IN_FLIGHT: int(1, 8),
  WEBHOOK_TIMEOUT_MS: int(100, 10_000),
  WEBHOOK_VISIBILITY_SECONDS: int(5, 30),
  WEBHOOK_BACKOFF_BASE_MS: int(10, 10_000),
  WEBHOOK_BACKOFF_MAX_MS: int(10, 3_600_000),
  WEBHOOK_MAX_RETRY_AFTER_MS: int(0, 3_600_000),
  WEBHOOK_ALLOW_HTTP: bool(false),
  GATEWAY_ALLOW_HTTP_WEBHOOKS: bool(false),
});

export interface MessagingConfig {
  outbound: OutboundConfig;
  sendReadReceipts: boolean;
  media: { maxBytes: number; timeoutMs: number; allowHttp: boolean; retentionIntervalMs: number; retentionGraceSeconds: number };
  webhooks: WebhookDispatcherConfig & { enabled: boolean; allowHttp: boolean };
}

export function loadMessagingConfig(env: Record<string, string | undefined> = process.env): MessagingConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && v !== '' && k in messagingEnvSchema.shape));
  const parsed = messagingEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  if (e.WEBHOOK_TIMEOUT_MS >= e.WEBHOOK_VISIBILITY_SECONDS * 1000) {
    throw new ConfigError('WEBHOOK_VISIBILITY_SECONDS', 'must be longer than WEBHOOK_TIMEOUT_MS, or a slow receiver gets the event twice');
  }
  if (e.WA_SEND_TIMEOUT_MS + 5_000 >= e.MESSAGES_VISIBILITY_SECONDS * 1000) {
    throw new ConfigError('MESSAGES_VISIBILITY_SECONDS', 'must exceed WA_SEND_TIMEOUT_MS by more than 5 s');
  }
  return {
    outbound: {
      claimBatch: e.MESSAGES_CLAIM_BATCH,
      claimMaxBytes: e.MESSAGES_CLAIM_MAX_BYTES,
      visibilitySeconds: e.MESSAGES_VISIBILITY_SECONDS,
      pollIntervalMs: e.MESSAGES_POLL_INTERVAL_MS,
      sendTimeoutMs: e.WA_SEND_TIMEOUT_MS,
      laneMax: e.MESSAGES_LANE_MAX,
      pacing: {
        minIntervalMs: e.MESSAGES_MIN_INTERVAL_MS,
        jitterMs: e.MESSAGES_JITTER_MS,
        recipientIntervalMs: e.MESSAGES_RECIPIENT_INTERVAL_MS,
        slowdownFactor: e.MESSAGES_RESTRICTED_SLOWDOWN_FACTOR,
        slowdownMs: e.MESSAGES_RESTRICTED_SLOWDOWN_MS,
      },
      retryBaseMs: e.MESSAGES_RETRY_BASE_MS,
      retryMaxMs: e.MESSAGES_RETRY_MAX_MS,
      numberCheckTtlMs: e.MESSAGES_NUMBER_CHECK_TTL_MS,
    },
    sendReadReceipts: e.MESSAGES_SEND_READ_RECEIPTS,
    media: {
      maxBytes: e.MEDIA_MAX_BYTES,
      timeoutMs: e.MEDIA_FETCH_TIMEOUT_MS,
      // The API's name works here too, so one environment serves both.
      allowHttp: e.MEDIA_ALLOW_HTTP || e.GATEWAY_ALLOW_HTTP_MEDIA,
      retentionIntervalMs: e.MEDIA_RETENTION_INTERVAL_MS,
      retentionGraceSeconds: e.MEDIA_RETENTION_GRACE_SECONDS,
    },
    webhooks: {
      enabled: e.WEBHOOKS_ENABLED,
      allowHttp: e.WEBHOOK_ALLOW_HTTP || e.GATEWAY_ALLOW_HTTP_WEBHOOKS,
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      perEndpoint: e.WEBHOOK_PER_ENDPOINT_IN_FLIGHT,
      visibilitySeconds: e.WEBHOOK_VISIBILITY_SECONDS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      completeBatch: 50,
      flushIntervalMs: 100,
      baseMs: e.WEBHOOK_BACKOFF_BASE_MS,
      maxMs: e.WEBHOOK_BACKOFF_MAX_MS,
      maxRetryAfterMs: e.WEBHOOK_MAX_RETRY_AFTER_MS,
    },
  };
}
