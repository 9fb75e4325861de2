// Number checks: answers the bulk "is this number on WhatsApp" jobs of the sessions this
// connector holds (POST /v1/agents/{id}/number-checks queues them).
//
// The loop, in plain words (its timing is connector/poll-loop.ts's):
//   claim    every pollIntervalMs, sooner when nudged (a number_check wake-up, an opened socket),
//            at once again after a full claim: one gateway.claim_number_checks statement takes up
//            to 10 pending jobs of sessions whose socket is open here (SKIP LOCKED,
//            visibility timeout); the next claim waits until they are answered.
//   answer   one usync query per job (all of its numbers at once) through the session's socket,
//            then gateway.complete_number_check with [{number, exists, jid}], fenced by the lease
//            epoch the job was claimed under. Only the holder's answer is accepted, so a job
//            claimed again after a crash or a takeover is answered once.
//   fail     WhatsApp refused the query while the socket stayed open → the job fails with the
//            reason. The socket closed under it → nothing is written; the claim expires and the
//            job is claimed again when the session is open (here or on another connector).
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { createPollLoop } from '../poll-loop.ts';
import { isStaleLease, type SessionDirectory } from '../sessions/context.ts';
import { type ClaimedNumberCheck, claimNumberChecks, completeNumberCheck } from '../sql/number-checks.ts';

export interface NumberCheckConfig {
  pollIntervalMs: number;
  visibilitySeconds: number;
  queryTimeoutMs: number;
}

export interface NumberCheckAnswer {
  number: string;
  exists: boolean;
  jid: string | null;
}

/** Asks WhatsApp about `numbers` in one query; an answer per number, in the order asked. */
export async function checkNumbers(sock: Pick<WASocket, 'onWhatsApp'>, numbers: string[]): Promise<NumberCheckAnswer[]> {
  const found = (await sock.onWhatsApp(...numbers)) ?? [];
  const byNumber = new Map(found.filter((r) => r.exists).map((r) => [r.jid.split('@')[0]!.split(':')[0]!, r.jid]));
  return numbers.map((number) => {
    const jid = byNumber.get(number);
    return { number, exists: jid !== undefined, jid: jid ?? null };
  });
}

export interface NumberCheckWorker {
  start(): void;
  nudge(): void;
  stop(): Promise<void>;
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`WhatsApp did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

export function createNumberCheckWorker(deps: { sql: Sql; connectorId: string; sessions: SessionDirectory; config: NumberCheckConfig; logger: Logger }): NumberCheckWorker {
  const { sql, connectorId, sessions, config } = deps;
  const log = deps.logger.child({ module: 'number-checks' });

  async function answer(job: ClaimedNumberCheck): Promise<void> {
    const session = sessions.get(job.agent_id);
    const sock = session?.isOpen() ? session.socket() : undefined;
    if (!session || !sock) return; // the claim expires and the job comes back
    let result: NumberCheckAnswer[] | undefined;
    let error: string | undefined;
    try {
      result = await withTimeout(checkNumbers(sock, job.numbers), config.queryTimeoutMs);
    } catch (e) {
      if (!session.isOpen() || session.socket() !== sock) return;
      error = `WhatsApp refused the check: ${(e as Error).message}`;
    }
    try {
      await completeNumberCheck(sql, { agent: job.agent_id, connector: connectorId, epoch: job.lease_epoch, check: job.id, result: result ?? null, error: error ?? null });
    } catch (e) {
      if (!isStaleLease(e)) throw e;
      log.debug({ checkId: job.id }, 'stale lease; the new owner answers this check');
      return;
    }
    log.debug({ checkId: job.id, numbers: job.numbers.length, failed: error !== undefined }, 'number check answered');
  }

  async function claimAndAnswer(): Promise<boolean> {
    const open = sessions.open().filter((s) => s.isOpen()).map((s) => s.agentId);
    if (open.length === 0) return false;
    const jobs = await claimNumberChecks(sql, { connector: connectorId, agents: open, limit: 10, visibilitySeconds: config.visibilitySeconds });
    await Promise.all(
      jobs.map((job) =>
        answer(job).catch((e) => log.error({ err: e, checkId: job.id }, 'answering a number check failed')),
      ),
    );
    return jobs.length >= 10; // the claim's limit: a full batch
  }

  const loop = createPollLoop({ name: 'claiming number checks', fetch: claimAndAnswer, intervalMs: config.pollIntervalMs, nudgeDelayMs: 10, logger: log });
  return { start: loop.start, nudge: loop.nudge, stop: loop.stop };
}
