import { spawn, type ChildProcess } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ShellChannel } from '../shell/channel';
import { bwrapArgs, SHELL_STATE_DIR, type JailSpec } from './jail';
import { statOf } from './proc';

/** How an incarnation ended: the exit of bwrap when we started it, unknown (both null) for an adopted one. */
export type JailExit = { code: number | null; signal: NodeJS.Signals | null };

/** What identifies a running incarnation to another process that adopts it. JSON. */
export interface IncarnationState {
  /** Host pids of bwrap (outside the jail), the jail's init and the persistent shell. */
  bwrapPid: number;
  initPid: number;
  shellPid: number;
  /** Start times of the init and the shell in clock ticks since boot: a reused pid is not the jail. */
  initStartTicks: number;
  shellStartTicks: number;
}

/** How often an adopted jail's shell is looked for (it is no child of ours, so its exit is not reported). */
const ADOPTED_SHELL_CHECK_MS = 1000;

/**
 * One running jail: the wrapper (joins cgroups, sets rlimits, execs bwrap), bwrap's init inside the
 * new pid namespace, and the persistent bash under it. A crash replaces the whole incarnation.
 *
 * The shell's stdin, stdout and stderr are named pipes in the jail's folder, which the wrapper opens
 * read-write before it execs bwrap. So every pipe keeps a reader and a writer for as long as the jail
 * lives, whoever else comes and goes: when this process stops reading, output waits in the pipe (the
 * writer blocks when it is full, nothing is lost) until the process that adopts the jail opens the
 * same pipes and reads on. And when the jail dies, its last writer goes: our read ends at once.
 */
export class Incarnation {
  channel!: ShellChannel;
  /** Host pid of bwrap, outside the jail (0 until started). */
  bwrapPid = 0;
  /** Host pid of the jail's init (pid 1 of its pid namespace); killing it kills everything inside. */
  initPid = 0;
  /** Host pid of the persistent shell. */
  shellPid = 0;
  /** Set once the shell answered its first command; a crash before that is a failed start. */
  ready = false;
  readonly exited: Promise<JailExit>;
  /** Resolves with initPid once bwrap reported it (0 when bwrap ended first). */
  info: Promise<number> = Promise.resolve(0);
  private onExited!: (e: JailExit) => void;
  private proc?: ChildProcess;
  private watch?: NodeJS.Timeout;
  /** Called when a command left a new background job behind. */
  onBackground?: () => void;
  /** The init's start time, which tells it from a later process given the same pid. */
  private initTicks?: number;
  private pipes?: { stdin: Socket; stdout: Socket; stderr: Socket };

  private constructor(
    private readonly dir: string,
    private readonly onTimeout: () => void,
    private readonly afterEach: string,
  ) {
    this.exited = new Promise((resolve) => (this.onExited = resolve));
  }

