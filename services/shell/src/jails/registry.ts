import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type AppendedKindV1, type CommandReply, type CommandRequest, type EventPayload, type SessionEventData } from '@codeagent/contracts';
import { describeRestored, restoredFields, type AdoptedSandbox, type CrashInfo, type Limits, type OpenOptions, type Sandbox, type SandboxDriver, type SandboxState } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import { EgressDenials, type EgressDenialOptions } from './egress-denials';
import { shellMetrics } from './metrics';
import { OutputStream, type OutputStreamOptions } from './output-stream';
import { Jail, type ExecRequest } from './jail';
import type { KeptJail, KeptJails } from './store';
import type { DriverName, EventSink } from './types';

export interface RegistryOptions {
  /** This replica: callers send a session's later commands to its own queue. */
  instanceId: string;
  maxSessions: number;
  /** The drivers this replica can use; `docker` is absent when the service was built without it. */
  drivers: Partial<Record<DriverName, SandboxDriver>>;
  sink: EventSink;
  log: Logger;
  stream: OutputStreamOptions;
  /** Cap of stdout and of stderr each in an exec result. */
  maxResultBytes: number;
  /** Limits for fields the request leaves out. */
  defaultLimits: Limits;
  /** Image for docker sessions that name none. */
  defaultDockerImage?: string;
  /** How refused egress is coalesced before it is published (defaults: 10 s windows, 20 events each). */
  egressDenials?: EgressDenialOptions;
  /** Where jails are kept for this replica's next start (SHELL_KEEP_JAILS); absent: every jail closes on stop. */
  kept?: KeptJails;
  /**
   * Resolves once this host's workspaces are mounted (after a reboot, by the workspace service at its
   * start): a kept jail that is gone is started again on its workspace only then (AdoptOptions.beforeRestore).
   */
  workspacesMounted?: () => Promise<void>;
}

type OpenRequest = CommandRequest<'shell.open'>;
type Opened = CommandReply<'shell.open'>;

/**
 * The jails this replica holds, by session id. Enforces the per-replica maximum, routes every later
 * command to its session, and closes them all on shutdown. Free of the bus: events go to an EventSink.
 */
export class JailRegistry {
  private readonly sessions = new Map<string, Jail>();
  /** Opens in progress: they count against the maximum, and a duplicate shell.open joins them. */
  private readonly opening = new Map<string, { workspaceDir: string; done: Promise<Opened> }>();
  private readonly denials: EgressDenials;

  constructor(private readonly opts: RegistryOptions) {
    this.denials = new EgressDenials((d) => this.egressDenied(d), opts.egressDenials ?? { windowMs: 10_000, maxEventsPerWindow: 20 }, opts.log.child({ component: 'egress' }));
    if (opts.kept) this.refresher = setInterval(() => this.refreshKept(), KEPT_REFRESH_MS).unref();
  }

