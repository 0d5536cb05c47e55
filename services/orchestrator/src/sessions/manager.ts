import { randomBytes } from 'node:crypto';
import {
  AppError,
  isReplicaGone,
  type EgressCredentialV1,
  type EventPayload,
  type ExecResultV1,
  type SandboxSpecV1,
  type SessionStatusV1,
  type WorkspaceSourceV1,
} from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { EventLog } from './event-log';
import { CommandStatus } from './command-status';
import type { Clock, PreparedWorkspace, Publisher, SessionExpectation, SessionsRepository, ShellPort, WorkspacePort } from './ports';
import { isEnded, isPooled, POOL_OWNER, RUNNABLE_STATUSES, type SessionRecord } from './session';
import type { ShellPlacement } from './placement';
import { assertMove } from './state';

export interface SessionPolicy {
  /** Live sessions at once, all users together. */
  maxSessions: number;
  /** Live sessions at once per user. */
  maxPerUser: number;
  /** Ready/idle sessions with no activity for this long are closed. */
  idleMs: number;
  /** Default time a command may run when the request says nothing. */
  execTimeoutMs: number;
}

export interface CreateSpec {
  owner: string;
  source: WorkspaceSourceV1;
  sandbox: SandboxSpecV1;
  workspacePolicy: 'remove' | 'keep';
  projectId?: string;
  env?: Record<string, string>;
  /** Built for this jail from the provider registry (SECRET: provider keys); given to shell.open, never stored. */
  credentials?: EgressCredentialV1[];
  forkedFrom?: { sessionId: string; snapshotId?: string };
  /** How the workspace is made: prepared from the source (default) or forked. */
  workspace?: () => Promise<PreparedWorkspace>;
  /** The sandbox driver and its settings, from what the prepared workspace's files ask for (placement.ts); a jail when absent. */
  placement?: (ws: PreparedWorkspace) => Promise<ShellPlacement>;
}

type LifecycleFact = 'session.created' | 'session.ready' | 'session.closed' | 'session.failed';
/** What every lifecycle fact says of its session. */
interface FactBase {
  sessionId: string;
  user: string;
  projectId?: string;
  status: SessionStatusV1;
  at: string;
}

