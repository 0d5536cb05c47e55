import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@codeagent/contracts';
import type { SandboxEgress } from '../egress/egress';
import type { ChannelState } from '../shell/channel';
import { describeRestored, readShellSnapshot, restoredFields, restoreLost, shellSavedAt, type ShellSnapshot } from '../shell/snapshot';
import type { CrashInfo, EgressCredential, EgressDecision, ExecOptions, ExecResult, Network, NetworkInForce, PtyOptions, Sandbox, SandboxState } from '../types';
import { cgroupPids, removeCgroups, retargetLimits, type LimitPlan, type ResolvedLimits } from './cgroups';
import { mount, removeJailFolder } from './pool';
import { shQuote } from '../shell/quote';
import { Incarnation, type IncarnationState, type JailExit } from './incarnation';
import { JAIL_OWN_VARIABLES, type JailSpec } from './jail';
import { childrenOf, CLOCK_TICKS, namespacedIds, readCmdline, signal, statOf, uptimeSeconds } from './proc';
import { JailPty, type PtyState } from './pty';
import { spawnInJail } from './spawn';
import type { JailProcess, SpawnOptions } from '../process';
import { diagnose } from './diagnose';

/** Between SIGINT and SIGKILL of a command, and between SIGKILL and giving up on the shell. */
const GRACE_MS = 2000;

/**
 * Everything a process needs to adopt a jail another one started (BubblewrapDriver.adopt), or to
 * start it again in a new jail when it is gone. JSON. SECRET: holds the egress credentials; the
 * caller stores it encrypted.
 */
export interface BubblewrapState extends SandboxState {
  driver: 'bubblewrap';
  version: 1;
  id: string;
  /** The jail's folder on the host: its pipes, and its state folder (SHELL_STATE_DIR inside). */
  dir: string;
  spec: JailSpec;
  plan: LimitPlan;
  limits: ResolvedLimits;
  network: Network;
  credentials: EgressCredential[];
  jail: IncarnationState;
  channel: ChannelState;
  /** The session's terminal (opened `kept`), while it runs. */
  terminal?: PtyState;
  /** The jail's processes when the state was taken (command lines), beside init and the shell. */
  processes: string[];
  /**
   * The shell's working folder and exports when the state was taken. The jail's folder may be on a
   * tmpfs (cheap to write after every command) that a reboot empties: then this copy is restored.
   */
  shell?: ShellSnapshot;
}


/** A jail started with bwrap: one persistent shell, restarted when it dies. See README. */
export class BubblewrapSandbox implements Sandbox {
  readonly driver = 'bubblewrap' as const;
  limitsInForce: Record<string, string>;
  networkInForce!: NetworkInForce;
  private jail!: Incarnation;
  private readonly events = new EventEmitter();
  private closed = false;
  private closing?: Promise<void>;
  private ptys = new Set<JailPty>();
  /** The terminal opened `kept`: detach leaves it running, state() names it. */
  private keptPty?: JailPty;
  private restarting?: Promise<void>;
  /** Set when the shell died and could not be restarted: every exec then fails with this reason. */
  private broken?: string;

  private constructor(
    readonly id: string,
    /** The jail's folder on the host (its pipes and state folder); removed on close. */
    private readonly dir: string,
    private spec: JailSpec,
    private readonly plan: LimitPlan,
    private readonly egress: SandboxEgress,
    private opened: { network: Network; credentials: EgressCredential[]; limits: ResolvedLimits },
    /** Whether the jail dies with this process (not adoptable). */
    private readonly dieWithParent: boolean,
  ) {
    this.limitsInForce = plan.inForce;
  }

  get outlivesProcess(): boolean {
    return !this.dieWithParent;
  }

  get keepsTerminals(): boolean {
    return !this.dieWithParent;
  }