  /** Saves the kept state of jails whose shell moved or exported since it was last saved (for a reboot). */
  private readonly refresher?: NodeJS.Timeout;
  private readonly shellSaved = new WeakMap<Jail, number>();
  private refreshKept(): void {
    for (const s of this.sessions.values()) {
      if (!this.keeps(s.sandbox) || s.isClosing) continue;
      if ((s.sandbox.shellSavedAt?.() ?? 0) > (this.shellSaved.get(s) ?? 0)) this.saveKept(s);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Opens a jail, or answers the same again for a session already open on the same workspace. */
  async open(req: OpenRequest): Promise<Opened> {
    const existing = this.sessions.get(req.sessionId);
    if (existing && !existing.isClosing) {
      if (existing.workspaceDir !== path.resolve(req.workspaceDir)) {
        throw new AppError('CONFLICT', `session ${req.sessionId} is already open here on another workspace (${existing.workspaceDir})`);
      }
      return this.opened(existing);
    }
    const pending = this.opening.get(req.sessionId);
    if (pending) return pending.done;
    if (this.sessions.size + this.opening.size >= this.opts.maxSessions) {
      shellMetrics.refused().inc({ reason: 'limit' });
      throw new AppError(
        'LIMIT_REACHED',
        `this shell replica (${this.opts.instanceId}) already holds its maximum of ${this.opts.maxSessions} sessions (SHELL_MAX_SESSIONS); close one or run another replica`,
        { details: { maxSessions: this.opts.maxSessions, instanceId: this.opts.instanceId } },
      );
    }
    const done = this.doOpen(req);
    this.opening.set(req.sessionId, { workspaceDir: req.workspaceDir, done });
    try {
      return await done;
    } finally {
      this.opening.delete(req.sessionId);
    }
  }

  async exec(sessionId: string, req: ExecRequest) {
    return this.get(sessionId).exec(req);
  }

  async interrupt(sessionId: string): Promise<boolean> {
    return this.get(sessionId).interrupt();
  }

  async openPty(sessionId: string, cols?: number, rows?: number): Promise<void> {
    return this.get(sessionId).openPty(cols, rows);
  }

  ptyInput(sessionId: string, data: string): void {
    this.get(sessionId).ptyInput(data);
  }

  ptyResize(sessionId: string, cols: number, rows: number): void {
    this.get(sessionId).ptyResize(cols, rows);
  }

  /** The session's sandbox (stdio processes are started in it); NOT_FOUND as for every command. */
  sandboxOf(sessionId: string) {
    return this.get(sessionId).sandbox;
  }

  /** The host folder the session's jail has at /workspace; NOT_FOUND as for every command. */
  workspaceOf(sessionId: string): string {
    return this.get(sessionId).workspaceDir;
  }

  /** Appends an event to the session's log through its stream; resolves with its seq once published. */
  append<K extends AppendedKindV1>(sessionId: string, kind: K, data: SessionEventData<K>): Promise<number> {
    return this.get(sessionId).append(kind, data);
  }

  /**
   * Closes a session: `closed: false` when this replica does not hold it (closing twice is not an
   * error), else the last seq its stream gave, after which the orchestrator numbers the session's events.
   */
  async close(sessionId: string): Promise<CommandReply<'shell.close'>> {
    const session = this.sessions.get(sessionId);
    if (!session) return { closed: false };
    // Before the stream ends: what the window holds is part of the session's log.
    this.denials.close(sessionId);
    try {
      return { closed: true, lastSeq: await session.close(this.opts.instanceId, { publish: true }) };
    } finally {
      this.forget(session);
      this.opts.kept?.remove(sessionId);
    }
  }

  list(): CommandReply<'shell.list'> {
    return {
      instanceId: this.opts.instanceId,
      sessions: [...this.sessions.values()].map((s) => ({
        sessionId: s.sessionId,
        busy: s.busy,
        openedAt: s.openedAt.toISOString(),
        driver: s.driver,
        ...(s.sandbox.container ? { container: s.sandbox.container } : {}),
      })),
    };
  }

  /**
   * Shutdown: ends every jail. `publish` is false when the bus is already closed (the orchestrator
   * learns of it from `service.stopping` and the replica's queue disappearing).
   */
  async closeAll(opts: { publish: boolean } = { publish: false }): Promise<void> {
    clearInterval(this.refresher);
    await Promise.allSettled([...this.opening.values()].map((o) => o.done));
    const all = [...this.sessions.values()];
    for (const s of all) this.denials.close(s.sessionId, opts);
    const results = await Promise.allSettled(all.map((s) => s.close(this.opts.instanceId, opts)));
    all.forEach((s) => this.forget(s));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.opts.log.error({ sessionId: all[i]!.sessionId, err: (r.reason as Error).message }, 'jail did not close cleanly');
    });
  }

  /** The session, or NOT_FOUND naming this replica (the caller may hold a stale instanceId). */
  private get(sessionId: string): Jail {
    const s = this.sessions.get(sessionId);
    if (!s) {
      throw new AppError('NOT_FOUND', `shell replica ${this.opts.instanceId} holds no session ${sessionId}; open it with shell.open (which answers the instanceId to send its commands to)`, {
        details: { sessionId, instanceId: this.opts.instanceId },
      });
    }
    return s;
  }

