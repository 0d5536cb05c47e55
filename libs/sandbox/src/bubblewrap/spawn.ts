import { spawn } from 'node:child_process';
import type { JailProcess, SpawnOptions } from '../process';
import type { JailSpec } from './jail';

/** Between SIGTERM and SIGKILL of a spawned process. */
const GRACE_MS = 2000;

/**
 * How a process outside joins a jail to run `argv` there: nsenter joins the jail's user, mount, uts,
 * ipc, net and pid namespaces through its init; setpriv drops every capability and sets no_new_privs;
 * `env -i` gives it `env` only, cwd /workspace. Whoever execs it joined the jail's cgroups and rlimits
 * first (the limit script). No shell parses argv.
 */
export function jailEntryArgv(initPid: number, env: Record<string, string>, argv: string[]): string[] {
  return [
    'nsenter', '-t', String(initPid), '-U', '--preserve-credentials', '-m', '-u', '-i', '-n', '-p', '-r', '--',
    'setpriv', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all', '--',
    'env', '-i', '--chdir=/workspace', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv,
  ];
}

/** Starts `argv` inside an existing jail with plain pipes (jailEntryArgv, after the limit script), as pty.ts opens a terminal there. */
export function spawnInJail(initPid: number, spec: JailSpec, limitScript: string, argv: string[], opts: SpawnOptions = {}): JailProcess {
  if (argv.length === 0) throw new Error('spawnInJail needs a program');
  const args = ['-c', `${limitScript}\nexec "$@"`, 'sh', ...jailEntryArgv(initPid, { ...spec.env, ...opts.env }, argv)];
  // detached: its own process group, so kill() reaches whatever it started too.
  const child = spawn('/bin/sh', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  // A process that ends while we write is not our error to crash on.
  child.stdin.on('error', () => undefined);
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  return {
    pid: child.pid ?? 0,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup('SIGTERM');
      const t = setTimeout(() => signalGroup('SIGKILL'), GRACE_MS);
      await exited;
      clearTimeout(t);
    },
  };
}
