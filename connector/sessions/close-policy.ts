// What a socket close means, exactly as DESIGN.md's session lifecycle says. Pure functions, so
// the policy is unit-tested apart from sockets. Codes by Baileys' DisconnectReason names:
//
//   - restartRequired (515): restart now (after pairing, WhatsApp asks for a fresh login)
//   - timedOut (408), connectionClosed (428), badSession (500), unavailableService (503), or no
//     code: transient, reconnect with exponential backoff and full jitter
//   - connectionReplaced (440): replaced; re-check the lease, after conflictMaxTries status conflict
//   - loggedOut (401) or device_removed: wipe creds and keys, status logged_out, wait for a link
//   - forbidden (403), multideviceMismatch (411): stop with an alert
//   - timedOut (408) while showing QR with Baileys' "QR refs attempts ended": the QR codes ran
//     out, qr_timeout (never loop on QR). Any other 408 while showing a QR — "Connection was lost"
//     (pings unanswered for keepalive + 5 s) or a handshake timeout, both 408 in Baileys — is a
//     transient network or load problem: reconnect with backoff and show a new code; the attempt's
//     own deadline (WA_QR_TIMEOUT_MS, session.ts) still ends it. Before, such a close ended the
//     link attempt for good: linking 500 numbers at once lost most of them to `qr_timeout` when
//     keepalives ran late under load (issue 12).
//   - anything else: transient (a code we do not know is not a reason to give up)
import { DisconnectReason } from '@whiskeysockets/baileys';

export type CloseAction = 'restart' | 'backoff' | 'conflict' | 'logout' | 'stop' | 'qr_timeout';

export interface CloseInfo {
  code: number | undefined;
  message?: string;
  /** The stream error's content tag, when Baileys passed it (e.g. device_removed). */
  data?: unknown;
  /** True while a link attempt is showing QR or pairing codes. */
  linking: boolean;
}

export function closeCodeOf(error: unknown): number | undefined {
  const code = (error as { output?: { statusCode?: unknown } } | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Baileys' message when the server's QR refs are used up (Socket/socket.js, genPairQR). */
const QR_REFS_ENDED = /QR refs attempts ended/i;

export function classifyClose(info: CloseInfo): CloseAction {
  const text = `${info.message ?? ''} ${safeJson(info.data)}`;
  if (info.code === DisconnectReason.loggedOut || /device_removed/.test(text)) return 'logout';
  if (info.code === DisconnectReason.restartRequired) return 'restart';
  if (info.code === DisconnectReason.connectionReplaced) return 'conflict';
  if (info.code === DisconnectReason.forbidden || info.code === DisconnectReason.multideviceMismatch) return 'stop';
  if (info.linking && info.code === DisconnectReason.timedOut && QR_REFS_ENDED.test(info.message ?? '')) return 'qr_timeout';
  return 'backoff';
}

function safeJson(value: unknown): string {
  try {
    return value === undefined ? '' : JSON.stringify(value);
  } catch {
    return '';
  }
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Full jitter: uniform in [0, min(max, base * 2^attempt)]. attempt starts at 0. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * The attempt index to use for the reconnect after a close: back to 0 when the connection had been
 * open for the stable period, else the running count (the caller increments it after use).
 */
export function attemptAfterClose(previous: number, openForMs: number | undefined, stableMs: number): number {
  return openForMs !== undefined && openForMs >= stableMs ? 0 : previous;
}