  private async doOpen(req: OpenRequest): Promise<Opened> {
    const driver = await this.driverFor(req.driver);
    const workspaceDir = await checkWorkspace(req.workspaceDir);
    if (req.driver !== 'docker' && (req.user || req.postCreateCommand)) {
      throw new AppError('VALIDATION_FAILED', 'user and postCreateCommand are for the docker driver (a devcontainer)', { details: { fields: [{ path: req.user ? 'user' : 'postCreateCommand', message: 'docker driver only' }] } });
    }
    const open: OpenOptions & { image?: string; dockerfile?: string; user?: string } = {
      workspaceDir,
      network: req.network,
      // SECRET: provider keys for the egress proxy (outside the jail); never logged.
      ...(req.credentials?.length ? { credentials: req.credentials } : {}),
      limits: { ...this.opts.defaultLimits, ...stripUndefined(req.limits) },
      env: req.env,
      id: sandboxId(req.sessionId),
      // A project's own Dockerfile wins over the default image; an explicit image wins over both.
      ...(req.driver === 'docker' ? (req.image || !req.dockerfile ? { image: req.image ?? this.opts.defaultDockerImage } : { dockerfile: req.dockerfile }) : {}),
      ...(req.user ? { user: req.user } : {}),
    };
    const sandbox = await driver.open(open);
    if (req.postCreateCommand) await postCreate(sandbox, req.postCreateCommand);
    const keep = this.keeps(sandbox);
    const session = this.track(req.sessionId, workspaceDir, req.driver, sandbox, this.newStream(req.sessionId, req.firstSeq, keep), keep);
    if (keep) this.saveKept(session);
    this.opts.log.info({ sessionId: req.sessionId, driver: req.driver, workspaceDir, network: req.network, credentials: req.credentials?.map((c) => c.name), limitsInForce: sandbox.limitsInForce, networkInForce: sandbox.networkInForce }, 'sandbox started');
    return this.opened(session);
  }

  /** Saves what this replica's next start needs to adopt the session's jail (it may die without detaching). */
  private saveKept(s: Jail): void {
    if (s.isClosing) return;
    this.shellSaved.set(s, s.sandbox.shellSavedAt?.() ?? 0);
    this.opts.kept!.save(keptRecord(s, s.sandbox.state!(), s.stream.lastSeq));
  }

  /** Whether a jail outlives this process for the next start (SHELL_KEEP_JAILS, a driver that can). */
  private keeps(sandbox: Sandbox): boolean {
    return Boolean(this.opts.kept && sandbox.outlivesProcess && sandbox.state && sandbox.detach);
  }

  /** A session's event stream, numbered from firstSeq; a kept one records each seq it gives. */
  private newStream(sessionId: string, firstSeq: number | undefined, keep: boolean): OutputStream {
    const kept = keep ? this.opts.kept : undefined;
    const opts = { ...this.opts.stream, ...(kept ? { onNumbered: (seq: number) => kept.seq(sessionId, seq) } : {}) };
    return new OutputStream(sessionId, this.opts.sink, opts, this.opts.log.child({ sessionId }), firstSeq);
  }

  /** A session on a sandbox of ours (opened or adopted): its log, its crash and egress reports. */
  private track(sessionId: string, workspaceDir: string, driver: DriverName, sandbox: Sandbox, stream: OutputStream, keep: boolean): Jail {
    const kept = keep ? this.opts.kept : undefined;
    const session = new Jail(sessionId, workspaceDir, driver, sandbox, stream, this.opts.log.child({ sessionId }), this.opts.maxResultBytes, kept && ((c) => kept.running(sessionId, c)));
    sandbox.on('crash', (info) => void this.onCrash(session, info));
    sandbox.on('egress', (d) => this.denials.record(sessionId, d));
    // A new background job: a successor that finds the jail gone says it was lost. Saved a moment
    // later, once the job's process became what it runs (a subshell execs its command).
    if (kept) sandbox.onStateChange?.(() => void setTimeout(() => this.saveKept(session), STATE_SETTLE_MS).unref());
    this.sessions.set(sessionId, session);
    shellMetrics.sessions().inc({ driver });
    return session;
  }

  /**
   * Graceful stop with SHELL_KEEP_JAILS: lets go of every jail that can outlive this process, saving
   * what the next start needs to adopt it (a command running in it goes on; its exec is answered that
   * the replica restarts). Sandboxes that cannot (their driver was not given a folder that outlives
   * the process) are closed. The bus is still open: what was read is published first.
   */
  async keepAll(): Promise<void> {
    clearInterval(this.refresher);
    await Promise.allSettled([...this.opening.values()].map((o) => o.done));
    const kept = this.opts.kept;
    const all = [...this.sessions.values()];
    await Promise.allSettled(
      all.map(async (s) => {
        this.denials.close(s.sessionId);
        try {
          const state = kept && this.keeps(s.sandbox) ? await s.detach(this.opts.instanceId) : undefined;
          if (!state) return void (await s.close(this.opts.instanceId, { publish: true }));
          kept!.save(keptRecord(s, state.sandbox, state.lastSeq));
          this.opts.log.info({ sessionId: s.sessionId, lastSeq: state.lastSeq }, 'jail kept for the next start');
        } catch (err) {
          this.opts.log.error({ sessionId: s.sessionId, err: (err as Error).message }, 'jail could not be kept; closing it');
          await s.close(this.opts.instanceId, { publish: true }).catch(() => undefined);
          kept?.remove(s.sessionId);
        } finally {
          this.forget(s);
        }
      }),
    );
  }

