// The reconciler: which sessions this connector owns (docs/invariants.md, invariant 1), and the
// SessionDirectory the message and webhook code reads.
//
// Loops, in plain words:
//   claim   every sweepIntervalMs (at once on a wake-up; later after a failed claim; the timing is
//           connector/poll-loop.ts's): one statement (gateway.claim_sessions) takes sessions that
//           want a socket and whose lease is free or expired, and whose creds are sealed under a
//           key version this connector holds (minus sessions it recently failed to decrypt or
//           just handed back), and starts a ManagedSession for each at the returned epoch. How
//           many: with rebalancing off, up to capacity. With it on (CONNECTOR_REBALANCE), the same
//           statement first asks gateway.session_share for this connector's share: the sessions
//           wanting a socket spread over the live connectors (not stopped, heartbeat younger than
//           a lease), each at most its capacity; it claims up to that share, except that sessions
//           nobody serves (a dead connector's expired leases) are taken up to capacity, split
//           across the live connectors — failover never waits on balance.
//   hand back  with rebalancing on, after each claim round: once this connector holds more than
//           its share plus CONNECTOR_REBALANCE_TOLERANCE_PERCENT of it (rounded up), it hands
//           sessions back until it holds its share, at most CONNECTOR_REBALANCE_BATCH at a time
//           and one batch per CONNECTOR_REBALANCE_INTERVAL_MS. Linking sessions (QR or pairing
//           code showing) stay. For each: a send in flight finishes, the socket ends and its
//           close is awaited, received messages are stored, and only then is the lease released
//           (so the next owner never logs in beside it); this connector skips the session for a
//           lease period, so it does not claim it back. The connector below its share (one that
//           restarted) claims them on its next sweep.
//   renew   every renewIntervalMs: one statement (gateway.renew_leases) renews every lease at
//           its epoch. A row not renewed is lost: its socket ends at once. A renewed row brings
//           the desired state and any pending command, which the session applies.
//   fence   every 200 ms, by our own monotonic clock: a session whose last successful renewal
//           (time the request was *sent*) is older than the lease minus a safety margin ends its
//           socket, without asking the database, which may be the thing we cannot reach. A
//           process woken from SIGSTOP therefore ends its sockets before anything else is done
//           for them; socket events also check the same clock before acting.
// Stopping: stop claiming, end every socket (their closes awaited, briefly), let writes of what
// they received finish, then release every lease in one statement.
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { Clock } from '../clock.ts';
import type { ConnectorConfig } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { createPollLoop, type PollLoop } from '../poll-loop.ts';
import { type ClaimedSession, claimSessions, claimSessionsWithinShare, connectorCannotOpen, type RenewedLease, releaseSessions, renewLeases, type SessionShare } from '../sql/leases.ts';
import type { MakeSocket } from '../whatsapp/make-socket.ts';
import type { LiveSession, SessionDirectory } from './context.ts';
import { Semaphore } from './semaphore.ts';
import { type EndReason, ManagedSession, type SessionHooks } from './session.ts';
import { StartPacer } from './start-pacer.ts';

const FENCE_CHECK_MS = 200;
/** How long a session this connector could not decrypt is left to the others before it tries again. */
const UNREADABLE_SKIP_MS = 10 * 60_000;

export interface SessionManagerDeps {
  sql: Sql;
  config: ConnectorConfig;
  logger: Logger;
  baileysLogger: Logger;
  metrics: Metrics;
  clock: Clock;
  makeSocket: MakeSocket;
  hooks?: SessionHooks;
  /** After sockets ended and before their leases are released (inbound writes): all, or a hand-over's. */
  beforeRelease?: (agentIds?: readonly string[]) => Promise<void>;
}

interface Held {
  session: ManagedSession;
  /** Monotonic time at which the last successful claim/renewal covering this session was sent. */
  renewedAt: number;
}

