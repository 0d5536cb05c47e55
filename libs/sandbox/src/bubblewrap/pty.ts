import type { IPty } from 'node-pty';
import type { Pty } from '../types';
import type { JailSpec } from './jail';

/**
 * A terminal inside an existing jail. nsenter joins the jail's user, mount, uts, ipc, net and pid
 * namespaces (through its init), so the terminal sees the same files, processes and network as the
 * persistent shell; the wrapper first joins the same cgroups and rlimits. After setns into the user
 * namespace the process would hold every capability there, so setpriv empties the bounding set and sets
 * no_new_privs before bash runs, and bash runs as the jail's unprivileged uid. `argv` runs instead of
 * bash (an outside agent's `tmux attach`), under the same confinement.
 */
export function openJailPty(initPid: number, spec: JailSpec, limitScript: string, opts: { cols?: number; rows?: number; argv?: string[] }): Pty {
  // Loaded on first use: the native module is only needed by callers that open terminals.
  const nodePty = require('node-pty') as typeof import('node-pty');
  const env = Object.entries({ ...spec.env, TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${v}`);
  const args = [
    '-c', `${limitScript}\nexec "$@"`, 'sh',
    'nsenter', '-t', String(initPid), '-U', '--preserve-credentials', '-m', '-u', '-i', '-n', '-p', '-r', '--',
    'setpriv', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all', '--',
    'env', '-i', '--chdir=/workspace', ...env, ...(opts.argv?.length ? opts.argv : ['/bin/bash', '--noprofile', '--norc', '-i']),
  ];
  const term: IPty = nodePty.spawn('/bin/sh', args, {
    name: 'xterm-256color',
    cols: opts.cols ?? 80,
    rows: opts.rows ?? 24,
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let exited = false;
  const exitWaiters: (() => void)[] = [];
  term.onExit(() => {
    exited = true;
    for (const w of exitWaiters.splice(0)) w();
  });
  return {
    pid: term.pid,
    write: (d) => term.write(d),
    resize: (c, r) => term.resize(c, r),
    onData: (cb) => {
      const d = term.onData(cb);
      return () => d.dispose();
    },
    onExit: (cb) => void term.onExit((e) => cb(e.exitCode)),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((r) => exitWaiters.push(r));
      // The terminal's session: bash and its jobs get SIGHUP as from a closed terminal, then SIGKILL.
      try {
        process.kill(-term.pid, 'SIGHUP');
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-term.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 1000);
      await gone;
      clearTimeout(t);
    },
  };
}
