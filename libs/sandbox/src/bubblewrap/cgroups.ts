import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where a sandbox's limits live; `joinScript` puts the calling shell (and so all it execs) in them. */
export interface LimitPlan {
  /** Shell lines run by the wrapper before it execs bwrap: join cgroups, set rlimits. */
  script: string;
  /** Human-readable, one entry per limit: what is enforced and how. */
  inForce: Record<string, string>;
  /** cgroup directories to sweep and remove on close. */
  dirs: string[];
}

export interface ResolvedLimits {
  memoryMb: number;
  pids: number;
  cpuSeconds?: number;
  cpus?: number;
  diskMb?: number;
}

const ROOT = '/sys/fs/cgroup';
const GROUP = 'codeagent-sandbox';

type Mode = { kind: 'v1'; memory?: string; pids?: string; cpu?: string } | { kind: 'v2'; base: string } | { kind: 'none'; reason: string };
let detected: Mode | undefined;

/** This process's own cgroup path in a hierarchy: sandboxes nest under it, so our own limits still bound them. */
function ownPath(controller: string | null): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (p === undefined) continue;
    if (controller === null ? ctrls === '' && line.startsWith('0:') : ctrls!.split(',').includes(controller)) return p;
  }
  return undefined;
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/** Finds, once, the cgroup hierarchy we can create children in: v1 memory/pids, else v2, else none. */
export function detectCgroups(): Mode {
  if (detected) return detected;
  try {
    const v1: { kind: 'v1'; memory?: string; pids?: string; cpu?: string } = { kind: 'v1' };
    for (const c of ['memory', 'pids', 'cpu'] as const) {
      const own = ownPath(c);
      const dir = path.join(ROOT, c, own ?? '/', GROUP);
      if (own !== undefined && existsSync(path.join(ROOT, c, 'cgroup.procs')) && writable(dir)) v1[c] = dir;
    }
    if (v1.memory || v1.pids) {
      for (const base of [v1.memory, v1.pids, v1.cpu]) if (base) sweepStale(base);
      return (detected = v1);
    }
    const own = ownPath(null);
    if (own !== undefined && existsSync(path.join(ROOT, 'cgroup.controllers'))) {
      const base = path.join(ROOT, own, GROUP);
      if (writable(base)) {
        // v2 only lets a group hand controllers to its children when it holds no processes itself.
        try {
          writeFileSync(path.join(base, 'cgroup.subtree_control'), '+memory +pids +cpu');
        } catch {
          /* the check below decides */
        }
        const ctl = readFileSync(path.join(base, 'cgroup.subtree_control'), 'utf8');
        if (ctl.includes('memory') && ctl.includes('pids')) return (detected = { kind: 'v2', base });
      }
    }
    return (detected = { kind: 'none', reason: 'no writable cgroup v1 memory/pids or delegated cgroup v2 hierarchy' });
  } catch (err) {
    return (detected = { kind: 'none', reason: `cgroups unusable: ${(err as Error).message}` });
  }
}

/**
 * Removes sandbox cgroups left by a process that died without close(): empty and older than a minute
 * (a live sandbox's cgroup holds its jail from the moment it exists, give or take a few milliseconds).
 */
function sweepStale(base: string): void {
  try {
    for (const name of readdirSync(base)) {
      const d = path.join(base, name);
      try {
        if (Date.now() - statSync(d).mtimeMs < 60_000) continue;
        if (readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim() === '') rmdirSync(d);
      } catch {
        /* not a cgroup, or busy: leave it */
      }
    }
  } catch {
    /* unreadable base: nothing to sweep */
  }
}