export class SessionManager implements SessionDirectory {
  private held = new Map<string, Held>();
  private timers: NodeJS.Timeout[] = [];
  private readonly claims: PollLoop;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private readonly slots: Semaphore;
  /** Spreads new sockets in time (CONNECTOR_CONNECT_INTERVAL_MS). */
  readonly starts: StartPacer;
  private heartbeatFailingSince: number | undefined;
  /** Sessions handed back as undecryptable, with the monotonic time until which they are skipped. */
  private unreadable = new Map<string, number>();
  /** Sessions handed back to the fleet, with the monotonic time until which they are skipped. */
  private handedBack = new Map<string, number>();
  /** The share the last claim round saw (rebalancing on). */
  private lastShare: SessionShare | undefined;
  /** Handing back until this connector holds its share (started above share + tolerance). */
  private rebalancing = false;
  private handBackInFlight: Promise<void> | undefined;
  private nextHandBackAt = 0;
  /** True once the first renewal or claim round trip has succeeded (readiness). */
  healthy = false;

  constructor(private readonly deps: SessionManagerDeps) {
    this.slots = new Semaphore(deps.config.connectConcurrency);
    this.starts = new StartPacer(deps.config.connectIntervalMs, deps.clock);
    this.claims = createPollLoop({ name: 'claiming sessions', fetch: () => this.claim(), intervalMs: deps.config.sweepIntervalMs, logger: deps.logger });
  }

  get leaseMs(): number {
    return this.deps.config.leaseSeconds * 1000;
  }

  /** Self-fencing limit: the lease minus a margin for clock rate and the renewal's own latency. */
  private get freshForMs(): number {
    return this.leaseMs - Math.min(2_000, this.leaseMs / 5);
  }

  start(): void {
    const { renewIntervalMs } = this.deps.config;
    this.timers.push(setInterval(() => this.fence(), FENCE_CHECK_MS));
    this.timers.push(setInterval(() => void this.renew(), renewIntervalMs));
    this.timers.push(setInterval(() => void this.syncCreds(), this.deps.config.credsSyncIntervalMs));
    this.claims.start();
  }

  // --- SessionDirectory -------------------------------------------------------------------

  open(): LiveSession[] {
    return [...this.held.values()].map((h) => h.session).filter((s) => s.isOpen());
  }

  get(agentId: string): LiveSession | undefined {
    return this.held.get(agentId)?.session;
  }

  /** Held sessions with their epochs (for tests and metrics). */
  holdings(): Array<{ agentId: string; epoch: bigint; state: string; status: string }> {
    return [...this.held.values()].map(({ session }) => ({ agentId: session.agentId, epoch: session.epoch(), state: session.state, status: session.status }));
  }

  // --- claim ------------------------------------------------------------------------------

  /** Asks for a claim round soon (wake-ups call this; several calls coalesce). */
  sweep(): void {
    this.claims.nudge();
  }

  /** The share the last claim round saw (rebalancing on; tests and metrics). */
  share(): SessionShare | undefined {
    return this.lastShare;
  }

  /** One claim round; true when it took as many sessions as there was room for. */
  private async claim(): Promise<boolean> {
    const { sql, config, clock } = this.deps;
    const free = config.capacity - this.held.size;
    // Rebalancing asks for the share even when full: it may have to hand sessions back.
    if (free <= 0 && !config.rebalance.enabled) return false;
    const sentAt = clock.monotonic();
    // Only sessions sealed under a key version we hold, and not those we just failed to open or handed back.
    const versions = [...config.keyring.keys.keys()];
    for (const [agentId, until] of this.unreadable) if (until <= sentAt) this.unreadable.delete(agentId);
    for (const [agentId, until] of this.handedBack) if (until <= sentAt) this.handedBack.delete(agentId);
    const p = { connector: config.connectorId, leaseSeconds: config.leaseSeconds, keyVersions: versions, skip: [...this.unreadable.keys(), ...this.handedBack.keys()] };
    let rows: ClaimedSession[];
    let limit = free;
    if (config.rebalance.enabled) {
      const round = await claimSessionsWithinShare(sql, { ...p, held: this.held.size });
      rows = round.claimed;
      limit = round.share.claimLimit;
      this.lastShare = round.share;
      this.deps.metrics.sessionShare.set(round.share.target);
    } else {
      rows = await claimSessions(sql, { ...p, limit: free });
    }
    this.healthy = true;
    const handBack: string[] = [];
    for (const row of rows) {
      const agentId = row.agent_id;
      const epoch = row.lease_epoch;
      // Handed back as unreadable while this claim waited for a connection: give it back again.
      if (this.unreadable.has(agentId)) {
        handBack.push(agentId);
        continue;
      }
      this.deps.metrics.leaseClaims.inc();
      if (row.taken_over_from) {
        this.deps.metrics.leaseTakeovers.inc();
        this.deps.logger.info({ agentId, from: row.taken_over_from }, 'took over an expired lease');
      }
      // Our own lease had expired and was claimed again by us: the old session was fenced off.
      this.held.get(agentId)?.session.lose('reclaimed');
      if (this.stopped) continue; // released below with everything else
      this.startSession(agentId, epoch, sentAt);
    }
    if (handBack.length > 0) await releaseSessions(sql, { connector: config.connectorId, agents: handBack });
    if (this.lastShare && !this.stopped) this.rebalance(this.lastShare);
    return limit > 0 && rows.length >= limit;
  }

