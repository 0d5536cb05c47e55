import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Network } from '../types';

/** Host paths never shown to a sandbox even though they sit under /etc: secrets and host identity. */
const ETC_SECRETS = [
  '/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh',
  '/etc/ssl/private', '/etc/security/opasswd', '/etc/machine-id', '/etc/docker', '/etc/rabbitmq', '/etc/postgresql',
  '/etc/wireguard', '/etc/credstore', '/etc/credstore.encrypted',
];

let masks: { files: string[]; dirs: string[] } | undefined;

/**
 * Everything under /etc that the host keeps from ordinary users (not world-readable) plus a fixed
 * list. Inside the jail processes are host uid 0 without capabilities, so a root-owned 0600 file would
 * otherwise still be readable by owner match: what is not mounted cannot leak, so it is masked.
 */
export function etcMasks(): { files: string[]; dirs: string[] } {
  if (masks) return masks;
  const files = new Set<string>();
  const dirs = new Set<string>();
  const add = (p: string, st: Stats): void => void (st.isDirectory() ? dirs : files).add(p);
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      let st: Stats;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) continue;
      if ((st.mode & 0o004) === 0 || (st.isDirectory() && (st.mode & 0o001) === 0)) add(p, st);
      else if (st.isDirectory() && depth < 6) walk(p, depth + 1);
    }
  };
  walk('/etc', 0);
  for (const p of ETC_SECRETS) {
    try {
      add(p, lstatSync(p));
    } catch {
      /* absent on this host */
    }
  }
  // A masked directory hides its contents: drop masks nested inside it (bwrap cannot mount into a tmpfs path that is gone).
  const under = (p: string): boolean => [...dirs].some((d) => d !== p && p.startsWith(d + '/'));
  masks = { files: [...files].filter((f) => !under(f)), dirs: [...dirs].filter((d) => !under(d)) };
  return masks;
}

/** /bin, /lib... are symlinks into /usr on merged-/usr hosts and real directories elsewhere. */
function systemDirs(): string[] {
  const out: string[] = [];
  for (const d of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      const st = lstatSync(d);
      if (st.isSymbolicLink()) out.push('--symlink', readlinkSync(d), d);
      else if (st.isDirectory()) out.push('--ro-bind', d, d);
    } catch {
      /* absent */
    }
  }
  return out;
}

export interface JailSpec {
  workspace: string;
  network: Network;
  hostname: string;
  env: Record<string, string>;
  /** A resolv.conf mounted over /etc/resolv.conf (the jail's own DNS server, for `allow` and `open`). */
  resolvConf?: string;
}

/** Where the sandbox user lives; a tmpfs, so nothing of it outlives the jail. */
export const SANDBOX_HOME = '/home/user';
export const SANDBOX_UID = 1000;

/** Where the jail sees its state folder (on the host, in the jail's own folder): the shell's last working folder and exports. */
export const SHELL_STATE_DIR = '/run/codeagent';

/** Variables every jail's shell is given by the jail itself: a new shell keeps its own, not a lost one's. */
export const JAIL_OWN_VARIABLES = ['HOSTNAME'];

/**
 * The bwrap arguments for one jail (see README, "The jail"). `--json-status-fd 3` reports the host pid of
 * the jail's init (so PTYs can join it and close() can kill the whole pid namespace) and, when it ends,
 * its exit status. `dieWithParent`: the
 * jail ends with the process that started it, unless that process lets it be adopted by its successor.
 */
export function bwrapArgs(spec: JailSpec, command: string[], opts: { dieWithParent: boolean; stateDir: string }): string[] {
  const m = etcMasks();
  const a = [
    '--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID),
    // Every mode has its own network namespace: `allow` and `open` leave it only through the egress proxy.
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--unshare-net',
    '--cap-drop', 'ALL',
    '--hostname', spec.hostname,
    '--ro-bind', '/usr', '/usr',
    ...systemDirs(),
    '--ro-bind', '/etc', '/etc',
    ...m.files.flatMap((f) => ['--ro-bind', '/dev/null', f]),
    ...m.dirs.flatMap((d) => ['--tmpfs', d, '--remount-ro', d]),
    ...(spec.resolvConf ? ['--ro-bind', spec.resolvConf, '/etc/resolv.conf'] : []),
    // Read-only: jailed processes are host uid 0 without capabilities, and sysctls under /proc/sys
    // check only the uid, so a writable /proc would let the jail change the host's kernel settings.
    '--proc', '/proc', '--remount-ro', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--tmpfs', '/var', '--dir', '/var/tmp',
    '--tmpfs', '/run',
    '--tmpfs', '/home', '--dir', SANDBOX_HOME,
    '--bind', spec.workspace, '/workspace',
    '--bind', opts.stateDir, SHELL_STATE_DIR,
    '--chdir', '/workspace',
    ...(opts.dieWithParent ? ['--die-with-parent'] : []),
    '--new-session',
    '--clearenv',
    ...Object.entries(spec.env).flatMap(([k, v]) => ['--setenv', k, v]),
    '--json-status-fd', '3',
    '--',
    ...command,
  ];
  return a;
}

/** The shell's environment: a fixed base the caller's env extends. Never the host's environment. */
export function jailEnv(hostname: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin',
    HOME: SANDBOX_HOME,
    USER: 'user',
    LOGNAME: 'user',
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    HOSTNAME: hostname,
    TMPDIR: '/tmp',
    ...extra,
  };
}
