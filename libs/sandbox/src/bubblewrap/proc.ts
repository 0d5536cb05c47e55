import { readFileSync } from 'node:fs';

/** Direct children of a host process (needs CONFIG_PROC_CHILDREN, present on every mainstream kernel). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The kernel's flag of a process that is exiting (include/linux/sched.h). */
const PF_EXITING = 0x4;

/**
 * Process group and start time (clock ticks since boot) of a host process, or null when it is gone.
 * A process that is exiting, or a zombie (dead, not yet reaped), counts as gone.
 */
export function statOf(pid: number): { pgid: number; startTicks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in field 2 may hold spaces and parentheses: fields are counted after its last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Killed but still tearing down (PF_EXITING in the flags field) is gone too.
    if (f[0] === 'Z' || f[0] === 'X' || (Number(f[6]) & PF_EXITING) !== 0) return null;
    return { pgid: Number(f[2]), startTicks: Number(f[19]) };
  } catch {
    return null;
  }
}

/** Seconds since boot, the clock /proc/<pid>/stat start times are counted on. */
export function uptimeSeconds(): number {
  return parseFloat(readFileSync('/proc/uptime', 'utf8'));
}

/** USER_HZ: the unit of start times in /proc. 100 on every Linux architecture node runs on. */
export const CLOCK_TICKS = 100;

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** A process's pid and process group as seen inside its own (innermost) pid namespace. */
export function namespacedIds(pid: number): { pid: number; pgid: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const last = (key: string): number => Number(new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(s)?.[1]?.trim().split(/\s+/).pop());
    return { pid: last('NSpid'), pgid: last('NSpgid') };
  } catch {
    return null;
  }
}

/** A host process's command line, its arguments joined by spaces (at most 300 characters), or undefined when it is gone. */
export function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 300) || undefined;
  } catch {
    return undefined;
  }
}
