/**
 * Data subject requests: one contact's data across an owner's agents, exported or erased, each
 * request recorded (private.data_requests) with a hash of the contact.
 *
 *   const row = await exportDataSubject(sql, { owner, requestedBy, actor, contact, agent: null, limit });
 *   const erased = await eraseDataSubject(sql, { ... }, (keys) => mediaStore.delete(keys));
 */
import { type Actor, acting } from './audit-log.ts';
import type { FnRow, Sql } from './types.ts';

export interface DataRequestParams {
  owner: string;
  /** The member who asked. */
  requestedBy: string;
  /** Who asked, for the audit log (the request's entry is written by a trigger on the record). */
  actor: Actor;
  /** E.164 digits or `<id>@lid` (contracts/data-requests.ts normaliseContact). */
  contact: string;
  /** One agent (ownership checked: a foreign one is WG002) or null for all the owner's agents. */
  agent: string | null;
  limit: { capacity: number; windowSeconds: number };
}

export type DataExportRow = FnRow<'export_data_subject'>;
export type DataEraseRow = FnRow<'erase_data_subject'>;

export async function exportDataSubject(sql: Sql, p: DataRequestParams): Promise<DataExportRow> {
  const [row] = await sql<DataExportRow[]>`
    select * from gateway.export_data_subject(${acting(sql, p.actor, p.owner)}, ${p.requestedBy}, ${p.contact}, ${p.agent}, ${p.limit.capacity}, ${p.limit.windowSeconds})`;
  return row!;
}

/**
 * Erases in one transaction: the rows, then the media objects no other message needs, deleted
 * from the store by `deleteMedia` before the commit (their registry rows stay locked until then,
 * so an upload of the same bytes waits and stores them again). A store that fails rolls it all back.
 */
export async function eraseDataSubject(sql: Sql, p: DataRequestParams, deleteMedia: (keys: string[]) => Promise<void>): Promise<DataEraseRow> {
  return (await sql.begin(async (tx) => {
    const [row] = await tx<DataEraseRow[]>`
      select * from gateway.erase_data_subject(${acting(sql, p.actor, p.owner)}, ${p.requestedBy}, ${p.contact}, ${p.agent}, ${p.limit.capacity}, ${p.limit.windowSeconds})`;
    if (row!.media_keys.length > 0) await deleteMedia(row!.media_keys);
    return row!;
  })) as DataEraseRow;
}