/** Creates the sandbox's cgroups and returns how the wrapper applies every limit. */
export function planLimits(name: string, limits: ResolvedLimits): LimitPlan {
  const mode = detectCgroups();
  const lines: string[] = [];
  const inForce: Record<string, string> = {};
  const dirs: string[] = [];
  const mem = limits.memoryMb * 1024 * 1024;
  let memDone = false;
  let pidsDone = false;
  let cpuDone = false;
  const period = 100_000;
  const quota = limits.cpus !== undefined ? Math.max(1000, Math.round(limits.cpus * period)) : undefined;

  if (mode.kind === 'v1') {
    if (mode.memory) {
      const d = path.join(mode.memory, name);
      mkdirSync(d);
      dirs.push(d);
      writeFileSync(path.join(d, 'memory.limit_in_bytes'), String(mem));
      let swap = 'swap not accounted';
      try {
        // memsw is memory+swap: equal to the memory limit means no swap on top of it.
        writeFileSync(path.join(d, 'memory.memsw.limit_in_bytes'), String(mem));
        swap = 'with swap';
      } catch {
        /* kernel without swap accounting */
      }
      lines.push(`echo $$ > ${d}/cgroup.procs || exit 97`);
      inForce.memory = `cgroup v1 ${limits.memoryMb} MiB (${swap})`;
      memDone = true;
    }
    if (mode.pids) {
      const d = path.join(mode.pids, name);
      mkdirSync(d);
      dirs.push(d);
      writeFileSync(path.join(d, 'pids.max'), String(limits.pids));
      lines.push(`echo $$ > ${d}/cgroup.procs || exit 97`);
      inForce.pids = `cgroup v1 ${limits.pids}`;
      pidsDone = true;
    }
    if (mode.cpu && quota !== undefined) {
      const d = path.join(mode.cpu, name);
      mkdirSync(d);
      dirs.push(d);
      writeFileSync(path.join(d, 'cpu.cfs_period_us'), String(period));
      writeFileSync(path.join(d, 'cpu.cfs_quota_us'), String(quota));
      lines.push(`echo $$ > ${d}/cgroup.procs || exit 97`);
      inForce.cpus = `cgroup v1 cfs quota ${limits.cpus} CPU`;
      cpuDone = true;
    }
  } else if (mode.kind === 'v2') {
    const d = path.join(mode.base, name);
    mkdirSync(d);
    dirs.push(d);
    writeFileSync(path.join(d, 'memory.max'), String(mem));
    try {
      writeFileSync(path.join(d, 'memory.swap.max'), '0');
    } catch {
      /* no swap controller */
    }
    writeFileSync(path.join(d, 'pids.max'), String(limits.pids));
    if (quota !== undefined) {
      try {
        writeFileSync(path.join(d, 'cpu.max'), `${quota} ${period}`);
        inForce.cpus = `cgroup v2 cpu.max ${limits.cpus} CPU`;
        cpuDone = true;
      } catch {
        /* cpu controller not delegated */
      }
    }
    lines.push(`echo $$ > ${d}/cgroup.procs || exit 97`);
    inForce.memory = `cgroup v2 ${limits.memoryMb} MiB (swap 0)`;
    inForce.pids = `cgroup v2 ${limits.pids}`;
    memDone = pidsDone = true;
  }

  // Last resort, per process rather than per sandbox: address space and nothing for pids (RLIMIT_NPROC
  // counts every process of the host user, which is root here, so it would be meaningless).
  if (!memDone) {
    lines.push(`ulimit -v ${limits.memoryMb * 1024}`);
    inForce.memory = `rlimit address space ${limits.memoryMb} MiB per process`;
  }
  if (!pidsDone) inForce.pids = `not enforced (${mode.kind === 'none' ? mode.reason : 'no pids controller'})`;
  if (quota !== undefined && !cpuDone) inForce.cpus = 'not enforced (no cgroup cpu controller)';
  if (limits.cpuSeconds !== undefined) {
    lines.push(`ulimit -t ${limits.cpuSeconds}`);
    inForce.cpu = `rlimit ${limits.cpuSeconds} s CPU per process`;
  }
  if (limits.diskMb !== undefined) {
    // dash counts -f in 512-byte blocks.
    lines.push(`ulimit -f ${limits.diskMb * 2048}`);
    inForce.fileSize = `rlimit ${limits.diskMb} MiB per file`;
  }
  return { script: lines.join('\n'), inForce, dirs };
}

/**
 * Sets new limits on a running sandbox's cgroups (a pooled jail given to a session): memory, pids
 * and CPU bandwidth. Undefined when a limit is enforced otherwise than by a cgroup of the plan (an
 * rlimit, or nothing), which a running jail cannot take on; the new inForce otherwise.
 */
export function retargetLimits(plan: LimitPlan, limits: ResolvedLimits): Record<string, string> | undefined {
  if (limits.cpuSeconds !== undefined || limits.diskMb !== undefined) return undefined;
  const mode = detectCgroups();
  const mem = String(limits.memoryMb * 1024 * 1024);
  const period = 100_000;
  const quota = limits.cpus !== undefined ? String(Math.max(1000, Math.round(limits.cpus * period))) : '-1';
  const inForce: Record<string, string> = {};
  if (mode.kind === 'v1') {
    const dir = (c: string) => plan.dirs.find((d) => mode[c as 'memory' | 'pids' | 'cpu'] !== undefined && d.startsWith(`${mode[c as 'memory' | 'pids' | 'cpu']}/`));
    const [memory, pids, cpu] = [dir('memory'), dir('pids'), dir('cpu')];
    if (!memory || !pids || (limits.cpus !== undefined && !cpu)) return undefined;
    // v1 keeps memory <= memory+swap at every step: raise the pair from the top, lower it from the bottom.
    const swap = path.join(memory, 'memory.memsw.limit_in_bytes');
    const order = Number(mem) > Number(readFileSync(path.join(memory, 'memory.limit_in_bytes'), 'utf8')) ? ['memsw', 'mem'] : ['mem', 'memsw'];
    let swapped = false;
    for (const which of order) {
      if (which === 'mem') writeFileSync(path.join(memory, 'memory.limit_in_bytes'), mem);
      else if (existsSync(swap)) {
        writeFileSync(swap, mem);
        swapped = true;
      }
    }
    writeFileSync(path.join(pids, 'pids.max'), String(limits.pids));
    if (cpu) writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), quota);
    inForce.memory = `cgroup v1 ${limits.memoryMb} MiB (${swapped ? 'with swap' : 'swap not accounted'})`;
    inForce.pids = `cgroup v1 ${limits.pids}`;
    if (limits.cpus !== undefined) inForce.cpus = `cgroup v1 cfs quota ${limits.cpus} CPU`;
    return inForce;
  }
  if (mode.kind === 'v2') {
    const d = plan.dirs[0];
    if (!d) return undefined;
    writeFileSync(path.join(d, 'memory.max'), mem);
    writeFileSync(path.join(d, 'pids.max'), String(limits.pids));
    if (limits.cpus !== undefined) {
      try {
        writeFileSync(path.join(d, 'cpu.max'), `${quota} ${period}`);
      } catch {
        return undefined;
      }
      inForce.cpus = `cgroup v2 cpu.max ${limits.cpus} CPU`;
    }
    inForce.memory = `cgroup v2 ${limits.memoryMb} MiB (swap 0)`;
    inForce.pids = `cgroup v2 ${limits.pids}`;
    return inForce;
  }
  return undefined;
}

/** Host pids still in a sandbox's cgroups. */
export function cgroupPids(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    try {
      for (const l of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
    } catch {
      /* already removed */
    }
  }
  return [...pids];
}

/** Removes emptied cgroups; returns false while some still hold processes (zombies not yet reaped). */
export function removeCgroups(dirs: string[]): boolean {
  let all = true;
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') all = false;
    }
  }
  return all;
}