  // --- hand back --------------------------------------------------------------------------

  /** Starts a hand-back batch when this connector holds more than its share (see the top of this file). */
  private rebalance(share: SessionShare): void {
    const { batch, intervalMs, tolerancePercent } = this.deps.config.rebalance;
    const held = this.held.size;
    const tolerance = Math.ceil((share.target * tolerancePercent) / 100);
    if (held > share.target + tolerance) this.rebalancing = true;
    if (held <= share.target) this.rebalancing = false;
    const now = this.deps.clock.monotonic();
    if (!this.rebalancing || this.handBackInFlight || now < this.nextHandBackAt) return;
    // Cheapest to move first: sessions not connected right now; never one that is being linked.
    const movable = [...this.held.values()]
      .map((h) => h.session)
      .filter((s) => !s.ended && s.status !== 'qr' && s.status !== 'pairing_code')
      .sort((x, y) => Number(x.state === 'open') - Number(y.state === 'open'));
    const chosen = movable.slice(0, Math.min(batch, held - share.target));
    if (chosen.length === 0) return;
    this.nextHandBackAt = now + intervalMs;
    this.deps.logger.info({ held, share: share.share, target: share.target, liveConnectors: share.liveConnectors, handingBack: chosen.length }, 'above the fleet share; handing sessions back');
    this.handBackInFlight = this.handBack(chosen).finally(() => {
      this.handBackInFlight = undefined;
    });
  }

  /** Hands sessions over: sockets end and close, their inbound writes finish, then their leases are released. */
  private async handBack(sessions: ManagedSession[]): Promise<void> {
    const { sql, config, clock, logger, metrics } = this.deps;
    // Skipped from now on: a claim round in flight must not take one back.
    const until = clock.monotonic() + this.leaseMs;
    for (const s of sessions) this.handedBack.set(s.agentId, until);
    const over = await Promise.all(sessions.map(async (s) => ((await s.handOver()) ? s.agentId : undefined)));
    const agents = over.filter((id): id is string => id !== undefined);
    if (agents.length === 0) return;
    await this.deps.beforeRelease?.(agents);
    try {
      await releaseSessions(sql, { connector: config.connectorId, agents });
      metrics.sessionsHandedBack.inc(agents.length);
    } catch (error) {
      logger.warn({ err: error, sessions: agents.length }, 'releasing handed-back sessions failed; their leases will expire');
    }
  }

  private startSession(agentId: string, epoch: bigint, renewedAt: number): void {
    const { config, metrics, clock, sql, makeSocket, logger, baileysLogger } = this.deps;
    const session = new ManagedSession({
      agentId,
      epoch,
      connectorId: config.connectorId,
      sql,
      logger,
      baileysLogger,
      config,
      keyring: config.keyring,
      metrics,
      clock,
      makeSocket,
      connectSlots: this.slots,
      startPacer: this.starts,
      hooks: this.deps.hooks ?? {},
      leaseFresh: () => this.isFresh(agentId),
      renewNow: () => this.renew(),
      onEnded: (s, reason) => this.onEnded(s, reason),
    });
    this.held.set(agentId, { session, renewedAt });
    void session.start();
  }

  private isFresh(agentId: string): boolean {
    const held = this.held.get(agentId);
    return held !== undefined && this.deps.clock.monotonic() - held.renewedAt < this.freshForMs;
  }