  /**
   * At start: adopts the jails the previous run of this replica kept. A command that was running goes
   * on (its output and completion continue the session's log, numbered on from where it stopped); a
   * jail that is gone (the host restarted) is started again with its working folder and exports, and
   * the log says what was lost. A session that cannot be adopted is left out of shell.list, so the
   * orchestrator fails it with the reason. `sessions`: the list of `store`, where the run before kept
   * them. A registry that keeps nothing itself takes them off that list once adopted: it closes them
   * at its stop. Answers the sessions whose jails were alive, and those started again.
   */
  async adoptKept(sessions: KeptJail[], store: KeptJails): Promise<{ alive: string[]; restored: string[] }> {
    const alive: string[] = [];
    const restored: string[] = [];
    for (const k of sessions) {
      try {
        ((await this.adoptOne(k)) ? alive : restored).push(k.sessionId);
        if (!this.opts.kept) store.remove(k.sessionId);
      } catch (err) {
        this.opts.log.error({ sessionId: k.sessionId, err: (err as Error).message }, 'kept jail could not be adopted');
        store.remove(k.sessionId);
      }
    }
    return { alive, restored };
  }

  /** Adopts one kept session; true when its jail was alive (not started again). */
  private async adoptOne(k: KeptJail): Promise<boolean> {
    const driver = this.opts.drivers[k.driver];
    if (!driver?.adopt) throw new Error(`the ${k.driver} driver cannot adopt jails on this replica`);
    const keep = Boolean(this.opts.kept);
    // The stream exists before the jail is adopted: the resumed command's output goes into it at once.
    const stream = this.newStream(k.sessionId, k.lastSeq + 1, keep);
    const adopted = await driver
      .adopt(k.sandbox, {
        ...(k.running?.sent !== undefined ? { sent: k.running.sent } : {}),
        maxResultBytes: this.opts.maxResultBytes,
        onOutput: (c) => stream.output(k.running?.commandId, c.stream, c.data),
        ...(this.opts.workspacesMounted ? { beforeRestore: this.opts.workspacesMounted } : {}),
      })
      .catch((err: Error) => (stream.close(), Promise.reject(err)));
    const session = this.track(k.sessionId, k.workspaceDir, k.driver, adopted.sandbox, stream, keep);
    if (keep) this.saveKept(session);
    if (adopted.terminal) session.useTerminal(adopted.terminal);
    if (adopted.resumed && k.running) void session.resume(k.running, adopted.resumed);
    if (adopted.restored) await this.restored(session, k, adopted.restored);
    this.opts.log.info({ sessionId: k.sessionId, nextSeq: k.lastSeq + 1, resumed: Boolean(adopted.resumed), terminal: Boolean(adopted.terminal), restored: adopted.restored }, 'kept jail adopted');
    return !adopted.restored;
  }

  /** A kept jail was gone: the log says so, with what came back and what did not; a lost command ends. */
  private async restored(session: Jail, k: KeptJail, r: NonNullable<AdoptedSandbox['restored']>): Promise<void> {
    // The command was lost with its jail: it ends as a command whose shell died does (exit code -1).
    if (k.running) await session.resume(k.running, Promise.reject(new Error('the jail was gone')));
    const reason = `the jail was gone when shell replica ${this.opts.instanceId} started (its host restarted, or its processes were killed); a new jail runs on the same workspace${describeRestored(r)}`;
    await session.append('shell.crashed', { reason, restarted: true, ...restoredFields(r) });
    await session.stream.event('shell.crashed', () => ({ sessionId: session.sessionId, reason, restarted: true }));
  }

  private opened(s: Jail): Opened {
    // Read back by the driver after the jail started (a driver from before network policies has none).
    const net = s.sandbox.networkInForce as Sandbox['networkInForce'] | undefined;
    return {
      sessionId: s.sessionId,
      instanceId: this.opts.instanceId,
      driver: s.driver,
      limitsInForce: { ...s.sandbox.limitsInForce },
      ...(net ? { networkInForce: { ...net } } : {}),
      ...(s.sandbox.container ? { container: s.sandbox.container } : {}),
    };
  }

