import { EventEmitter } from 'node:events';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@codeagent/contracts';
import type { SandboxEgress } from '../egress/egress';
import type { CrashInfo, EgressDecision, ExecOptions, ExecResult, NetworkInForce, Pty, Sandbox } from '../types';
import { cgroupPids, removeCgroups, type LimitPlan } from './cgroups';
import { Incarnation } from './incarnation';
import type { JailSpec } from './jail';
import { childrenOf, CLOCK_TICKS, namespacedIds, signal, statOf, uptimeSeconds } from './proc';
import { openJailPty } from './pty';
import { spawnInJail } from './spawn';
import type { JailProcess, SpawnOptions } from '../process';
import { diagnose } from './diagnose';

/** Between SIGINT and SIGKILL of a command, and between SIGKILL and giving up on the shell. */
const GRACE_MS = 2000;

/** A jail started with bwrap: one persistent shell, restarted when it dies. See README. */
export class BubblewrapSandbox implements Sandbox {
  readonly driver = 'bubblewrap' as const;
  readonly limitsInForce: Record<string, string>;
  networkInForce!: NetworkInForce;
  private jail!: Incarnation;
  private readonly events = new EventEmitter();
  private closed = false;
  private closing?: Promise<void>;
  private ptys = new Set<Pty>();
  private restarting?: Promise<void>;
  /** Set when the shell died and could not be restarted: every exec then fails with this reason. */
  private broken?: string;

  private constructor(
    readonly id: string,
    private readonly spec: JailSpec,
    private readonly plan: LimitPlan,
    private readonly egress: SandboxEgress,
  ) {
    this.limitsInForce = plan.inForce;
  }

  static async open(id: string, spec: JailSpec, plan: LimitPlan, egress: SandboxEgress): Promise<BubblewrapSandbox> {
    const sb = new BubblewrapSandbox(id, spec, plan, egress);
    try {
      await sb.start();
    } catch (err) {
      await sb.close();
      throw err;
    }
    return sb;
  }

  /** Starts a jail and waits until its shell answers a first command. */
  private async start(): Promise<void> {
    const jail = new Incarnation(this.spec, this.plan.script, () => void this.escalate(jail));
    this.jail = jail;
    const info = jail.readInfo();
    void jail.exited.then((e) => this.onExit(jail, e));
    // Job control gives every command its own process group, so a timeout can signal exactly it. The
    // INT trap keeps the shell alive when its foreground job dies of SIGINT (without it a
    // non-interactive bash exits too); commands still start with SIGINT at its default.
    const ready = await jail.channel.exec('set -m; trap : INT');
    if (ready.exitCode !== 0 || (await info) === 0) {
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

  private onExit(jail: Incarnation, e: { code: number | null; signal: NodeJS.Signals | null }): void {
    const status = e.code ?? 128 + (e.signal ? (os.constants.signals[e.signal] ?? 9) : 9);
    // A jail that dies before its shell answered is reported by start() itself. The restart is
    // registered before the running command is ended, so a caller's next exec waits for the new shell.
    if (!this.closed && this.jail === jail && jail.ready) {
      this.restarting = this.restart(e).finally(() => (this.restarting = undefined));
    }
    jail.channel.abort(status);
  }

  private async restart(e: { code: number | null; signal: NodeJS.Signals | null }): Promise<void> {
    const reason = `the shell ended (${e.signal ? `signal ${e.signal}` : `exit status ${e.code}`})`;
    try {
      await this.start();
      this.events.emit('crash', { reason, restarted: true } satisfies CrashInfo);
    } catch (err) {
      this.broken = `${reason}; restart failed: ${(err as Error).message}`;
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

  async openPty(opts: { cols?: number; rows?: number; argv?: string[] } = {}): Promise<Pty> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    const pty = openJailPty(this.jail.initPid, this.spec, this.plan.script, opts);
    this.ptys.add(pty);
    pty.onExit(() => this.ptys.delete(pty));
    return pty;
  }

  /** A process with pipes in the jail (spawn.ts); it dies with the jail's pid namespace at close at the latest. */
  async spawn(argv: string[], opts?: SpawnOptions): Promise<JailProcess> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (this.restarting) await this.restarting;
    return spawnInJail(this.jail.initPid, this.spec, this.plan.script, argv, opts);
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
      if (removeCgroups(this.plan.dirs)) return;
      await sleep(20);
    }
  }
}

/** Waits for `p` at most `ms`, leaving no timer behind either way. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
