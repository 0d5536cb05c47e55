import { spawn } from 'node:child_process';
import { constants, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { runHostTool } from '../host/tools';
import { feedListeners } from '../pty-data';
import { shQuote } from '../shell/quote';
import type { Pty, PtyDataListener } from '../types';
import type { JailSpec } from './jail';
import { signal, statOf } from './proc';
import { jailEntryArgv } from './spawn';

/** What identifies a running terminal to a process that adopts it. JSON. */
export interface PtyState {
  /** Its folder on the host (in the jail's): the pipes, the slave's name, the exit status. */
  dir: string;
  /** Host pid and start time of its holder (the shell around `script`) and of the terminal's session leader. */
  holderPid: number;
  holderStartTicks: number;
  leaderPid: number;
  leaderStartTicks: number;
}

/** Between the SIGHUP of closing a terminal and SIGKILL for what ignores it. */
const HANGUP_GRACE_MS = 1000;

/**
 * A terminal inside an existing jail, held by a process that is not this one, so that it outlives it:
 * util-linux `script` owns the pseudo-terminal and copies between it and two named pipes in the
 * terminal's folder, which its shell opens read-write (as a jail's wrapper does for the shell): while
 * no process reads, output waits in the pipe and the terminal's programs block, nothing is lost, and
 * the process that adopts the jail opens the same pipes and reads on.
 *
 * Inside the terminal nsenter joins the jail's user, mount, uts, ipc, net and pid namespaces through
 * its init, after the cgroups and rlimits (`limitScript`); setpriv empties the bounding set and sets
 * no_new_privs, and bash runs as the jail's unprivileged uid. `argv` runs instead of bash (an outside
 * agent's `tmux attach`), under the same confinement. The window size is set on the slave with
 * `stty -F` (Node has no ioctl); the kernel tells the foreground programs (SIGWINCH).
 */
export class JailPty implements Pty {
  private readonly exitListeners: ((code: number) => void)[] = [];
  private readonly dataListeners = new Set<PtyDataListener>();
  private exitCode?: number;
  /** Absent for a terminal that had ended when it was adopted. */
  private out?: Socket;
  private in?: Socket;
  /** Input waits behind a resize on its way, so a program reads its input at the size it was typed for. */
  private resizing: Promise<void> = Promise.resolve();
  private closing?: Promise<void>;
  private detached = false;
  /** The slave's host path (/dev/pts/N), which resize sets the size on. */
  private readonly slave: string;

  private constructor(private readonly st: PtyState) {
    this.slave = readLeader(st.dir)?.slave ?? '';
  }

  get pid(): number {
    return this.st.leaderPid;
  }

  /** Starts a terminal whose folder is `dir` (made by the caller, empty); resolves once it runs. */
  static async open(dir: string, initPid: number, spec: JailSpec, limitScript: string, opts: { cols?: number; rows?: number; argv?: string[] }): Promise<JailPty> {
    const env = { ...spec.env, TERM: 'xterm-256color' };
    const argv = opts.argv?.length ? opts.argv : ['/bin/bash', '--noprofile', '--norc', '-i'];
    const q = (p: string) => shQuote(path.join(dir, p));
    // What runs in the terminal (as its session leader, before joining the jail): it names the slave
    // and itself, sets the size and UTF-8 input, and becomes nsenter.
    const inside = [
      `echo "$$ $(tty)" > ${q('leader.tmp')} && mv ${q('leader.tmp')} ${q('leader')}`,
      `stty rows ${opts.rows ?? 24} cols ${opts.cols ?? 80} iutf8`,
      limitScript,
      `exec ${jailEntryArgv(initPid, env, argv).map(shQuote).join(' ')}`,
    ].join('\n');
    // The holder: fresh pipes, opened read-write before it says so on fd 3; then `script`, whose exit
    // status (the terminal's program's, -e) is written before the holder ends and with it the pipes.
    const holder = [
      'd=$1',
      'mkfifo -m 600 "$d/in" "$d/out" || exit 96',
      'exec 0<>"$d/in" 1<>"$d/out" 2>&1; echo pipes >&3; exec 3>&-',
      'script -q -e -c "$2" /dev/null',
      'c=$?; echo $c > "$d/exit"; exit $c',
    ].join('\n');
    const proc = spawn('/bin/sh', ['-c', holder, 'sh', dir, inside], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      // Its own session, no terminal of ours: it lives on when this process ends.
      detached: true,
      cwd: '/',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SHELL: '/bin/sh' },
    });
    proc.on('error', () => undefined);
    proc.unref();
    let early = '';
    proc.stderr!.on('data', (b: Buffer) => (early = (early + b.toString()).slice(-2000)));
    const ready = await new Promise<boolean>((resolve) => {
      (proc.stdio[3] as Readable).on('data', () => resolve(true)).on('close', () => resolve(false)).on('error', () => resolve(false));
      proc.once('exit', () => resolve(false));
    });
    proc.stderr!.destroy();
    if (!ready) throw new Error(early.trim() || 'the terminal\'s holder ended before opening its pipes');
    const leader = await waitForLeader(dir, proc.pid!).catch((err: Error) => {
      signal(-proc.pid!, 'SIGKILL');
      throw err;
    });
    const pty = new JailPty({ dir, holderPid: proc.pid!, holderStartTicks: statOf(proc.pid!)?.startTicks ?? 0, leaderPid: leader, leaderStartTicks: statOf(leader)?.startTicks ?? 0 });
    pty.attach();
    return pty;
  }

  /**
   * The terminal another process left, read on from where it stopped. One that ended meanwhile is
   * answered ended, with its exit status (what it printed after the last reader let go is lost with
   * its pipe).
   */
  static adopt(state: PtyState): JailPty {
    const pty = new JailPty(state);
    if (statOf(state.holderPid)?.startTicks === state.holderStartTicks) {
      try {
        pty.attach();
        return pty;
      } catch {
        /* its pipes are gone: it ended */
      }
    }
    pty.exitCode = readExitStatus(state.dir) ?? 129;
    return pty;
  }

  state(): PtyState {
    return this.st;
  }

  /** Lets go of the terminal without disturbing it: what it prints waits in its pipe. */
  detach(): void {
    this.detached = true;
    this.dataListeners.clear();
    this.exitListeners.splice(0);
    this.out?.destroy();
    this.in?.destroy();
  }

  write(data: string | Buffer): void {
    void this.resizing.then(() => this.in?.write(data));
  }

  resize(cols: number, rows: number): void {
    const set = () => runHostTool('stty', ['-F', this.slave, 'rows', String(rows), 'cols', String(cols)], { timeoutMs: 5000 }).then(() => undefined, () => undefined);
    this.resizing = this.resizing.then(set);
  }

  /** Output is read from the first listener on (an adopted terminal's waits in its pipe until then). */
  onData(cb: PtyDataListener): () => void {
    const out = this.out;
    if (out && out.listenerCount('data') === 0) feedListeners(out, this.dataListeners, () => this.closing === undefined);
    this.dataListeners.add(cb);
    return () => this.dataListeners.delete(cb);
  }

  onExit(cb: (code: number) => void): void {
    if (this.exitCode !== undefined) cb(this.exitCode);
    else this.exitListeners.push(cb);
  }

  /** Hangs up its session as a closed terminal would (bash passes SIGHUP to its jobs), then SIGKILL. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.exitCode !== undefined) return;
      const ended = new Promise<void>((r) => this.onExit(() => r()));
      // Its end is seen at the end of its output, which must be read for that (what nobody listened to goes).
      this.out?.resume();
      const leader = statOf(this.st.leaderPid)?.startTicks === this.st.leaderStartTicks;
      if (leader) signal(-this.st.leaderPid, 'SIGHUP');
      const t = setTimeout(() => {
        if (leader) signal(-this.st.leaderPid, 'SIGKILL');
        if (statOf(this.st.holderPid)?.startTicks === this.st.holderStartTicks) signal(-this.st.holderPid, 'SIGKILL');
      }, leader ? HANGUP_GRACE_MS : 0);
      await ended;
      clearTimeout(t);
    })();
    return this.closing;
  }

  private attach(): void {
    const open = (name: string, flags: number) => openSync(path.join(this.st.dir, name), flags | constants.O_NONBLOCK);
    const out = new Socket({ fd: open('out', constants.O_RDONLY), readable: true, writable: false });
    this.out = out;
    this.in = new Socket({ fd: open('in', constants.O_WRONLY), readable: false, writable: true });
    this.in.on('error', () => undefined);
    out.on('error', () => undefined);
    // The holder holds the only other write end: the end of its output is the terminal's end, and the
    // status it wrote just before is there to read.
    out.once('close', () => {
      if (!this.detached) this.ended();
    });
  }

  private ended(): void {
    if (this.exitCode !== undefined) return;
    this.in?.destroy();
    // No status written: the holder was killed (SIGKILL at close, or with the jail's cgroups).
    this.exitCode = readExitStatus(this.st.dir) ?? 137;
    for (const l of this.exitListeners.splice(0)) l(this.exitCode);
  }
}

/** How long a terminal may take to name its leader; a loaded host takes milliseconds. */
const START_TIMEOUT_MS = 10_000;

/** The terminal's session leader names itself and the slave as its first step; a holder that ended first, or took too long, is an error. */
async function waitForLeader(dir: string, holderPid: number): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const leader = readLeader(dir);
    if (leader) return leader.pid;
    if (!statOf(holderPid)) {
      const status = readExitStatus(dir);
      throw new Error(`the terminal ended before it started${status === undefined ? '' : ` (exit status ${status})`}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`the terminal did not start within ${START_TIMEOUT_MS} ms`);
}

/** The exit status the holder wrote as it ended, or undefined when it did not (killed, or not ended). */
function readExitStatus(dir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(dir, 'exit'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** What the terminal's session leader wrote first: its host pid and the slave's host path. */
function readLeader(dir: string): { pid: number; slave: string } | undefined {
  try {
    const [pid, slave] = readFileSync(path.join(dir, 'leader'), 'utf8').trim().split(' ');
    return { pid: Number(pid), slave: slave ?? '' };
  } catch {
    return undefined;
  }
}
