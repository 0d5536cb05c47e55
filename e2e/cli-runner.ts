import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, waitFor } from '@codeagent/testing';

export const CODEAGENT_BIN = path.join(REPO_ROOT, 'clients/cli/bin/codeagent.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `codeagent` binary as a subprocess, as a user's shell would: stdin closed, a whole
 * input piped in (`stdin`), or a pipe kept open to type into line by line (`interactive`).
 */
export function startCli(
  args: string[],
  env: Record<string, string>,
  opts: { stdin?: string; interactive?: boolean } = {},
): { child: ChildProcess; result: Promise<CliResult>; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [CODEAGENT_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: [opts.stdin === undefined && !opts.interactive ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  const result = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, result, stdout: () => stdout, stderr: () => stderr };
}

export function cli(args: string[], env: Record<string, string>, opts: { stdin?: string } = {}): Promise<CliResult> {
  return startCli(args, env, opts).result;
}

/** Runs the CLI and parses its --json stdout; fails with everything it printed when it did not exit 0. */
export async function cliJson<T = any>(args: string[], env: Record<string, string>): Promise<T> {
  const r = await cli(['--json', ...args], env);
  if (r.code !== 0) throw new Error(`codeagent ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * The CLI in a real pseudo-terminal (node-pty), for `attach`: raw mode, window size, keystrokes.
 * `screen()` is everything the terminal received so far.
 */
export function startCliInPty(args: string[], env: Record<string, string>, size = { cols: 100, rows: 30 }) {
  // Loaded lazily: only the attach tests need the native module.
  const pty = require('node-pty') as typeof import('node-pty');
  const term = pty.spawn(process.execPath, [CODEAGENT_BIN, ...args], {
    name: 'xterm-256color',
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env } as Record<string, string>,
    ...size,
  });
  let screen = '';
  term.onData((d) => (screen += d));
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => term.onExit(resolve));
  return {
    term,
    screen: () => screen,
    exited,
    /** Waits until the terminal shows `text` (a string or a pattern). */
    waitFor: (text: string | RegExp, timeoutMs = 20_000) =>
      waitFor(`the terminal to show ${String(text)}`, () => (typeof text === 'string' ? screen.includes(text) : text.test(screen)), { timeoutMs, intervalMs: 50 }),
  };
}
