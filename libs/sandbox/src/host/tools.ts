import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { shQuote } from '../shell/quote';

export interface HostToolOptions {
  cwd?: string;
  /** The tool's whole environment (as execFile takes it); this process's (as it is now) when absent. */
  env?: NodeJS.ProcessEnv;
  /** Default 60 s; the tool (and the shell that ran it) is killed then. */
  timeoutMs?: number;
}

/**
 * Idle shells kept for host tools. More tools at once each get a shell of their own (a long git clone
 * must not hold up a mount), which ends after its tool when this many wait already. Eight: with eight
 * sessions being created at once, four left the workspace service forking a new shell for most tools
 * (~3.5 ms of its CPU per create+close); a waiting shell costs about a megabyte.
 */
const IDLE_SHELLS = 8;

/**
 * Runs a host tool (mount, mkfs.ext4, git...) without a shell parsing its arguments, and answers what
 * it printed; rejects naming the tool, with its exit status as the error's `cause.code` (as execFile's).
 *
 * The tool is started by a small shell kept for this (IDLE_SHELLS), not by this process: forking a Node
 * process costs it ~4 ms of CPU at 200 MiB of RSS and ~9 ms at 450 (the page tables are copied), forking
 * a shell ~0.3 ms. A session's create and close ran ~6 tools in each of the workspace and shell services.
 */
export function runHostTool(file: string, args: string[], opts: HostToolOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => (idle.pop() ?? new ToolShell()).run({ file, args, opts, resolve, reject }));
}

interface Job {
  file: string;
  args: string[];
  opts: HostToolOptions;
  resolve: (r: { stdout: string; stderr: string }) => void;
  reject: (err: Error) => void;
}

const idle: ToolShell[] = [];
let outputDir: string | undefined;

/**
 * Where the tools' output is written for this process to read, two files per helper shell: in
 * memory where the host has it, one folder per user (so that no process leaves a folder behind). One
 * that is not this user's own and closed to others (made by someone else first) is not used.
 */
function outputFolder(): string {
  if (outputDir) return outputDir;
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const uid = process.getuid?.() ?? 0;
  const shared = path.join(base, `codeagent-tools-${uid}`);
  mkdirSync(shared, { recursive: true, mode: 0o700 });
  const st = lstatSync(shared);
  outputDir = st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? shared : mkdtempSync(path.join(base, 'codeagent-tools-'));
  return outputDir;
}

/**
 * One long-lived /bin/sh that runs one tool at a time and reports each status on its stdout. A tool's
 * stdout and stderr go to two files of the shell's own, truncated at each run, and are read only when
 * the shell says they are not empty: most tools (mount, umount, losetup -d) print nothing, and opening,
 * reading and removing two files per run was ~15% of the workspace service's CPU per create+close.
 */
class ToolShell {
  private readonly proc: ChildProcess;
  private job?: { n: number; job: Job; timer: NodeJS.Timeout };
  private n = 0;
  private dead = false;
  /** The environment the shell started with: each tool's is given as changes to it. */
  private readonly env = { ...process.env };
  /** Where the shell's tools write their stdout and stderr. */
  private readonly out: { stdout: string; stderr: string };

  constructor() {
    // Its own process group: a timeout kills the shell and the tool it runs together.
    this.proc = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'ignore'], detached: true, env: this.env });
    this.proc.stdin!.on('error', () => undefined);
    // Helpers of this process, not reasons for it to stay: they end when it does (end of their stdin).
    this.proc.unref();
    for (const s of [this.proc.stdin, this.proc.stdout] as Array<{ unref?: () => void } | null>) s?.unref?.();
    createInterface({ input: this.proc.stdout! }).on('line', (line) => void this.onStatus(line));
    this.proc.once('exit', () => this.onExit());
    this.proc.once('error', () => this.onExit());
    const base = path.join(outputFolder(), String(this.proc.pid));
    this.out = { stdout: `${base}.out`, stderr: `${base}.err` };
    // The shell removes its files when it ends, also when this process ends first (end of its stdin).
    this.proc.stdin!.write(`trap 'rm -f -- ${shQuote(this.out.stdout)} ${shQuote(this.out.stderr)}' EXIT\n`);
  }

  run(job: Job): void {
    const n = ++this.n;
    const timeoutMs = job.opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => this.kill(), timeoutMs);
    this.job = { n, job, timer };
    const cwd = job.opts.cwd ? `cd -- ${shQuote(job.opts.cwd)} && ` : '';
    // One copy of process.env: each read of it is a call into the runtime.
    const tool = [...envArgs(job.opts.env ?? { ...process.env }, this.env), job.file, ...job.args].map(shQuote).join(' ');
    const [out, err] = [shQuote(this.out.stdout), shQuote(this.out.stderr)];
    // Builtins only after the tool: the status line says which of its files hold something.
    this.proc.stdin!.write(`(${cwd}exec ${tool}) </dev/null >${out} 2>${err}; s=$? o=0 e=0; [ -s ${out} ] && o=1; [ -s ${err} ] && e=1; echo "${n} $s $o $e"\n`);
  }

  private async onStatus(line: string): Promise<void> {
    const [n, status, hasOut, hasErr] = line.split(' ').map(Number);
    const current = this.job;
    if (!current || current.n !== n) return;
    clearTimeout(current.timer);
    const read = (file: string, written: number | undefined) => (written ? readFile(file, 'utf8').catch(() => '') : '');
    const [stdout, stderr] = await Promise.all([read(this.out.stdout, hasOut), read(this.out.stderr, hasErr)]);
    this.job = undefined;
    const { job } = current;
    if (status === 0) job.resolve({ stdout, stderr });
    else job.reject(toolError(job, stderr.trim() || `exit status ${status}`, status!));
    if (this.dead) return;
    if (idle.length < IDLE_SHELLS) idle.push(this);
    else this.proc.stdin!.end();
  }

  private kill(): void {
    const current = this.job;
    try {
      process.kill(-this.proc.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    if (current) {
      this.job = undefined;
      current.job.reject(toolError(current.job, `no end within ${current.job.opts.timeoutMs ?? 60_000} ms; killed`, null));
    }
  }

  private onExit(): void {
    if (this.dead) return;
    this.dead = true;
    const i = idle.indexOf(this);
    if (i >= 0) idle.splice(i, 1);
    // Killed, its trap did not run.
    void Promise.all([rm(this.out.stdout, { force: true }), rm(this.out.stderr, { force: true })]);
    if (this.job) {
      clearTimeout(this.job.timer);
      this.job.job.reject(toolError(this.job.job, 'the shell that ran it died', null));
      this.job = undefined;
    }
  }
}

function toolError(job: Job, why: string, code: number | null): Error {
  return new Error(`${job.file} ${job.args.join(' ')} failed: ${why}`, { cause: { code } });
}

/** `env` arguments that turn the environment `base` into `env` (nothing when they are the same). */
function envArgs(env: NodeJS.ProcessEnv, base: NodeJS.ProcessEnv): string[] {
  const unset = Object.keys(base).filter((k) => env[k] === undefined).flatMap((k) => ['-u', k]);
  const set = Object.entries(env).filter(([k, v]) => v !== undefined && base[k] !== v).map(([k, v]) => `${k}=${v}`);
  return unset.length || set.length ? ['env', ...unset, ...set] : [];
}
