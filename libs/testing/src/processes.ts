import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The repository's root, wherever the test runs from. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything the process wrote, stdout and stderr interleaved. */
  output(): string;
  /**
   * Its stdout alone (its log lines): a line written in parts while its pipe was full can have
   * stderr between them in output().
   */
  stdout(): string;
  /** Sends SIGTERM and resolves with the exit code (or the signal's name if it was killed). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/**
 * Runs a TypeScript entry point (e.g. `services/shell/src/main.ts`) in its own node process with tsx
 * loaded in it (`--import tsx`, not the tsx CLI, which would put a relaying process in between:
 * signals and exit codes are then the service's own).
 */
export function spawnTs(entry: string, env: Record<string, string>, opts: { cwd?: string } = {}): ServiceProcess {
  const tsx = pathToFileURL(require.resolve('tsx', { paths: [REPO_ROOT] })).href;
  return spawnNode(['--import', tsx, path.resolve(REPO_ROOT, entry)], env, opts);
}

/** Runs a compiled entry point (e.g. `services/shell/dist/main.js`, from `npm run build`) with plain node. */
export function spawnJs(entry: string, env: Record<string, string>, opts: { cwd?: string } = {}): ServiceProcess {
  return spawnNode([path.resolve(REPO_ROOT, entry)], env, opts);
}

function spawnNode(args: string[], env: Record<string, string>, opts: { cwd?: string }): ServiceProcess {
  // TEST_SERVICE_NODE_ARGS: node flags for every process started here, e.g. to profile a stack
  // (`--cpu-prof --cpu-prof-dir=/tmp/prof`; NODE_OPTIONS refuses --cpu-prof).
  const flags = process.env.TEST_SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...flags, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  const bounded = (s: string) => (s.length > 1_000_000 ? s.slice(-500_000) : s);
  child.stdout?.on('data', (b: Buffer) => {
    out = bounded(out + b.toString());
    stdout = bounded(stdout + b.toString());
  });
  child.stderr?.on('data', (b: Buffer) => (out = bounded(out + b.toString())));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    output: () => out,
    stdout: () => stdout,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Host pids of live (non-zombie) processes whose command line contains `needle`. */
/**
 * The `bwrap` processes a process runs under (its jail: killing the inner one, the jail's pid 1, ends
 * everything in it), found through /proc from the process upwards.
 */
export function jailsAround(pid: number): number[] {
  const out: number[] = [];
  for (let p = pid; p > 1; ) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      break;
    }
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'bwrap') out.push(p);
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return out;
}

export function hostProcessesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmd.includes(needle)) continue;
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      out.push(Number(p));
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}
