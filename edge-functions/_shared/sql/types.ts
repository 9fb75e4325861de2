/**
 * Row types of the data-access functions, derived from the generated supabase/types.gen.ts
 * (`npm run db:types`; a test keeps it equal to the migrations). Imported as types only: the
 * import is erased, so the deployed function never loads a file outside edge-functions/ and
 * kernel/ for it.
 *
 * The generated types describe PostgREST's JSON, not what postgres.js decodes, and lose the
 * nullability of RETURNS TABLE columns; the helpers below state those differences per column:
 *
 *   type Key = Dated<Nullable<FnRow<'list_api_keys'>, 'agent_id'>, 'created_at'>;
 */
import type { Sql as PostgresSql } from 'postgres';
import type { Database } from '../../../supabase/types.gen.ts';

export type Sql = PostgresSql;

type GatewayFunctions = Database['gateway']['Functions'];
type PublicTables = Database['public']['Tables'];

/** One row of a public table. */
export type TableRow<T extends keyof PublicTables> = PublicTables[T]['Row'];

/** One row of what a gateway function returns. */
export type FnRow<F extends keyof GatewayFunctions> = GatewayFunctions[F]['Returns'] extends ReadonlyArray<infer R> ? R : GatewayFunctions[F]['Returns'];

/** The arguments of a gateway function. */
export type FnArgs<F extends keyof GatewayFunctions> = GatewayFunctions[F]['Args'];

/** timestamptz columns: postgres.js gives a Date (null stays null). */
export type Dated<Row, K extends keyof Row> = { [P in keyof Row]: P extends K ? (null extends Row[P] ? Date | null : Date) : Row[P] };

/** Columns that can be null although the generated type says otherwise (RETURNS TABLE, outer joins). */
export type Nullable<Row, K extends keyof Row> = { [P in keyof Row]: P extends K ? Row[P] | null : Row[P] };

/** bigint columns: postgres.js gives a string (the value may exceed 2^53). */
export type Int8<Row, K extends keyof Row> = { [P in keyof Row]: P extends K ? string : Row[P] };

/** bytea columns: postgres.js gives bytes. */
export type Bytes<Row, K extends keyof Row> = { [P in keyof Row]: P extends K ? Uint8Array : Row[P] };

/** The token-bucket columns the rate-limited gateway functions return beside their row. */
export type RateColumns = Pick<FnRow<'api_request_link'>, 'rate_limit' | 'rate_remaining' | 'rate_reset_seconds'>;

/** A keyset-pagination position: the created_at text (microseconds, UTC) and id of the last row. */
export interface Cursor {
  createdAt: string;
  id: string;
}

