import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { CrashInfo, ExecResult, Restored } from '../types';
import { readSandboxFile } from '../host/sandbox-files';
import { shQuote } from './quote';

/** What a sandbox's shell last saved in its state folder (`<dir>/shell/state`): its working folder and exports. */
export interface ShellSnapshot {
  cwd: string;
  /** As `export -p` prints them: `declare -x NAME="value"` (bash) or `export NAME='value'` (sh); values may span lines. */
  exports: string;
}

/** The most of the state file read: a shell's folder and exports are far less. */
const MAX_STATE_BYTES = 1 << 20;

/** The last working folder and exports the shell of the sandbox whose folder is `dir` saved, or undefined when it saved none. */
export function readShellSnapshot(dir: string): ShellSnapshot | undefined {
  const text = readSandboxFile(path.join(dir, 'shell', 'state'), MAX_STATE_BYTES);
  if (text === undefined) return undefined;
  const nl = text.indexOf('\n');
  const cwd = nl > 0 ? text.slice(0, nl) : '';
  if (!cwd.startsWith('/')) return undefined;
  return { cwd, exports: text.slice(nl + 1) };
}

/** When that shell last saved them (ms since the epoch; 0 before it did). */
export function shellSavedAt(dir: string): number {
  try {
    return lstatSync(path.join(dir, 'shell', 'state')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Gives a new shell (through `exec`) a lost one's working folder and exports, but the variables its
 * sandbox sets itself (`own`, beside the shell's PWD, OLDPWD, SHLVL and _). Answers how many exports
 * came back (0 when the shell refused them).
 */
export async function restoreShell(exec: (command: string) => Promise<ExecResult>, snapshot: ShellSnapshot, own: string[]): Promise<number> {
  const skip = new RegExp(`^(declare -\\S+|export) (${['PWD', 'OLDPWD', 'SHLVL', '_', ...own].join('|')})(=|$)`);
  const kept = snapshot.exports.split(/\n(?=declare |export )/).filter((l) => /^(declare -\S+|export) /.test(l) && !skip.test(l));
  const r = await exec(`cd -- ${shQuote(snapshot.cwd)}; ${kept.join('\n')}`);
  return r.exitCode === 0 ? kept.length : 0;
}

/**
 * Gives a new shell what a lost one left (its last saved folder and exports, through `exec`; see
 * restoreShell) and says what came back and what did not (the processes it left, lost with it).
 */
export async function restoreLost(exec: (command: string) => Promise<ExecResult>, lost: { snapshot?: ShellSnapshot; processes: string[] }, own: string[]): Promise<Restored> {
  const exports = lost.snapshot ? await restoreShell(exec, lost.snapshot, own) : 0;
  return { ...(lost.snapshot ? { cwd: lost.snapshot.cwd } : {}), exports, lostProcesses: lost.processes };
}

/** Where the new shell runs and what came back, then what was lost: the end of a crash reason. */
export function describeRestored(r: Restored): string {
  const where = r.cwd ? ` in ${r.cwd} with ${r.exports} exported variables restored` : '';
  return `${where}${r.lostProcesses.length ? `; lost processes: ${r.lostProcesses.join(', ')}` : ''}`;
}

/** The CrashInfo (and `shell.crashed`) fields of a restored shell. */
export function restoredFields(r: Restored): Pick<CrashInfo, 'restoredCwd' | 'restoredExports' | 'lostProcesses'> {
  return { ...(r.cwd ? { restoredCwd: r.cwd, restoredExports: r.exports } : {}), ...(r.lostProcesses.length ? { lostProcesses: r.lostProcesses } : {}) };
}
