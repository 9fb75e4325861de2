/**
 * Which PostgreSQL server the tests and benchmarks use: TEST_DATABASE_URL if set, else the local
 * server on 127.0.0.1:5432, else a throwaway cluster started on the spot.
 */
import postgres from 'postgres';
import { type Cluster, startThrowawayCluster } from './throwaway-cluster.ts';

export const LOCAL_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The URL of a database named `database` on the same server as `url`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function resolveTestServer(): Promise<{ adminUrl: string; cluster?: Cluster }> {
  if (process.env.TEST_DATABASE_URL) return { adminUrl: process.env.TEST_DATABASE_URL };
  if (await reachable(LOCAL_SERVER_URL)) return { adminUrl: LOCAL_SERVER_URL };
  const cluster = await startThrowawayCluster();
  return { adminUrl: cluster.url, cluster };
}
