import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { AppError } from '@codeagent/contracts';
import type { SandboxEgress } from '../egress/egress';
import type { CrashInfo, EgressDecision, ExecOptions, ExecResult, NetworkInForce, Pty, Sandbox } from '../types';
import { commandProcesses, runInContainer } from './exec';
import { openContainerPty } from './pty';
import { ContainerShell } from './shell';

/** Between SIGINT and SIGKILL of a command, and between SIGKILL and replacing the shell. */
const GRACE_MS = 2000;

export interface ContainerSpec {
  /** Environment of the shell and terminals (KEY=value). */
  env: string[];
  /** uid:gid the shell runs as (the workspace's owner), or the image's user when absent. */
  user?: string;
  /** The container's name on the engine (listed with the session). */
  name: string;
}

/**
 * A sandbox in a Docker container: the container holds the limits, the mounts and the network mode;
 * a persistent shell runs in it through `docker exec` and is replaced when it dies, like the
 * bubblewrap driver's. Closing removes the container, which ends every process in it.
 */
export class DockerSandbox implements Sandbox {
  readonly driver = 'docker' as const;
  private shell!: ContainerShell;
  private readonly events = new EventEmitter();
  private readonly ptys = new Set<Pty>();
  private closed = false;
  private closing?: Promise<void>;
  private restarting?: Promise<void>;
  /** The shell died and no new one could be started: every exec is refused. */
  private dead = false;
  networkInForce!: NetworkInForce;
  get container(): string {
    return this.spec.name;
  }

  private constructor(
    readonly id: string,
    private readonly handle: Docker.Container,
    private readonly spec: ContainerSpec,
    readonly limitsInForce: Record<string, string>,
    private readonly egress: SandboxEgress,
  ) {}

  static async open(id: string, container: Docker.Container, spec: ContainerSpec, limitsInForce: Record<string, string>, egress: SandboxEgress): Promise<DockerSandbox> {
    const sb = new DockerSandbox(id, container, spec, limitsInForce, egress);
    try {
      await container.start();
      // The container has network mode none; its way out is the egress proxy, attached through its init.
      const pid = (await container.inspect()).State.Pid;
      await egress.attach(pid);
      sb.networkInForce = egress.inForce(pid);
      await sb.startShell();
    } catch (err) {
      await sb.close();
      throw new AppError('SANDBOX_UNAVAILABLE', `the container did not start: ${(err as Error).message}`, { cause: err });
    }
    return sb;
  }

  private async startShell(): Promise<void> {
    const shell: ContainerShell = await ContainerShell.start(this.handle, {
      env: this.spec.env,
      user: this.spec.user,
      onTimeout: () => void this.escalate(shell),
    });
    this.shell = shell;
    void shell.exited.then((code) => this.onExit(shell, code));
  }

  private onExit(shell: ContainerShell, code: number): void {
    // A command that ended the shell (`exit 3`, `set -e`, OOM) ends with the shell's status.
    shell.channel.abort(code);
    if (this.closed || this.shell !== shell) return;
    // Commands that arrive meanwhile wait for the new shell instead of writing to the dead one.
    this.restarting = this.replaceShell(code).finally(() => (this.restarting = undefined));
  }

  private async replaceShell(code: number): Promise<void> {
    const reason = `the shell ended (exit status ${code})`;
    const state = await this.handle.inspect().catch(() => undefined);
    // A close meanwhile removed the container: that is a close, not a crash to report.
    if (this.closed) return;
    if (!state?.State.Running) {
      this.dead = true;
      const why = state?.State.OOMKilled ? 'the container ran out of memory' : 'the container stopped';
      this.events.emit('crash', { reason: `${reason}; ${why}`, restarted: false } satisfies CrashInfo);
      return;
    }
    try {
      await this.startShell();
      this.events.emit('crash', { reason, restarted: true } satisfies CrashInfo);
    } catch (err) {
      this.dead = true;
      if (this.closed) return;
      this.events.emit('crash', { reason: `${reason}; restart failed: ${(err as Error).message}`, restarted: false } satisfies CrashInfo);
    }
  }

  async exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (typeof command !== 'string') throw new AppError('VALIDATION_FAILED', 'command must be a string');
    if (this.restarting) await this.restarting;
    if (this.dead || this.closed) throw new AppError('INVALID_STATE', 'the sandbox has no shell any more (it died and could not be replaced); close it and open another');
    return this.shell.channel.exec(command, opts);
  }

  async interrupt(): Promise<boolean> {
    if (this.closed || !this.shell.channel.busy) return false;
    await this.escalate(this.shell);
    return true;
  }

  /** SIGINT to the running command's processes, SIGKILL after a grace, then a new shell if it is the shell that hangs. */
  private async escalate(shell: ContainerShell): Promise<void> {
    const ch = shell.channel;
    for (const sig of ['INT', 'KILL'] as const) {
      if (!ch.busy) return;
      const targets = await commandProcesses(this.handle, shell.shellPid, () => (performance.now() - (ch.startedAt ?? performance.now())) / 1000).catch(() => []);
      if (targets.length === 0) break;
      await runInContainer(this.handle, ['kill', `-${sig}`, ...targets.map(String)]).catch(() => undefined);
      await Promise.race([ch.whenIdle(), sleep(GRACE_MS)]);
    }
    if (!ch.busy || this.shell !== shell || this.closed) return;
    // Nothing of the command is left to signal yet it has not finished: the shell itself is stuck.
    await runInContainer(this.handle, ['kill', '-KILL', String(shell.shellPid)]).catch(() => undefined);
    shell.kill();
    await ch.whenIdle();
  }

  async openPty(opts: { cols?: number; rows?: number; argv?: string[] } = {}): Promise<Pty> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (opts.argv) throw new AppError('SANDBOX_UNAVAILABLE', 'the docker driver opens terminals on its shell only');
    const pty = await openContainerPty(this.handle, { ...this.spec, ...opts });
    this.ptys.add(pty);
    pty.onExit(() => this.ptys.delete(pty));
    return pty;
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
    this.shell?.channel.abort(137);
    // Removing the container with force kills every process in it, whatever it forked or detached.
    await this.handle.remove({ force: true, v: true }).catch((err: { statusCode?: number; message: string }) => {
      if (err.statusCode !== 404) throw new AppError('INTERNAL', `could not remove container of sandbox ${this.id}: ${err.message}`);
    });
    this.shell?.kill();
    for (const p of this.ptys) void p.close().catch(() => undefined);
    this.ptys.clear();
  }
}
