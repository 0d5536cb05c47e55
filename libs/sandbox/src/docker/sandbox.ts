import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { AppError } from '@codeagent/contracts';
import { childrenOf, readCmdline } from '../bubblewrap/proc';
import type { SandboxEgress } from '../egress/egress';
import type { ChannelState } from '../shell/channel';
import { describeRestored, readShellSnapshot, restoredFields, restoreLost, shellSavedAt, type ShellSnapshot } from '../shell/snapshot';
import type { CrashInfo, EgressCredential, EgressDecision, ExecOptions, ExecResult, Network, NetworkInForce, Pty, PtyOptions, Sandbox, SandboxState } from '../types';
import { commandProcesses, runInContainer } from './exec';
import { openContainerPty } from './pty';
import { CONTAINER_OWN_VARIABLES, ContainerShell, type ContainerShellState } from './shell';

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

/** What the container was opened with: what a new one needs when the engine lost it (DockerDriver.adopt). */
export interface DockerOpened {
  workspaceDir: string;
  image: string;
  network: Network;
  credentials: EgressCredential[];
  limits: { memoryMb?: number; pids?: number; cpuSeconds?: number; diskMb?: number; cpus?: number };
  env: Record<string, string>;
  user?: string;
}

/**
 * Everything a process needs to adopt a container another one started (DockerDriver.adopt), or to
 * start it again when it is gone. JSON. SECRET: holds the egress credentials; the caller stores it encrypted.
 */
export interface DockerState extends SandboxState {
  driver: 'docker';
  version: 1;
  id: string;
  /** The container's folder on the host: its shell's pipes, and its state folder (`shell/`). */
  dir: string;
  spec: ContainerSpec;
  limitsInForce: Record<string, string>;
  opened: DockerOpened;
  shell: ContainerShellState;
  channel: ChannelState;
  /** The container's processes when the state was taken (command lines), beside its keeper and the shell. */
  processes: string[];
  /** The shell's working folder and exports when the state was taken (see BubblewrapState.shell). */
  snapshot?: ShellSnapshot;
}

