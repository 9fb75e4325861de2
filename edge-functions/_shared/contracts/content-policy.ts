/** Contract of the account's content policy (README "Message content at rest"). */
import { z } from '@hono/zod-openapi';
import { CONTENT_POLICIES } from '../../../kernel/content-box.ts';

const Policy = z.enum(CONTENT_POLICIES).openapi({
  description: '`plain`: content stored as sent and received (default). `encrypted`: sealed at rest with the gateway\'s content key; the API still returns plaintext to the owner. `discard_after_delivery`: a send keeps no content once sent or failed, an inbound message none once its webhooks are delivered (at once without webhooks).',
});

export const ContentPolicyView = z
  .object({
    policy: Policy,
    updatedAt: z.string().nullable().openapi({ description: 'When it was last changed; null if never set' }),
  })
  .openapi('ContentPolicy');

export const SetContentPolicy = z.strictObject({ policy: Policy }).openapi('SetContentPolicy');
