// One owned session: drives its Baileys socket toward the desired state (DESIGN "Session
// lifecycle"). The session manager creates it on a claim and forgets it when it ends.
//
// States, in plain words:
//   starting    load and validate creds (fenced). Malformed → terminal `failed`; undecryptable with
//               this connector's keys → alert and hand the lease back (another connector may
//               read it), never terminal.
//   connecting  a socket exists and is handshaking. Not linked yet → it shows QR codes (status
//               `qr`, at most qrMax of them) or one pairing code; after qrMax codes, or once the
//               attempt's window (qrTimeoutMs, from its first code) has passed, terminal `qr_timeout`.
//   open        the socket is open (status `connected`); a health check looks at the real
//               WebSocket state (60 s when open, 30 s otherwise) and treats a dead one as a close.
//   waiting     after a transient close: a timer with full-jitter backoff, then connecting again.
//   ended       terminal. Reached by: a terminal close (logout, conflict, stop, qr_timeout,
//               failed) → report status, desired_state=disconnected, release the lease; a
//               disconnect request → status `disconnected`, release; losing the lease (renewal
//               refused, a stale_lease write, or our own clock saying the lease ran out) → end the
//               socket at once and write nothing; shutdown → end the socket (the manager
//               releases every lease afterwards); hand-over (the fleet is uneven) → a send in
//               flight finishes, the socket ends and closes (the manager releases the lease
//               afterwards, so the next owner never logs in beside it).
// Every database write carries the lease epoch; a stale_lease answer means "lost".
import { type AuthenticationCreds, type AuthenticationState, type ConnectionState, jidNormalizedUser, type WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { EventType } from '../../kernel/event-types.ts';
import type { Keyring } from '../../kernel/secret-box.ts';
import type { SessionStatus, TerminalSessionStatus } from '../../kernel/session-statuses.ts';
import { createPostgresAuthState, type PostgresAuthState } from '../auth-state/postgres-auth-state.ts';
import { CorruptAuthState, isLinked } from '../auth-state/validate-creds.ts';
import type { Clock } from '../clock.ts';
import type { ConnectorConfig } from '../config.ts';
import { maskPhones } from '../logging/logger.ts';
import type { Metrics } from '../metrics.ts';
import { wipeAuthState } from '../sql/auth-state.ts';
import { raiseRepeatedLogoutsAlert, raiseSessionAlert, sessionLink, updateSession } from '../sql/sessions.ts';
import { scopeDecryption } from '../whatsapp/decrypt-scope.ts';
import { gateIncomingFrames } from '../whatsapp/lease-gate.ts';
import { isSocketOpen, type MakeSocket, qrCodeLifetimeMs } from '../whatsapp/make-socket.ts';
import { scopeSignalWarnings, watchBaileysLogger } from '../whatsapp/signal-warnings.ts';
import { storedMessageLookup } from '../whatsapp/stored-messages.ts';
import { attemptAfterClose, backoffDelay, type CloseAction, classifyClose, closeCodeOf } from './close-policy.ts';
import { isStaleLease, type LiveSession } from './context.ts';
import type { Semaphore } from './semaphore.ts';
import type { StartPacer } from './start-pacer.ts';

export type SessionState = 'starting' | 'connecting' | 'open' | 'waiting' | 'ended';
export type EndReason = 'terminal' | 'disconnected' | 'lost' | 'shutdown' | 'unreadable' | 'handed_over';

export interface SessionHooks {
  /** Called synchronously as each socket is made, before any of its events can fire. */
  onSocketCreated?(session: LiveSession, sock: WASocket): void;
  /** Before a disconnect, logout or restart ends the socket: wait for sends in flight unless forced. */
  beforeSocketEnd?(session: LiveSession, force: boolean): Promise<void>;
  /** Called each time the socket opens (after the status is reported). Errors are logged. */
  onSocketOpen?(session: LiveSession): void | Promise<void>;
  /** Called when an open socket closes or is ended. */
  onSocketClose?(session: LiveSession): void;
}

export interface SessionDeps {
  agentId: string;
  epoch: bigint;
  connectorId: string;
  sql: Sql;
  logger: Logger;
  baileysLogger: Logger;
  config: ConnectorConfig;
  keyring: Keyring;
  metrics: Metrics;
  clock: Clock;
  makeSocket: MakeSocket;
  connectSlots: Semaphore;
  /** Every new socket waits for its start time here, after taking a connect slot. */
  startPacer: StartPacer;
  hooks: SessionHooks;
  /** False once our own clock says the lease may have run out (self-fencing). */
  leaseFresh(): boolean;
  /** Renews every lease now (used to re-check ownership after a 440). */
  renewNow(): Promise<void>;
  /** The session ended: the manager forgets it and, for terminal/disconnected, releases the lease. */
  onEnded(session: ManagedSession, reason: EndReason): void;
}

type Patch = Record<string, unknown> & { status?: SessionStatus };

/** Longest wait for a socket's close handshake before a lease is released after it. */
const SOCKET_CLOSE_WAIT_MS = 2_000;

export class ManagedSession implements LiveSession {
  readonly agentId: string;
  readonly connectorId: string;
  readonly sql: Sql;
  readonly logger: Logger;
  state: SessionState = 'starting';
  /** The status last reported to the database (for metrics). */
  status: SessionStatus = 'connecting';

  private epochValue: bigint;
  private sock: WASocket | undefined;
  private auth: AuthenticationState | undefined;
  private store: PostgresAuthState;
  private attempt = 0;
  private conflicts = 0;
  private qrShown = 0;
  private linking = false;
  private linkMethod: 'qr' | 'pairing_code' = 'qr';
  private linkPhone: string | undefined;
  private pairingRequested = false;
  private openedAt: number | undefined;
  private closedAt: number;
  private releaseSlot: (() => void) | undefined;
  private connectCalls = 0;
  private timers = new Set<NodeJS.Timeout>();
  private credsWrite: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SessionDeps) {
    this.agentId = deps.agentId;
    this.connectorId = deps.connectorId;
    this.sql = deps.sql;
    this.epochValue = deps.epoch;
    this.logger = deps.logger.child({ agentId: deps.agentId });
    this.closedAt = deps.clock.monotonic();
    this.store = createPostgresAuthState({
      sql: deps.sql,
      keyring: deps.keyring,
      agentId: deps.agentId,
      connectorId: deps.connectorId,
      epoch: () => this.epochValue,
      metrics: deps.metrics,
      logger: this.logger,
      leaseFresh: () => this.leaseStillFresh(),
      onStale: () => this.lose('stale_write'),
      onCorrupt: (error) => void (error.undecryptable ? this.handBack(error) : this.fail(error)),
    });
  }

  epoch(): bigint {
    return this.epochValue;
  }
  socket(): WASocket | undefined {
    return this.state === 'open' ? this.sock : undefined;
  }
  isOpen(): boolean {
    return this.state === 'open' && this.sock !== undefined && isSocketOpen(this.sock);
  }
  leaseFresh(): boolean {
    return !this.ended && this.deps.leaseFresh();
  }
  get ended(): boolean {
    return this.state === 'ended';
  }

  async start(): Promise<void> {
    try {
      const row = await sessionLink(this.sql, this.agentId);
      this.linkMethod = row?.link_method === 'pairing_code' ? 'pairing_code' : 'qr';
      this.linkPhone = row?.link_phone ?? undefined;
      const { creds } = await this.store.loadCreds();
      if (this.ended) return;
      this.auth = { creds, keys: this.store.keys };
      await this.connect(row?.status === 'connected' ? 'reconnecting' : 'connecting');
    } catch (error) {
      if (error instanceof CorruptAuthState || isStaleLease(error)) return; // handled by the store's callbacks
      this.logger.error({ err: error }, 'session start failed');
      this.scheduleReconnect(undefined, 'start failed');
    }
  }

  /** The renewal's view of what the owner wants. */
  async apply(desiredState: string | null, pendingCommand: string | null, force = false): Promise<void> {
    // One command at a time: the next renewal may still see a command we are carrying out.
    if (this.ended || this.applying) return;
    const ending = desiredState === 'disconnected' || pendingCommand === 'logout' || pendingCommand === 'restart';
    if (!ending) return;
    this.applying = true;
    try {
      // The seeds' sending-status: a send in flight finishes (bounded by the send timeout)
      // before the socket goes, unless the owner forced the command.
      if (this.state === 'open') await this.deps.hooks.beforeSocketEnd?.(this, force).catch((error) => this.logger.warn({ err: error }, 'waiting for sends failed'));
      if (this.ended) return;
      if (desiredState === 'disconnected') return await this.disconnect('disconnect requested');
      if (pendingCommand === 'logout') return await this.logout('logout requested', false);
      if (pendingCommand === 'restart') {
        if (!(await this.report({ clear_command: true }))) return;
        this.logger.info('restart requested');
        this.endSocket();
        await this.connect('reconnecting');
      }
    } finally {
      this.applying = false;
    }
  }

  private applying = false;

  /** Lease gone: end the socket now and write nothing. */
  lose(reason: string): void {
    if (this.ended) return;
    this.logger.warn({ reason }, 'lease lost; ending socket');
    this.deps.metrics.leaseLosses.inc({ reason });
    void this.finish('lost');
  }

  /** Graceful shutdown: end the socket; the manager releases the lease afterwards. Resolves once it closed. */
  shutdown(): Promise<void> {
    return this.ended ? Promise.resolve() : this.finish('shutdown');
  }

  /**
   * Rebalancing: the session moves to another connector. A send in flight finishes (bounded by
   * the send timeout, as for a restart), then the socket ends; resolves true once it has closed,
   * and the manager releases the lease. False when the session ended otherwise meanwhile.
   */
  async handOver(): Promise<boolean> {
    if (this.ended || this.applying) return false;
    this.applying = true; // no command starts meanwhile
    try {
      if (this.state === 'open') await this.deps.hooks.beforeSocketEnd?.(this, false).catch((error) => this.logger.warn({ err: error }, 'waiting for sends failed'));
      if (this.ended) return false;
      this.logger.info('handing the session over to the fleet');
      await this.finish('handed_over');
      return true;
    } finally {
      this.applying = false;
    }
  }

  // --- connecting -------------------------------------------------------------------------

  private async connect(status: Extract<SessionStatus, 'connecting' | 'reconnecting'>): Promise<void> {
    if (this.ended || !this.auth) return;
    this.linking = !isLinked(this.auth.creds);
    if (!this.linking) this.clearQrDeadline();
    this.qrShown = 0;
    this.pairingRequested = false;
    this.state = 'connecting';
    if (!(await this.report({ status, reconnect_attempts: this.attempt }))) return;
    // A restart may call connect again while this call waits for a slot or its start time: only
    // the newest call goes on to make a socket (one socket per session).
    const call = ++this.connectCalls;
    const release = await this.deps.connectSlots.acquire(this.deps.config.whatsapp.connectTimeoutMs);
    if (this.ended || this.state !== 'connecting' || call !== this.connectCalls) return release();
    this.releaseSlot = release;
    await this.deps.startPacer.wait();
    if (call !== this.connectCalls) return; // the newer call holds the slot now
    if (this.ended || this.state !== 'connecting') return this.freeSlot();
    const logger = watchBaileysLogger(this.deps.baileysLogger, this.agentId);
    const sock = this.deps.makeSocket({ auth: this.auth, logger, getMessage: storedMessageLookup(this.sql, this.agentId, this.deps.config.contentKeyring) });
    this.sock = sock;
    gateIncomingFrames(sock, () => this.sock === sock && this.guard());
    // Key writes of a message it decrypts stay in memory until the message is stored (issue 16).
    scopeDecryption(sock, this.store.holdKeyWrites());
    // libsignal's console warnings are counted for this session (seed 002's monitor).
    scopeSignalWarnings(sock, this.agentId);
    this.deps.hooks.onSocketCreated?.(this, sock);
    sock.ev.on('creds.update', () => {
      if (this.sock === sock && this.guard()) this.persistCreds();
    });
    sock.ev.on('connection.update', (update) => {
      if (this.sock !== sock || !this.guard()) return;
      void this.onUpdate(sock, update).catch((error) => this.logger.error({ err: error }, 'connection update handling failed'));
    });
    this.armHealthCheck();
  }

  private async onUpdate(sock: WASocket, update: Partial<ConnectionState>): Promise<void> {
    if (update.qr) await this.onQr(sock, update.qr);
    if (update.connection === 'open') await this.onOpen();
    if (update.connection === 'close') {
      const error = update.lastDisconnect?.error as (Error & { data?: unknown }) | undefined;
      await this.onClose(closeCodeOf(error), error?.message, error?.data);
    }
  }

  private async onQr(sock: WASocket, qr: string): Promise<void> {
    this.freeSlot();
    this.qrShown++;
    if (this.qrShown > this.deps.config.whatsapp.qrMax) return this.terminal('qr_timeout', 'no scan after the allowed QR codes', undefined, { wipe: true });
    this.armQrDeadline();
    if (this.linkMethod === 'pairing_code' && this.linkPhone) {
      if (this.pairingRequested) return;
      this.pairingRequested = true;
      const code = await sock.requestPairingCode(this.linkPhone);
      if (this.sock !== sock) return;
      this.status = 'pairing_code';
      await this.report({ status: 'pairing_code', pairing_code: code, qr_code: null });
      return;
    }
    this.status = 'qr';
    const expires = new Date(this.deps.clock.wall() + qrCodeLifetimeMs(this.deps.config.whatsapp)).toISOString();
    await this.report({ status: 'qr', qr_code: qr, qr_expires_at: expires, qr_attempts: this.qrShown });
  }

  private async onOpen(): Promise<void> {
    this.freeSlot();
    this.clearQrDeadline();
    const now = this.deps.clock.monotonic();
    this.deps.metrics.sessionOpened(this.agentId, (now - this.closedAt) / 1000, this.openedAt === undefined ? 'claim' : 'close');
    this.openedAt = now;
    this.state = 'open';
    this.status = 'connected';
    this.armHealthCheck();
    const me = this.auth?.creds.me?.id;
    const ok = await this.report({
      status: 'connected',
      phone_number: me ? me.split(/[:@]/)[0] : null,
      linked_jid: me ? jidNormalizedUser(me) : null,
      last_connected_at: new Date(this.deps.clock.wall()).toISOString(),
      reconnect_attempts: 0,
      qr_attempts: 0,
      qr_code: null,
      qr_expires_at: null,
      pairing_code: null,
      clear_link_request: true,
    });
    if (!ok) return;
    this.logger.info({ jid: me ? maskPhones(me) : undefined }, 'connected');
    this.persistCreds();
    try {
      await this.deps.hooks.onSocketOpen?.(this);
    } catch (error) {
      this.logger.error({ err: error }, 'onSocketOpen hook failed');
    }
  }

  private async onClose(code: number | undefined, message: string | undefined, data: unknown): Promise<void> {
    this.freeSlot();
    const wasOpen = this.state === 'open';
    const now = this.deps.clock.monotonic();
    const openFor = this.openedAt !== undefined && wasOpen ? now - this.openedAt : undefined;
    this.sock = undefined;
    this.state = 'waiting';
    this.closedAt = now;
    if (wasOpen) this.deps.hooks.onSocketClose?.(this);
    const action: CloseAction = classifyClose({ code, message, data, linking: this.linking && this.qrShown > 0 });
    this.deps.metrics.sessionClosed(this.agentId, code, action);
    this.logger.info({ code, action, reason: message ? maskPhones(message) : undefined }, 'socket closed');
    if (openFor !== undefined && openFor >= this.deps.config.backoff.stableMs) this.conflicts = 0;
    this.attempt = attemptAfterClose(this.attempt, openFor, this.deps.config.backoff.stableMs);
    switch (action) {
      case 'restart':
        return this.connect('connecting');
      case 'backoff':
        return this.scheduleReconnect(code, message);
      case 'conflict':
        return this.onConflict(code, message);
      case 'logout':
        return this.logout(message?.includes('device_removed') ? 'device removed' : 'logged out by WhatsApp (401)', true, code);
      case 'stop':
        return this.terminal('failed', `stopped by WhatsApp (${code})`, code, { alert: 'alert.session_stopped' });
      case 'qr_timeout':
        return this.terminal('qr_timeout', 'no scan after the allowed QR codes', code, { wipe: true });
    }
  }

  private async onConflict(code: number | undefined, message: string | undefined): Promise<void> {
    this.conflicts++;
    // Replaced: first make sure we still own the session (a takeover we have not noticed).
    await this.deps.renewNow().catch(() => {});
    if (this.ended) return;
    if (this.conflicts >= this.deps.config.conflictMaxTries) {
      return this.terminal('conflict', 'replaced by another connection (440) repeatedly', code, { alert: 'alert.conflict' });
    }
    this.scheduleReconnect(code, message);
  }

  private scheduleReconnect(code: number | undefined, message: string | undefined): void {
    if (this.ended) return;
    const delay = backoffDelay(this.deps.config.backoff, this.attempt);
    this.attempt++;
    this.state = 'waiting';
    this.status = 'reconnecting';
    void this.report({
      status: 'reconnecting',
      status_reason: `reconnecting in ${Math.round(delay / 100) / 10} s`,
      last_disconnect_code: code ?? null,
      last_disconnect_reason: message ? maskPhones(message) : null,
      reconnect_attempts: this.attempt,
    });
    this.later(delay, () => void this.connect('reconnecting'));
  }

  // --- terminal transitions ---------------------------------------------------------------

  private async logout(reason: string, byWhatsApp: boolean, code?: number): Promise<void> {
    const sock = this.sock;
    if (!byWhatsApp && sock && this.state === 'open') await sock.logout().catch(() => {});
    await this.terminal('logged_out', reason, code, { wipe: true, alert: byWhatsApp ? 'alert.logged_out' : undefined });
  }

  /**
   * In the terminal transaction, after this logout's alert: a second logout by WhatsApp within
   * 24 h raises alert.repeated_logouts, fenced like the rest (the lease is released only after).
   */
  private async alertRepeatedLogouts(tx: Sql, epoch: bigint): Promise<void> {
    await raiseRepeatedLogoutsAlert(tx, { agent: this.agentId, connector: this.connectorId, epoch });
  }

  /**
   * A row this connector cannot decrypt (a key version it lacks, or a key that does not open it)
   * says nothing about the session: another connector may hold the key. End the socket, raise an
   * alert, and hand the lease back (the manager releases it and skips the session for a while);
   * status and desired state stay as they are.
   */
  private async handBack(error: CorruptAuthState): Promise<void> {
    if (this.ended) return;
    this.state = 'ended';
    this.endSocket();
    this.logger.error({ reason: error.message }, 'auth state cannot be decrypted with this connector\'s keys; handing the session back');
    try {
      await raiseSessionAlert(this.sql, {
        agent: this.agentId,
        connector: this.connectorId,
        epoch: this.epochValue,
        type: 'alert.auth_state_unreadable',
        severity: 'critical',
        payload: { reason: error.message },
      });
      this.deps.onEnded(this, 'unreadable');
    } catch (alertError) {
      if (!isStaleLease(alertError)) this.logger.error({ err: alertError }, 'unreadable-auth-state alert failed');
      this.deps.onEnded(this, isStaleLease(alertError) ? 'lost' : 'unreadable');
    }
  }

  private async fail(error: CorruptAuthState): Promise<void> {
    this.logger.error({ reason: error.message }, 'auth state is corrupt; marking the session failed');
    await this.terminal('failed', error.message, undefined, { alert: 'alert.auth_state_corrupt' });
  }

  private async terminal(
    status: TerminalSessionStatus,
    reason: string,
    code: number | undefined,
    opts: { wipe?: boolean; alert?: EventType } = {},
  ): Promise<void> {
    if (this.ended) return;
    this.state = 'ended'; // no reconnect may start while we write
    this.endSocket();
    this.status = status;
    try {
      if (opts.wipe) await this.store.closeWrites();
      const patch = {
        status,
        status_reason: reason,
        desired_state: 'disconnected',
        qr_code: null,
        qr_expires_at: null,
        pairing_code: null,
        clear_command: true,
        clear_link_request: true,
        ...(code !== undefined ? { last_disconnect_code: code, last_disconnect_reason: reason } : {}),
        ...(status === 'logged_out' ? { phone_number: null, linked_jid: null } : {}),
      };
      const fence = { agent: this.agentId, connector: this.connectorId, epoch: this.epochValue };
      // Wipe, status and alert in one transaction: all of them, or none (then the lease was lost).
      await this.sql.begin(async (tx) => {
        if (opts.wipe) await wipeAuthState(tx, fence);
        await updateSession(tx, { ...fence, patch });
        if (opts.alert) {
          const severity = status === 'qr_timeout' ? 'warning' : 'critical';
          await raiseSessionAlert(tx, { ...fence, type: opts.alert, severity, payload: { status, reason, code: code ?? null } });
          if (opts.alert === 'alert.logged_out') await this.alertRepeatedLogouts(tx as unknown as Sql, fence.epoch);
        }
      });
      if (opts.wipe) this.deps.metrics.keyStoreOps.inc({ op: 'wipe', outcome: 'ok' });
      this.logger.warn({ status, reason }, 'session stopped');
      this.deps.onEnded(this, 'terminal');
    } catch (error) {
      if (!isStaleLease(error)) this.logger.error({ err: error }, 'terminal status write failed');
      this.deps.metrics.leaseLosses.inc({ reason: 'stale_write' });
      this.deps.onEnded(this, 'lost');
    }
  }

  private async disconnect(reason: string): Promise<void> {
    if (this.ended) return;
    this.state = 'ended';
    this.endSocket();
    this.status = 'disconnected';
    try {
      await this.writeSession({ status: 'disconnected', status_reason: reason, qr_code: null, pairing_code: null, clear_command: true });
      this.deps.onEnded(this, 'disconnected');
    } catch (error) {
      if (!isStaleLease(error)) this.logger.error({ err: error }, 'disconnect status write failed');
      this.deps.onEnded(this, 'lost');
    }
  }

  private finish(reason: EndReason): Promise<void> {
    this.state = 'ended';
    const closed = this.endSocket();
    this.deps.onEnded(this, reason);
    return closed;
  }

  // --- plumbing -------------------------------------------------------------------------------

  /** Self-fencing in the event path: a socket event after our lease ran out ends everything. */
  private guard(): boolean {
    return !this.ended && this.leaseStillFresh();
  }

  /** The same clock check for the key store, which Baileys calls outside our event handlers. */
  private leaseStillFresh(): boolean {
    if (this.deps.leaseFresh()) return true;
    this.lose('self_fenced');
    return false;
  }

  /** Ends the socket now; resolves once its WebSocket has closed (at most SOCKET_CLOSE_WAIT_MS). */
  private endSocket(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.qrDeadline = undefined;
    this.freeSlot();
    const sock = this.sock;
    this.sock = undefined;
    if (!sock) return Promise.resolve();
    if (this.openedAt !== undefined && this.status === 'connected') this.deps.hooks.onSocketClose?.(this);
    // Baileys' end() waits for the WebSocket's close handshake; a peer that never answers it is
    // not waited for longer than a moment (the ws library then destroys the socket itself).
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, SOCKET_CLOSE_WAIT_MS)));
    return Promise.race([Promise.resolve(sock.end(undefined)).catch(() => {}), bounded]).finally(() => clearTimeout(timer));
  }

  private freeSlot(): void {
    this.releaseSlot?.();
    this.releaseSlot = undefined;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.ended) fn();
    }, ms);
    this.timers.add(timer);
  }

  private qrDeadline: NodeJS.Timeout | undefined;

  /**
   * The link attempt's overall deadline, armed by its first code and kept across reconnects
   * while linking (a flapping socket must not restart the window); cleared once linked.
   */
  private armQrDeadline(): void {
    if (this.qrDeadline) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.qrDeadline = undefined;
      if (this.linking && this.state !== 'open' && this.guard()) {
        void this.terminal('qr_timeout', 'no scan within the QR window', undefined, { wipe: true });
      }
    }, this.deps.config.whatsapp.qrTimeoutMs);
    this.qrDeadline = timer;
    this.timers.add(timer);
  }

  private clearQrDeadline(): void {
    if (!this.qrDeadline) return;
    clearTimeout(this.qrDeadline);
    this.timers.delete(this.qrDeadline);
    this.qrDeadline = undefined;
  }

  private healthTimer: NodeJS.Timeout | undefined;

  /** One health-check timer per session, re-armed (never stacked) at the interval of the state. */
  private armHealthCheck(): void {
    const { connectedMs, connectingMs } = this.deps.config.health;
    if (this.healthTimer) {
      clearTimeout(this.healthTimer);
      this.timers.delete(this.healthTimer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.healthTimer = undefined;
      if (!this.ended) this.healthCheck();
    }, this.state === 'open' ? connectedMs : connectingMs);
    this.healthTimer = timer;
    this.timers.add(timer);
  }

  /** Looks at the socket's real state, not a flag; a dead open socket is handled as a close. */
  private healthCheck(): void {
    if (this.ended) return;
    if (this.state === 'open' && this.sock && !isSocketOpen(this.sock)) {
      this.logger.warn('health check: socket is not open; reconnecting');
      const sock = this.sock;
      this.sock = undefined;
      sock.end(undefined);
      void this.onClose(undefined, 'health check: socket not open', undefined);
      return;
    }
    if (this.state === 'open' || this.state === 'connecting') this.armHealthCheck();
  }

  private persistCreds(): void {
    const auth = this.auth;
    if (!auth) return;
    this.credsWrite = this.credsWrite
      .then(() => (this.ended ? undefined : this.store.saveCreds(auth.creds as AuthenticationCreds)))
      .catch((error) => {
        if (!isStaleLease(error)) this.logger.error({ err: error }, 'saving creds failed');
      });
  }

  /** Periodic creds sync (the seeds ask for it besides every update). */
  syncCreds(): Promise<void> {
    if (this.state === 'open') this.persistCreds();
    return this.credsWrite;
  }

  /** A fenced status write; false (and the session lost) when the lease is stale. */
  private async report(patch: Patch): Promise<boolean> {
    if (this.ended) return false;
    try {
      await this.writeSession(patch);
      return true;
    } catch (error) {
      if (isStaleLease(error)) this.lose('stale_write');
      else this.logger.error({ err: error }, 'session status write failed');
      return !isStaleLease(error);
    }
  }

  private async writeSession(patch: Patch): Promise<void> {
    await updateSession(this.sql, { agent: this.agentId, connector: this.connectorId, epoch: this.epochValue, patch });
  }
}
