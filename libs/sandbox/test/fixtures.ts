import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '@codeagent/testing';
import { detectCgroups } from '../src/bubblewrap/cgroups';
import type { SandboxState } from '../src/types';
export { hostProcessesMatching } from '@codeagent/testing';

/** The fds a process holds, each with what it points to (fd → target), from /proc. */
export function openFds(pid: number | 'self'): Record<string, string> {
  return Object.fromEntries(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [[fd, readlinkSync(`/proc/${pid}/fd/${fd}`)]];
      } catch {
        return []; // the listing's own fd, gone
      }
    }),
  );
}

/** A fresh workspace folder per test file, removed by the returned cleanup. */
export function tempWorkspaces(label: string): { make(name: string): string; cleanup(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), `sandbox-${label}-`));
  let n = 0;
  return {
    make: (name) => {
      const dir = path.join(root, `${name}-${n++}`);
      mkdirSync(dir);
      return dir;
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The host cgroup folder of a sandbox (named `<id>-<random>` under the library's own group). */
export function sandboxCgroup(controller: 'pids' | 'memory' | 'cpu', id: string): string {
  const mode = detectCgroups();
  if (mode.kind !== 'v1' || !mode[controller]) throw new Error(`this test expects cgroup v1 ${controller}`);
  const base = mode[controller]!;
  const name = readdirSync(base).find((n) => n.startsWith(`${id}-`));
  if (!name) throw new Error(`no ${controller} cgroup for ${id}`);
  return path.join(base, name);
}

/**
 * What jail-holder.ts runs in its kept terminal: numbered lines for about 3 s, then a line read and
 * said back, then exit status 5. One command line, so the shell's echo of it comes first.
 */
export const TERMINAL_PROGRAM = 'for i in $(seq 1 300); do echo "pty $i"; sleep 0.01; done; read x; echo "got $x"; exit 5';

/** The numbers of the `pty N` lines in a terminal's output, in order. */
export function terminalLines(text: string): number[] {
  return [...text.matchAll(/^pty (\d+)\r$/gm)].map((m) => Number(m[1]));
}

/**
 * Runs test/jail-holder.ts (a jail, or a container with `docker`) until it lets go of its sandbox by
 * `mode`; what it printed, parsed: the last state it saved, what onSent gave, the output it received.
 */
export async function runHolder<S extends SandboxState>(mode: 'detach' | 'die', o: { dir: string; workspace: string; command: string; afterBytes: number; docker?: { dockerHost: string; image: string } }) {
  const tsx = pathToFileURL(require.resolve('tsx', { paths: [REPO_ROOT] })).href;
  const args = [mode, o.dir, o.workspace, o.command, String(o.afterBytes), ...(o.docker ? [JSON.stringify(o.docker)] : [])];
  const child = spawn(process.execPath, ['--import', tsx, path.join(__dirname, 'jail-holder.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  const exit = await new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(String(code ?? signal))));
  type Said = { state?: SandboxState; sent?: unknown; out?: string; pty?: string; detached?: boolean };
  const said = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Said);
  const states = said.filter((l) => l.state).map((l) => l.state!);
  return { exit, text, out: said.map((l) => l.out ?? '').join(''), pty: said.map((l) => l.pty ?? '').join(''), state: states[states.length - 1] as S, sent: said.find((l) => l.sent)?.sent, detached: said.some((l) => l.detached) };
}
