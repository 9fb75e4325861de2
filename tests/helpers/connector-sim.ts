// Linking sessions through a running connector and the simulator: the QR the connector publishes
// on the session row is what the "phone" scans, exactly as the web app would show it.
import type postgres from 'postgres';
import type { Simulator } from '../../simulator/server.ts';
import { sessionRow, waitFor } from '../../scripts/harness/connector.ts';

export async function scanPublishedQr(sql: postgres.Sql, sim: Pick<Simulator, 'scan'>, agentId: string, phone: string): Promise<void> {
  const qr = await waitFor(async () => {
    const row = await sessionRow(sql, agentId);
    return row.status === 'qr' && row.qr_code ? (row.qr_code as string) : undefined;
  }, 30_000, `QR for ${agentId}`);
  await sim.scan(qr, { phone });
}

export async function waitForStatus(sql: postgres.Sql, agentId: string, status: string, timeoutMs = 30_000) {
  return waitFor(async () => {
    const row = await sessionRow(sql, agentId);
    return row.status === status ? row : undefined;
  }, timeoutMs, `status ${status} of ${agentId}`);
}