  private onEnded(session: ManagedSession, reason: EndReason): void {
    const held = this.held.get(session.agentId);
    if (held?.session !== session) return;
    this.held.delete(session.agentId);
    if (reason === 'unreadable') this.unreadable.set(session.agentId, this.deps.clock.monotonic() + UNREADABLE_SKIP_MS);
    if (reason === 'terminal' || reason === 'disconnected' || reason === 'unreadable') {
      const { sql, config, logger } = this.deps;
      // An unreadable session first takes this connector out of the share for its key version
      // (the connector that can open it then takes all of them, not half), then it is handed
      // back at once (a new link request may be waiting for any connector).
      const marked = reason === 'unreadable'
        ? connectorCannotOpen(sql, { connector: config.connectorId, agent: session.agentId }).catch(
            (error) => logger.warn({ err: error, agentId: session.agentId }, 'recording the unreadable key version failed'),
          )
        : Promise.resolve();
      void marked.then(() => releaseSessions(sql, { connector: config.connectorId, agents: [session.agentId] })).catch(
        (error) => logger.warn({ err: error, agentId: session.agentId }, 'release failed; the lease will expire'),
      );
    }
    if (reason !== 'shutdown' && reason !== 'handed_over') this.sweep();
  }

  // --- renew ------------------------------------------------------------------------------

  /** One renewal round; concurrent callers share the one in flight. */
  renew(): Promise<void> {
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    const { sql, config, clock, metrics, logger } = this.deps;
    const entries = [...this.held.values()].filter((h) => !h.session.ended);
    const agents = entries.map((h) => h.session.agentId);
    const epochs = entries.map((h) => h.session.epoch());
    const sentAt = clock.monotonic();
    let rows: RenewedLease[];
    try {
      rows = await renewLeases(sql, { connector: config.connectorId, agents, epochs, leaseSeconds: config.leaseSeconds });
    } catch (error) {
      metrics.heartbeatFailures.inc();
      this.heartbeatFailingSince ??= sentAt;
      logger.error({ err: error, failingForMs: Math.round(clock.monotonic() - this.heartbeatFailingSince) }, 'lease renewal failed');
      return;
    }
    this.heartbeatFailingSince = undefined;
    metrics.heartbeatLastSuccess.set(clock.wall() / 1000);
    this.healthy = true;
    for (const row of rows) {
      const held = this.held.get(row.agent_id);
      if (!held || held.session.epoch() !== row.lease_epoch) continue;
      if (!row.renewed) {
        held.session.lose('renewal_refused');
        continue;
      }
      held.renewedAt = sentAt;
      if (row.desired_state !== 'connected' || row.pending_command) {
        void held.session.apply(row.desired_state, row.pending_command, row.command_force === true);
      }
    }
  }

  /** Self-fencing by our own clock (see the top of this file). */
  private fence(): void {
    const now = this.deps.clock.monotonic();
    for (const held of [...this.held.values()]) {
      if (now - held.renewedAt >= this.freshForMs) held.session.lose('self_fenced');
    }
  }

  private async syncCreds(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => h.session.syncCreds()));
  }

  // --- stop -------------------------------------------------------------------------------

  /** Stop claiming (shutdown begins; in-flight work may still finish). */
  stopClaiming(): void {
    this.stopped = true;
    void this.claims.stop();
  }

  /** End every socket, then release every lease in one statement so others take over at once. */
  async stop(): Promise<number> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    // A claim in flight is awaited: its sessions are then released with the rest, not left leased.
    await this.claims.stop();
    await this.renewing?.catch(() => {});
    // Sockets closed before the leases go: the next owner never logs in beside one of them.
    const closed = [...this.held.values()].map(({ session }) => session.shutdown());
    this.held.clear();
    await Promise.all([Promise.all(closed), this.handBackInFlight]);
    await this.deps.beforeRelease?.();
    return releaseSessions(this.deps.sql, { connector: this.deps.config.connectorId, agents: null });
  }

  /** Crash-like stop for tests of takeover: timers and sockets end, nothing is released. */
  abandon(): void {
    this.stopped = true;
    void this.claims.stop();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const { session } of [...this.held.values()]) session.lose('abandoned');
    this.held.clear();
  }
}
