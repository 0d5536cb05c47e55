import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '@codeagent/testing';
import { detectCgroups } from '../bubblewrap/cgroups';
import type { SandboxState } from '../types';
export { hostProcessesMatching } from '@codeagent/testing';

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
  type Said = { state?: SandboxState; sent?: unknown; out?: string; detached?: boolean };
  const said = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Said);
  const states = said.filter((l) => l.state).map((l) => l.state!);
  return { exit, text, out: said.map((l) => l.out ?? '').join(''), state: states[states.length - 1] as S, sent: said.find((l) => l.sent)?.sent, detached: said.some((l) => l.detached) };
}
