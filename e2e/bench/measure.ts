import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { hostProcessesMatching, startStack, type Stack } from '@codeagent/testing';
import { hostStateDir } from '../../services/shell/src/drivers';
import type { ServiceEnv } from '../../services/shell/src/env';

/**
 * Limits raised so the benchmarks measure the platform, not its per-user guards; the shell's pool of
 * jails and the orchestrator's warm pool of sessions as a deployment has them by default (test stacks
 * start none).
 */
export const BENCH_ENV: Record<string, string> = {
  SHELL_MAX_SESSIONS: '2500',
  SHELL_POOL_SIZE: process.env.BENCH_POOL ?? '4',
  ORCHESTRATOR_POOL_SIZE: process.env.BENCH_SESSION_POOL ?? '2',
  ORCHESTRATOR_MAX_SESSIONS: '5000',
  ORCHESTRATOR_MAX_SESSIONS_PER_USER: '5000',
  GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000',
  LOG_LEVEL: 'warn',
};

export function startBenchStack(label: string, env: Record<string, string> = {}): Promise<Stack> {
  return startStack({ label, env: { ...BENCH_ENV, ...env } });
}

/** The stack's shell's folder of jails (named after DATA_DIR and the replica's INSTANCE_ID), which every jail's command line binds. */
export function stackJailsDir(stack: Stack): string {
  return hostStateDir({ DATA_DIR: stack.dataDir, INSTANCE_ID: stack.instanceId('shell') } as ServiceEnv, 'jails');
}

/**
 * The stack's jails when it keeps them across a stop (SHELL_KEEP_JAILS): they are not the shell's
 * children then (its launcher orphans them), so they are found by their folder.
 */
export function keptJails(stack: Stack): number[] {
  return hostProcessesMatching(`${stackJailsDir(stack)}/`);
}

/** pid → parent pid for every process on the machine (from /proc). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after its last ')' are fixed.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), Number(rest[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Resident memory of the given processes and all their descendants (the shell's jails are children
 * of the shell service), in MiB, with the process count. RSS counts shared pages once per process,
 * so this is an upper bound.
 */
export function treeRss(roots: number[]): { mib: number; processes: number } {
  const pp = parents();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of pp) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  let kib = 0;
  for (const pid of seen) kib += rssKiB(pid);
  return { mib: kib / 1024, processes: seen.size };
}

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` at once. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** CPU time (user + system) a process has used so far, in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/** The local RabbitMQ's Erlang VM (oldest beam.smp), when the broker runs on this machine. */
function brokerPid(): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-o', '-f', 'beam.smp'], { encoding: 'utf8' }).trim();
    return out ? Number(out) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU used by each of the stack's processes (and the broker) while `fn` runs, divided by `per`:
 * where an operation's cost goes, which on a small machine is what its latency and throughput follow.
 * The jails are not counted: the shell's launcher orphans them (the host's init is their parent).
 */
export async function cpuPer(stack: Stack, per: number | (() => number), fn: () => Promise<void>): Promise<Record<string, number>> {
  const procs: Array<[string, number]> = [...stack.procs].map(([name, p]) => [name, p.child.pid!]);
  const broker = brokerPid();
  if (broker) procs.push(['rabbitmq', broker]);
  procs.push(['benchmark client', process.pid]);
  const before = procs.map(([, pid]) => cpuMs(pid));
  await fn();
  const n = typeof per === 'number' ? per : per();
  return Object.fromEntries(procs.map(([name, pid], i) => [name, (cpuMs(pid) - before[i]!) / n]));
}

/**
 * CPU the whole host spent (every process and the kernel, from /proc/stat) while `fn` ran, per
 * operation: it counts what per-process figures miss, the jails and the short-lived helpers
 * (mount, mkfs, bwrap) a service starts.
 */
export async function hostCpuPer(per: () => number, fn: () => Promise<void>): Promise<number> {
  const busy = () => {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: user to softirq but idle and iowait. Not steal:
    // that is time the hypervisor gave to other machines (~140 ms a second here at a busy moment).
    return ((f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) * 1000) / CLOCK_TICKS;
  };
  const before = busy();
  await fn();
  return (busy() - before) / per();
}

/**
 * Memory the host has in use (MemTotal - MemAvailable, MiB): unlike summed RSS it counts pages shared
 * between processes (every jail's bash, bwrap and libraries) once, and includes the kernel's own.
 */
export function hostMemoryInUse(): number {
  const info = readFileSync('/proc/meminfo', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return (kib('MemTotal') - kib('MemAvailable')) / 1024;
}
