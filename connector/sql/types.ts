// The connector's data access (connector/sql/): one exported function per SQL statement, so the
// rest of the connector reads without SQL in it. Arguments and rows are typed from the generated
// supabase/types.gen.ts (`npm run db:types`): a changed gateway function signature fails the
// typecheck here instead of at run time.
//
// The generated types describe PostgREST's JSON; postgres.js decodes some types differently, and
// each statement says so with `Pg<…>` where it meets one:
//   bigint (int8)  postgres.js gives a string (no precision lost); a lease epoch is handed out and
//                  taken as a bigint, the type the connector keeps it in
//   bytea          a Buffer (PostgREST: a "\x…" hex string)
//   timestamptz    a Date (PostgREST: an ISO string)
// The private schema (creds, keys, secrets) is not exposed and so not generated; its rows are
// typed by hand in rotation.ts, the one file that reads its tables directly.
import type { ISql } from 'postgres';
import type { Database } from '../../supabase/types.gen.ts';

/** The pool or a transaction: every statement runs on either. */
export type Db = ISql;

type Functions = Database['gateway']['Functions'];
type FunctionName = keyof Functions;

type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/** The arguments of gateway.<F>, camelCased without the `p_` prefix; the statements pass every one. */
export type Params<F extends FunctionName> = {
  [K in keyof Functions[F]['Args'] as K extends `p_${infer Name}` ? Camel<Name> : never]-?: Functions[F]['Args'][K];
};

/** One row of what gateway.<F> returns (the element type of a set-returning function). */
export type Row<F extends FunctionName> = Functions[F]['Returns'] extends ReadonlyArray<infer R> ? R : Functions[F]['Returns'];

/** A row of a table in the public schema. */
export type TableRow<T extends keyof Database['public']['Tables']> = Database['public']['Tables'][T]['Row'];

/** `T` with the fields of `Over` replaced: what postgres.js really takes or returns for them. */
export type Pg<T, Over> = Omit<T, keyof Over> & Over;

/** The fence of a session write: the session, this connector, and the lease epoch it holds. */
export interface Fence {
  agent: string;
  connector: string;
  epoch: bigint;
}

/** The arguments of a fenced gateway.<F>, the epoch as a bigint. */
export type Fenced<F extends FunctionName, Over = object> = Pg<Params<F>, Fence & Over>;