/**
 * A sandbox in a Docker container: the container holds the limits, the mounts and the network mode;
 * a persistent shell runs in it through `docker exec` and is replaced when it dies, like the
 * bubblewrap driver's. Closing removes the container, which ends every process in it. The engine
 * holds the container, and the shell's pipes are in a folder of the host (`dir`): where that folder
 * outlives this process (`keep`), the sandbox can be let go of (detach) and adopted by a successor.
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

  /** Host pid of the container's init (the engine's), whose descendants are the container's processes. */
  private initPid = 0;

  private constructor(
    readonly id: string,
    private readonly handle: Docker.Container,
    /** The container's folder on the host; removed on close. */
    private readonly dir: string,
    private readonly spec: ContainerSpec,
    readonly limitsInForce: Record<string, string>,
    private readonly egress: SandboxEgress,
    private readonly opened: DockerOpened,
    /** Whether `dir` outlives this process, so that a successor can adopt the container. */
    readonly outlivesProcess: boolean,
  ) {}

  static async open(
    id: string,
    container: Docker.Container,
    where: { dir: string; keep: boolean },
    spec: ContainerSpec,
    limitsInForce: Record<string, string>,
    egress: SandboxEgress,
    opened: DockerOpened,
  ): Promise<DockerSandbox> {
    const sb = new DockerSandbox(id, container, where.dir, spec, limitsInForce, egress, opened, where.keep);
    try {
      await container.start();
      // The container has network mode none; its way out is the egress proxy, attached through its init.
      sb.initPid = (await container.inspect()).State.Pid;
      await egress.attach(sb.initPid);
      sb.networkInForce = egress.inForce(sb.initPid);
      await sb.startShell();
    } catch (err) {
      await sb.close();
      throw new AppError('SANDBOX_UNAVAILABLE', `the container did not start: ${(err as Error).message}`, { cause: err });
    }
    return sb;
  }

  /**
   * Takes over a container another process detached (or that outlived it: kill -9): undefined when
   * the container or its shell is gone. `running`: where the output of a command that was running
   * goes; its result is `resumed`.
   */
  static async adopt(state: DockerState, container: Docker.Container, exec: Docker.Exec, egress: SandboxEgress, running: Pick<ExecOptions, 'onOutput' | 'maxResultBytes'>): Promise<{ sandbox: DockerSandbox; resumed?: Promise<ExecResult> } | undefined> {
    const info = await container.inspect().catch(() => undefined);
    if (!info?.State.Running) return undefined;
    const sb = new DockerSandbox(state.id, container, state.dir, state.spec, state.limitsInForce, egress, state.opened, true);
    const shell: ContainerShell | undefined = ContainerShell.adopt(exec, state.dir, state.shell, () => void sb.escalate(shell!));
    if (!shell) return undefined;
    sb.initPid = info.State.Pid;
    sb.useShell(shell);
    const resumed = shell.channel.resume(state.channel, running);
    try {
      await egress.attach(sb.initPid);
    } catch (err) {
      await sb.close();
      throw err;
    }
    sb.networkInForce = egress.inForce(sb.initPid);
    return { sandbox: sb, ...(resumed ? { resumed } : {}) };
  }

  /**
   * Lets go of the container without stopping anything in it: output waits in its shell's pipes for
   * the process that adopts it. A running command's exec rejects with `reason`. Terminals end.
   */
  async detach(reason: Error): Promise<DockerState> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (this.restarting) await this.restarting;
    this.closed = true;
    this.egress.detach();
    await Promise.all([...this.ptys].map((p) => p.close()));
    return this.state(await this.shell.detach(reason));
  }

  /** The state as it is now, for a successor that finds it after this process died without detaching. */
  state(channel: ChannelState = { backgroundPids: [...this.shell.channel.backgroundPids] }): DockerState {
    const snapshot = readShellSnapshot(this.dir);
    return {
      driver: 'docker',
      version: 1,
      id: this.id,
      dir: this.dir,
      spec: this.spec,
      limitsInForce: this.limitsInForce,
      opened: this.opened,
      shell: this.shell.state(),
      channel,
      processes: this.processes(),
      ...(snapshot ? { snapshot } : {}),
    };
  }

  onStateChange(cb: () => void): void {
    this.events.on('changed', cb);
  }

  /** When the shell last saved its working folder and exports (ms since the epoch; 0 before it did). */
  shellSavedAt(): number {
    return shellSavedAt(this.dir);
  }

  /** Command lines of the container's processes other than its keeper and the shell (read on the host). */
  private processes(): string[] {
    const out: string[] = [];
    const walk = (pid: number): void => {
      for (const c of childrenOf(pid)) {
        if (out.length >= 100) return;
        const cmd = readCmdline(c);
        // The engine's init runs the keeper (and its sleep); what else it holds was orphaned by commands.
        if (cmd && !cmd.includes(KEEPER) && !/^sleep 3600$/.test(cmd)) out.push(cmd);
        walk(c);
      }
    };
    if (this.initPid) walk(this.initPid);
    if (this.shell?.hostPid) walk(this.shell.hostPid);
    return out;
  }

  private async startShell(): Promise<void> {
    const shell: ContainerShell = await ContainerShell.start(this.handle, this.dir, {
      env: this.spec.env,
      user: this.spec.user,
      onTimeout: () => void this.escalate(shell),
    });
    this.useShell(shell);
  }

  private useShell(shell: ContainerShell): void {
    this.shell = shell;
    shell.onBackground = () => this.events.emit('changed');
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
    // The container and what runs in it live on; the dead shell's folder and exports are read before the new one saves its own.
    const snapshot = readShellSnapshot(this.dir);
    try {
      await this.startShell();
      // The new shell's channel directly: exec() waits for this replacement to end.
      const restored = await restoreLost((c) => this.shell.channel.exec(c), { snapshot, processes: [] }, CONTAINER_OWN_VARIABLES);
      this.events.emit('crash', { reason: `${reason}; a new shell runs${describeRestored(restored)}`, restarted: true, ...restoredFields(restored) } satisfies CrashInfo);
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

  /** `kept` is not honoured: a container's terminal is a `docker exec` attached to this process, and ends with it. */
  async openPty(opts: PtyOptions = {}): Promise<Pty> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the sandbox is closed');
    if (opts.argv) throw new AppError('SANDBOX_UNAVAILABLE', 'the docker driver opens terminals on its shell only');
    const pty = await openContainerPty(this.handle, { ...this.spec, cols: opts.cols, rows: opts.rows });
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
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Keeps the container alive between commands; the shells are `docker exec`s beside it. Docker's init
 * (Init: true) is pid 1 and reaps what they orphan.
 */
export const KEEPER = 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done';
