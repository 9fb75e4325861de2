// Label values of the connector's metrics stay in small closed sets (docs/monitoring.md,
// "Names, units and cardinality"), and the per-agent gauges follow the sessions held.
import { describe, expect, it } from 'vitest';
import { closeCodeLabel, closeReasonLabel, createMetrics, sendErrorLabel } from '../../connector/metrics.ts';

describe('connector metrics', () => {
  it('names close codes as Baileys\' DisconnectReason does', () => {
    expect([401, 403, 408, 411, 428, 440, 500, 503, 515].map(closeReasonLabel)).toEqual([
      'loggedOut', 'forbidden', 'timedOut', 'multideviceMismatch', 'connectionClosed', 'connectionReplaced', 'badSession', 'unavailableService', 'restartRequired',
    ]);
    expect([closeReasonLabel(undefined), closeReasonLabel(1000), closeCodeLabel(1000), closeCodeLabel(undefined), closeCodeLabel(440)]).toEqual(['none', 'other', 'other', 'none', '440']);
  });

  it('keeps send error codes to ours and WhatsApp\'s numeric ones', () => {
    expect(['send_timeout', '463', undefined, 'Some Message: with text', '4630', 'x'.repeat(60)].map(sendErrorLabel)).toEqual(['send_timeout', '463', 'none', 'other', 'other', 'other']);
  });

  it('exports the per-agent gauges only for held sessions, 1 while open, and counts statuses at scrape time', async () => {
    const metrics = createMetrics();
    let held = [{ agentId: 'a', state: 'open', status: 'connected' }, { agentId: 'b', state: 'waiting', status: 'reconnecting' }];
    metrics.observe({ sessions: { holdings: () => held } });
    metrics.sessionOpened('a', 1.5, 'claim');
    metrics.sessionClosed('b', 428, 'backoff');
    const values = async () => Object.fromEntries((await metrics.sessionConnected.get()).values.map((v) => [v.labels.agent_id, v.value]));
    expect(await values()).toEqual({ a: 1, b: 0 });
    expect((await metrics.disconnects.get()).values).toEqual([{ labels: { code: '428', reason: 'connectionClosed', action: 'backoff' }, value: 1 }]);
    const statuses = async () => Object.fromEntries((await metrics.sessionsByStatus.get()).values.map((v) => [v.labels.status, v.value]));
    expect(await statuses()).toEqual({ connected: 1, reconnecting: 1 });
    held = [{ agentId: 'b', state: 'open', status: 'connected' }];
    expect(await values()).toEqual({ b: 1 });
    expect(await statuses()).toEqual({ connected: 1 });
    expect((await metrics.sessionTransition.get()).values.map((v) => v.labels.agent_id)).toEqual(['b']);
  });
});
