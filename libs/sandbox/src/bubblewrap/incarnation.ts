import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ShellChannel } from '../shell/channel';
import { bwrapArgs, type JailSpec } from './jail';

/**
 * One running jail: the wrapper (joins cgroups, sets rlimits, execs bwrap), bwrap's init inside the
 * new pid namespace, and the persistent bash under it. A crash replaces the whole incarnation.
 */
export class Incarnation {
  readonly proc: ChildProcess;
  readonly channel: ShellChannel;
  /** Host pid of the jail's init (pid 1 of its pid namespace); killing it kills everything inside. */
  initPid = 0;
  /** Host pid of the persistent shell. */
  shellPid = 0;
  /** Set once the shell answered its first command; a crash before that is a failed start. */
  ready = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(spec: JailSpec, limitScript: string, onTimeout: () => void) {
    const args = bwrapArgs(spec, ['/bin/bash', '--noprofile', '--norc']);
    // The wrapper must join the cgroups before bwrap forks, so that nothing inside starts outside them.
    this.proc = spawn('/bin/sh', ['-c', `${limitScript}\nexec bwrap "$@"`, 'sh', ...args], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      // The jail's pid 1 keeps these: nothing of the service's (its PATH, its working folder) shows there.
      cwd: '/',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    this.exited = new Promise((resolve) => this.proc.once('close', (code, signal) => resolve({ code, signal })));
    this.proc.on('error', () => undefined);
    this.channel = new ShellChannel({ stdin: this.proc.stdin!, stdout: this.proc.stdout!, stderr: this.proc.stderr! }, onTimeout);
  }

  /** Resolves with init's host pid from bwrap's --info-fd, or 0 when bwrap ended before reporting it. */
  readInfo(): Promise<number> {
    const info = this.proc.stdio[3] as Readable;
    return new Promise((resolve) => {
      let text = '';
      info.on('data', (b: Buffer) => {
        text += b.toString();
        const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
        if (m) {
          this.initPid = Number(m[1]);
          resolve(this.initPid);
        }
      });
      info.on('error', () => resolve(0));
      info.on('close', () => resolve(this.initPid));
    });
  }

  /** Kills the jail: init (and with it the pid namespace) and the wrapper's process group. */
  kill(): void {
    if (this.initPid) signalQuiet(this.initPid, 'SIGKILL');
    if (this.proc.pid) signalQuiet(-this.proc.pid, 'SIGKILL');
  }
}

function signalQuiet(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}
