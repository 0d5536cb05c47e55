import { constants, openSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { ShellChannel } from '../shell/channel';
import { bwrapArgs, SHELL_STATE_DIR, type JailSpec } from './jail';
import { JailLauncher } from './launcher';
import { childrenOf, statOf } from './proc';

/** How an incarnation ended: bwrap's exit status, from its status file (null when bwrap itself was killed). */
export type JailExit = { code: number | null; signal: NodeJS.Signals | null };

/** bwrap's --json-status-fd, in the jail's folder: the init's pid when it starts, the exit status when it ends. */
const STATUS_FILE = 'bwrap-status.json';

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
  private onExited!: (e: JailExit) => void;
  /** bwrap's start time, which tells it from a later process given the same pid (undefined for an adopted jail: not ours to kill). */
  private bwrapTicks?: number;
  private watch?: NodeJS.Timeout;
  private statusWatch?: FSWatcher;
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
   * Starts a jail whose pipes live in `dir` (through the JailLauncher: no fork of this process).
   * `dieWithParent`: the jail ends with this process (bwrap's --die-with-parent) instead of waiting to
   * be adopted. Resolves once the pipes are open, before bwrap runs, so that what bwrap says when it
   * fails is read like any stderr; `locate()` finds the jail's init once its shell answered. Rejects
   * with what the wrapper printed when it could not get that far (a cgroup it could not join).
   */
  static async start(spec: JailSpec, limitScript: string, dir: string, opts: { dieWithParent: boolean; onTimeout: () => void }): Promise<Incarnation> {
    const jail = new Incarnation(dir, opts.onTimeout, afterEachCommand());
    const args = bwrapArgs(spec, ['/bin/bash', '--noprofile', '--norc'], { dieWithParent: opts.dieWithParent, stateDir: path.join(dir, 'shell') });
    // The wrapper joins the cgroups before bwrap forks, so that nothing inside starts outside them. It
    // makes fresh pipes (nothing a dead incarnation left unread reaches the next) and opens them
    // read-write before it says it is ready: so each has a writer before we open its read end (a read
    // end without one would see end-of-file at once) and a reader whenever we are gone.
    const script = [
      limitScript,
      'd=$1; shift',
      'rm -f "$d/in" "$d/out" "$d/err" && mkfifo -m 600 "$d/in" "$d/out" "$d/err" || exit 96',
      'exec 0<>"$d/in" 1<>"$d/out" 2<>"$d/err"; ready',
      'exec bwrap "$@"',
    ].join('\n');
    const stderrFile = path.join(dir, 'wrapper.err');
    const launched = await JailLauncher.shared().launch(script, [dir, ...args], { fd3File: path.join(dir, STATUS_FILE), stderrFile, orphan: !opts.dieWithParent });
    jail.bwrapPid = launched.pid;
    jail.bwrapTicks = statOf(launched.pid)?.startTicks;
    if (!launched.ready) {
      const early = readText(stderrFile);
      throw Object.assign(new Error(early.trim() || `the jail's wrapper ended before starting bwrap (exit status ${launched.code})`), { stderr: early });
    }
    jail.attach();
    return jail;
  }

  /**
   * Ends what is left of a jail that adopt() found gone: its shell died while no process held it, but
   * its init may still run, waiting for what the shell left in the background. Killing the init ends
   * its pid namespace, so those processes do not run on outside any session.
   */
  static endLeft(state: IncarnationState): void {
    if (statOf(state.initPid)?.startTicks === state.initStartTicks) signalQuiet(state.initPid, 'SIGKILL');
  }

  /** The same jail, run by a process that is gone: found by its pids, or undefined when it is not there any more. */
  static adopt(state: IncarnationState, dir: string, onTimeout: () => void): Incarnation | undefined {
    // Both must live: a jail whose shell died while no one watched (or that is being torn down) is gone.
    if (statOf(state.initPid)?.startTicks !== state.initStartTicks || statOf(state.shellPid)?.startTicks !== state.shellStartTicks) return undefined;
    const jail = new Incarnation(dir, onTimeout, afterEachCommand());
    Object.assign(jail, { bwrapPid: state.bwrapPid, initPid: state.initPid, shellPid: state.shellPid, ready: true, initTicks: state.initStartTicks });
    try {
      jail.attach();
    } catch {
      return undefined;
    }
    // A jail of a version without bwrap's status file (watchStatus): its stdout ends only when everything
    // in it is gone, so a shell that exited while a background job lives on is seen here.
    if (jail.statusWatch) return jail;
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
    this.statusWatch?.close();
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
    // The jail's processes (bwrap among them) hold the only other write ends of stdout: its end is the
    // jail's end, by then in bwrap's status file. No jail is a child of ours: this is how its end is seen.
    stdout.once('close', () => this.onExited({ code: this.status()['exit-code'] ?? null, signal: null }));
    this.channel = new ShellChannel({ stdin, stdout, stderr }, this.onTimeout, { afterEach: this.afterEach, onBackground: () => this.onBackground?.() });
    this.watchStatus();
  }

  /**
   * A shell that exits while a background job runs leaves the jail's init, the job and stdout behind
   * (bwrap's init waits for every process; bwrap itself ends at once): bwrap's status file says so as
   * it ends, and the jail is then killed with what is left (Sandbox.onExit). An adopted jail of a
   * version without the file is watched through its shell's pid instead (adopt).
   */
  private watchStatus(): void {
    const ended = () => {
      const code = this.status()['exit-code'];
      if (code !== undefined) this.onExited({ code, signal: null });
    };
    try {
      this.statusWatch = watch(path.join(this.dir, STATUS_FILE), ended);
    } catch {
      return;
    }
    this.statusWatch.on('error', () => undefined);
    this.statusWatch.unref();
    void this.exited.then(() => this.statusWatch?.close());
    // Written before the watch began (a jail that ended at once).
    ended();
  }

  /**
   * The jail's init (pid 1 of its pid namespace), once its shell answered: from bwrap's status file,
   * else bwrap's only child. 0 when it is not there (bwrap ended).
   */
  locate(): number {
    const pid = this.status()['child-pid'] ?? childrenOf(this.bwrapPid)[0] ?? 0;
    const ticks = pid ? statOf(pid)?.startTicks : undefined;
    if (ticks === undefined) return 0;
    this.initPid = pid;
    this.initTicks = ticks;
    return pid;
  }

  /** What bwrap wrote to its status file so far (one JSON document per line). */
  private status(): { 'child-pid'?: number; 'exit-code'?: number } {
    const out: { 'child-pid'?: number; 'exit-code'?: number } = {};
    for (const line of readText(path.join(this.dir, STATUS_FILE)).split('\n')) {
      // The text ends with a newline: its empty last line would be a thrown error at every read.
      if (!line) continue;
      try {
        Object.assign(out, JSON.parse(line));
      } catch {
        /* a line being written */
      }
    }
    return out;
  }

  /**
   * Kills the jail: init (and with it the pid namespace) and bwrap. Pids are checked first (their
   * start times): once the jail is gone they may be anyone's, and under load pids wrap within minutes.
   */
  kill(): void {
    // Killing bwrap alone would leave its child, the init, running: it is found first if need be.
    if (!this.initPid && this.bwrapTicks !== undefined) this.locate();
    if (this.initPid && this.initTicks !== undefined && statOf(this.initPid)?.startTicks === this.initTicks) signalQuiet(this.initPid, 'SIGKILL');
    if (this.bwrapTicks !== undefined && statOf(this.bwrapPid)?.startTicks === this.bwrapTicks) signalQuiet(this.bwrapPid, 'SIGKILL');
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

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function signalQuiet(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}
