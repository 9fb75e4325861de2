// Media retention: objects in the media store that no queued or sending message needs (sent,
// failed, deleted with their agent, or orphaned by an upload whose enqueue was refused) are deleted
// once their last registration is older than the grace period. One connector at a time (the jobs'
// advisory lock); the registry rows stay locked while the objects are deleted, so an upload of the
// same bytes waits and stores them again (see gateway.claim_unused_media).
import type { Sql } from 'postgres';
import type { MediaStore } from '../../kernel/media/store.ts';
import { runExclusive } from '../jobs/jobs.ts';
import { claimUnusedMedia, forgetMedia } from '../sql/media.ts';

export interface MediaRetentionOptions {
  graceSeconds: number;
  /** Objects deleted per run at most. */
  limit: number;
}

export async function deleteUnusedMedia(sql: Sql, store: MediaStore, opts: MediaRetentionOptions): Promise<{ ran: boolean; deleted: number }> {
  const outcome = await runExclusive(sql, 'media-retention', async (tx) => {
    const keys = await claimUnusedMedia(tx, { graceSeconds: opts.graceSeconds, limit: opts.limit });
    if (keys.length === 0) return 0;
    await store.delete(keys);
    return forgetMedia(tx, keys);
  });
  return { ran: outcome.ran, deleted: outcome.result ?? 0 };
}
