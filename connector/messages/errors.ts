// How a send attempt ended when it did not succeed. The worker turns these into the outcome
// written by gateway.complete_messages: permanent → failed with code and reason (never retried),
// transient → retry with backoff (failed by SQL once attempts reach max_attempts).

export class SendError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

export const permanent = (code: string, message: string) => new SendError(code, message, true);
export const transient = (code: string, message: string) => new SendError(code, message, false);

/** Codes WhatsApp puts in a negative ack, with what they mean for the person reading the row. */
export const ACK_ERRORS: Record<string, string> = {
  '463': 'WhatsApp restricted this account from messaging this contact (463); the session is slowed down',
  '479': 'WhatsApp refused the message (479)',
  '421': 'WhatsApp refused the message content (421)',
};