  private async driverFor(name: DriverName): Promise<SandboxDriver> {
    const driver = this.opts.drivers[name];
    if (!driver) throw new AppError('SANDBOX_UNAVAILABLE', `the ${name} driver is not enabled on shell replica ${this.opts.instanceId}`);
    const a = await driver.available();
    if (!a.ok) {
      shellMetrics.refused().inc({ reason: 'unavailable' });
      throw new AppError('SANDBOX_UNAVAILABLE', `${name} sandboxes cannot be made on this host: ${a.reason ?? 'unknown reason'}`, { details: { driver: name } });
    }
    return driver;
  }

  private async onCrash(session: Jail, info: CrashInfo): Promise<void> {
    const { reason, restarted } = info;
    // In the log for readers (with what came back and what was lost), and as a fact for the orchestrator
    // (which fails a session whose shell stayed dead).
    session.stream.append('shell.crashed', { ...info }).catch(() => undefined);
    session.stream
      .event('shell.crashed', () => ({ sessionId: session.sessionId, reason, restarted }))
      .catch((err: Error) => this.opts.log.error({ sessionId: session.sessionId, err: err.message }, 'could not publish shell.crashed'));
    this.opts.log.warn({ sessionId: session.sessionId, reason, restarted }, 'session shell crashed');
    // A shell that could not be replaced is a dead jail: release its slot and its processes.
    if (!restarted) await this.close(session.sessionId).catch(() => undefined);
  }

  /** A refused connection, in the session's log and as the security fact `shell.egress.denied`. */
  private async egressDenied(d: EventPayload<'shell.egress.denied'>): Promise<void> {
    const s = this.sessions.get(d.sessionId);
    if (!s) return;
    const { sessionId, ...data } = d;
    s.stream.append('egress.denied', data).catch(() => undefined);
    await s.stream.event('shell.egress.denied', () => d);
  }

  private forget(session: Jail): void {
    if (this.sessions.get(session.sessionId) !== session) return;
    this.denials.close(session.sessionId, { publish: false });
    this.sessions.delete(session.sessionId);
    shellMetrics.sessions().dec({ driver: session.driver });
  }
}

/**
 * How often kept jails' state is saved again when their shell moved or exported since: what a jail
 * restored after a reboot gets back (the live copy is in memory, which a reboot empties).
 */
const KEPT_REFRESH_MS = 10_000;

/** Between a command leaving a background job and the kept state listing the jail's processes. */
const STATE_SETTLE_MS = 200;

/** How long a devcontainer's postCreateCommand may run (installs dependencies, so minutes). */
const POST_CREATE_TIMEOUT_MS = 15 * 60_000;

/**
 * Runs a devcontainer's postCreateCommand in the new sandbox's shell, as its user, in /workspace. A
 * failure ends the sandbox and fails the open with the command's output: a half-set-up container
 * would fail later in ways harder to read.
 */
async function postCreate(sandbox: Sandbox, command: string): Promise<void> {
  const r = await sandbox.exec(command, { timeoutMs: POST_CREATE_TIMEOUT_MS }).catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message, timedOut: false }));
  if (r.exitCode === 0) return;
  await sandbox.close().catch(() => undefined);
  const tail = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ');
  throw new AppError('VALIDATION_FAILED', `the devcontainer's postCreateCommand ${r.timedOut ? 'timed out' : `exited with ${r.exitCode}`}${tail ? `: ${tail}` : ''}`, {
    details: { fields: [{ path: 'postCreateCommand', message: `exit ${r.exitCode}` }] },
  });
}

async function checkWorkspace(dir: string): Promise<string> {
  if (!path.isAbsolute(dir)) throw new AppError('VALIDATION_FAILED', `workspaceDir must be an absolute path (got ${JSON.stringify(dir)})`);
  const resolved = path.resolve(dir);
  const st = await stat(resolved).catch(() => undefined);
  if (!st?.isDirectory()) throw new AppError('NOT_FOUND', `workspaceDir ${resolved} is not an existing folder on this shell replica's host`);
  return resolved;
}

/** The sandbox library accepts [A-Za-z0-9_.-]{1,64}; session ids may be anything. */
function sandboxId(sessionId: string): string {
  const clean = sessionId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48);
  return `${clean}-${Math.random().toString(36).slice(2, 8)}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What the store keeps of a session for the next start: its jail's state and its last seq. */
function keptRecord(s: Jail, sandbox: SandboxState, lastSeq: number): Omit<KeptJail, 'running'> {
  return { sessionId: s.sessionId, workspaceDir: s.workspaceDir, driver: s.driver, sandbox, lastSeq };
}
