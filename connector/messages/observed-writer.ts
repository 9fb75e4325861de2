// The writer the outbound worker hands its send outcomes to, seen by the metrics on the way: every
// attempt's outcome passes here exactly once (the worker calls complete() once per attempt), so
// counting here needs no line in the worker's send path.
import type { MessageWriter } from './writer.ts';

export type SendOutcomeObserver = (outcome: 'sent' | 'retry' | 'failed', errorCode?: string) => void;

export function observeSendOutcomes(writer: MessageWriter, observe: SendOutcomeObserver | undefined): MessageWriter {
  if (!observe) return writer;
  return {
    ...writer,
    complete(agentId, epoch, c) {
      observe(c.outcome, c.error_code);
      writer.complete(agentId, epoch, c);
    },
  };
}
