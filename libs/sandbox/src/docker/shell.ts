import { closeSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type Docker from 'dockerode';
import { statOf, signal } from '../bubblewrap/proc';
import { openSandboxPipe } from '../host/sandbox-files';
import { runHostTool } from '../host/tools';
import { ShellChannel, type ChannelState } from '../shell/channel';

/** Where the container sees its folder on the host (bind mount): the shell's pipes, and `shell/state`. */
export const CONTAINER_SHELL_DIR = '/run/codeagent';

/** Variables every container's shell is given by the container: a new shell keeps its own, not a lost one's. */
export const CONTAINER_OWN_VARIABLES = ['HOSTNAME', 'HOME', 'CODEAGENT_SANDBOX'];

/**
 * The shell's stdin, stdout and stderr are the named pipes of its folder, opened read-write by the
 * shell itself (see Incarnation, the same for jails): bash where the image has it (its eval survives
 * syntax errors), else the image's sh.
 */
const SHELL = [
  `exec 0<>${CONTAINER_SHELL_DIR}/in 1<>${CONTAINER_SHELL_DIR}/out 2<>${CONTAINER_SHELL_DIR}/err`,
  'if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc; else exec sh; fi',
].join('\n');

/**
 * After each command the shell saves its working folder and exports in its folder on the host, when
 * its working folder changed and else at most every 30 s where the shell counts SECONDS (bash, not
 * every sh): so that a container lost with its engine or host is restored (see Incarnation's).
 */
const AFTER_EACH = `if [ "$PWD" != "\${__ca_pwd-}" ] || [ "\${SECONDS:-0}" -ge "\${__ca_due:-0}" ]; then __ca_pwd=$PWD; __ca_due=$((\${SECONDS:-0} + 30)); { pwd; export -p; } 2>/dev/null >${CONTAINER_SHELL_DIR}/shell/state; fi`;

/** How often the shell's process is looked for: its exit is no event of ours (it is the engine's child). */
const WATCH_MS = 1000;
/** The same while it starts, so that a shell that cannot start (an unknown user) fails at once. */
const START_WATCH_MS = 50;

/** Reads of the engine's record of a shell that ended (and pauses between them) before its status counts as unknown. */
const EXIT_READS = 50;
const EXIT_READ_MS = 20;

/** What identifies a running container shell to another process that adopts it. JSON. */
export interface ContainerShellState {
  execId: string;
  /** The shell's pid on the host, with its start time in clock ticks (a reused pid is not the shell). */
  hostPid: number;
  hostStartTicks: number;
  /** The shell's pid inside the container (what `kill` there takes). */
  shellPid: number;
}

/**
 * One persistent shell in the container: a detached `docker exec` whose stdin, stdout and stderr are
 * named pipes in a folder of the host bound into the container. The shell holds each pipe open
 * read-write, so that it outlives this process: output waits in the pipe until a successor opens the
 * same pipes (ContainerShell.adopt) and reads on. When it dies the container (and its files) stay;
 * the sandbox starts another one.
 */
export class ContainerShell {
  readonly exited: Promise<number>;
  private onExited!: () => void;
  private watch?: NodeJS.Timeout;
  private pipes: Socket[] = [];

  private constructor(
    private readonly exec: Docker.Exec,
    private readonly dir: string,
    public hostPid: number,
    private hostStartTicks: number,
    /** The shell's pid inside the container. */
    public shellPid: number,
  ) {
    this.exited = new Promise<void>((resolve) => (this.onExited = resolve)).then(() => {
      clearInterval(this.watch);
      return this.exitCode();
    });
  }

  channel!: ShellChannel;
  /** Called when a command left a new background job behind. */
  onBackground?: () => void;

  static async start(container: Docker.Container, dir: string, opts: { env: string[]; user?: string; onTimeout: () => void }): Promise<ContainerShell> {
    // Fresh pipes: nothing a dead shell left unread reaches the next. Anyone in the container may open
    // them (the shell's user may be the image's, unknown on the host); the folder is only the container's.
    await runHostTool('sh', ['-c', 'cd "$1" && rm -f in out err && mkfifo -m 666 in out err', 'sh', dir]);
    // Until the shell has opened its ends, ours hold a writer on stdout and stderr (a read end with
    // none sees end-of-file at once); they go once it answered.
    const holders = ['out', 'err'].map((name) => openSandboxPipe(path.join(dir, name), constants.O_RDWR));
    try {
      const exec = await container.exec({ Cmd: ['/bin/sh', '-c', SHELL], Env: opts.env, WorkingDir: '/workspace', ...(opts.user ? { User: opts.user } : {}) });
      await exec.start({ Detach: true });
      const info = await exec.inspect();
      const shell = new ContainerShell(exec, dir, info.Pid, statOf(info.Pid)?.startTicks ?? 0, 0);
      shell.attach(opts.onTimeout, START_WATCH_MS);
      const ready = await Promise.race([
        shell.channel.exec('echo $$'),
        shell.exited.then((code) => ({ exitCode: code, stdout: '', stderr: 'the shell ended before answering' })),
      ]);
      const pid = Number(ready.stdout.trim());
      if (ready.exitCode !== 0 || !Number.isInteger(pid) || pid <= 0) {
        shell.kill();
        throw new Error(`the container's shell did not start: ${ready.stderr.trim() || `exit status ${ready.exitCode}`}`);
      }
      shell.shellPid = pid;
      shell.watchEvery(WATCH_MS);
      return shell;
    } finally {
      for (const fd of holders) closeSync(fd);
    }
  }

  /** The same shell (`exec` is its docker exec), run by a process that is gone: undefined when it is not there any more. */
  static adopt(exec: Docker.Exec, dir: string, state: ContainerShellState, onTimeout: () => void): ContainerShell | undefined {
    if (statOf(state.hostPid)?.startTicks !== state.hostStartTicks) return undefined;
    const shell = new ContainerShell(exec, dir, state.hostPid, state.hostStartTicks, state.shellPid);
    try {
      shell.attach(onTimeout, WATCH_MS);
    } catch {
      return undefined;
    }
    return shell;
  }

  state(): ContainerShellState {
    return { execId: this.exec.id, hostPid: this.hostPid, hostStartTicks: this.hostStartTicks, shellPid: this.shellPid };
  }

  /** Lets go of the shell without disturbing it; `reason` ends the running command's exec here. */
  async detach(reason: Error): Promise<ChannelState> {
    clearInterval(this.watch);
    const state = await this.channel.detach(reason);
    for (const p of this.pipes) p.destroy();
    return state;
  }

  /** Kills the shell (checked by its start time: once it is gone its pid may be anyone's). */
  kill(): void {
    if (statOf(this.hostPid)?.startTicks === this.hostStartTicks) signal(this.hostPid, 'SIGKILL');
  }

  private attach(onTimeout: () => void, watchMs: number): void {
    // The container can replace its pipes (the folder is bound into it): never a link or a non-FIFO.
    const open = (name: string, flags: number) => openSandboxPipe(path.join(this.dir, name), flags);
    const stdout = new Socket({ fd: open('out', constants.O_RDONLY), readable: true, writable: false });
    const stderr = new Socket({ fd: open('err', constants.O_RDONLY), readable: true, writable: false });
    // Read-write: opening a pipe write-only fails while no reader has it (the shell not started yet).
    const stdin = new Socket({ fd: open('in', constants.O_RDWR), readable: false, writable: true });
    this.pipes = [stdin, stdout, stderr];
    for (const p of this.pipes) p.on('error', () => undefined);
    // The shell and what it started hold the only other write ends: the end of stdout is theirs.
    stdout.once('close', () => this.onExited());
    this.watchEvery(watchMs);
    this.channel = new ShellChannel({ stdin, stdout, stderr }, onTimeout, { afterEach: AFTER_EACH, onBackground: () => this.onBackground?.() });
  }

  /**
   * The shell's exit status as the engine reports it: it learns of the exit a moment after the pipes
   * show it, so it is asked until it has. 137 (killed) when it cannot tell.
   */
  private async exitCode(): Promise<number> {
    for (let i = 0; i < EXIT_READS; i++) {
      const info = await this.exec.inspect().catch(() => undefined);
      if (!info) break;
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
      await delay(EXIT_READ_MS);
    }
    return 137;
  }

  /** Looks for the shell's process every `ms`: a shell that exited while a background job holds stdout is seen here. */
  private watchEvery(ms: number): void {
    clearInterval(this.watch);
    this.watch = setInterval(() => {
      if (statOf(this.hostPid)?.startTicks !== this.hostStartTicks) this.onExited();
    }, ms).unref();
  }
}
