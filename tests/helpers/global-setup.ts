/**
 * Once per vitest run: find a PostgreSQL server (TEST_DATABASE_URL, else the local one on
 * 127.0.0.1:5432, else a throwaway cluster), and build a migrated template database named after
 * a hash of the bootstrap and migrations (scripts/db/template.ts). Test files clone it
 * (tests/helpers/db.ts), so each file gets a fresh database in a few tens of milliseconds and
 * files never share state.
 */
import type { TestProject } from 'vitest/node';
import { ensureTemplate } from '../../scripts/db/template.ts';
import { resolveTestServer } from '../../scripts/db/server.ts';
import type { Cluster } from '../../scripts/db/throwaway-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDatabase: string;
  }
}

let cluster: Cluster | undefined;

export default async function setup(project: TestProject): Promise<() => void> {
  const server = await resolveTestServer();
  cluster = server.cluster;
  const adminUrl = server.adminUrl;
  const template = await ensureTemplate(adminUrl);
  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDatabase', template);
  process.env.TEST_DATABASE_URL = adminUrl;
  return () => cluster?.stop();
}
