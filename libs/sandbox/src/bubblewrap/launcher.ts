import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { shQuote } from '../shell/quote';
import { statOf } from './proc';

/** How a launch went: the wrapper's pid, and whether it got to its `ready` or ended first with `code`. */
export type Launched = { pid: number; ready: true } | { pid: number; ready: false; code: number };

export interface LaunchOptions {
  /** The wrapper's fd 3 (bwrap's status file) and its stderr until it redirects that itself. */
  fd3File: string;
  stderrFile: string;
  /**
   * Orphaned at once (its parent is the host's init, which reaps it), so that it outlives this process;
   * otherwise a child of the launcher, which ends when this process does (bwrap's --die-with-parent).
   */
  orphan: boolean;
}

interface Pending {
  pid?: number;
  /** What the wrapper said (ready, or its exit status); the pid line may come after it. */
  outcome?: { ready: true } | { ready: false; code: number };
  /** Seen gone at the last check: at the next, its last line has surely been read. */
  gone?: boolean;
  resolve: (l: Launched) => void;
}

/** How often pending launches are checked for a wrapper that died without a word (killed by a signal). */
const CHECK_MS = 1000;

/**
 * Starts jail wrappers (cgroups, pipes, then `exec bwrap`) from one long-lived /bin/sh instead of
 * forking this process for each: a fork of a Node process copies its page tables, ~6.6 ms of CPU at
 * 320 MiB of RSS here, during which its event loop stands still (profiled while sessions were created
 * back to back, the shell service spent 15% of its time in ChildProcess.spawn; unprofiled, its system
 * CPU per create+close fell from 7.3-7.5 to 3.3-4.2 ms with this). The shell forks in ~0.3 ms.
 *
 * Each launch is one line to the shell's stdin. The wrapper's fd 4 is the launcher's stdout, on which
 * it says `<n> ready` (or, through an EXIT trap, `<n> exit <status>` when it ends first); the launcher
 * itself says `<n> pid <pid>`. Each is one short write, so lines of concurrent launches never
 * interleave. `ready` also closes fd 4: nothing the wrapper execs afterwards (the jail) can write to
 * this channel.
 */
export class JailLauncher {
  private static current?: JailLauncher;
  private readonly proc: ChildProcess;
  /** The launcher's stdout (a socket): ref'd while a launch waits for its answer, else unref'd. */
  private readonly out: Socket;
  private readonly pending = new Map<number, Pending>();
  private n = 0;
  private dead = false;
  private check?: NodeJS.Timeout;

  /** The process's launcher, started on first use and again after one died. */
  static shared(): JailLauncher {
    if (!JailLauncher.current || JailLauncher.current.dead) JailLauncher.current = new JailLauncher();
    return JailLauncher.current;
  }

  private constructor() {
    // What every wrapper inherits: no working folder and no environment of the service's, and no fd
    // but its stdio. bwrap hands a jail whatever fds it is given, and this process may hold some it
    // inherited without close-on-exec (seen: a harness's fd 251 inside a jail). bash closes them (dash
    // cannot name an fd above 9), then becomes the shell that reads the launches.
    const closeInherited = 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; exec /bin/sh';
    this.proc = spawn('/bin/bash', ['-c', closeInherited], { stdio: ['pipe', 'pipe', 'ignore'], detached: true, cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    this.proc.stdin!.on('error', () => undefined);
    // A helper, not a reason for this process to stay (it ends when its stdin does), except while a
    // launch waits for its answer (settle and launch ref and unref its stdout).
    this.out = this.proc.stdout as Socket;
    this.proc.unref();
    (this.proc.stdin as Socket).unref();
    this.out.unref();
    createInterface({ input: this.out }).on('line', (line) => this.onLine(line));
    this.proc.once('exit', () => this.onExit());
    this.proc.once('error', () => this.onExit());
  }

  /**
   * Runs `script` (a /bin/sh script, `$@` = args) as a wrapper and resolves once it said it is ready or
   * ended first. The script signals readiness with `ready` (a shell function defined for it).
   */
  launch(script: string, args: string[], opts: LaunchOptions): Promise<Launched> {
    if (this.dead) return Promise.reject(new Error('the jail launcher is gone'));
    const n = ++this.n;
    const wrapper = [
      `trap 'echo "${n} exit $?" >&4' EXIT`,
      `ready() { trap - EXIT; echo "${n} ready" >&4; exec 4>&-; }`,
      script,
    ].join('\n');
    // A background job of a shell without job control starts with SIGINT and SIGQUIT ignored, which
    // every process of the jail would inherit (an interrupt would do nothing): env puts them back.
    const job = `exec env --default-signal=INT,QUIT /bin/sh -c ${shQuote(wrapper)} sh ${args.map(shQuote).join(' ')} 4>&1 3>${shQuote(opts.fd3File)} 2>${shQuote(opts.stderrFile)} </dev/null >/dev/null`;
    // `$!` is the wrapper's pid (env and the subshell exec in place).
    const line = opts.orphan ? `( (${job}) & echo "${n} pid $!" )` : `(${job}) & echo "${n} pid $!"`;
    return new Promise((resolve) => {
      this.pending.set(n, { resolve });
      this.out.ref();
      this.proc.stdin!.write(`${line}\n`);
      this.check ??= setInterval(() => this.findDead(), CHECK_MS).unref();
    });
  }

  private onLine(line: string): void {
    const [id, what, value] = line.split(' ');
    const p = this.pending.get(Number(id));
    if (!p) return;
    if (what === 'pid') p.pid = Number(value);
    else if (what === 'ready') p.outcome = { ready: true };
    else if (what === 'exit') p.outcome = { ready: false, code: Number(value) };
    if (p.pid !== undefined && p.outcome) this.settle(Number(id), { pid: p.pid, ...p.outcome });
  }

  private settle(n: number, l: Launched): void {
    this.pending.get(n)?.resolve(l);
    this.pending.delete(n);
    if (this.pending.size > 0) return;
    this.check = void clearInterval(this.check);
    this.out.unref();
  }

  /** A wrapper killed before it said anything (its EXIT trap does not run on a signal) ends as killed. */
  private findDead(): void {
    for (const [n, p] of this.pending) {
      if (p.pid === undefined || statOf(p.pid)) continue;
      if (p.gone) this.settle(n, { pid: p.pid, ready: false, code: 128 + 9 });
      p.gone = true;
    }
  }

  private onExit(): void {
    this.dead = true;
    for (const [n, p] of this.pending) this.settle(n, { pid: p.pid ?? 0, ready: false, code: 128 + 9 });
  }
}