  /**
   * Gives a pooled jail (see JailPool) to a session: its workspace mounted over the jail's empty one
   * (`slot`, the folder bound at /workspace), its limits set on the jail's cgroups, its environment
   * exported in the shell (and given to terminals and spawned processes), the shell moved into it.
   */
  async assign(slot: string, workspace: string, env: Record<string, string>, limits: ResolvedLimits): Promise<void> {
    const inForce = retargetLimits(this.plan, limits);
    if (!inForce) throw new AppError('SANDBOX_UNAVAILABLE', 'these limits cannot be set on a running jail');
    await mount(['--bind', workspace, slot]);
    const exports = Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(v)}`);
    // The shell's working folder is the empty one under the mount: it moves onto the workspace.
    const r = await this.exec(['builtin cd /workspace', ...exports].join(' && '));
    if (r.exitCode !== 0) throw new AppError('SANDBOX_UNAVAILABLE', `the pooled jail did not take the session: ${r.stderr.trim()}`);
    this.spec = { ...this.spec, workspace, env: { ...this.spec.env, ...env } };
    this.opened = { ...this.opened, limits };
    this.limitsInForce = { ...this.limitsInForce, ...inForce };
  }

  static async open(
    id: string,
    where: { dir: string; dieWithParent: boolean },
    spec: JailSpec,
    plan: LimitPlan,
    egress: SandboxEgress,
    opened: { network: Network; credentials: EgressCredential[]; limits: ResolvedLimits },
  ): Promise<BubblewrapSandbox> {
    mkdirSync(path.join(where.dir, 'shell'), { recursive: true, mode: 0o700 });
    const sb = new BubblewrapSandbox(id, where.dir, spec, plan, egress, opened, where.dieWithParent);
    try {
      await sb.start();
    } catch (err) {
      await sb.close();
      throw err;
    }
    return sb;
  }

  /**
   * Takes over a jail that another process detached (or that outlived it: kill -9): undefined when
   * the jail is gone. `running`: where the output of a command that was running goes; its result is
   * `resumed`.
   */
  static async adopt(state: BubblewrapState, egress: SandboxEgress, running: Pick<ExecOptions, 'onOutput' | 'maxResultBytes'>): Promise<{ sandbox: BubblewrapSandbox; resumed?: Promise<ExecResult>; terminal?: JailPty } | undefined> {
    const sb = new BubblewrapSandbox(state.id, state.dir, state.spec, state.plan, egress, { network: state.network, credentials: state.credentials, limits: state.limits }, false);
    const jail = Incarnation.adopt(state.jail, state.dir, () => void sb.escalate(jail!));
    if (!jail) return undefined;
    sb.jail = jail;
    jail.onBackground = () => sb.events.emit('changed');
    const resumed = jail.channel.resume(state.channel, running);
    void jail.exited.then((e) => sb.onExit(jail, e));
    try {
      await egress.attach(jail.initPid);
    } catch (err) {
      await sb.close();
      throw err;
    }
    sb.networkInForce = egress.inForce(jail.initPid);
    const terminal = state.terminal && JailPty.adopt(state.terminal);
    if (terminal) sb.track(terminal, true);
    return { sandbox: sb, ...(resumed ? { resumed } : {}), ...(terminal ? { terminal } : {}) };
  }

  /**
   * Lets go of the jail without stopping anything in it: output waits in its pipes for the process
   * that adopts it with the answer. A running command's exec rejects with `reason`. The kept terminal
   * runs on, its output waiting in its pipe too; other terminals end, and spawned processes, this
   * process's children, end with it. After this the sandbox is unusable here.
   */
  async detach(reason: Error): Promise<BubblewrapState> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (this.restarting) await this.restarting;
    this.closed = true;
    this.egress.detach();
    await Promise.all([...this.ptys].filter((p) => p !== this.keptPty).map((p) => p.close()));
    const channel = await this.jail.detach(reason);
    const state = this.state(channel);
    this.keptPty?.detach();
    return state;
  }

  /** The state as it is now, for a successor that finds it after this process died without detaching. */
  state(channel: ChannelState = { backgroundPids: [...this.jail.channel.backgroundPids] }): BubblewrapState {
    const shell = readShellSnapshot(this.dir);
    return {
      driver: 'bubblewrap',
      version: 1,
      id: this.id,
      dir: this.dir,
      spec: this.spec,
      plan: this.plan,
      ...this.opened,
      jail: this.jail.state(),
      channel,
      ...(this.keptPty ? { terminal: this.keptPty.state() } : {}),
      processes: this.processes(),
      ...(shell ? { shell } : {}),
    };
  }

  /** When the shell last saved its working folder and exports (ms since the epoch; 0 before it did). */
  shellSavedAt(): number {
    return shellSavedAt(this.dir);
  }

  /** Command lines of the jail's processes other than its init and the shell. */
  private processes(): string[] {
    const out: string[] = [];
    const walk = (pid: number, depth: number): void => {
      for (const c of childrenOf(pid)) {
        if (c !== this.jail.shellPid || depth > 1) {
          const cmd = readCmdline(c);
          if (cmd) out.push(cmd);
        }
        if (out.length < 100) walk(c, depth + 1);
      }
    };
    if (this.jail?.initPid) walk(this.jail.initPid, 1);
    return out;
  }

  /** Starts a jail and waits until its shell answers a first command. */
  private async start(): Promise<void> {
    const jail = await Incarnation.start(this.spec, this.plan.script, this.dir, { dieWithParent: this.dieWithParent, onTimeout: () => void this.escalate(jail) }).catch((err: Error & { stderr?: string }) => {
      throw diagnose(err.stderr || err.message, 96);
    });
    this.jail = jail;
    jail.onBackground = () => this.events.emit('changed');
    void jail.exited.then((e) => this.onExit(jail, e));
    // Job control gives every command its own process group, so a timeout can signal exactly it. The
    // INT trap keeps the shell alive when its foreground job dies of SIGINT (without it a
    // non-interactive bash exits too); commands still start with SIGINT at its default.
    const ready = await jail.channel.exec('set -m; trap : INT');
    if (ready.exitCode !== 0 || jail.locate() === 0) {
      jail.kill();
      throw diagnose(ready.stderr, ready.exitCode);
    }
    // The proxy is attached before the first caller's command, so nothing runs before its way out exists.
    try {
      await this.egress.attach(jail.initPid);
    } catch (err) {
      jail.kill();
      throw err;
    }
    this.networkInForce = this.egress.inForce(jail.initPid);
    jail.shellPid = childrenOf(jail.initPid)[0] ?? 0;
    jail.ready = true;
  }

  private onExit(jail: Incarnation, e: JailExit): void {
    // An adopted jail's exit status is not ours to read: it is reported as killed.
    const status = e.code ?? 128 + (e.signal ? (os.constants.signals[e.signal] ?? 9) : 9);
    // A jail that dies before its shell answered is reported by start() itself. The restart is
    // registered before the running command is ended, so a caller's next exec waits for the new shell.
    if (!this.closed && this.jail === jail && jail.ready) {
      // What the dead shell leaves: its background jobs, alive until the jail is killed (they go with
      // it), and its last saved folder and exports, read before the new shell saves its own.
      const lost = { processes: this.processes(), snapshot: readShellSnapshot(this.dir) };
      jail.kill();
      this.restarting = this.restart(e, lost).finally(() => (this.restarting = undefined));
    }
    jail.channel.abort(status);
  }

  private async restart(e: JailExit, lost: { processes: string[]; snapshot?: ShellSnapshot }): Promise<void> {
    const ended = `the shell ended (${e.signal ? `signal ${e.signal}` : e.code !== null ? `exit status ${e.code}` : 'the jail was killed'})`;
    try {
      await this.start();
      // The new jail's channel directly: exec() waits for this restart to end.
      const restored = await restoreLost((c) => this.jail.channel.exec(c), lost, JAIL_OWN_VARIABLES);
      this.events.emit('crash', { reason: `${ended}; a new shell runs${describeRestored(restored)}`, restarted: true, ...restoredFields(restored) } satisfies CrashInfo);
    } catch (err) {
      this.broken = `${ended}; restart failed: ${(err as Error).message}`;
      // A close during the restart is why it failed: that is a close, not a crash to report.
      if (this.closed) return;
      this.events.emit('crash', { reason: this.broken, restarted: false } satisfies CrashInfo);
    }
  }

  async exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (typeof command !== 'string') throw new AppError('VALIDATION_FAILED', 'command must be a string');
    if (this.restarting) await this.restarting;
    if (this.broken) throw new AppError('SANDBOX_UNAVAILABLE', this.broken);
    return this.jail.channel.exec(command, opts);
  }

  async interrupt(): Promise<boolean> {
    if (this.closed || this.restarting || !this.jail.channel.busy) return false;
    await this.escalate(this.jail);
    return true;
  }

  /**
   * SIGINT to the running command's process groups, SIGKILL after a grace, and if the shell itself is
   * what does not answer (a builtin loop), the whole jail is replaced.
   */
  private async escalate(jail: Incarnation): Promise<void> {
    const ch = jail.channel;
    const run = ch.runId;
    if (run === 0) return;
    for (const sig of ['SIGINT', 'SIGKILL'] as const) {
      // The shell may be between two children of the command ("echo go; sleep 30"): look again
      // briefly before concluding that the shell itself is busy.
      let targets: number[] = [];
      for (let i = 0; i < 10 && ch.runId === run; i++) {
        targets = this.commandProcesses(jail);
        if (targets.length > 0) break;
        await within(ch.whenIdle(), 25);
      }
      if (ch.runId !== run) return;
      for (const t of targets) signal(t, sig);
      if (targets.length === 0) break;
      await within(ch.whenIdle(), GRACE_MS);
      if (ch.runId !== run) return;
    }
    if (ch.runId !== run || this.jail !== jail || this.closed) return;
    // Nothing of the command is left to signal yet it has not finished: the shell itself is stuck.
    jail.kill();
    await ch.whenIdle();
  }

  /** Negative pids (process groups) and pids of what the running command started. */
  private commandProcesses(jail: Incarnation): number[] {
    const startedAt = jail.channel.startedAt;
    if (startedAt === undefined || !jail.shellPid) return [];
    const shell = statOf(jail.shellPid);
    if (!shell) return [];
    // Children that started before this command, or that an earlier command left in the background
    // ($! reported with its sentinel), are background jobs: spared.
    const since = (uptimeSeconds() - (performance.now() - startedAt) / 1000) * CLOCK_TICKS - 1;
    const bg = jail.channel.backgroundPids;
    const out = new Set<number>();
    for (const c of childrenOf(jail.shellPid)) {
      const st = statOf(c);
      if (!st || st.startTicks < since) continue;
      const ns = namespacedIds(c);
      if (ns && (bg.has(ns.pid) || bg.has(ns.pgid))) continue;
      out.add(st.pgid === shell.pgid ? c : -st.pgid);
    }
    return [...out];
  }

  async openPty(opts: PtyOptions = {}): Promise<JailPty> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (opts.kept && this.keptPty) throw new AppError('CONFLICT', 'the sandbox\'s kept terminal is already open');
    // A folder of its own in the jail's (its pipes and status), gone with the terminal.
    const dir = mkdtempSync(path.join(this.dir, 'pty-'));
    let pty: JailPty;
    try {
      pty = await JailPty.open(dir, this.jail.initPid, this.spec, this.plan.script, opts);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw new AppError('SANDBOX_UNAVAILABLE', `the terminal did not start: ${(err as Error).message}`);
    }
    this.track(pty, Boolean(opts.kept));
    return pty;
  }

  private track(pty: JailPty, kept: boolean): void {
    this.ptys.add(pty);
    if (kept) this.keptPty = pty;
    pty.onExit(() => {
      this.ptys.delete(pty);
      if (this.keptPty === pty) {
        this.keptPty = undefined;
        this.events.emit('changed');
      }
      rmSync(pty.state().dir, { recursive: true, force: true });
    });
    if (kept) this.events.emit('changed');
  }

  /** A process with pipes in the jail (spawn.ts); it dies with the jail's pid namespace at close at the latest. */
  async spawn(argv: string[], opts?: SpawnOptions): Promise<JailProcess> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (this.restarting) await this.restarting;
    return spawnInJail(this.jail.initPid, this.spec, this.plan.script, argv, opts);
  }

  onStateChange(cb: () => void): void {
    this.events.on('changed', cb);
  }

  on(event: 'crash', cb: (info: CrashInfo) => void): void;
  on(event: 'egress', cb: (decision: EgressDecision) => void): void;
  on(event: 'crash' | 'egress', cb: (arg: never) => void): void {
    this.events.on(event, cb as (...args: unknown[]) => void);
  }

  /** Called by the egress proxy for each decision. */
  emitEgress(d: EgressDecision): void {
    this.events.emit('egress', d);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    // A restart under way ends first (bounded, should its shell not answer): its new jail is then the
    // one ended here, and nothing writes in the folder removed below (a close during it could leave
    // that jail running, and failed with ENOTEMPTY).
    if (this.restarting) await within(this.restarting, 10_000);
    this.egress.detach();
    const jail = this.jail;
    await Promise.all([...this.ptys].map((p) => p.close()));
    if (jail) {
      jail.kill();
      jail.channel.abort(137);
      await within(jail.exited, 5000);
    }
    // Belt and braces: anything that reached the cgroups by another way (a PTY) is killed too.
    for (let i = 0; i < 100; i++) {
      for (const p of cgroupPids(this.plan.dirs)) signal(p, 'SIGKILL');
      if (removeCgroups(this.plan.dirs)) break;
      await sleep(20);
    }
    await removeJailFolder(this.dir);
  }
}

/** Waits for `p` at most `ms`, leaving no timer behind either way. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