export const newSessionId = () => `ses_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The session lifecycle on one replica: create (workspace, then jail, undoing on failure), exec and
 * interrupt (routed to the jail's shell replica), close (jail, then workspace per policy), fail, the
 * concurrency limits and idle closing. Every state change is stored, appended to the session's event
 * log and, for the lifecycle facts, published.
 */
export class SessionManager {
  /** Closes in progress on this replica. */
  private readonly closing = new Map<string, Promise<SessionRecord>>();
  /** Busy and idle, from the commands' starts and completions. */
  readonly commands: CommandStatus;

  constructor(
    private readonly deps: {
      repo: SessionsRepository;
      events: EventLog;
      workspace: WorkspacePort;
      shell: ShellPort;
      publisher: Publisher;
      clock: Clock;
      log: Logger;
      self: string;
      policy: SessionPolicy;
    },
  ) {
    this.commands = new CommandStatus(deps);
  }

  get self(): string {
    return this.deps.self;
  }

  async get(id: string): Promise<SessionRecord> {
    const s = await this.deps.repo.get(id);
    if (!s) throw new AppError('NOT_FOUND', `no session ${id}`, { details: { sessionId: id } });
    return s;
  }

  /** Creates a session and waits until it is ready; on failure it is `failed`, with nothing left behind. */
  async create(spec: CreateSpec, requestedAt = this.deps.clock.now()): Promise<SessionRecord> {
    const { repo, events, clock } = this.deps;
    const now = clock.now().toISOString();
    const record: SessionRecord = {
      id: newSessionId(),
      owner: spec.owner,
      status: 'creating',
      projectId: spec.projectId,
      source: spec.source,
      sandbox: spec.sandbox,
      workspacePolicy: spec.workspacePolicy,
      forkedFrom: spec.forkedFrom,
      ownerInstance: this.deps.self,
      lastSeq: 0,
      createdAt: now,
      updatedAt: now,
      lastActivityAt: now,
    };
    await repo.insert(record);
    // The warm pool's sessions count against no limit (the pool's size bounds them) until one is taken.
    const pooled = isPooled(record);
    if (!pooled) await this.withinLimits(record, () => repo.remove(record.id));
    this.fact('session.created', record, {});

    let ws: PreparedWorkspace | undefined;
    let jail: { instanceId: string } | undefined;
    try {
      // The log's first event is numbered here (there is no jail yet); the jail's stream continues after it.
      // Its publish overlaps the workspace's preparation, and is confirmed before the jail numbers any.
      events.created(record.id);
      const creating = events.append(record, 'status', { from: null, to: 'creating' });
      creating.catch(() => undefined);
      ws = await (spec.workspace ?? (() => this.deps.workspace.prepare(spec.source, { quotaMb: spec.sandbox.diskMb, ...(pooled ? {} : { owner: spec.owner }) })))();
      const created = await creating;
      const dir = ws.path;
      const placement = await spec.placement?.(ws);
      // Recorded while the jail opens: recovery after a crash needs the workspace id to undo it.
      const [recorded, opened] = await Promise.allSettled([
        this.patch(record.id, { workspaceId: ws.workspaceId, workspacePath: dir }),
        this.deps.shell.open({ sessionId: record.id, workspaceDir: dir, sandbox: spec.sandbox, credentials: spec.credentials, placement, env: spec.env, firstSeq: created + 1 }),
      ]);
      if (opened.status === 'fulfilled') {
        jail = opened.value;
        events.jailOpened(record.id);
      }
      if (opened.status === 'rejected') throw opened.reason;
      if (recorded.status === 'rejected') throw recorded.reason;
      const ready = await this.move(record.id, 'creating', 'ready', {
        shellInstanceId: opened.value.instanceId,
        limitsInForce: opened.value.limitsInForce,
        ...(opened.value.networkInForce ? { networkInForce: opened.value.networkInForce } : {}),
        driver: opened.value.driver,
        ...(opened.value.container ? { container: opened.value.container } : {}),
        ...(opened.value.driverNote ? { driverNote: opened.value.driverNote } : {}),
        readyAt: clock.now().toISOString(),
      });
      this.fact('session.ready', ready, { setupMs: clock.now().getTime() - requestedAt.getTime() });
      return ready;
    } catch (err) {
      // Undo in reverse: the jail if it opened (but could not be recorded), then the workspace.
      const log = this.deps.log;
      if (jail) {
        const last = await this.deps.shell.close(jail.instanceId, record.id).catch((e: Error) => void log.warn({ err: e, sessionId: record.id }, 'jail not closed while undoing'));
        events.jailClosed(record.id, last);
      }
      if (ws) await this.deps.workspace.remove(ws.workspaceId).catch((e: Error) => log.warn({ err: e, workspaceId: ws?.workspaceId }, 'workspace not removed while undoing'));
      const step = jail ? 'recording the session' : ws ? 'opening the jail' : 'preparing the workspace';
      await this.fail(record.id, `${step} failed: ${reasonOf(err)}`);
      throw err instanceof AppError ? err : new AppError('INTERNAL', `session setup failed while ${step}`, { cause: err });
    }
  }

  /**
   * Gives a warm pool's session (this replica's, ready) to `owner`: one compare-and-set on the pool's
   * owner, then the limits as for a create. Undefined when it is no longer the pool's to give (failed
   * meanwhile, or given already); LIMIT_REACHED gives it back to the pool.
   */
  async assign(id: string, owner: string, requestedAt = this.deps.clock.now()): Promise<SessionRecord | undefined> {
    const now = this.deps.clock.now().toISOString();
    // Its life as the user's starts now: the idle timer, and the times the API shows.
    const taken = await this.deps.repo.update(id, { owner, createdAt: now, readyAt: now, lastActivityAt: now }, { owner: POOL_OWNER, statuses: ['ready'], ownerInstance: this.deps.self });
    if (!taken) return undefined;
    await this.withinLimits(taken, async () => void (await this.deps.repo.update(id, { owner: POOL_OWNER }, { owner })));
    this.fact('session.created', taken, {});
    this.fact('session.ready', taken, { setupMs: this.deps.clock.now().getTime() - requestedAt.getTime() });
    return taken;
  }

  /** Closes a pooled session, if it is still the pool's: one given meanwhile is its owner's to close. */
  async closePooled(id: string, reason: string): Promise<boolean> {
    if (!(await this.tryMove(id, 'ready', 'closing', { closeReason: reason }, { owner: POOL_OWNER }))) return false;
    await this.close(id, reason);
    return true;
  }

  /**
   * Counts after the session is stored: two replicas creating at once both see both rows, so the limit
   * can refuse one too many but never admit one too many. Over a limit: `undo`, then LIMIT_REACHED.
   */
  private async withinLimits(s: SessionRecord, undo: () => Promise<void>): Promise<void> {
    const { repo, policy } = this.deps;
    const all = await repo.countLive();
    // A user's count cannot exceed the total: only counted when the total could break the per-user limit.
    const mine = all > policy.maxPerUser ? await repo.countLive(s.owner) : all;
    if (all <= policy.maxSessions && mine <= policy.maxPerUser) return;
    await undo();
    const perUser = mine > policy.maxPerUser;
    throw new AppError(
      'LIMIT_REACHED',
      perUser
        ? `${s.owner} already has ${policy.maxPerUser} live sessions (the per-user limit); close one first`
        : `the platform already runs ${policy.maxSessions} live sessions (the overall limit); try again when one closes`,
      { details: { limit: perUser ? 'per-user' : 'overall', max: perUser ? policy.maxPerUser : policy.maxSessions }, retryable: true },
    );
  }

  /**
   * Runs a command in the session's jail (the agents' tools; clients' commands go from the gateway
   * straight to the shell). Busy/idle follow the command's events in the stored log as for every
   * other command; the reply, the command's authoritative completion, is applied too, so the session
   * is idle once this returns even if the log is not stored yet. A record just read saves reading it again.
   */
  async exec(session: string | SessionRecord, req: { command: string; commandId?: string; timeoutMs?: number; user?: string }): Promise<ExecResultV1> {
    const s = typeof session === 'string' ? await this.get(session) : session;
    const id = s.id;
    if (!RUNNABLE_STATUSES.includes(s.status) || !s.shellInstanceId) {
      throw new AppError('INVALID_STATE', `session ${id} is ${s.status}; commands run only in a ready, busy or idle session`, { details: { status: s.status } });
    }
    const commandId = req.commandId ?? `cmd_${randomBytes(8).toString('hex')}`;
    try {
      const result = await this.deps.shell.exec(s.shellInstanceId, { sessionId: id, command: req.command, commandId, timeoutMs: req.timeoutMs ?? this.deps.policy.execTimeoutMs, user: req.user });
      // The reply says the command started and ended: both are applied now (the stored log's own
      // events follow a batch behind and then change nothing; a completion alone leaves `ready` as is).
      await this.commands.started(id, commandId);
      await this.commands.completed(id, commandId);
      return result;
    } catch (err) {
      // A shell replica that is gone may be restarting with the jail kept: the reconciler waits for
      // it (ORCHESTRATOR_SHELL_RESTART_GRACE_MS) before the session fails.
      if (isReplicaGone(err)) throw new AppError('SERVICE_UNAVAILABLE', `the shell replica ${s.shellInstanceId} holding session ${id}'s jail is not on the bus (restarting, or gone); try again shortly`, { details: { reason: 'no_consumer', retryAfterSeconds: 5 } });
      throw err;
    }
  }

  async interrupt(id: string): Promise<boolean> {
    const s = await this.get(id);
    if (!s.shellInstanceId || isEnded(s.status)) return false;
    return this.deps.shell.interrupt(s.shellInstanceId, id);
  }

  /**
   * Closes: ends the jail, keeps or removes the workspace. Closing an ended session returns it as is;
   * two closes at once both end with the closed session.
   */
  close(id: string, reason = 'closed by its user', policy?: 'remove' | 'keep'): Promise<SessionRecord> {
    // A close already under way here is joined, so the jail and workspace are ended once.
    const under = this.closing.get(id);
    if (under) return under;
    const p = this.closeNow(id, reason, policy).finally(() => this.closing.delete(id));
    this.closing.set(id, p);
    return p;
  }

  private async closeNow(id: string, reason: string, policy?: 'remove' | 'keep'): Promise<SessionRecord> {
    const s = await this.get(id);
    if (isEnded(s.status)) return s;
    if (s.status === 'creating') throw new AppError('INVALID_STATE', `session ${id} is still being created; close it once it is ready`);
    // It may change meanwhile (a command ending, another close): then look again.
    if (s.status !== 'closing' && !(await this.tryMove(id, s.status, 'closing', { closeReason: reason }))) return this.closeNow(id, reason, policy);
    if (s.shellInstanceId) {
      const last = await this.deps.shell.close(s.shellInstanceId, id).catch((err: Error) => void this.deps.log.warn({ err, sessionId: id }, 'jail not closed cleanly (replica gone?)'));
      this.deps.events.jailClosed(id, last);
    }
    if (s.workspaceId && (policy ?? s.workspacePolicy) === 'remove') {
      await this.deps.workspace.remove(s.workspaceId).catch((err: Error) => this.deps.log.warn({ err, sessionId: id }, 'workspace not removed'));
    }
    const closed = await this.tryMove(id, 'closing', 'closed', { closedAt: this.deps.clock.now().toISOString(), closeReason: s.closeReason ?? reason });
    if (!closed) return this.get(id); // a concurrent close (or a failure) ended it first
    this.fact('session.closed', closed, { reason: closed.closeReason ?? reason, durationMs: Date.parse(closed.closedAt!) - Date.parse(closed.createdAt) });
    this.deps.events.forget(id);
    return closed;
  }

  /**
   * Marks a session failed with a reason (from any live state); its log is flushed and released.
   * `onlyFrom`: fail it only if it is still in one of these states, for a verdict drawn from a state
   * that may since have moved on (the reconciler saw `idle` and no jail; meanwhile a close began).
   */
  async fail(id: string, reason: string, onlyFrom?: readonly SessionStatusV1[], jailLastSeq?: number): Promise<SessionRecord | undefined> {
    const s = await this.deps.repo.get(id);
    if (!s || isEnded(s.status) || (onlyFrom && !onlyFrom.includes(s.status))) return s;
    const failed = await this.deps.repo.update(id, { status: 'failed', failureReason: reason, closedAt: this.deps.clock.now().toISOString() }, { statuses: [s.status] });
    if (!failed) return this.fail(id, reason, onlyFrom, jailLastSeq); // it moved meanwhile: try again from its new state
    // A failed session keeps no jail. Closing it also answers the last seq its stream gave, after
    // which the failure is numbered here (unknown when the replica is gone: see EventLog.append).
    if (jailLastSeq === undefined && s.shellInstanceId && s.status !== 'creating') {
      jailLastSeq = await this.deps.shell.close(s.shellInstanceId, id).catch(() => undefined);
    }
    if (s.status !== 'creating') this.deps.events.jailClosed(id, jailLastSeq);
    await this.appendStatus(failed, { from: s.status, to: 'failed', reason });
    this.deps.log.warn({ sessionId: id, reason }, 'session failed');
    this.fact('session.failed', failed, { reason });
    this.deps.events.forget(id);
    return failed;
  }

  /** Closes this replica's ready/idle sessions that have been quiet for longer than the policy allows. */
  async closeIdle(): Promise<string[]> {
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.policy.idleMs);
    const closed: string[] = [];
    // The database picks the candidates: with thousands of live sessions, reading them all every
    // period cost this replica's thread tens of ms each time.
    for (const s of await this.deps.repo.listIdle(this.deps.self, cutoff)) {
      const reason = `idle for more than ${Math.round(this.deps.policy.idleMs / 1000)} s`;
      // Moved to closing only if still quiet: a command that started since (its event made the session
      // busy) keeps it open; the close then finds it closing already.
      if (!(await this.tryMove(s.id, s.status, 'closing', { closeReason: reason }, { runningCommandId: null }).catch(() => undefined))) continue;
      await this.close(s.id, reason).then(
        () => closed.push(s.id),
        (err: Error) => this.deps.log.warn({ err, sessionId: s.id }, 'idle session not closed'),
      );
    }
    return closed;
  }

  /** Records activity (an agent step, terminal input) so the session is not closed as idle. */
  async touch(id: string): Promise<void> {
    await this.deps.repo.update(id, { lastActivityAt: this.deps.clock.now().toISOString() });
  }

  private async patch(id: string, patch: Partial<SessionRecord>): Promise<SessionRecord> {
    const r = await this.deps.repo.update(id, patch);
    if (!r) throw new AppError('NOT_FOUND', `session ${id} vanished`);
    return r;
  }

  /** A state change: checked against the machine, stored (compare-and-set on the old state), logged. */
  private async move(id: string, from: SessionStatusV1, to: SessionStatusV1, patch: Partial<SessionRecord> = {}): Promise<SessionRecord> {
    const r = await this.tryMove(id, from, to, patch);
    if (!r) {
      const now = await this.get(id);
      throw new AppError('INVALID_STATE', `session ${id} is ${now.status}, not ${from}`, { details: { status: now.status } });
    }
    return r;
  }

  /** As move, but undefined when the session is no longer `from`. */
  private async tryMove(id: string, from: SessionStatusV1, to: SessionStatusV1, patch: Partial<SessionRecord> = {}, expect: SessionExpectation = {}): Promise<SessionRecord | undefined> {
    // Staying in a state is a compare-and-set of the patch alone (a command fact on an idle session).
    if (from !== to) assertMove(id, from, to);
    const r = await this.deps.repo.update(id, { ...patch, status: to }, { ...expect, statuses: [from] });
    if (r && from !== to) await this.appendStatus(r, { from, to, ...(patch.closeReason ? { reason: patch.closeReason } : {}) });
    return r;
  }

  /** Logs a state change already stored; a log that cannot take it (the jail's replica unreachable) does not undo the change. */
  private async appendStatus(s: SessionRecord, data: { from: SessionStatusV1; to: SessionStatusV1; reason?: string }): Promise<void> {
    await this.deps.events.append(s, 'status', data).catch((err: Error) => this.deps.log.warn({ err, sessionId: s.id, ...data }, 'state change not logged'));
  }

  /**
   * Publishes a lifecycle fact (analytics, the gateways' caches), not awaited. The warm pool's sessions
   * have none: their life as a session, facts included, starts when one is given (assign).
   */
  private fact<N extends LifecycleFact>(name: N, s: SessionRecord, extra: Omit<EventPayload<N>, keyof FactBase>): void {
    if (isPooled(s)) return;
    const base: FactBase = { sessionId: s.id, user: s.owner, ...(s.projectId ? { projectId: s.projectId } : {}), status: s.status, at: this.deps.clock.now().toISOString() };
    this.deps.publisher.publish(name, { ...base, ...extra } as EventPayload<N>).catch((err: Error) => this.deps.log.warn({ err }, `${name} not published`));
  }
}