  /**
   * Starts a jail whose pipes live in `dir`. `dieWithParent`: the jail ends with this process
   * (bwrap's --die-with-parent) instead of waiting to be adopted. Resolves once the pipes are open,
   * before bwrap runs, so that what bwrap says when it fails is read like any stderr; `info` then
   * resolves with the init's pid (0 when bwrap ended first). Rejects with what the wrapper printed
   * when it could not get that far (a cgroup it could not join).
   */
  static async start(spec: JailSpec, limitScript: string, dir: string, opts: { dieWithParent: boolean; onTimeout: () => void }): Promise<Incarnation> {
    const jail = new Incarnation(dir, opts.onTimeout, afterEachCommand());
    const args = bwrapArgs(spec, ['/bin/bash', '--noprofile', '--norc'], { dieWithParent: opts.dieWithParent, stateDir: path.join(dir, 'shell') });
    // The wrapper joins the cgroups before bwrap forks, so that nothing inside starts outside them. It
    // makes fresh pipes (nothing a dead incarnation left unread reaches the next) and opens them
    // read-write before telling us on fd 3: so each has a writer before we open its read end (a read
    // end without one would see end-of-file at once) and a reader whenever we are gone.
    const script = [
      limitScript,
      'd=$1; shift',
      'rm -f "$d/in" "$d/out" "$d/err" && mkfifo -m 600 "$d/in" "$d/out" "$d/err" || exit 96',
      'exec 0<>"$d/in" 1<>"$d/out" 2<>"$d/err"; echo pipes >&3',
      'exec bwrap "$@"',
    ].join('\n');
    const proc = spawn('/bin/sh', ['-c', script, 'sh', dir, ...args], {
      // stderr: what the wrapper says before its own is the pipe (a cgroup it could not join); fd 3: the handshake, then bwrap's --info-fd.
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
      // The jail's pid 1 keeps these: nothing of the service's (its PATH, its working folder) shows there.
      cwd: '/',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    jail.proc = proc;
    jail.bwrapPid = proc.pid ?? 0;
    proc.on('error', () => undefined);
    proc.once('exit', (code, signal) => jail.onExited({ code, signal }));
    if (!opts.dieWithParent) proc.unref();
    let early = '';
    proc.stderr!.on('data', (b: Buffer) => (early = (early + b.toString()).slice(-4000)));
    const fd3 = proc.stdio[3] as Readable;
    const info = readInfo(fd3);
    // fd 3 is left to bwrap to close: it writes more after the pid, and a closed end would kill it (SIGPIPE).
    jail.info = info.pid.then((pid) => {
      jail.initPid = pid;
      jail.initTicks = statOf(pid)?.startTicks;
      return pid;
    });
    if (!(await info.pipes)) {
      const e = await jail.exited;
      throw Object.assign(new Error(early.trim() || `the jail's wrapper ended before starting bwrap (${e.signal ?? `exit status ${e.code}`})`), { stderr: early });
    }
    proc.stderr!.destroy();
    jail.attach();
    return jail;
  }

  /** The same jail, run by a process that is gone: found by its pids, or undefined when it is not there any more. */
  static adopt(state: IncarnationState, dir: string, onTimeout: () => void): Incarnation | undefined {
    // Both must live: a jail whose shell died while no one watched (or that is being torn down) is gone.
    if (statOf(state.initPid)?.startTicks !== state.initStartTicks || statOf(state.shellPid)?.startTicks !== state.shellStartTicks) return undefined;
    const jail = new Incarnation(dir, onTimeout, afterEachCommand());
    Object.assign(jail, { bwrapPid: state.bwrapPid, initPid: state.initPid, shellPid: state.shellPid, ready: true, info: Promise.resolve(state.initPid), initTicks: state.initStartTicks });
    try {
      jail.attach();
    } catch {
      return undefined;
    }
    // Its stdout ends only when everything in the jail is gone; a shell that exited while a background
    // job lives on is seen here.
    jail.watch = setInterval(() => {
      if (statOf(state.shellPid)?.startTicks !== state.shellStartTicks) jail.onExited({ code: null, signal: null });
    }, ADOPTED_SHELL_CHECK_MS).unref();
    void jail.exited.then(() => clearInterval(jail.watch));
    return jail;
  }

  state(): IncarnationState {
    const ticks = (pid: number) => statOf(pid)?.startTicks ?? 0;
    return { bwrapPid: this.bwrapPid, initPid: this.initPid, shellPid: this.shellPid, initStartTicks: ticks(this.initPid), shellStartTicks: ticks(this.shellPid) };
  }

  /** Lets go of the jail without disturbing it; `reason` ends the running command's exec here. */
  async detach(reason: Error): Promise<ReturnType<ShellChannel['detach']>> {
    clearInterval(this.watch);
    const state = await this.channel.detach(reason);
    for (const p of Object.values(this.pipes ?? {})) p.destroy();
    return state;
  }

  /** Opens the jail's pipes and the command channel over them. */
  private attach(): void {
    const open = (name: string, flags: number) => openSync(path.join(this.dir, name), flags | constants.O_NONBLOCK);
    const stdout = new Socket({ fd: open('out', constants.O_RDONLY), readable: true, writable: false });
    const stderr = new Socket({ fd: open('err', constants.O_RDONLY), readable: true, writable: false });
    const stdin = new Socket({ fd: open('in', constants.O_WRONLY), readable: false, writable: true });
    this.pipes = { stdin, stdout, stderr };
    for (const p of [stdin, stdout, stderr]) p.on('error', () => undefined);
    // The jail's processes hold the only other write ends of stdout: its end is the jail's end. An
    // adopted jail is no child of ours, so this is how its death is seen; ours reports its exit status.
    stdout.once('close', () => {
      if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) this.onExited({ code: null, signal: null });
    });
    this.channel = new ShellChannel({ stdin, stdout, stderr }, this.onTimeout, { afterEach: this.afterEach, onBackground: () => this.onBackground?.() });
  }

  /**
   * Kills the jail: init (and with it the pid namespace) and bwrap. Pids are checked first (init's
   * start time, bwrap still our running child): once the jail is gone they may be anyone's, and under
   * load pids wrap within minutes.
   */
  kill(): void {
    if (this.initPid && this.initTicks !== undefined && statOf(this.initPid)?.startTicks === this.initTicks) signalQuiet(this.initPid, 'SIGKILL');
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) signalQuiet(-this.bwrapPid, 'SIGKILL');
  }
}

/**
 * After a command the shell writes its working folder and exports into the jail's state folder (on
 * the host, outside the jail), so that a jail lost with its host can be restored: when its working
 * folder changed, else at most every SNAPSHOT_EVERY_S seconds. Not after every command: that write,
 * small as it is, cost every process on the host about 30% more CPU per command in the stack
 * benchmark (9.0 against 11.5-14.3 ms of CPU per exec, all processes together). The test costs no fork.
 */
function afterEachCommand(): string {
  const save = `{ builtin pwd; builtin export -p; } 2>/dev/null >${SHELL_STATE_DIR}/state`;
  return `if [[ $PWD != "\${__ca_pwd-}" ]] || (( SECONDS >= \${__ca_due:-0} )); then __ca_pwd=$PWD; __ca_due=$((SECONDS + ${SNAPSHOT_EVERY_S})); ${save}; fi`;
}

/** At most this long between two saves of the shell's exports when its working folder stays. */
const SNAPSHOT_EVERY_S = 30;

/** The wrapper's handshake (its pipes exist) and then init's host pid from bwrap's --info-fd, each false/0 when the process ended first. */
function readInfo(fd3: Readable): { pipes: Promise<boolean>; pid: Promise<number> } {
  let pipes!: (ok: boolean) => void;
  let pid!: (n: number) => void;
  const out = { pipes: new Promise<boolean>((r) => (pipes = r)), pid: new Promise<number>((r) => (pid = r)) };
  let text = '';
  fd3.on('data', (b: Buffer) => {
    text += b.toString();
    if (text.startsWith('pipes\n')) pipes(true);
    const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
    if (m) pid(Number(m[1]));
  });
  const end = () => (pipes(false), pid(0));
  fd3.on('error', end);
  fd3.on('close', end);
  return out;
}

function signalQuiet(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}
